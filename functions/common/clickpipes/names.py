"""Which names are allowed, in one place: the execution input's models, ``rules``, and both DB engines'
SQL quoting (``clickpipes_db.cdc_postgres``, ``clickpipes_db.cdc_mysql``) use these patterns.

Each is a bare regular expression (no anchors): ``compiled(X).fullmatch(name)`` in code, ``anchored(X)``
in a model's ``Meta(pattern=...)``."""

from __future__ import annotations

import re
from typing import Final

# A DB user: portable across PostgreSQL and MySQL, and needs no quoting to read (the drivers quote it anyway).
DB_USER: Final = r"[A-Za-z_][A-Za-z0-9_]{0,62}"
# A PostgreSQL schema, table, or publication name: what psycopg.sql.Identifier gets.
PG_NAME: Final = r"[A-Za-z_][A-Za-z0-9_$]{0,62}"
PG_TABLE: Final = rf"{PG_NAME}\.{PG_NAME}"  # schema.table
# A MySQL schema: what cdc_mysql.quote_identifier writes between backticks (no backtick, quote, dot, %...).
MYSQL_NAME: Final = r"[A-Za-z0-9_]{1,64}"
# The database to connect to (input): a PostgreSQL or MySQL database name.
DATABASE: Final = r"[A-Za-z_][A-Za-z0-9_$-]{0,62}"
# An RDS identifier as users write it: 1-63 letters, digits, hyphens; a letter first; no "--", no trailing "-".
DB_IDENTIFIER_INPUT: Final = r"[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,62}(?<!-)"
# The same, as RDS stores it (lower case), in a step's input; max 63 characters.
DB_IDENTIFIER: Final = r"[a-z](?:-?[a-z0-9])*"


def anchored(pattern: str) -> str:
    """For msgspec's ``Meta(pattern=...)``, which searches: the whole value must match."""
    return f"^{pattern}$"


DB_USER_PATTERN: Final = re.compile(DB_USER)
PG_NAME_PATTERN: Final = re.compile(PG_NAME)
MYSQL_NAME_PATTERN: Final = re.compile(MYSQL_NAME)
DB_IDENTIFIER_INPUT_PATTERN: Final = re.compile(DB_IDENTIFIER_INPUT)
