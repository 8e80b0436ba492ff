#!/usr/bin/env bash
# The project's one test command (`make test`, run by .ci/run). On a fresh Debian 12 machine, as root, it
# installs what the tests need (uv + Python deps, Debian packages, SAM CLI, the Lambda base image), starts
# the local world (PostgreSQL, MariaDB, dockerd), runs every suite, and stops every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 PYTHONDONTWRITEBYTECODE=1
export LOCALDBS_KEEP=1   # the servers are started and stopped here, not by the pytest session

step() { printf '\n==> %s [%ss]\n' "$*" "$SECONDS"; }

started=()
cleanup() {
  local rc=$?
  for ((i=${#started[@]}-1; i>=0; i--)); do
    step "stop: ${started[i]}"
    ${started[i]} || rc=1
  done
  exit $rc
}
trap cleanup EXIT

step "Python 3.13 venv (uv)"
make --no-print-directory deps

step "lint: ruff, mypy"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

step "unit tests (no network)"
.venv/bin/pytest tests/unit -q -p no:cacheprovider

step "start the local databases"
bash tests/dbs/localdbs.sh up
started+=("bash tests/dbs/localdbs.sh down")

step "tmux (the CLI's terminal rendering test captures a pane)"
command -v tmux >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tmux; }

step "integration + e2e + harness tests (real servers, the real state machine on moto)"
.venv/bin/pytest tests/dbs tests/integration tests/harness tests/e2e -q -p no:cacheprovider

step "SAM CLI, dockerd, the locally built Lambda base image"
bash tests/sam_local/samtools.sh up
started+=("bash tests/sam_local/samtools.sh down")

step "template and state machine checks: sam validate --lint, asl-validator"
make --no-print-directory lint-template

step "sam build, sam local invoke of every function, sam local start-api"
.venv/bin/pytest tests/sam_local -q -p no:cacheprovider

step "the README's local demo"
.venv/bin/python -m tests.demo

step "done"
