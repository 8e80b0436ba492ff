# Every command the README shows. Run as root on Debian 12 (the tests install and start what they need).
SHELL := /bin/bash
.DEFAULT_GOAL := help
# Python 3.13 (the Lambda runtime): pyenv's on these machines, else one on PATH.
export UV_PYTHON ?= $(shell p=$$(pyenv prefix 3.13 2>/dev/null) && echo $$p/bin/python3.13 || command -v python3.13)
PY313_BIN := $(dir $(UV_PYTHON))
VENV := .venv
SAM := .tools/sam/bin/sam
CHECKOV := .tools/checkov/bin/checkov
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# uv runs as `python3 -m uv`: a fresh pyenv has no shim for a uv it just installed.
UV := python3 -m uv

.PHONY: uv
uv:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install -q uv

$(VENV)/.synced: pyproject.toml uv.lock | uv
	$(UV) sync --frozen
	@touch $@

.PHONY: deps
deps: $(VENV)/.synced ## Python 3.13 venv with the runtime and dev dependencies (uv)

$(SAM):
	bash tests/sam_local/samtools.sh install

$(CHECKOV): | uv
	$(UV) venv -q --allow-existing .tools/checkov && $(UV) pip install -q --python .tools/checkov/bin/python checkov==3.3.30

.PHONY: demo
demo: deps ## Onboard sample databases on the local world: real servers, the real state machine, moto for AWS
	$(VENV)/bin/python -m tests.demo

.PHONY: test
test: ## Install and start everything, run every test suite, stop everything (what CI runs)
	bash tests/run-all.sh

.PHONY: unit
unit: deps ## Unit tests only (no servers, no network)
	$(VENV)/bin/pytest tests/unit -q -p no:cacheprovider

.PHONY: integration
integration: deps ## The DB steps against the local PostgreSQL/MariaDB servers (started if needed, left running)
	bash tests/dbs/localdbs.sh ensure >/dev/null
	LOCALDBS_KEEP=1 $(VENV)/bin/pytest tests/dbs tests/integration -q -p no:cacheprovider

.PHONY: e2e
e2e: deps ## The real state machine on the local world (harness tests included; local servers as for integration)
	bash tests/dbs/localdbs.sh ensure >/dev/null
	LOCALDBS_KEEP=1 $(VENV)/bin/pytest tests/harness tests/e2e -q -p no:cacheprovider

.PHONY: container
container: deps ## sam build + sam local invoke/start-api in real containers (root; starts a private dockerd)
	$(VENV)/bin/pytest tests/sam_local -q -p no:cacheprovider

.PHONY: lint
lint: deps lint-template ## ruff, mypy, sam validate --lint, asl-validator
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

.PHONY: lint-template
lint-template: deps $(SAM) $(CHECKOV) ## sam validate --lint (cfn-lint), checkov (both templates), asl-validator on the deployed definition
	$(SAM) validate --lint --region $(AWS_DEFAULT_REGION)
	BC_SKIP_MAPPING=TRUE $(CHECKOV) -f template.yaml --framework cloudformation --compact --quiet --skip-download
	$(SAM) validate --lint --region $(AWS_DEFAULT_REGION) -t member/template.yaml
	BC_SKIP_MAPPING=TRUE $(CHECKOV) -f member/template.yaml --framework cloudformation --compact --quiet --skip-download
	$(VENV)/bin/python -m tests.check_asl

.PHONY: ca-bundle
ca-bundle: ## Download the RDS global CA bundle into the DB layer (needs internet; done before deploying)
	curl -fsSL --max-time 60 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem -o functions/db/rds-global-bundle.pem

.PHONY: build
build: $(SAM) ## sam build (no container): Python 3.13 first on PATH; fetches the RDS CA bundle when it can
	@test -s functions/db/rds-global-bundle.pem || $(MAKE) --no-print-directory ca-bundle || \
	  echo "WARNING: no RDS CA bundle in the DB layer: run 'make ca-bundle' with internet access before deploying (verify-full TLS needs it)" >&2
	PATH=$(PY313_BIN):$$PATH $(SAM) build

.PHONY: clean
clean: ## Remove build output and caches
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

.PHONY: openapi
openapi: deps ## Regenerate functions/api/openapi.json from the API code
	AWS_REGION=us-east-1 PYTHONPATH=functions/common:functions/api $(VENV)/bin/python -c \
	  'import api, json; print(json.dumps(api.openapi_document(), indent=2))' > functions/api/openapi.json

.PHONY: sam-local
sam-local: deps ## sam local invoke offline: SAM CLI, dockerd, sam build, moto + seed data; invoke, print, stop all
	bash tests/sam_local/sam-local.sh

.PHONY: benchmark
benchmark: deps $(SAM) ## Print end-to-end time per engine, API calls, transitions, cold imports, package sizes
	bash tests/dbs/localdbs.sh ensure >/dev/null
	$(VENV)/bin/python -m tests.benchmark
