#!/usr/bin/env bash
# Local container tooling for `sam local invoke` / `sam local start-api` on a host with no
# container registry: Debian's Docker engine on a private socket, the SAM CLI in its own venv,
# and a locally built stand-in for public.ecr.aws/lambda/python:3.13-x86_64.
#
#   samtools.sh install       apt docker.io + debootstrap (only if missing); SAM CLI venv
#   samtools.sh dockerd-up    start a private dockerd; prints `export DOCKER_HOST=...`
#   samtools.sh dockerd-down  stop it by PID (and its containerd); exit 0 if not running
#   samtools.sh base-image    build the Lambda base image if it is not there yet
#   samtools.sh up | down     install + dockerd-up + base-image | dockerd-down
#   samtools.sh env           print the exports (DOCKER_HOST, SAM_CLI_TELEMETRY, PATH for sam)
#   samtools.sh host-ip       the bridge (docker0) address where containers reach host services
#   samtools.sh python        the CPython 3.13 used for the venv, the image and `sam build`
#   samtools.sh prune         drop dangling images and SAM's per-layer/rapid images
#
# Root only. Idempotent. Everything is overridable by environment (see the defaults below).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_ROOT=$(cd "$HERE/../.." && pwd)

SAM_CLI_VERSION=1.170.0
AWSLAMBDARIC_VERSION=${AWSLAMBDARIC_VERSION:-4.2.2}
BASE_BOTO3_VERSION=${BASE_BOTO3_VERSION:-1.44.8}      # the real runtime ships boto3; keep = project pin
LAMBDA_PY=3.13
BASE_IMAGE=${BASE_IMAGE:-public.ecr.aws/lambda/python:${LAMBDA_PY}-x86_64}   # what SAM derives
ROOTFS_IMAGE=local/debian:bookworm-minbase
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

SAM_VENV=${SAM_VENV:-$PROJECT_ROOT/.tools/sam}
SAMLOCAL_DATA_DIR=${SAMLOCAL_DATA_DIR:-/var/lib/clickpipes-docker}   # images + caches, kept
SAMLOCAL_RUN_DIR=${SAMLOCAL_RUN_DIR:-/run/clickpipes-docker}         # exec-root, socket, pid
DOCKER_SOCK=$SAMLOCAL_RUN_DIR/docker.sock
DOCKERD_PIDFILE=$SAMLOCAL_RUN_DIR/dockerd.pid
DOCKERD_LOG=$SAMLOCAL_RUN_DIR/dockerd.log
CACHE_DIR=$SAMLOCAL_DATA_DIR/cache
ROOTFS_TAR=$CACHE_DIR/bookworm-minbase.tar
# Use the engine's own (Debian) client: a newer static CLI elsewhere on PATH wants buildx.
DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || echo docker)}

export DOCKER_HOST=unix://$DOCKER_SOCK DOCKER_BUILDKIT=0 SAM_CLI_TELEMETRY=0

log() { printf 'samtools: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
# timed NAME CMD...: run CMD, print how long it took
timed() {
  local name=$1 t0 rc; shift; t0=$(now)
  # a subshell with its own `set -e`: `cmd || rc=$?` would switch errexit off inside cmd
  set +e; (set -e; "$@"); rc=$?; set -e
  log "$(awk -v a="$t0" -v b="$(now)" -v n="$name" -v rc=$rc \
        'BEGIN { printf "%-12s %6.1f s%s", n, b - a, (rc ? " (FAILED rc=" rc ")" : "") }')"
  return $rc
}
need_root() { [ "$(id -u)" = 0 ] || die "run as root"; }

python313() {
  local p=${SAM_PYTHON:-} prefix
  if [ -z "$p" ] && command -v pyenv >/dev/null && prefix=$(pyenv prefix "$LAMBDA_PY" 2>/dev/null); then
    p=${prefix%%:*}/bin/python$LAMBDA_PY
  fi
  [ -n "$p" ] && [ -x "$p" ] || p=$(command -v "python$LAMBDA_PY" || true)
  [ -n "$p" ] && [ -x "$p" ] || die "no python$LAMBDA_PY (pyenv prefix $LAMBDA_PY, or set SAM_PYTHON)"
  echo "$p"
}

# ---------------------------------------------------------------- install
cmd_install() {
  need_root
  local missing=()
  command -v dockerd >/dev/null && [ -x /usr/bin/docker ] || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt: installing ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ "$("$SAM_VENV/bin/sam" --version 2>/dev/null)" != "SAM CLI, version $SAM_CLI_VERSION" ]; then
    local py; py=$(python313)
    log "installing aws-sam-cli==$SAM_CLI_VERSION into $SAM_VENV (python $py)"
    mkdir -p "$(dirname "$SAM_VENV")"
    if command -v uv >/dev/null && uv --version >/dev/null 2>&1; then
      [ -x "$SAM_VENV/bin/python" ] || uv venv -q --python "$py" "$SAM_VENV"
      uv pip install -q --compile-bytecode --python "$SAM_VENV/bin/python" "aws-sam-cli==$SAM_CLI_VERSION"
    else
      [ -x "$SAM_VENV/bin/python" ] || "$py" -m venv "$SAM_VENV"
      "$SAM_VENV/bin/python" -m pip install -q "aws-sam-cli==$SAM_CLI_VERSION"
    fi
  fi
  # Byte-compile once: with PYTHONDONTWRITEBYTECODE=1 in the environment (as on these machines)
  # every `sam local` call would otherwise spend ~3 s compiling its imports.
  local sp; sp=$("$SAM_VENV/bin/python" -c 'import samcli, os; print(os.path.dirname(os.path.dirname(samcli.__file__)))')
  [ -d "$sp/samcli/__pycache__" ] || "$SAM_VENV/bin/python" -m compileall -q -j 0 "$sp" >/dev/null || true
  # A PATH entry holding only `sam`: the venv's own bin/python3.13 (no pip in a uv venv) must not
  # shadow the CPython that `sam build` looks up as python3.13.
  mkdir -p "$SAM_VENV/sam-bin"; ln -sfn ../bin/sam "$SAM_VENV/sam-bin/sam"
  "$SAM_VENV/bin/sam" --version >&2
  echo "sam: $SAM_VENV/bin/sam"
}

# ---------------------------------------------------------------- dockerd
dockerd_pid() {   # prints the PID of our dockerd if it is alive
  local pid
  [ -s "$DOCKERD_PIDFILE" ] || return 1
  pid=$(cat "$DOCKERD_PIDFILE")
  [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
  echo "$pid"
}

cmd_dockerd_up() {
  need_root
  command -v dockerd >/dev/null || die "dockerd missing: run '$0 install'"
  mkdir -p "$SAMLOCAL_DATA_DIR/engine" "$SAMLOCAL_RUN_DIR/exec"
  if pid=$(dockerd_pid) && "$DOCKER" version >/dev/null 2>&1; then
    log "dockerd already running (pid $pid)"
  else
    [ -z "${pid:-}" ] || die "dockerd pid $pid is alive but does not answer on $DOCKER_SOCK (see $DOCKERD_LOG)"
    rm -f "$DOCKERD_PIDFILE" "$DOCKER_SOCK"
    # setsid: own session, so the caller's Ctrl-C/traps don't hit it; stopped only by dockerd-down.
    setsid dockerd --data-root "$SAMLOCAL_DATA_DIR/engine" --exec-root "$SAMLOCAL_RUN_DIR/exec" \
      -H "$DOCKER_HOST" --pidfile "$DOCKERD_PIDFILE" --log-level warn \
      </dev/null >"$DOCKERD_LOG" 2>&1 &
    local i
    for i in $(seq 120); do
      "$DOCKER" version >/dev/null 2>&1 && break
      kill -0 $! 2>/dev/null || { tail -20 "$DOCKERD_LOG" >&2; die "dockerd exited"; }
      sleep 0.5
    done
    "$DOCKER" version >/dev/null 2>&1 || { tail -20 "$DOCKERD_LOG" >&2; die "dockerd did not answer in 60 s"; }
    log "dockerd up (pid $(cat "$DOCKERD_PIDFILE"), log $DOCKERD_LOG)"
  fi
  echo "export DOCKER_HOST=$DOCKER_HOST"
}

wait_gone() {   # wait_gone SECONDS PID...: true when all PIDs have exited
  local deadline=$((SECONDS + $1)) p alive; shift
  while :; do
    alive=
    for p in "$@"; do [ -d "/proc/$p" ] && alive=1; done
    [ -z "$alive" ] && return 0
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

cmd_dockerd_down() {
  local pid children
  if ! pid=$(dockerd_pid); then
    log "dockerd not running"; rm -f "$DOCKERD_PIDFILE" "$DOCKER_SOCK"; return 0
  fi
  # its supervised containerd (and anything else it spawned), taken by parent PID
  children=$(ps -o pid= --ppid "$pid" | tr -s ' \n' ' ')
  log "stopping dockerd pid $pid (children: ${children:-none})"
  kill -TERM "$pid"
  # shellcheck disable=SC2086
  if ! wait_gone 60 "$pid" $children; then
    log "still alive after 60 s: SIGKILL"
    # shellcheck disable=SC2086
    kill -KILL "$pid" $children 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 10 "$pid" $children || die "could not stop dockerd $pid / $children"
  fi
  rm -f "$DOCKERD_PIDFILE" "$DOCKER_SOCK"
  log "dockerd stopped"
}

# ---------------------------------------------------------------- base image
build_rootfs_tar() {
  [ -s "$ROOTFS_TAR" ] && return 0
  local root=$CACHE_DIR/rootfs.tmp
  rm -rf "$root"; mkdir -p "$CACHE_DIR"
  log "debootstrap bookworm minbase -> $ROOTFS_TAR"
  # libpq is not needed: psycopg[binary] bundles it.
  debootstrap --variant=minbase \
    --include=ca-certificates,libssl3,libexpat1,libsqlite3-0,libncursesw6,libreadline8,libnsl2,libtirpc3,libffi8,tzdata \
    bookworm "$root" "$DEBIAN_MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE_DIR/debootstrap.log" >&2; rm -rf "$root"; die "debootstrap failed"; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
         "$root"/usr/share/man/* "$root"/usr/share/info/*
  tar -C "$root" -cf "$ROOTFS_TAR.part" . && mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
  rm -rf "$root"
}

write_context() {   # write_context DIR: Dockerfile + /var/lang + /var/runtime + entrypoint + RIE
  local ctx=$1 py pyprefix rie
  py=$(python313); pyprefix=$(cd "$(dirname "$py")/.." && pwd)
  rie=$("$SAM_VENV/bin/python" -c 'import os, samcli; print(os.path.join(os.path.dirname(samcli.__file__), "local/rapid/aws-lambda-rie-x86_64"))')
  [ -f "$rie" ] || die "no $rie: run '$0 install'"
  rm -rf "$ctx"; mkdir -p "$ctx/lang" "$ctx/runtime"
  # CPython (a shared build: libpython lives in /var/lang/lib) without tests, Tk, the host's
  # site-packages (pip, the sandbox's .pth hooks) and static libs.
  tar -C "$pyprefix" -cf - --exclude=__pycache__ --exclude='./lib/python*/test' \
      --exclude='./lib/python*/idlelib' --exclude='./lib/python*/tkinter' --exclude='./lib/python*/turtledemo' \
      --exclude='./lib/python*/site-packages/*' --exclude='*.a' --exclude='_tkinter*' \
      --exclude='_test*' --exclude='./lib/python*/config-*' --exclude='./share' --exclude='./include' . \
    | tar -C "$ctx/lang" -xf -
  # awslambdaric + boto3 for the image's CPython (cp313 manylinux wheels)
  if command -v uv >/dev/null && uv --version >/dev/null 2>&1; then
    uv pip install -q --python "$py" --target "$ctx/runtime" --cache-dir "$CACHE_DIR/uv" \
      "awslambdaric==$AWSLAMBDARIC_VERSION" "boto3==$BASE_BOTO3_VERSION"
  else
    "$py" -m pip install -q --target "$ctx/runtime" --cache-dir "$CACHE_DIR/pip" \
      "awslambdaric==$AWSLAMBDARIC_VERSION" "boto3==$BASE_BOTO3_VERSION"
  fi
  find "$ctx/runtime" -name __pycache__ -prune -exec rm -rf {} +
  cp "$rie" "$ctx/aws-lambda-rie"; chmod 755 "$ctx/aws-lambda-rie"

  cat >"$ctx/runtime/bootstrap" <<EOF
#!/bin/sh
# Runtime bootstrap: started by the Runtime Interface Emulator (aws-lambda-rie) with the handler.
export _HANDLER="\${_HANDLER:-\${AWS_LAMBDA_FUNCTION_HANDLER:-\$1}}"
export AWS_EXECUTION_ENV="\${AWS_EXECUTION_ENV:-AWS_Lambda_python$LAMBDA_PY}"
# Same order as the real runtime: function code, layers, then the runtime's own boto3/awslambdaric.
export PYTHONPATH="\${LAMBDA_TASK_ROOT:-/var/task}:/opt/python/lib/python$LAMBDA_PY/site-packages:/opt/python:/var/runtime\${PYTHONPATH:+:\$PYTHONPATH}"
cd "\${LAMBDA_TASK_ROOT:-/var/task}"
exec /var/lang/bin/python$LAMBDA_PY -m awslambdaric "\$_HANDLER"
EOF
  cat >"$ctx/lambda-entrypoint.sh" <<'EOF'
#!/bin/sh
# Entrypoint of the AWS base images: `docker run IMAGE handler.fn` behind the RIE.
if [ $# -ne 1 ]; then echo "entrypoint requires the handler name to be the first argument" >&2; exit 142; fi
export _HANDLER="$1"
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap "$_HANDLER"
fi
exec /var/runtime/bootstrap "$_HANDLER"
EOF
  chmod 755 "$ctx/runtime/bootstrap" "$ctx/lambda-entrypoint.sh"

  cat >"$ctx/Dockerfile" <<EOF
FROM $ROOTFS_IMAGE
COPY lang /var/lang
COPY runtime /var/runtime
COPY lambda-entrypoint.sh /lambda-entrypoint.sh
COPY aws-lambda-rie /usr/local/bin/aws-lambda-rie
RUN echo /var/lang/lib > /etc/ld.so.conf.d/var-lang.conf && ldconfig \\
 && ln -sf python$LAMBDA_PY /var/lang/bin/python && ln -sf python$LAMBDA_PY /var/lang/bin/python3 \\
 && mkdir -p /var/task /opt \\
 && /var/lang/bin/python$LAMBDA_PY -m compileall -q -j 0 /var/lang/lib/python$LAMBDA_PY /var/runtime >/dev/null \\
 && PYTHONPATH=/var/runtime /var/lang/bin/python$LAMBDA_PY -c "import ssl, sqlite3, ctypes, pyexpat, lzma, bz2, zlib, readline, decimal, awslambdaric, boto3; ssl.create_default_context(); print('base image ok', boto3.__version__)"
ENV LANG=en_US.UTF-8 TZ=:/etc/localtime \\
    PATH=/var/lang/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib \\
    LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
EOF
}

smoke_base_image() {
  local ctx=$CACHE_DIR/smoke cid out
  rm -rf "$ctx"; mkdir -p "$ctx"
  printf 'import sys, boto3\ndef handler(event, context):\n    return {"py": sys.version.split()[0], "boto3": boto3.__version__, "echo": event}\n' >"$ctx/smoke.py"
  cid=$("$DOCKER" run -d --rm --network none -v "$ctx:/var/task:ro" "$BASE_IMAGE" smoke.handler)
  out=
  for _ in $(seq 50); do
    out=$("$DOCKER" exec "$cid" /var/lang/bin/python3 -c 'import urllib.request as u
print(u.urlopen(u.Request("http://127.0.0.1:8080/2015-03-31/functions/function/invocations", b"{\"ping\": 1}"), timeout=10).read().decode())' 2>/dev/null) && break
    sleep 0.2
  done
  "$DOCKER" rm -f "$cid" >/dev/null 2>&1 || true
  rm -rf "$ctx"
  log "base image smoke invoke: ${out:-<no answer>}"
  [[ $out == *'"echo": {"ping": 1}'* ]]
}

# Fingerprint of what goes into the image: pins, the CPython build, and this script's recipe.
# Stored as a label; a base image with another fingerprint is rebuilt.
recipe_id() {
  { echo "$SAM_CLI_VERSION $AWSLAMBDARIC_VERSION $BASE_BOTO3_VERSION"
    "$(python313)" -c 'import sys; print(sys.version)'
    sed -n '/^write_context() {/,/^}/p' "${BASH_SOURCE[0]}"
  } | sha256sum | cut -c1-16
}

cmd_base_image() {
  need_root
  "$DOCKER" version >/dev/null 2>&1 || die "dockerd not answering on $DOCKER_HOST: run '$0 dockerd-up'"
  local want have
  want=$(recipe_id)
  if have=$("$DOCKER" image inspect -f '{{index .Config.Labels "samlocal.recipe"}}' "$BASE_IMAGE" 2>/dev/null); then
    if [ "$have" = "$want" ]; then log "$BASE_IMAGE present (recipe $want)"; return 0; fi
    log "$BASE_IMAGE is from recipe '${have:-?}', want $want: rebuilding"
  fi
  [ -x "$SAM_VENV/bin/python" ] || die "no SAM venv at $SAM_VENV (the RIE comes from it): run '$0 install'"
  if ! "$DOCKER" image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1; then
    timed debootstrap build_rootfs_tar
    timed import "$DOCKER" import "$ROOTFS_TAR" "$ROOTFS_IMAGE" >/dev/null
  fi
  local ctx=$CACHE_DIR/ctx-python$LAMBDA_PY
  timed context write_context "$ctx"
  echo "LABEL samlocal.recipe=$want" >>"$ctx/Dockerfile"
  timed docker-build "$DOCKER" build -q --network none -t "$BASE_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  cmd_prune   # the old base's layers, and SAM's images built on top of the old base
  # smoke: the image's own entrypoint + RIE + bootstrap must serve one invocation
  smoke_base_image || { "$DOCKER" rmi -f "$BASE_IMAGE" >/dev/null; die "base image smoke test failed"; }
  log "built $BASE_IMAGE"
}

# Dangling layers and SAM's per-run rapid images pile up; the base image and its parent stay.
cmd_prune() {
  "$DOCKER" image prune -f >/dev/null
  "$DOCKER" images --format '{{.Repository}}:{{.Tag}}' | grep -E -- '-rapid-|^samcli/lambda' \
    | xargs -r "$DOCKER" rmi -f >/dev/null || true
}

# The engine's bridge address on the host (docker0). Lambda containers started by `sam local`
# always sit on the default bridge (SAM ignores `--docker-network host`), so a host service they
# must reach (moto) listens here, not on 127.0.0.1; the host reaches it at the same address.
cmd_host_ip() {
  local ip
  ip=$(ip -4 -o addr show dev "${DOCKERD_BRIDGE:-docker0}" 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
  [ -n "$ip" ] || die "no IPv4 address on ${DOCKERD_BRIDGE:-docker0}: is dockerd up?"
  echo "$ip"
}

cmd_env() {
  echo "export DOCKER_HOST=$DOCKER_HOST"
  echo "export SAM_CLI_TELEMETRY=0"
  echo "export PATH=$SAM_VENV/sam-bin:\$PATH"
}

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

[ $# -ge 1 ] || usage
case $1 in
  install)      timed install cmd_install ;;
  dockerd-up)   timed dockerd-up cmd_dockerd_up ;;
  dockerd-down) timed dockerd-down cmd_dockerd_down ;;
  base-image)   timed base-image cmd_base_image ;;
  up)           timed install cmd_install; timed dockerd-up cmd_dockerd_up; timed base-image cmd_base_image ;;
  down)         timed dockerd-down cmd_dockerd_down ;;
  prune)        timed prune cmd_prune ;;
  env)          cmd_env ;;
  host-ip)      cmd_host_ip ;;
  python)       python313 ;;
  *)            usage ;;
esac
