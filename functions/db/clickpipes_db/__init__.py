"""Database access (psycopg, PyMySQL): the only code that talks SQL. Ships in the DbLayer.

Identifiers always go through the driver's quoting (``psycopg.sql.Identifier``, PyMySQL parameters);
TLS is verified against a CA bundle unless the stack says ``require``.
"""
