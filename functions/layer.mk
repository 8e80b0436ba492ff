# How `sam build` builds a layer (template.yaml: BuildMethod makefile), included by functions/common/Makefile and
# functions/db/Makefile. SAM runs make in a copy of the layer's directory with --makefile naming the original,
# ARTIFACTS_DIR set. What SAM's python3.13 builder would do, plus the compiled bytecode: /opt is read-only on
# Lambda, so a layer without .pyc is compiled again at every cold start (tests/benchmark.py prints both).
# unchecked-hash: a zip does not keep exact mtimes.
PYTHON ?= python3.13
LAMBDA_WHEELS := --only-binary=:all: --platform manylinux2014_x86_64 --implementation cp --python-version 3.13
SITE = $(ARTIFACTS_DIR)/python

# $(call build-layer,<what to copy next to the installed requirements>)
define build-layer
	$(PYTHON) -m pip install -q --no-compile --disable-pip-version-check $(LAMBDA_WHEELS) -t "$(SITE)" -r requirements.txt
	cp -R $(1) requirements.txt "$(SITE)/"
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(SITE)"
endef
