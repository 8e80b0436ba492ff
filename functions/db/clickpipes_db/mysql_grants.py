"""What ``SHOW GRANTS`` says about a MySQL / MariaDB account or role, parsed once for both uses: which privileges
CDC still lacks (:mod:`clickpipes_db.cdc_mysql`) and whether a user has admin-class rights (:mod:`clickpipes_db.mysql`).

Admin-class (a user this tool never converts): a global privilege (``ON *.*``) beyond what the onboarding grants
(USAGE, REPLICATION CLIENT / BINLOG MONITOR, REPLICATION SLAVE / REPLICATION REPLICA), any ``WITH GRANT OPTION``,
a PROXY grant, a privilege on the ``mysql`` schema other than SELECT (writing it is creating users), a role held
WITH ADMIN OPTION, or a role that is itself admin-class (the user may ``SET ROLE`` to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pymysql.cursors import Cursor

# MariaDB 10.5+ shows REPLICATION CLIENT as BINLOG MONITOR; REPLICATION REPLICA is an alias of REPLICATION SLAVE.
ALIASES: Final = {"BINLOG MONITOR": "REPLICATION CLIENT", "REPLICATION REPLICA": "REPLICATION SLAVE"}
ONBOARDING_GLOBAL: Final = frozenset({"USAGE", "REPLICATION CLIENT", "REPLICATION SLAVE"})  # after ALIASES
GRANT_LINE: Final = re.compile(r"GRANT (?P<privileges>.+?) ON (?P<schema>\*|`(?:[^`]|``)+`)\.\* TO ", re.DOTALL)
QUOTED: Final = re.compile(r"`((?:[^`]|``)*)`(?:@`(?:[^`]|``)*`)?")  # a role: MariaDB `r`, MySQL 8 `r`@`%`
MAX_ROLE_DEPTH: Final = 5


@dataclass
class Grants:
    schemas: dict[str, set[str]] = field(default_factory=dict)  # "*" for *.*; privileges after ALIASES
    grant_option: bool = False
    proxy: bool = False
    roles: dict[str, bool] = field(default_factory=dict)  # role granted -> WITH ADMIN OPTION


def show_grants(cur: Cursor, account: str, *, role: bool = False) -> Grants:
    """SHOW GRANTS for ``account``@'%' (a role: the bare name, which MariaDB and MySQL 8 both resolve)."""
    if role:
        cur.execute("SHOW GRANTS FOR %s", (account,))
    else:
        cur.execute("SHOW GRANTS FOR %s@'%%'", (account,))
    grants = Grants()
    for (line,) in cur.fetchall():
        text = str(line)
        if text.startswith("GRANT `"):  # GRANT `r1`, `r2` TO `u`@`%` [WITH ADMIN OPTION]
            granted, _, rest = text[len("GRANT ") :].partition(" TO `")
            for name in QUOTED.findall(granted):
                grants.roles[name.replace("``", "`")] = "WITH ADMIN OPTION" in rest
            continue
        if text.startswith("GRANT PROXY ON "):
            grants.proxy = True
            continue
        if "WITH GRANT OPTION" in text.upper():
            grants.grant_option = True
        match = GRANT_LINE.match(text)
        if match is None:
            continue  # table, column and routine grants
        schema = match["schema"]
        key = "*" if schema == "*" else schema[1:-1].replace("``", "`")
        grants.schemas.setdefault(key, set()).update(ALIASES.get(p, p) for p in split(match["privileges"].upper()))
    return grants


def admin_class(cur: Cursor, user: str, *, ignore_role: str) -> list[str]:
    """Why ``user``@'%' has admin-class rights (empty: it has none); ``ignore_role`` is the marker role."""
    return _reasons(cur, show_grants(cur, user), ignore_role=ignore_role, depth=0, seen={ignore_role})


def _reasons(cur: Cursor, grants: Grants, *, ignore_role: str, depth: int, seen: set[str]) -> list[str]:
    reasons = []
    extra = sorted(grants.schemas.get("*", set()) - ONBOARDING_GLOBAL)
    if extra:
        reasons.append(f"holds {', '.join(extra)} ON *.*")
    if grants.grant_option:
        reasons.append("holds privileges WITH GRANT OPTION")
    if grants.proxy:
        reasons.append("holds a PROXY grant")
    writes = sorted(grants.schemas.get("mysql", set()) - {"SELECT", "USAGE"})
    if writes:
        reasons.append(f"holds {', '.join(writes)} ON `mysql`.*")
    for role, admin_option in grants.roles.items():
        if admin_option:
            reasons.append(f"holds role {role} WITH ADMIN OPTION")
        if role in seen or depth >= MAX_ROLE_DEPTH:
            continue
        seen.add(role)
        held = show_grants(cur, role, role=True)
        inherited = _reasons(cur, held, ignore_role=ignore_role, depth=depth + 1, seen=seen)
        if inherited:
            reasons.append(f"holds role {role}, which {'; '.join(inherited)}")
    return reasons


def split(privileges: str) -> list[str]:
    """Split "SELECT, INSERT (a, b), REPLICATION SLAVE" at the top-level commas."""
    parts, depth, current = [], 0, ""
    for char in privileges:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]
