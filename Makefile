# Two commands set everything up on a fresh machine: `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
# sam build for the python3.12 runtime needs a python3.12 on PATH (pyenv has one here).
PY312 ?= $(or $(shell ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | tail -1),$(shell command -v python3.12))
export SAM_CLI_TELEMETRY := 0

.PHONY: dev test bench validate build clean chromium publish

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# make dev PORT=3100 (the CLI finds it there: lapor dev records its URL in .lapor/dev.json)
dev: $(BIN)/.installed
	$(BIN)/lapor dev$(if $(PORT), --port $(PORT))

test: $(BIN)/.installed chromium
	$(BIN)/python -m pytest

# The web app's tests drive Debian's chromium with Playwright (Playwright's own browser download is not
# reachable on these machines). Installed when missing and root; otherwise the tests say why they skip (and fail
# under CI).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium for the browser tests (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "make: could not install chromium; the browser tests will say so"; \
	else echo "make: $(CHROMIUM) is missing (as root: apt-get install chromium); the browser tests will skip"; fi

bench: $(BIN)/.installed
	$(BIN)/python bench/bench.py

# aws-sam-cli pins many packages exactly: it gets a virtual environment of its own.
$(SAM_VENV)/.installed:
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli cfn-lint
	touch $@

validate: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint --region ap-southeast-3
	$(SAM_VENV)/bin/cfn-lint template.yaml

build: $(SAM_VENV)/.installed
	@test -n "$(PY312)" || (echo "sam build needs python3.12 on PATH (pyenv install 3.12)"; exit 1)
	PATH="$(dir $(PY312)):$$PATH" $(SAM_VENV)/bin/sam build

# After `sam deploy`: web/ to the stack's site bucket, config.js from its outputs (make publish STACK=lapor).
publish: $(BIN)/.installed
	$(BIN)/lapor site publish --stack $(or $(STACK),lapor)$(if $(REGION), --region $(REGION))

clean:
	rm -rf .aws-sam .lapor bench-results.json
