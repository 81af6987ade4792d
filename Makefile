# The project's commands. `make repro` and `make test` each build the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV)/bin)
# DVC runs each stage's `python -m stages.<name>` through the shell: the venv's python must come first.
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1

# The revision `make pr-report` compares against.
BASE ?= main

.PHONY: repro test test-fast test-slow audit lint pr-report clean-venv

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

repro: $(VENV)/.installed  ## Run the pipeline: only the stages whose code, data or params changed
	dvc repro

test: $(VENV)/.installed  ## Unit, stage and end-to-end tests (the tiny `dvc repro` and its copies; minutes)
	python -m pytest

test-fast: $(VENV)/.installed  ## The inner loop: unit and in-process stage tests, no subprocesses (seconds)
	python -m pytest -m "not e2e and not slow"

test-slow: $(VENV)/.installed  ## Accuracy floors: the default params trained on the full data
	python -m pytest -m slow

audit: $(VENV)/.installed  ## Rerun every stage from nothing in a temporary clone of HEAD; compare each output with dvc.lock
	python -m mnist_pipeline.audit

pr-report: $(VENV)/.installed  ## Markdown for a pull request: metrics and params of the workspace against $(BASE)
	@echo "## Metrics: workspace against $(BASE)"
	@echo
	@dvc metrics diff $(BASE) --md
	@echo
	@echo "## Params: workspace against $(BASE)"
	@echo
	@dvc params diff $(BASE) --md

lint: $(VENV)/.installed
	ruff check .

clean-venv:
	rm -rf $(VENV)
