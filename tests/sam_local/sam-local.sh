#!/usr/bin/env bash
# `make sam-local`: the README's `sam local invoke` commands, offline (no AWS account, no container registry).
#
# Brings up what those commands need, runs them exactly as the README writes them (the lines between the
# "README commands" markers below; tests/unit/test_docs.py checks that the README's block is these lines), prints
# what each function returned, and stops everything it started, by PID:
#   1. SAM CLI (.tools/sam), a private dockerd and the locally built Lambda base image (samtools.sh up; dockerd is
#      stopped again at the end only if it was not running before);
#   2. moto_server at env.json's AWS_ENDPOINT_URL, which must be the docker bridge address (samtools.sh host-ip);
#   3. the seed data: `orders-pg` (PostgreSQL 16.4, RDS-managed master secret) and the state machine that
#      events/resolve_target.json and env.json's STATE_MACHINE_ARN name;
#   4. `make build`, then `sam local invoke` of ResolveTargetFunction and ApiFunction.
# SAM_LOCAL_SHELL=1: before stopping, an interactive shell in that environment (sam on PATH, moto seeded) for more
# `sam local` commands, e.g. `sam local start-api --env-vars env.json --skip-pull-image`.
# Root only (dockerd). Run by the container suite (tests/sam_local/test_make_sam_local.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# sam copies the caller's value of every variable the template declares (AWS_ENDPOINT_URL, DB_CA_BUNDLE, …) into
# the containers, and its credentials: start again from an empty environment.
if [ -z "${SAM_LOCAL_CLEAN_ENV:-}" ]; then
  exec env -i SAM_LOCAL_CLEAN_ENV=1 HOME="${HOME:-/root}" PATH="$PATH" LANG="${LANG:-C.UTF-8}" TERM="${TERM:-dumb}" \
    ${PYENV_ROOT:+PYENV_ROOT="$PYENV_ROOT"} ${SAM_LOCAL_SHELL:+SAM_LOCAL_SHELL="$SAM_LOCAL_SHELL"} \
    bash "${BASH_SOURCE[0]}" "$@"
fi
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 \
       AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
       SAM_CLI_TELEMETRY=0
LOG_DIR=.aws-sam/sam-local   # logs (moto.log, output.jsonl); .aws-sam is sam build's own, git-ignored
mkdir -p "$LOG_DIR"

step() { printf '\n==> %s [%ss]\n' "$*" "$SECONDS" >&2; }
die() { printf 'sam-local: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (a private dockerd)"
[ -x .venv/bin/moto_server ] || die "no .venv: run 'make deps'"

started=()   # how to stop what this run started, in order of starting
cleanup() {
  local rc=$? i
  for ((i=${#started[@]}-1; i>=0; i--)); do
    step "stop: ${started[i]}"
    ${started[i]} || rc=1
  done
  exit $rc
}
trap cleanup EXIT
stop_pid() {   # stop_pid PID: SIGTERM, then SIGKILL after 20 s
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}

step "SAM CLI, dockerd, the Lambda base image (tests/sam_local/samtools.sh up)"
eval "$(bash tests/sam_local/samtools.sh env)"   # DOCKER_HOST, `sam` on PATH
dockerd_was_up=$(/usr/bin/docker version >/dev/null 2>&1 && echo yes || echo no)
bash tests/sam_local/samtools.sh up
[ "$dockerd_was_up" = yes ] || started+=("bash tests/sam_local/samtools.sh down")

endpoint=$(.venv/bin/python -c 'import json; print(json.load(open("env.json"))["Parameters"]["AWS_ENDPOINT_URL"])')
hostport=${endpoint#http://}; host=${hostport%:*}; port=${hostport##*:}
bridge=$(bash tests/sam_local/samtools.sh host-ip)
[ "$host" = "$bridge" ] || die "env.json's AWS_ENDPOINT_URL is $endpoint, but the containers reach the host at $bridge: put http://$bridge:$port into env.json"
step "moto_server at $endpoint (env.json's AWS_ENDPOINT_URL)"
! curl -s -o /dev/null --max-time 2 "$endpoint/" || die "something already answers at $endpoint (another make sam-local?)"
.venv/bin/python -m tests.harness.moto_server -H "$host" -p "$port" >"$LOG_DIR/moto.log" 2>&1 &  # moto + RDS rules
moto_pid=$!
started+=("stop_pid $moto_pid")
until curl -sf -o /dev/null --max-time 2 "$endpoint/moto-api/"; do
  kill -0 "$moto_pid" 2>/dev/null || { tail -5 "$LOG_DIR/moto.log" >&2; die "moto_server exited"; }
  sleep 0.2
done
export AWS_ENDPOINT_URL_STS=$endpoint   # sam calls STS GetCallerIdentity on every invoke

step "seed moto: orders-pg, the state machine of events/resolve_target.json"
AWS_ENDPOINT_URL=$endpoint .venv/bin/python - <<'PY'
import json

import boto3

boto3.client("rds").create_db_instance(
    DBInstanceIdentifier="orders-pg", Engine="postgres", EngineVersion="16.4", DBInstanceClass="db.t3.micro",
    MasterUsername="master", ManageMasterUserPassword=True, AllocatedStorage=20,
)
machine = json.load(open("events/resolve_target.json"))["state_machine_arn"].split(":stateMachine:")[1]
boto3.client("stepfunctions").create_state_machine(
    name=machine, roleArn="arn:aws:iam::123456789012:role/onboarding-state-machine",
    definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}),
)
guard = json.load(open("env.json"))["ResolveTargetFunction"]["GUARD_TABLE_NAME"]  # the template's GuardTable
boto3.client("dynamodb").create_table(
    TableName=guard, KeySchema=[{"AttributeName": "db", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "db", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
)
print(f"seeded: orders-pg, state machine {machine}, guard table {guard}")
PY

step "the README's commands"
{
# README commands: begin
make build
sam local invoke ResolveTargetFunction -e events/resolve_target.json --env-vars env.json --skip-pull-image
sam local invoke ApiFunction -e events/api_post_onboarding.json --env-vars env.json --skip-pull-image
# README commands: end
} | tee "$LOG_DIR/output.log"

step "what the functions returned"
.venv/bin/python - "$LOG_DIR/output.log" <<'PY'
import json
import sys

# sam prints each payload as one JSON object without a newline, among the build's and its own output
text, decoder, at, failed = open(sys.argv[1]).read(), json.JSONDecoder(), 0, False
while (at := text.find("{", at)) >= 0:
    try:
        payload, end = decoder.raw_decode(text, at)
    except ValueError:
        at += 1
        continue
    print(json.dumps(payload, indent=2))
    failed |= isinstance(payload, dict) and "errorType" in payload
    at = end
sys.exit(1 if failed else 0)
PY

if [ -n "${SAM_LOCAL_SHELL:-}" ]; then
  step "a shell with sam on PATH and moto at $endpoint; exit it to stop everything"
  bash -i </dev/tty || true
fi
