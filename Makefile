# Two commands on a fresh machine: `make run` (the stack, locally) and `make test`.
# Every environment comes from a lock file through uv (pinned below, bootstrapped with pip):
# uv.lock for the app and its tests, tools/sam/uv.lock and tools/checkov/uv.lock for the tools.
SHELL := /bin/bash
PY312 := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12 2>/dev/null))
UV_VERSION := 0.13.9
UV := .venv-uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM := .venv-sam/bin/sam
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHECKOV := .venv-checkov/bin/checkov
export UV_PYTHON := $(PY312)
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: run test lint template-check checkov sam-build sizes bench clean

$(UV):
	@test -n "$(PY312)" || { echo "python3.12 (the Lambda runtime) is required"; exit 1; }
	@test -x .venv-uv/bin/python || $(PY312) -m venv .venv-uv
	.venv-uv/bin/pip install -q uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $(STAMP)

# the viewer's browser test drives Debian's Chromium (Playwright downloads no browser here)
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "the browser test needs Chromium at $(CHROMIUM)"; exit 1; }
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium \
	  || { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium; }

$(SAM): tools/sam/uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-sam $(UV) sync --frozen --project tools/sam
	@touch $(SAM)

$(CHECKOV): tools/checkov/uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-checkov $(UV) sync --frozen --project tools/checkov
	@touch $(CHECKOV)

run: $(STAMP)
	$(BIN)/mediana local $(ARGS)

test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check shared cli functions tests bench
	$(BIN)/mypy shared/mediana cli/mediana_cli functions tests bench

template-check: $(STAMP) $(SAM) $(CHECKOV)
	$(BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation -f template.yaml

sam-build: $(SAM)
	PATH="$(dir $(PY312)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM) build

sizes: sam-build $(STAMP)
	$(BIN)/python bench/sizes.py

bench: $(STAMP)
	$(BIN)/python bench/refresh.py
	$(BIN)/python bench/costs.py

clean:
	rm -rf $(VENV) .venv-uv .venv-sam .venv-checkov .aws-sam .mediana
