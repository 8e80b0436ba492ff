"""What the container suite drives: `sam build`, `sam local invoke`, `sam local start-api` against moto
on the docker bridge address (:class:`SamLocal`, :class:`LocalApi`), and the engine/moto helpers the
session fixture in ``conftest.py`` uses. See that module's docstring for the session's life cycle.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]
SAMTOOLS = HERE / "samtools.sh"
TEMPLATE = PROJECT_ROOT / "template.yaml"
EVENTS = PROJECT_ROOT / "events"
# the template's GuardTable as a deployed stack names it (env.json: what `make sam-local` passes)
GUARD_TABLE = json.loads((PROJECT_ROOT / "env.json").read_text())["ResolveTargetFunction"]["GUARD_TABLE_NAME"]
MOTO_SERVER = PROJECT_ROOT / ".venv" / "bin" / "moto_server"
PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"  # runs tests.harness.moto_server: moto with the RDS rules
DOCKER = "/usr/bin/docker"  # the engine's own client (samtools.sh: the static one wants buildx)
BASE_IMAGE = "public.ecr.aws/lambda/python:3.13-x86_64"
DATA_DIR = Path(os.environ.get("SAMLOCAL_DATA_DIR", "/var/lib/clickpipes-docker"))
WORK = DATA_DIR / "sam-local-tests"

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account = what sam local sets as AWS_ACCOUNT_ID
ALLOWED_ACCOUNT = "111122223333"  # AllowedClickHousePrincipals: the test principal's account
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/clickpipes/sam-app-role-boundary"  # ClickPipesRoleBoundary
# the state machines the sample events name (events/resolve_target.json, events/resolve_offboarding.json)
ONBOARDING_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:clickpipes-onboarding-onboarding"
OFFBOARDING_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:clickpipes-offboarding"
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
UP_TIMEOUT = 1200  # a first `up` installs the SAM CLI and debootstraps the base image
BUILD_TIMEOUT = 600
INVOKE_TIMEOUT = 180
START_API_TIMEOUT = 60  # until start-api answers HTTP (it starts no container before the first request)
HTTP_TIMEOUT = 120  # one request through start-api: the first one builds the layer image and starts the container
STOP_SIGTERMS, STOP_WAIT = 3, 10  # start-api: SIGTERMs sent (each waited for that many seconds), then SIGKILL

# Wall-clock seconds of each phase, printed after the run (pytest_terminal_summary).
TIMINGS: dict[str, list[float]] = {}


def _timed(name: str, seconds: float) -> None:
    TIMINGS.setdefault(name, []).append(seconds)


# ------------------------------------------------------------------------------------------------ helpers
def _run(
    cmd: list[str], *, env: dict[str, str], timeout: float, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )


def _samtools(command: str, *, timeout: float = 60) -> str:
    result = _run(["bash", str(SAMTOOLS), command], env=dict(os.environ), timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"samtools.sh {command} failed (rc={result.returncode}):\n{result.stderr[-3000:]}", pytrace=False)
    return result.stdout


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------------------------ session
@dataclass
class Invocation:
    function: str
    seconds: float
    payload: dict[str, Any]
    stderr: str

    @property
    def error_type(self) -> str | None:
        return self.payload.get("errorType")

    def ok(self) -> dict[str, Any]:
        """The handler's result; fails the test with the handler's error and log when it raised."""
        assert self.error_type is None, (
            f"{self.function} raised {self.error_type}: {self.payload.get('errorMessage')}\n{self.stderr[-3000:]}"
        )
        return self.payload


@dataclass
class HttpResponse:
    """An API answer, from start-api (HTTP) or from the proxy result `sam local invoke` prints."""

    status: int
    headers: dict[str, str]
    body: Any  # the JSON body

    @classmethod
    def from_proxy(cls, invocation: Invocation) -> HttpResponse:
        """The API Gateway proxy result of a handler (REST API: Powertools puts headers in multiValueHeaders)."""
        payload = invocation.ok()
        headers = {k: v[-1] for k, v in (payload.get("multiValueHeaders") or {}).items()}
        headers |= payload.get("headers") or {}
        assert payload.get("isBase64Encoded") is False, payload
        return cls(payload["statusCode"], headers, json.loads(payload["body"]))


@dataclass
class LocalApi:
    """A running `sam local start-api` on 127.0.0.1:<port>. :meth:`stop` sends SIGTERM to its PID."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path  # NN-start-api.http: every request and answer, one JSON object a line
    docker_env: dict[str, str]
    containers_before: set[str]
    stopped: tuple[int, list[str]] | None = None
    sigterms: int = 0  # how many SIGTERMs stop() needed (more than 1: sam lost one, see stop())

    def request(self, method: str, path: str, body: Any = None) -> HttpResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)  # no proxy
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        t0 = time.monotonic()
        try:
            conn.request(method, path, body=data, headers=headers)
            answer = conn.getresponse()
            raw = answer.read().decode()
            response = HttpResponse(answer.status, dict(answer.getheaders()), json.loads(raw) if raw else None)
        finally:
            conn.close()
        seconds = time.monotonic() - t0
        _timed("start-api request", seconds)
        with self.log.open("a") as out:
            out.write(json.dumps({"request": [method, path, body], "seconds": round(seconds, 2)} | vars(response)))
            out.write("\n")
        return response

    def stop(self) -> tuple[int, list[str]]:
        """SIGTERM to sam's PID; (its exit code, the containers it left, which are then removed).

        sam's SIGTERM handler raises in the main thread. When the signal lands while that thread is still
        starting the thread of the last request, socketserver reports the exception as a failed request and
        serves on; so SIGTERM is sent again (by PID) until sam exits, and only then is it killed."""
        if self.stopped is None:
            t0 = time.monotonic()
            for _ in range(STOP_SIGTERMS):
                if self.proc.poll() is not None:
                    break
                self.proc.send_signal(signal.SIGTERM)
                self.sigterms += 1
                try:
                    self.proc.wait(STOP_WAIT)
                except subprocess.TimeoutExpired:
                    continue
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            seconds = time.monotonic() - t0
            _timed("start-api stop", seconds)
            left = sorted(_containers(self.docker_env) - self.containers_before)
            if left:  # leave nothing behind, whatever the test says about it
                _run([DOCKER, "rm", "-f", *left], env=self.docker_env, timeout=60)
            self.stopped = (self.proc.returncode, left)
            with self.log.open("a") as out:
                stop = {"sigterms": self.sigterms, "returncode": self.proc.returncode, "containers_left": left}
                out.write(json.dumps({"stop": stop, "seconds": round(seconds, 2)}) + "\n")
        return self.stopped


def _answers_http(port: int) -> bool:
    """Any HTTP answer on 127.0.0.1:PORT (an unknown path: sam answers 403 itself, without a container)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
    return True


def _containers(env: dict[str, str]) -> set[str]:
    listed = _run([DOCKER, "ps", "-aq", "--no-trunc"], env=env, timeout=30)
    assert listed.returncode == 0, listed.stderr
    return set(listed.stdout.split())


@dataclass
class SamLocal:
    env: dict[str, str]  # the environment of every `sam` process
    sam: str
    template: Path  # <build>/template.yaml
    host_ip: str
    endpoint: str
    invokes: Path
    _count: int = field(default=0)
    _seal_arn: str = field(default="")

    def aws(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, **_boto_keys())  # type: ignore[call-overload]  # boto3-stubs: service as a plain str

    def guard_table(self, name: str) -> str:
        """A guard table as the template's GuardTable (one item per DB), unless it exists; returns its name."""
        ddb = self.aws("dynamodb")
        if name not in ddb.list_tables()["TableNames"]:
            ddb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "db", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "db", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        return name

    def stack_tables(self) -> str:
        """The template's GuardTable, named as env.json names it (sam local cannot resolve its Ref)."""
        return self.guard_table(GUARD_TABLE)

    def seal_secret(self) -> str:
        """The template's StateSealSecret (a generated key under ``key``), made once in moto; its ARN."""
        if not self._seal_arn:
            sm = self.aws("secretsmanager")
            name, key = "sam-app-state-seal", json.dumps({"key": secrets.token_hex(32)})
            try:
                self._seal_arn = sm.create_secret(Name=name, SecretString=key)["ARN"]
            except sm.exceptions.ResourceExistsException:
                self._seal_arn = sm.describe_secret(SecretId=name)["ARN"]
        return self._seal_arn

    def stack_parameters(self) -> dict[str, str]:
        """What every function gets, as a deployed stack would give it: the emulator's endpoint, the trust
        boundary's allowlist (the test principal's account), the stack's boundary policy and the state machines'
        ARNs, the state seal's key secret (sam local cannot resolve the Ref of the template's ManagedPolicy, state
        machines or secret)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "ALLOWED_CLICKHOUSE_PRINCIPALS": ALLOWED_ACCOUNT,
            "PERMISSIONS_BOUNDARY_ARN": BOUNDARY_ARN,
            "ONBOARDING_STATE_MACHINE_ARN": ONBOARDING_MACHINE_ARN,
            "OFFBOARDING_STATE_MACHINE_ARN": OFFBOARDING_MACHINE_ARN,
            "GUARD_TABLE_NAME": GUARD_TABLE,
            "STATE_SEAL_SECRET_ARN": self.seal_secret(),
        }

    def invoke(self, function: str, event: dict[str, Any], env: dict[str, dict[str, str]] | None = None) -> Invocation:
        """`sam local invoke` FUNCTION with EVENT; `env` adds per-function variables to AWS_ENDPOINT_URL.

        Only variables the template declares can be set (sam drops the others silently).
        """
        self._count += 1
        stem = self.invokes / f"{self._count:02d}-{function}"
        event_file, env_file = stem.with_suffix(".event.json"), stem.with_suffix(".env.json")
        event_file.write_text(json.dumps(event, indent=1))
        env_file.write_text(json.dumps({"Parameters": self.stack_parameters(), **(env or {})}, indent=1))
        cmd = [
            self.sam, "local", "invoke", "--skip-pull-image", "-t", str(self.template),
            "-e", str(event_file), "--env-vars", str(env_file), function,
        ]  # fmt: skip
        t0 = time.monotonic()
        result = _run(cmd, env=self.env, timeout=INVOKE_TIMEOUT, cwd=WORK)
        seconds = time.monotonic() - t0
        _timed("sam local invoke", seconds)
        stem.with_suffix(".out").write_text(result.stdout)
        stem.with_suffix(".err").write_text(result.stderr)
        # sam exits 0 when the handler raises: the payload (stdout) says what happened.
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        failed = (
            f"sam local invoke {function} failed (rc={result.returncode}):\n{result.stdout}\n{result.stderr[-3000:]}"
        )
        assert result.returncode == 0, failed
        assert lines, failed
        payload = json.loads(lines[-1])
        assert isinstance(payload, dict), payload
        return Invocation(function, seconds, payload, result.stderr)

    def start_api(self, env: dict[str, dict[str, str]] | None = None) -> LocalApi:
        """`sam local start-api` on a free port of 127.0.0.1, one warm container per function (LAZY: started
        by the first request, reused after, removed at SIGTERM). Returns once it answers HTTP; the caller
        must :meth:`LocalApi.stop` it. `env` as for :meth:`invoke`."""
        self._count += 1
        stem = self.invokes / f"{self._count:02d}-start-api"
        env_file = stem.with_suffix(".env.json")
        env_file.write_text(json.dumps({"Parameters": self.stack_parameters(), **(env or {})}, indent=1))
        port = free_port("127.0.0.1")
        cmd = [
            self.sam, "local", "start-api", "--skip-pull-image", "-t", str(self.template),
            "--env-vars", str(env_file), "--host", "127.0.0.1", "--port", str(port), "--warm-containers", "LAZY",
        ]  # fmt: skip
        before = _containers(self.env)
        t0 = time.monotonic()
        with stem.with_suffix(".out").open("wb") as out, stem.with_suffix(".err").open("wb") as err:
            proc = subprocess.Popen(  # stopped by PID (LocalApi.stop)
                cmd, env=self.env, cwd=WORK, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
            )
        api = LocalApi(proc, port, stem.with_suffix(".http"), self.env, before)
        deadline = time.monotonic() + START_API_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            if _answers_http(port):
                _timed("start-api up", time.monotonic() - t0)
                return api
            time.sleep(0.2)
        api.stop()
        pytest.fail(
            f"sam local start-api did not answer on 127.0.0.1:{port} (rc={proc.returncode}):\n"
            f"{stem.with_suffix('.err').read_text()[-3000:]}",
            pytrace=False,
        )


def _boto_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": FAKE_KEYS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_KEYS["AWS_SECRET_ACCESS_KEY"],
    }


def _sam_env(docker_host: str, sam_bin_dir: str, endpoint: str | None = None) -> dict[str, str]:
    """A clean environment: sam copies the host's value of every declared variable (AWS_ENDPOINT_URL,
    DB_CA_BUNDLE, …) into the container, and its credentials, so nothing is inherited but the basics."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "TERM")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {
        "PATH": f"{sam_bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "DOCKER_HOST": docker_host,
        "DOCKER_BUILDKIT": "0",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(WORK / "no-aws-config"),  # never a profile from ~/.aws
        "AWS_SHARED_CREDENTIALS_FILE": str(WORK / "no-aws-credentials"),
        **FAKE_KEYS,
    }
    if endpoint:
        # sam calls STS GetCallerIdentity on every invoke: offline that is ~10 s of retries
        env["AWS_ENDPOINT_URL_STS"] = endpoint
    return env


def _engine_env() -> tuple[str, str]:
    """DOCKER_HOST and the directory holding only `sam`, from `samtools.sh env`."""
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in _samtools("env").splitlines()
        if line.startswith("export ")
    )
    return exports["DOCKER_HOST"], exports["PATH"].split(":", 1)[0]


def _engine_ready(docker_host: str, sam_bin_dir: str) -> tuple[bool, bool]:
    """(dockerd answers, everything needed is there: dockerd + base image + sam)."""
    env = dict(os.environ, DOCKER_HOST=docker_host)
    answers = _run([DOCKER, "version"], env=env, timeout=30).returncode == 0
    image = answers and _run([DOCKER, "image", "inspect", BASE_IMAGE], env=env, timeout=30).returncode == 0
    return answers, image and os.access(Path(sam_bin_dir, "sam"), os.X_OK)


def _sam_build(env: dict[str, str], build_dir: Path) -> Path:
    """`sam build` of the project's template.yaml (no container: pyenv's python3.13 first on PATH)."""
    python = _samtools("python").strip()
    build_env = dict(env, PATH=f"{os.path.dirname(python)}:{env['PATH']}")
    cmd = [
        env["PATH"].split(":", 1)[0] + "/sam", "build", "-t", str(TEMPLATE),
        "--build-dir", str(build_dir), "--cache-dir", str(WORK / "cache"), "--cached",
    ]  # fmt: skip
    t0 = time.monotonic()
    result = _run(cmd, env=build_env, timeout=BUILD_TIMEOUT, cwd=WORK)  # --cached: .aws-sam/deps goes to the CWD
    _timed("sam build", time.monotonic() - t0)
    (WORK / "build.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        pytest.fail(f"sam build -t {TEMPLATE} failed:\n{(result.stdout + result.stderr)[-3000:]}", pytrace=False)
    # The containers run exactly this: the layers come with their bytecode (functions/layer.mk).
    return build_dir / "template.yaml"


def _start_moto(host: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port(host)
    endpoint = f"http://{host}:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # stopped by PID at the end of the session
            [str(PYTHON), "-m", "tests.harness.moto_server", "-H", host, "-p", str(port)], cwd=PROJECT_ROOT,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"moto_server exited (rc={proc.returncode}): {log.read_text()[-2000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):  # noqa: S310 - our own http URL
                return proc, endpoint
        except OSError:
            time.sleep(0.1)
    _stop(proc)
    pytest.fail(f"moto_server did not answer at {endpoint}", pytrace=False)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def sample_event(name: str, **replace: Any) -> dict[str, Any]:
    """events/<name>.json with some fields replaced."""
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data | replace


def role_name(identifier: str, kind: str = "instance") -> str:
    """The role the onboarding makes for a DB of this region (``clickpipes.rules.role_name``)."""
    digest = hashlib.sha256(f"{REGION}:{kind}:{identifier}".encode()).hexdigest()[:8]
    return f"clickpipes-{identifier}-{digest}"
