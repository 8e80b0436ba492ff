#!/usr/bin/env bash
# End-to-end smoke of the local Lambda container stack on the toy app (tests/sam_local/toy):
#   samtools.sh up -> sam build -> moto_server -> sam local invoke -> sam local start-api + curl
#   -> teardown (start-api, moto and dockerd stopped by PID in an EXIT trap).
# Exits non-zero on any failure and leaves no process behind.
#   SAMLOCAL_KEEP_DOCKERD=1  leave dockerd running at the end (faster reruns while iterating)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_ROOT=$(cd "$HERE/../.." && pwd)
SAMTOOLS=$HERE/samtools.sh
TOY=$HERE/toy
WORK=${TOY_WORK:-${SAMLOCAL_DATA_DIR:-/var/lib/clickpipes-docker}/toy-work}
MOTO_SERVER=${MOTO_SERVER:-$PROJECT_ROOT/.venv/bin/moto_server}
HOST_PY=${HOST_PY:-$PROJECT_ROOT/.venv/bin/python}    # has boto3 (seeding, checks)
ROLE=toy-sam-local-role

log() { printf 'run-toy: %s\n' "$*" >&2; }
now() { date +%s.%N; }
declare -A TIMES=()
timed() {   # timed NAME CMD...: errexit stays on inside CMD (no `||` around it)
  local name=$1 t0 rc; shift; t0=$(now)
  set +e; (set -e; "$@"); rc=$?; set -e
  TIMES[$name]=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  log "$(printf '%-10s %6s s%s' "$name" "${TIMES[$name]}" "$([ $rc = 0 ] || echo " FAILED (rc=$rc)")")"
  return $rc
}
free_port() { "$HOST_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
stop_pid() {   # stop_pid PID NAME: TERM, wait up to 20 s, then KILL
  local pid=$1 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  log "stopping $2 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && { log "$2 ignored SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  wait "$pid" 2>/dev/null || true
}

MOTO_PID= API_PID=
cleanup() {
  local rc=$?
  set +e
  stop_pid "$API_PID" "sam local start-api"
  stop_pid "$MOTO_PID" moto_server
  local job   # a signal between `cmd &` and `PID=$!` would leave one unnamed: our own jobs only
  for job in $(jobs -p); do stop_pid "$job" "background job"; done
  if [ -n "${DOCKER_HOST:-}" ] && docker version >/dev/null 2>&1; then
    docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1   # none expected; never leave one
  fi
  [ "${SAMLOCAL_KEEP_DOCKERD:-0}" = 1 ] || "$SAMTOOLS" down
  [ $rc = 0 ] && log "PASSED" || log "FAILED (rc=$rc); logs in $WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$MOTO_SERVER" ] || { log "no $MOTO_SERVER (uv sync the project first)"; exit 1; }

# 1. engine, SAM CLI, base image ------------------------------------------------------------
timed up "$SAMTOOLS" up
eval "$("$SAMTOOLS" env)"   # DOCKER_HOST, SAM_CLI_TELEMETRY=0, PATH with sam
HOST_IP=$("$SAMTOOLS" host-ip)
PY313_BIN=$(dirname "$("$SAMTOOLS" python)")   # the pyenv CPython 3.13 that `sam build` needs
mkdir -p "$WORK"; cd "$WORK"   # sam build writes .aws-sam/deps into the CWD: keep it out of the repo
rm -f env.json invoke.out invoke.err api.log api.out build.log moto.log

# Fixed fake credentials: sam forwards the host's credentials (env/profile) into the container,
# or "defaultkey"/"defaultsecret" when it finds none. Never let real ones leak into a test.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
       AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL

# 2. sam build (no container: python3.13 must come first on PATH) -----------------------------
timed build env PATH="$PY313_BIN:$PATH" sam build -t "$TOY/template.yaml" \
  --build-dir "$WORK/build" --cache-dir "$WORK/cache" --cached >"$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log" >&2; exit 1; }

# 3. moto on the bridge address: the Lambda container (default bridge) and the host both reach it
MOTO_PORT=$(free_port)
ENDPOINT=http://$HOST_IP:$MOTO_PORT
"$MOTO_SERVER" -H "$HOST_IP" -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$ENDPOINT/moto-api/" && break; sleep 0.1; done
curl -sf -o /dev/null "$ENDPOINT/moto-api/" || { log "moto did not answer at $ENDPOINT"; exit 1; }
AWS_ENDPOINT_URL=$ENDPOINT "$HOST_PY" - "$ROLE" <<'EOF'
import sys, boto3
boto3.client("iam").create_role(RoleName=sys.argv[1], AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}')
EOF
# sam local invoke/start-api call STS GetCallerIdentity (for AWS::AccountId) on every start: offline
# that is ~10 s of botocore retries. Point SAM's own STS at moto (not forwarded to the container).
export AWS_ENDPOINT_URL_STS=$ENDPOINT
# --env-vars only overrides variables the template declares (Globals declares AWS_ENDPOINT_URL)
printf '{"ToyFunction": {"AWS_ENDPOINT_URL": "%s"}}\n' "$ENDPOINT" >"$WORK/env.json"
log "moto at $ENDPOINT (pid $MOTO_PID), role $ROLE seeded"

check_listing() {   # check_listing FILE KIND: the handler's proxy response, as invoke or as HTTP body
  "$HOST_PY" - "$1" "$2" "$ROLE" "$ENDPOINT" <<'EOF'
import json, sys
path, kind, role, endpoint = sys.argv[1:]
raw = open(path).read()
doc = json.loads(raw)
if kind == "invoke":
    if "errorType" in doc:                      # sam local invoke exits 0 on a handler error
        sys.exit(f"handler failed: {doc['errorType']}: {doc.get('errorMessage')}")
    assert doc["statusCode"] == 200, doc
    doc = json.loads(doc["body"])
assert role in doc["roles"], doc
assert doc["endpoint"] == endpoint, doc
assert doc["python"].startswith("3.13."), doc
assert doc["layer_file"].startswith("/opt/python/toycommon/"), doc   # came from the layer
print(json.dumps(doc, indent=1))
EOF
}

# 4. sam local invoke ---------------------------------------------------------------------------
invoke() {
  sam local invoke -t "$WORK/build/template.yaml" --skip-pull-image -e "$TOY/event.json" \
    --env-vars "$WORK/env.json" ToyFunction >"$WORK/invoke.out" 2>"$WORK/invoke.err" \
    || { tail -30 "$WORK/invoke.err" >&2; return 1; }
  check_listing "$WORK/invoke.out" invoke || { cat "$WORK/invoke.out" "$WORK/invoke.err" >&2; return 1; }
}
timed invoke invoke
cat "$WORK/invoke.out"; echo

# 5. sam local start-api + curl, then SIGTERM (sam handles it and removes its containers) -------
API_PORT=$(free_port)
start_api() {
  sam local start-api -t "$WORK/build/template.yaml" --skip-pull-image --env-vars "$WORK/env.json" \
    --host 127.0.0.1 -p "$API_PORT" >"$WORK/api.log" 2>&1 &
  API_PID=$!
}
start_api
curl_roles() {
  local i
  for i in $(seq 150); do   # until Flask listens (any HTTP status), then the real request
    curl -s -o /dev/null "http://127.0.0.1:$API_PORT/" && break
    kill -0 "$API_PID" 2>/dev/null || { cat "$WORK/api.log" >&2; return 1; }
    sleep 0.2
  done
  curl -sf --max-time 60 "http://127.0.0.1:$API_PORT/roles" >"$WORK/api.out" \
    || { cat "$WORK/api.log" >&2; return 1; }
  check_listing "$WORK/api.out" http >/dev/null || { cat "$WORK/api.out" "$WORK/api.log" >&2; return 1; }
}
timed start-api curl_roles
log "GET /roles -> $(cat "$WORK/api.out")"
kill -TERM "$API_PID"
for _ in $(seq 100); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$API_PID" 2>/dev/null; then log "start-api did not stop on SIGTERM"; exit 1; fi
api_rc=0; wait "$API_PID" || api_rc=$?; API_PID=
left=$(docker ps -aq)
[ -z "$left" ] || { log "containers left behind by start-api: $left"; exit 1; }
log "start-api stopped on SIGTERM (rc=$api_rc), no container left"

log "timings: up ${TIMES[up]} s, build ${TIMES[build]} s, invoke ${TIMES[invoke]} s, start-api+GET ${TIMES[start-api]} s"
