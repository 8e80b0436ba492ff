"""Proves the local RDS emulation: the IAM token verifier (pure unit tests) and both servers (``dbs``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import botocore.auth
import botocore.credentials
import psycopg
import pymysql
import pytest
from botocore.awsrequest import AWSRequest
from psycopg import sql

from tests.dbs import rds_iam_verify as verify
from tests.dbs.servers import (
    Engine,
    IamEnv,
    LocalDbsEnv,
    MariaDBEnv,
    PostgresEnv,
    frozen_signing_clock,
    iam_token,
    mariadb_connect,
    mariadb_iam_plugin_uninstalled,
    mariadb_login_with_token,
    mariadb_root_connect,
    pg_connect,
    pg_login_with_token,
    pg_superuser_connect,
)

HERE = Path(__file__).parent
KEY_ID = "AKIAUNITTESTKEY00001"
SECRET = "unit/test+secret/0123456789abcdefghijklmn"
NOW = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)

# env.json stand-in for the unit tests (no server involved).
UNIT_ENV = LocalDbsEnv(
    postgres=PostgresEnv("127.0.0.1", 55432, "rdsmaster", "pw", "pgsuper", "/nonexistent"),
    mariadb=MariaDBEnv("127.0.0.1", 53306, "admin", "pw", "/nonexistent.sock"),
    ca_file="/nonexistent/ca.pem",
    wrong_ca_file="/nonexistent/wrong-ca.pem",
    iam=IamEnv(KEY_ID, SECRET, "us-east-1"),
    base_dir="/nonexistent",
    verifier=str(HERE / "rds_iam_verify.py"),
    verifier_config="/nonexistent/config.json",
    pam_service="none",
)
CONFIG = verify.Config(keys={KEY_ID: SECRET}, region="us-east-1")


def unit_token(user: str = "alice", **kwargs: Any) -> str:
    """A boto3 token signed at NOW with the unit-test keys (kwargs go to iam_token)."""
    kwargs.setdefault("now", NOW)
    return iam_token(UNIT_ENV, "postgres", user, **kwargs)


def replace_param(token: str, name: str, value: str) -> str:
    """Token with one query parameter replaced, the signature left as it was."""
    head, query = token.split("?", 1)
    pairs = [p.split("=", 1) for p in query.split("&")]
    return head + "?" + "&".join(f"{k}={quote(value, safe='') if k == name else v}" for k, v in pairs)


# =============================================================================================
# rds_iam_verify: pure unit tests
# =============================================================================================
class TestVerifier:
    def test_accepts_a_boto3_token(self) -> None:
        verify.verify_token(unit_token(), "alice", CONFIG, now=NOW)

    @pytest.mark.parametrize(
        ("hostname", "port"),
        [("mydb.abcdefghij.us-east-1.rds.amazonaws.com", 5432), ("cluster.example", 443), ("localhost", 3306)],
    )
    def test_accepts_any_endpoint_unless_restricted(self, hostname: str, port: int) -> None:
        token = unit_token(hostname=hostname, port=port)
        verify.verify_token(token, "alice", CONFIG, now=NOW)
        restricted = verify.Config(keys=CONFIG.keys, region="us-east-1", allowed_hosts=("127.0.0.1:55432",))
        with pytest.raises(verify.TokenError, match="host"):
            verify.verify_token(token, "alice", restricted, now=NOW)

    def test_allowed_host_accepted(self) -> None:
        restricted = verify.Config(keys=CONFIG.keys, region="us-east-1", allowed_hosts=("127.0.0.1:55432",))
        verify.verify_token(unit_token(), "alice", restricted, now=NOW)

    def test_user_names_with_special_characters(self) -> None:
        user = "we ird+user@x/ü"
        verify.verify_token(unit_token(user), user, CONFIG, now=NOW)

    def test_refuses_another_user(self) -> None:
        with pytest.raises(verify.TokenError, match="DBUser"):
            verify.verify_token(unit_token("alice"), "bob", CONFIG, now=NOW)

    def test_refuses_wrong_secret_key(self) -> None:
        token = unit_token(secret_key="not/the/right/secret")
        with pytest.raises(verify.TokenError, match="signature"):
            verify.verify_token(token, "alice", CONFIG, now=NOW)

    def test_refuses_unknown_access_key(self) -> None:
        with pytest.raises(verify.TokenError, match="unknown access key"):
            verify.verify_token(unit_token(access_key="AKIAOTHEROTHEROTHER1"), "alice", CONFIG, now=NOW)

    def test_refuses_other_region(self) -> None:
        with pytest.raises(verify.TokenError, match="region"):
            verify.verify_token(unit_token(region="eu-west-1"), "alice", CONFIG, now=NOW)

    def test_refuses_other_service(self) -> None:
        request = AWSRequest(
            method="GET", url="https://127.0.0.1:55432/", data={"Action": "connect", "DBUser": "alice"}
        )
        with frozen_signing_clock(NOW):
            botocore.auth.SigV4QueryAuth(
                botocore.credentials.Credentials(KEY_ID, SECRET), "rds", "us-east-1", expires=900
            ).add_auth(request)
        with pytest.raises(verify.TokenError, match="service"):
            verify.verify_token(str(request.url)[len("https://") :], "alice", CONFIG, now=NOW)

    @pytest.mark.parametrize(
        ("offset_seconds", "valid"),
        [(0, True), (900, True), (901, False), (3600, False), (-299, True), (-301, False)],
    )
    def test_validity_window(self, offset_seconds: int, valid: bool) -> None:
        """Valid for X-Amz-Expires (900 s) after signing; signed at most 5 minutes in the future."""
        now = NOW + dt.timedelta(seconds=offset_seconds)
        if valid:
            verify.verify_token(unit_token(), "alice", CONFIG, now=now)
        else:
            with pytest.raises(verify.TokenError, match=r"expired|future"):
                verify.verify_token(unit_token(), "alice", CONFIG, now=now)

    def test_refuses_expiry_beyond_15_minutes(self) -> None:
        token = unit_token(expires_in=3600)
        with pytest.raises(verify.TokenError, match="X-Amz-Expires"):
            verify.verify_token(token, "alice", CONFIG, now=NOW)

    def test_shorter_expiry_is_honoured(self) -> None:
        token = unit_token(expires_in=60)
        verify.verify_token(token, "alice", CONFIG, now=NOW + dt.timedelta(seconds=60))
        with pytest.raises(verify.TokenError, match="expired"):
            verify.verify_token(token, "alice", CONFIG, now=NOW + dt.timedelta(seconds=61))

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("DBUser", "bob"),
            ("X-Amz-Expires", "899"),
            ("X-Amz-Date", "20250304T050608Z"),
            ("X-Amz-Signature", "0" * 64),
        ],
    )
    def test_refuses_tampered_token(self, name: str, value: str) -> None:
        token = replace_param(unit_token("alice"), name, value)
        user = value if name == "DBUser" else "alice"
        with pytest.raises(verify.TokenError, match="signature"):
            verify.verify_token(token, user, CONFIG, now=NOW)

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "hunter2",
            "https://127.0.0.1:55432/?Action=connect",
            "127.0.0.1:55432/?Action=connect&Action=connect&DBUser=alice",
            "127.0.0.1:55432/?Action=connect&DBUser=alice",
            "127.0.0.1:55432/?Action=connect&DBUser=alice&X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-SignedHeaders=host&X-Amz-Credential=x",
            "x" * 5000,
        ],
    )
    def test_refuses_malformed_tokens(self, token: str) -> None:
        with pytest.raises(verify.TokenError):
            verify.verify_token(token, "alice", CONFIG, now=NOW)

    def test_action_must_be_connect(self) -> None:
        token = replace_param(unit_token(), "Action", "disconnect")
        with pytest.raises(verify.TokenError, match="Action"):
            verify.verify_token(token, "alice", CONFIG, now=NOW)

    def test_unknown_keys_go_to_the_local_iam_when_configured(self, tmp_path: Path) -> None:
        """A token of credentials that are not static keys (STS): decided by a local IAM, refused without one."""
        token = unit_token(access_key="ASIAFROMSTS000000001", secret_key="s")
        config = dataclasses.replace(CONFIG, authorities_dir=str(tmp_path))
        with pytest.raises(verify.TokenError, match="no local IAM knows"):
            verify.verify_token(token, "alice", config, now=NOW)

    def test_read_token_stops_at_nul_and_newline(self) -> None:
        assert verify.read_token(b"abc\0garbage") == "abc"
        assert verify.read_token(b"abc\n") == "abc"

    def test_config_validation(self) -> None:
        with pytest.raises(ValueError, match="keys"):
            verify.Config.from_dict({"region": "us-east-1"})
        config = verify.Config.from_dict({"keys": {KEY_ID: SECRET}, "region": "us-east-1", "allowed_hosts": ["H:1"]})
        assert config.allowed_hosts == ("h:1",)
        assert config.max_skew_seconds == 300


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs the system python the servers use")
class TestVerifierCommandLine:
    """The verifier as the servers run it: /usr/bin/python3 (3.11 on Debian 12), token on stdin."""

    @pytest.fixture
    def config_file(self, tmp_path: Path) -> Path:
        path = tmp_path / "config.json"
        path.write_text(json.dumps({"keys": {KEY_ID: SECRET}, "region": "us-east-1"}))
        return path

    def run(self, *args: str, stdin: bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["/usr/bin/python3", str(HERE / "rds_iam_verify.py"), *args],
            input=stdin,
            capture_output=True,
            check=False,
            env=env,
            timeout=30,
        )

    def test_valid_token_exits_0(self, config_file: Path) -> None:
        token = iam_token(UNIT_ENV, "mariadb", "alice")  # signed now: the CLI checks against the clock
        result = self.run("--config", str(config_file), "alice", stdin=token.encode() + b"\0")
        assert result.returncode == 0, result.stderr

    def test_user_from_pam_user(self, config_file: Path) -> None:
        token = iam_token(UNIT_ENV, "postgres", "alice")
        env = {"PAM_USER": "alice", "RDS_IAM_CONFIG": str(config_file)}
        assert self.run(stdin=token.encode() + b"\0", env=env).returncode == 0
        env["PAM_USER"] = "bob"
        result = self.run(stdin=token.encode() + b"\0", env=env)
        assert result.returncode == 1
        assert b"DBUser" in result.stderr

    def test_refused_token_exits_1_with_reason(self, config_file: Path) -> None:
        result = self.run("--config", str(config_file), "alice", stdin=b"hunter2\0")
        assert result.returncode == 1
        assert b"refused user='alice'" in result.stderr

    def test_bad_config_exits_2(self, tmp_path: Path) -> None:
        result = self.run("--config", str(tmp_path / "missing.json"), "alice", stdin=b"x")
        assert result.returncode == 2


# =============================================================================================
# The servers
# =============================================================================================
PAM_FAILED = "PAM authentication failed"


@pytest.mark.dbs
class TestHarness:
    def test_env_json_and_files(self, local_dbs: LocalDbsEnv) -> None:
        assert local_dbs.postgres.admin_user == "rdsmaster"
        assert local_dbs.mariadb.admin_user == "admin"
        assert local_dbs.iam.region == "us-east-1"
        for path in (local_dbs.ca_file, local_dbs.wrong_ca_file, local_dbs.verifier, local_dbs.verifier_config):
            assert Path(path).is_file(), path
        assert Path("/etc/pam.d", local_dbs.pam_service).is_file()

    def test_status(self, local_dbs: LocalDbsEnv) -> None:
        result = subprocess.run(
            ["bash", str(HERE / "localdbs.sh"), "status"], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "postgres: up" in result.stdout
        assert "mariadb: up" in result.stdout

    @pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
    def test_server_certificate(self, local_dbs: LocalDbsEnv) -> None:
        ctx = ssl.create_default_context(cafile=local_dbs.ca_file)  # X509_STRICT on Python 3.13
        assert ctx.verify_flags & ssl.VERIFY_X509_STRICT
        pem = (Path(local_dbs.base_dir) / "tls" / "server.pem").read_text()
        text = subprocess.run(
            ["openssl", "x509", "-noout", "-ext", "subjectAltName"],
            input=pem,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "IP Address:127.0.0.1" in text
        assert "DNS:localhost" in text


@pytest.mark.dbs
class TestPostgres:
    def test_iam_login_with_valid_token(self, local_dbs: LocalDbsEnv, pg_iam_user: str) -> None:
        token = iam_token(local_dbs, "postgres", pg_iam_user)
        assert pg_login_with_token(pg_iam_user, token, env=local_dbs) == pg_iam_user

    def test_iam_login_via_localhost_name(self, local_dbs: LocalDbsEnv, pg_iam_user: str) -> None:
        token = iam_token(local_dbs, "postgres", pg_iam_user, hostname="localhost")
        assert pg_login_with_token(pg_iam_user, token, env=local_dbs, host="localhost") == pg_iam_user

    def test_token_for_a_fake_rds_endpoint(self, local_dbs: LocalDbsEnv, pg_iam_user: str) -> None:
        token = iam_token(
            local_dbs, "postgres", pg_iam_user, hostname="db1.cxyz.us-east-1.rds.amazonaws.com", port=5432
        )
        assert pg_login_with_token(pg_iam_user, token, env=local_dbs) == pg_iam_user

    @pytest.mark.parametrize(
        "variant", ["wrong_user", "wrong_secret", "unknown_key", "wrong_region", "expired", "future", "tampered"]
    )
    def test_iam_login_refused(self, local_dbs: LocalDbsEnv, pg_iam_user: str, variant: str) -> None:
        token = bad_token(local_dbs, "postgres", pg_iam_user, variant)
        with pytest.raises(psycopg.OperationalError, match=PAM_FAILED):
            pg_login_with_token(pg_iam_user, token, env=local_dbs)

    def test_plain_password_refused_for_iam_user(self, local_dbs: LocalDbsEnv, pg_iam_user: str) -> None:
        """Like RDS: for members of rds_iam the token is the only way in, even with a password set."""
        with pg_superuser_connect(local_dbs) as conn:
            conn.execute(sql.SQL("ALTER USER {} PASSWORD 'hunter2'").format(sql.Identifier(pg_iam_user)))
        with pytest.raises(psycopg.OperationalError, match=PAM_FAILED):
            pg_login_with_token(pg_iam_user, "hunter2", env=local_dbs)

    def test_master_user_password_login_and_privileges(self, local_dbs: LocalDbsEnv) -> None:
        pg = local_dbs.postgres
        with pg_connect(pg.admin_user, pg.admin_password, env=local_dbs) as conn:
            row = conn.execute(
                "SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb,"
                " pg_has_role(current_user, 'rds_superuser', 'MEMBER'),"
                " pg_has_role(current_user, 'rds_iam', 'MEMBER'), current_setting('ssl')"
                " FROM pg_roles r WHERE r.rolname = current_user"
            ).fetchone()
            assert row == (False, True, True, True, False, "on")
            assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)

    def test_master_user_can_onboard_an_iam_user(self, local_dbs: LocalDbsEnv) -> None:
        """What the product does on RDS: as the master user, CREATE USER + GRANT rds_iam."""
        pg, name = local_dbs.postgres, "iam_pg_by_master"
        with pg_connect(pg.admin_user, pg.admin_password, env=local_dbs) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE USER {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("GRANT rds_iam TO {}").format(sql.Identifier(name)))
        try:
            assert pg_login_with_token(name, iam_token(local_dbs, "postgres", name), env=local_dbs) == name
        finally:
            with pg_superuser_connect(local_dbs) as conn:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))

    def test_password_user_cannot_use_a_token(self, local_dbs: LocalDbsEnv) -> None:
        pg = local_dbs.postgres
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            pg_connect(pg.admin_user, iam_token(local_dbs, "postgres", pg.admin_user), env=local_dbs)

    def test_wrong_ca_fails_tls_verification(self, local_dbs: LocalDbsEnv, pg_iam_user: str) -> None:
        token = iam_token(local_dbs, "postgres", pg_iam_user)
        with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
            pg_login_with_token(pg_iam_user, token, env=local_dbs, ca_file=local_dbs.wrong_ca_file)

    def test_non_tls_connection_refused(self, local_dbs: LocalDbsEnv) -> None:
        pg = local_dbs.postgres
        with pytest.raises(psycopg.OperationalError, match="no encryption"):
            pg_connect(pg.admin_user, pg.admin_password, env=local_dbs, sslmode="disable")

    def test_logical_replication_ready(self, local_dbs: LocalDbsEnv) -> None:
        with pg_superuser_connect(local_dbs) as conn:
            assert conn.execute("SHOW wal_level").fetchone() == ("logical",)


@pytest.mark.dbs
class TestMariaDB:
    def test_iam_login_with_valid_token(self, local_dbs: LocalDbsEnv, mariadb_iam_user: str) -> None:
        token = iam_token(local_dbs, "mariadb", mariadb_iam_user)
        assert mariadb_login_with_token(mariadb_iam_user, token, env=local_dbs) == mariadb_iam_user

    def test_iam_login_via_localhost_name(self, local_dbs: LocalDbsEnv, mariadb_iam_user: str) -> None:
        token = iam_token(local_dbs, "mariadb", mariadb_iam_user, hostname="localhost")
        assert mariadb_login_with_token(mariadb_iam_user, token, env=local_dbs, host="localhost") == mariadb_iam_user

    @pytest.mark.parametrize(
        "variant", ["wrong_user", "wrong_secret", "unknown_key", "wrong_region", "expired", "future", "tampered"]
    )
    def test_iam_login_refused(self, local_dbs: LocalDbsEnv, mariadb_iam_user: str, variant: str) -> None:
        token = bad_token(local_dbs, "mariadb", mariadb_iam_user, variant)
        with pytest.raises(pymysql.err.OperationalError) as info:
            mariadb_login_with_token(mariadb_iam_user, token, env=local_dbs)
        assert info.value.args[0] == 1045  # Access denied

    def test_plain_password_refused(self, local_dbs: LocalDbsEnv, mariadb_iam_user: str) -> None:
        with pytest.raises(pymysql.err.OperationalError) as info:
            mariadb_login_with_token(mariadb_iam_user, "hunter2", env=local_dbs)
        assert info.value.args[0] == 1045

    def test_admin_password_login_over_tls(self, local_dbs: LocalDbsEnv) -> None:
        my = local_dbs.mariadb
        with mariadb_connect(my.admin_user, my.admin_password, env=local_dbs) as conn, conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
            row = cur.fetchone()
            assert row is not None
            assert row[1].startswith("TLS")
            cur.execute("SHOW GRANTS")
            assert any("ALL PRIVILEGES ON *.*" in g[0] and "WITH GRANT OPTION" in g[0] for g in cur.fetchall())

    def test_admin_can_onboard_an_iam_user(self, local_dbs: LocalDbsEnv) -> None:
        """What the product does on RDS: as the master user, CREATE USER ... AWSAuthenticationPlugin."""
        my, name = local_dbs.mariadb, "iam_my_by_admin"
        with mariadb_connect(my.admin_user, my.admin_password, env=local_dbs) as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
            cur.execute(f"CREATE USER '{name}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'")
        try:
            token = iam_token(local_dbs, "mariadb", name)
            assert mariadb_login_with_token(name, token, env=local_dbs) == name
        finally:
            with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
                cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")

    def test_wrong_ca_fails_tls_verification(self, local_dbs: LocalDbsEnv, mariadb_iam_user: str) -> None:
        token = iam_token(local_dbs, "mariadb", mariadb_iam_user)
        with pytest.raises(pymysql.err.OperationalError, match="CERTIFICATE_VERIFY_FAILED"):
            mariadb_login_with_token(mariadb_iam_user, token, env=local_dbs, ca_file=local_dbs.wrong_ca_file)

    def test_non_tls_connection_refused(self, local_dbs: LocalDbsEnv) -> None:
        """require_secure_transport=ON; MariaDB reports it as a plain 'Access denied' (1045)."""
        my = local_dbs.mariadb
        with pytest.raises(pymysql.err.OperationalError) as info:
            mariadb_connect(my.admin_user, my.admin_password, env=local_dbs, tls=False)
        assert info.value.args[0] == 1045

    def test_client_never_sends_the_token_without_tls(self, local_dbs: LocalDbsEnv, mariadb_iam_user: str) -> None:
        """Even where the server would allow plain TCP, the helper refuses to send the token in clear."""
        token = iam_token(local_dbs, "mariadb", mariadb_iam_user)
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute("SET GLOBAL require_secure_transport = OFF")
            try:
                with pytest.raises(pymysql.err.OperationalError) as info:
                    mariadb_login_with_token(mariadb_iam_user, token, env=local_dbs, tls=False)
            finally:
                cur.execute("SET GLOBAL require_secure_transport = ON")
        assert info.value.args[0] == 2061

    def test_uninstalled_plugin_gives_error_1524(self, local_dbs: LocalDbsEnv) -> None:
        """RDS before IAM auth is enabled: the plugin is not loaded, CREATE USER fails with 1524."""
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            with mariadb_iam_plugin_uninstalled(local_dbs):
                with pytest.raises(pymysql.err.OperationalError) as info:
                    cur.execute("CREATE USER 'iam_my_noplugin'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'")
                assert info.value.args == (1524, "Plugin 'AWSAuthenticationPlugin' is not loaded")
            cur.execute(
                "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'AWSAuthenticationPlugin'"
            )
            assert cur.fetchone() == ("ACTIVE",)

    def test_binlog_ready_for_cdc(self, local_dbs: LocalDbsEnv) -> None:
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute("SELECT @@log_bin, @@binlog_format, @@server_id, @@binlog_row_image, @@binlog_row_metadata")
            assert cur.fetchone() == (1, "ROW", 1, "FULL", "FULL")

    def test_rds_configuration_procedures(self, local_dbs: LocalDbsEnv) -> None:
        my = local_dbs.mariadb
        with mariadb_connect(my.admin_user, my.admin_password, env=local_dbs) as conn, conn.cursor() as cur:
            try:
                # the server is shared: other suites may have set it (the onboarding sets 72 h); NULL = RDS's default
                cur.execute("CALL mysql.rds_set_configuration('binlog retention hours', NULL)")
                cur.execute("CALL mysql.rds_show_configuration()")
                assert [r[:2] for r in cur.fetchall()] == [("binlog retention hours", None)]
                cur.execute("CALL mysql.rds_set_configuration('binlog retention hours', 24)")
                cur.execute("CALL mysql.rds_show_configuration")
                assert [r[:2] for r in cur.fetchall()] == [("binlog retention hours", "24")]
                for bad in (0, 169, -1):
                    with pytest.raises(pymysql.err.OperationalError) as info:
                        cur.execute("CALL mysql.rds_set_configuration('binlog retention hours', %s)", (bad,))
                    assert info.value.args[0] == 1644
                    assert "between 1 and 168" in info.value.args[1]
                with pytest.raises(pymysql.err.OperationalError, match="Invalid configuration name"):
                    cur.execute("CALL mysql.rds_set_configuration('no such setting', 1)")
                cur.execute("CALL mysql.rds_set_configuration('binlog retention hours', 168)")
            finally:
                cur.execute("CALL mysql.rds_set_configuration('binlog retention hours', NULL)")
            cur.execute("CALL mysql.rds_show_configuration()")
            assert [r[:2] for r in cur.fetchall()] == [("binlog retention hours", None)]


def bad_token(env: LocalDbsEnv, engine: Engine, user: str, variant: str) -> str:
    """An IAM token for ``user`` that RDS would refuse, in one of several ways."""
    now = dt.datetime.now(dt.UTC)
    match variant:
        case "wrong_user":
            return iam_token(env, engine, "someone_else")
        case "wrong_secret":
            return iam_token(env, engine, user, secret_key="wrong/secret/key/0123456789abcdefghijk")
        case "unknown_key":
            return iam_token(env, engine, user, access_key="AKIAUNKNOWNUNKNOWN01")
        case "wrong_region":
            return iam_token(env, engine, user, region="eu-west-1")
        case "expired":
            return iam_token(env, engine, user, now=now - dt.timedelta(minutes=16))
        case "future":
            return iam_token(env, engine, user, now=now + dt.timedelta(minutes=10))
        case "tampered":
            token = iam_token(env, engine, "someone_else")
            return replace_param(token, "DBUser", user)
    raise ValueError(variant)
