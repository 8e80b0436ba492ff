"""IAM for the local RDS servers: does the token's signer have ``rds-db:connect`` on this DB user?

Real RDS asks IAM whether the credentials that signed a token belong to a principal whose effective
permissions (identity policies ∩ permissions boundary) allow ``rds-db:connect`` on
``arn:aws:rds-db:<region>:<account>:dbuser:<resource-id>/<user>``. Here the answer comes from the local
world's moto backends (in this process), served over HTTP on 127.0.0.1 to ``tests/dbs/rds_iam_verify.py``,
which runs under the ``postgres``/``mysql`` OS users and calls every authority registered in
``<authorities_dir>/<port>`` (one file per running world; the first that knows the access key answers).

What is checked, in RDS's order: the access key belongs to live STS credentials of an assumed role (the
token carries their ``X-Amz-Security-Token``), the SigV4 signature with their secret, user, action, region,
service, the 15-minute window and the credentials' expiry; the token's ``host:port`` names a DB of the world
(instance endpoint, cluster writer or reader endpoint), whose own resource id goes into the ARN; the role's
inline and attached policies allow the action on that ARN, no statement denies it, and the role's permissions
boundary (if any) allows it too. For a logical replication login (``replication``, from ``pam_rds_iam.so``) on a
PostgreSQL DB, RDS's ``rds.iam_auth_for_replication`` as well (``tests/harness/cdc_reality.py``).

Every refusal is kept in ``REFUSALS`` (user, reason), newest last, so tests can tell why a login failed.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import iam_backends
from moto.rds.models import rds_backends
from moto.sts.models import sts_backends

from tests.dbs import rds_iam_verify as verifier
from tests.dbs.servers import load_env, pg_superuser_connect

from . import cdc_reality

ACTION = "rds-db:connect"
REFUSALS: collections.deque[tuple[str, str]] = collections.deque(maxlen=100)


@dataclass(frozen=True)
class Decision:
    known: bool  # False: the access key is not one of this world's credentials (another authority may know it)
    allowed: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"known": self.known, "allowed": self.allowed, "reason": self.reason}


def _assumed_role(access_key_id: str) -> Any | None:
    for account_id in list(sts_backends.keys()):
        for backend in sts_backends[account_id].values():
            role = backend.get_assumed_role_from_access_key(access_key_id)
            if role is not None:
                return role
    return None


def _db_resource(host: str, region: str) -> tuple[str, str, Any] | None:
    """(account id, resource id, moto DB) of the DB whose endpoint is ``host`` (``address:port``), else None."""
    address, _, port = verifier.canonical_host(host).rpartition(":")
    for account_id in list(rds_backends.keys()):
        backend = rds_backends[account_id].get(region)
        if backend is None:
            continue
        for cluster in backend.clusters.values():
            if address in (cluster.endpoint, cluster.reader_endpoint) and str(cluster.port) == port:
                return account_id, cluster.db_cluster_resource_id, cluster
        for db in backend.databases.values():
            if db.address == address and str(db.port) == port:
                if db.db_cluster_identifier and db.db_cluster_identifier in backend.clusters:
                    cluster = backend.clusters[db.db_cluster_identifier]
                    return account_id, cluster.db_cluster_resource_id, cluster
                return account_id, db.dbi_resource_id, db
    return None


def _policy_documents(role: Any) -> list[str]:
    documents = [json.dumps(doc) if not isinstance(doc, str) else doc for doc in role.policies.values()]
    documents += [_default_document(p) for p in role.managed_policies.values()]
    return documents


def _default_document(policy: Any) -> str:
    return str(next(v.document for v in policy.versions if v.is_default))


def _evaluate(documents: list[str], resource: str) -> PermissionResult:
    permitted = False
    for document in documents:
        result = IAMPolicy(document).is_action_permitted(ACTION, resource)
        if result == PermissionResult.DENIED:
            return result
        permitted = permitted or result == PermissionResult.PERMITTED
    return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL


def _check_signature(
    token: str, user: str, parsed: verifier.ParsedToken, assumed: Any, config: verifier.Config, now: dt.datetime
) -> None:
    if parsed.params.get("X-Amz-Security-Token") != assumed.session_token:
        raise verifier.TokenError("X-Amz-Security-Token is not the session token of these credentials")
    verifier.verify_token(token, user, config, now=now)
    if assumed.expiration.replace(tzinfo=dt.UTC) < now:
        raise verifier.TokenError("the signing credentials have expired")


def decide(token: str, user: str, now: dt.datetime | None = None, *, replication: bool = False) -> Decision:
    """What IAM (and, for a replication login, the DB's settings) answers RDS for this token and DB user."""
    decision = _decide(token, user, now, replication)
    if decision.known and not decision.allowed:
        REFUSALS.append((user, decision.reason))
    return decision


def _replication_refusal(db: Any) -> str | None:
    if "postgres" not in str(db.engine):
        return None
    name = getattr(db, "database_name", None) or getattr(db, "db_name", None) or "postgres"
    with pg_superuser_connect(load_env(), dbname=name) as conn:
        row = conn.execute("SELECT current_setting('rds.iam_auth_for_replication', true)").fetchone()
    return cdc_reality.replication_refusal(db, row[0] if row else None)


def _decide(token: str, user: str, now: dt.datetime | None, replication: bool) -> Decision:
    now = now or dt.datetime.now(dt.UTC)
    try:
        parsed = verifier.parse_token(token)
    except verifier.TokenError as exc:
        return Decision(False, False, str(exc))
    access_key_id = parsed.params.get("X-Amz-Credential", "").split("/")[0]
    assumed = _assumed_role(access_key_id)
    if assumed is None:
        return Decision(False, False, f"unknown access key id {access_key_id!r}")
    region = parsed.params.get("X-Amz-Credential", "").split("/")[2:3] or [""]
    config = verifier.Config(keys={access_key_id: assumed.secret_access_key}, region=region[0] or "?")
    try:
        _check_signature(token, user, parsed, assumed, config, now)
    except verifier.TokenError as exc:
        return Decision(True, False, str(exc))
    db = _db_resource(parsed.host, config.region)
    if db is None:
        return Decision(True, False, f"no DB has the endpoint {parsed.host!r}")
    account_id, resource_id, db_model = db
    resource = f"arn:aws:rds-db:{config.region}:{account_id}:dbuser:{resource_id}/{user}"
    role_account = assumed.role_arn.split(":")[4]
    try:
        role = iam_backends[role_account]["global"].get_role_by_arn(assumed.role_arn)
    except Exception:
        return Decision(True, False, f"role {assumed.role_arn} does not exist")
    identity = _evaluate(_policy_documents(role), resource)
    if identity != PermissionResult.PERMITTED:
        why = "denies" if identity == PermissionResult.DENIED else "does not allow"
        return Decision(True, False, f"the policies of {assumed.role_arn} {why} {ACTION} on {resource}")
    if role.permissions_boundary_arn:
        boundary = iam_backends[role_account]["global"].get_policy(role.permissions_boundary_arn)
        if _evaluate([_default_document(boundary)], resource) != PermissionResult.PERMITTED:
            return Decision(True, False, f"the permissions boundary of {assumed.role_arn} does not allow {resource}")
    refusal = _replication_refusal(db_model) if replication else None
    if refusal is not None:
        return Decision(True, False, f"replication login refused: {refusal}")
    return Decision(True, True, f"{assumed.role_arn} may connect as {resource}")


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length))
            decision = decide(str(body["token"]), str(body["user"]), replication=bool(body.get("replication")))
        except (ValueError, KeyError) as exc:
            decision = Decision(False, False, f"bad request: {exc}")
        payload = json.dumps(decision.as_json()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


class IamAuthority:
    """Serve ``decide`` on 127.0.0.1 and register in ``authorities_dir`` while open (a context manager)."""

    def __init__(self, authorities_dir: str | Path) -> None:
        self.directory = Path(authorities_dir)
        self._server: ThreadingHTTPServer | None = None
        self._file: Path | None = None

    def __enter__(self) -> IamAuthority:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="iam-authority").start()
        port = self._server.server_address[1]
        self.directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        self._file = self.directory / str(port)
        self._file.write_text(f"http://127.0.0.1:{port}/rds-db/connect\n", encoding="utf-8")
        self._file.chmod(0o644)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.unlink(missing_ok=True)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
