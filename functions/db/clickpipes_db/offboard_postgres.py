"""PostgreSQL (RDS, Aurora) offboarding: the IAM user, the publication, the logical replication slots.

Only what this tool made (see :mod:`clickpipes_db.trust`): the user must be a member of ``clickpipes_managed``, the
publication's comment must hold ``clickpipes-onboarding``; anything else is left as it is, with a warning.

The user: ``ALTER ROLE u NOLOGIN`` first (no new session), its sessions terminated, then (in a savepoint)
``DROP OWNED BY u`` when it owns nothing in this database (which revokes its grants and default privileges and drops
nothing) and ``DROP ROLE u``. When objects still depend on it (SQLSTATE 2BP01: it owns a table, or has privileges in
another database) the savepoint is rolled back and the user is disabled instead: NOLOGIN, ``rds_iam`` and
``rds_replication`` revoked, the marker kept (a re-run tries the drop again; a re-onboarding enables it again).

Slots: every logical slot of this database. Inactive ones are named with the WAL they retain and the
``SELECT pg_drop_replication_slot(…)`` to run, and dropped with ``drop_replication_slots``; an active one is never
dropped (the server refuses too, SQLSTATE 55006).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from clickpipes.errors import DbPrivilegeError, TransientError
from clickpipes.offboarding_models import DbOffboardRequest, DbOffboardResult

from clickpipes_db import trust
from clickpipes_db.drivers import errors, psycopg, sql
from clickpipes_db.postgres import MANAGED_SQL, _first_line

LOCK_TIMEOUT: Final = "10s"
ROLE_SQL: Final = (
    "SELECT r.rolcanlogin, "
    "  EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
    "          WHERE m.member = r.oid AND g.rolname = 'rds_iam'), "
    "  EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
    "          WHERE m.member = r.oid AND g.rolname = 'rds_replication'), "
    "  EXISTS (SELECT 1 FROM pg_shdepend d JOIN pg_database b ON b.oid = d.dbid "
    "          WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = r.oid AND d.deptype = 'o' "
    "            AND b.datname = current_database()), "
    # what DROP OWNED in this database cannot clear: owned objects anywhere, anything in other databases
    "  EXISTS (SELECT 1 FROM pg_shdepend d WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = r.oid "
    "          AND (d.deptype = 'o' "
    "               OR d.dbid NOT IN (SELECT oid FROM pg_database WHERE datname = current_database()))), "
    "  pg_has_role(current_user, r.oid, 'USAGE') "
    "FROM pg_roles r WHERE r.rolname = %s"
)
SLOTS_SQL: Final = (
    "SELECT slot_name, plugin, active, "
    "  pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)), "
    "  pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) "
    "FROM pg_replication_slots WHERE slot_type = 'logical' AND database = current_database() ORDER BY slot_name"
)


def offboard(conn: psycopg.Connection[Any], request: DbOffboardRequest) -> DbOffboardResult:
    actions: list[str] = []
    warnings: list[str] = []
    try:
        user = _user(conn, request, actions, warnings)
        publication = _publication(conn, request, actions, warnings)
        _slots(conn, request, actions, warnings)
    except errors.InsufficientPrivilege as exc:
        raise DbPrivilegeError(
            f"The admin user may not drop or change the user, the publication or a slot ({_first_line(str(exc))}): "
            "use the RDS master user (rds_superuser)."
        ) from None
    except errors.LockNotAvailable as exc:
        raise TransientError(f"PostgreSQL is busy ({_first_line(str(exc))}); will retry.") from None
    except psycopg.OperationalError as exc:
        raise TransientError(f"Connection to PostgreSQL lost ({_first_line(str(exc))}); will retry.") from None
    return DbOffboardResult(changes=actions, warnings=warnings, user=user, publication=publication)


@dataclass(frozen=True)
class User:
    name: str
    login: bool
    iam: bool
    replication: bool
    owns_here: bool  # owns objects in this database (DROP OWNED would drop them)
    blocked: bool  # what DROP OWNED here cannot clear: owned objects anywhere, anything in another database
    usage: bool  # the admin has the user's privileges (DROP OWNED needs them)
    sessions: tuple[int, ...]

    def disable(self) -> list[tuple[sql.Composed, str]]:
        """NOLOGIN first, then the IAM login and the replication right."""
        ident = sql.Identifier(self.name)
        steps: list[tuple[sql.Composed, str]] = []
        if self.login:
            steps.append((sql.SQL("ALTER ROLE {} NOLOGIN").format(ident), f"ALTER ROLE {self.name} NOLOGIN"))
        for role in ("rds_iam", "rds_replication"):
            if getattr(self, "iam" if role == "rds_iam" else "replication"):
                steps.append(
                    (
                        sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(role), ident),
                        f"REVOKE {role} FROM {self.name}",
                    )
                )
        return steps

    @property
    def terminate(self) -> str:
        # the text for ``actions`` only; what runs binds the name
        return f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{self.name}'"  # noqa: S608

    @property
    def drop(self) -> list[str]:
        return [
            *([f"GRANT {self.name} TO CURRENT_USER"] if not self.usage else []),
            *([f"DROP OWNED BY {self.name}"] if not self.owns_here else []),
            f"DROP ROLE {self.name}",
        ]


def _inspect(conn: psycopg.Connection[Any], name: str, warnings: list[str]) -> User | str:
    """The user, or why there is nothing to do ("absent", "foreign")."""
    with conn.cursor() as cur:
        row = cur.execute(ROLE_SQL, (name,)).fetchone()
        if row is None:
            return "absent"
        managed = cur.execute(MANAGED_SQL, {"user": name, "marker": trust.MARKER}).fetchone()
        if name == trust.MARKER or trust.is_reserved(name) or not (managed and managed[0]):
            warnings.append(
                f"User '{name}' was not created by this tool (not a member of {trust.MARKER}): left as it is."
            )
            return "foreign"
        sessions = cur.execute("SELECT pid FROM pg_stat_activity WHERE usename = %s", (name,)).fetchall()
    login, iam, replication, owns_here, blocked, usage = row
    return User(name, login, iam, replication, owns_here, blocked, usage, tuple(pid for (pid,) in sessions))


def _user(conn: psycopg.Connection[Any], request: DbOffboardRequest, actions: list[str], warnings: list[str]) -> str:
    user = _inspect(conn, request.user, warnings)
    if isinstance(user, str):
        return user
    disable = user.disable()
    nologin, revokes = (disable[:1], disable[1:]) if user.login else ([], disable)
    if request.plan_only:
        actions += [text for _, text in nologin]
        if user.sessions:
            actions.append(f"{user.terminate} ({len(user.sessions)} session(s))")
        if user.blocked:
            actions += [text for _, text in revokes]
            warnings.append(_disabled_warning(user.name, "it owns objects or holds privileges in another database"))
            return "disabled"
        actions += user.drop
        return "dropped"
    for statement, text in nologin:  # first: no new session while the others end
        conn.execute(statement)
        actions.append(text)
    if user.sessions:
        try:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (user.name,))
            actions.append(f"{user.terminate} ({len(user.sessions)} session(s))")
        except errors.InsufficientPrivilege as exc:
            warnings.append(f"The sessions of '{user.name}' could not be terminated ({_first_line(str(exc))}).")
    ident = sql.Identifier(user.name)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
            if not user.usage:  # DROP OWNED needs the role's privileges
                cur.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(ident))
            if not user.owns_here:  # revokes its grants and default privileges; drops nothing
                cur.execute(sql.SQL("DROP OWNED BY {}").format(ident))
            cur.execute(sql.SQL("DROP ROLE {}").format(ident))
    except errors.DependentObjectsStillExist as exc:
        detail = exc.diag.message_detail or _first_line(str(exc))
        with conn.transaction(), conn.cursor() as cur:
            for statement, text in revokes:
                cur.execute(statement)
                actions.append(text)
        warnings.append(_disabled_warning(user.name, " ".join(detail.split())))
        return "disabled"
    actions += user.drop
    return "dropped"


def _disabled_warning(user: str, why: str) -> str:
    return (
        f"User '{user}' was disabled, not dropped: objects depend on it ({why}). It can no longer log in (NOLOGIN, "
        f"no rds_iam, no rds_replication) and keeps the marker {trust.MARKER}: reassign or drop those objects "
        f"(REASSIGN OWNED BY {user} TO …), then run the offboarding again to drop it."
    )


def _publication(
    conn: psycopg.Connection[Any], request: DbOffboardRequest, actions: list[str], warnings: list[str]
) -> str:
    name = request.publication
    row = conn.execute(
        "SELECT strpos(coalesce(obj_description(oid, 'pg_publication'), ''), %s) > 0 FROM pg_publication "
        "WHERE pubname = %s",
        (trust.PUBLICATION_MARK, name),
    ).fetchone()
    if row is None:
        return "absent"
    if not row[0]:
        warnings.append(
            f"Publication '{name}' was not created by this tool (its comment does not hold "
            f"'{trust.PUBLICATION_MARK}'): left as it is."
        )
        return "foreign"
    if not request.plan_only:
        conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(name)))
    actions.append(f"DROP PUBLICATION {name}")
    return "dropped"


def _slots(conn: psycopg.Connection[Any], request: DbOffboardRequest, actions: list[str], warnings: list[str]) -> None:
    for slot, plugin, active, size, _ in conn.execute(SLOTS_SQL).fetchall():
        drop = f"SELECT pg_drop_replication_slot('{slot}')"
        if active:
            warnings.append(f"Logical replication slot '{slot}' ({plugin}) is active: kept (a consumer still uses it).")
            continue
        if not request.drop_replication_slots:
            warnings.append(
                f"Logical replication slot '{slot}' ({plugin}) is inactive and retains {size} of WAL: once no "
                f"ClickPipe uses it, run {drop}; (or run the offboarding with drop_replication_slots: true)."
            )
            continue
        if request.plan_only:
            actions.append(f"{drop} (retains {size} of WAL)")
            continue
        try:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
        except errors.ObjectInUse:
            warnings.append(f"Logical replication slot '{slot}' ({plugin}) became active: kept.")
            continue
        except errors.UndefinedObject:
            continue
        except errors.InsufficientPrivilege as exc:
            warnings.append(
                f"Logical replication slot '{slot}' ({plugin}) could not be dropped ({_first_line(str(exc))}): it "
                f"retains {size} of WAL; run {drop} as a user with rds_replication."
            )
            continue
        actions.append(f"{drop} (retained {size} of WAL)")
