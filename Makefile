# Two commands on a fresh machine: `make run` (the stack, locally) and `make test`.
SHELL := /bin/bash
PY312 := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12 2>/dev/null))
VENV := .venv
SAMVENV := .venv-sam
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint template-check sam-build bench clean

$(STAMP): pyproject.toml
	@test -n "$(PY312)" || { echo "python3.12 (the Lambda runtime) is required"; exit 1; }
	@test -x $(BIN)/python || $(PY312) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	@touch $(STAMP)

$(SAMVENV)/bin/sam:
	@test -x $(SAMVENV)/bin/python || $(PY312) -m venv $(SAMVENV)
	$(SAMVENV)/bin/pip install -q aws-sam-cli

run: $(STAMP)
	$(BIN)/mediana local $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check shared cli functions tests bench
	$(BIN)/mypy shared/mediana cli/mediana_cli

template-check: $(STAMP) $(SAMVENV)/bin/sam
	$(BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAMVENV)/bin/sam validate --lint

sam-build: $(SAMVENV)/bin/sam
	PATH="$(dir $(PY312)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAMVENV)/bin/sam build

bench: $(STAMP)
	$(BIN)/python bench/refresh.py
	$(BIN)/python bench/costs.py

clean:
	rm -rf $(VENV) $(SAMVENV) .aws-sam .mediana
