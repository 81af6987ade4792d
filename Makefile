# The project's commands. `make repro` and `make test` each build the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV)/bin)
PLOTS_TEMPLATE := $(VENV)/share/dvc-plots/offline.html
# What every target needs: the environment, and the plots page template inside it.
ENV := $(VENV)/.installed $(PLOTS_TEMPLATE)
# DVC runs each stage's `python -m stages.<name>` through the shell: the venv's python must come first.
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1
# Python's bytecode cache on, where the machine turned it off (container images often set PYTHONDONTWRITEBYTECODE):
# without it every stage, every `dvc` and every pytest worker compiles the project's modules again as it starts, and
# pytest rewrites the asserts of each test module and of Hypothesis (a pytest plugin) again at each start. The
# caches go to __pycache__ folders, which git ignores.
unexport PYTHONDONTWRITEBYTECODE

# The revision `make compare` and `make pr-report` compare against, and the one `make compare` compares (empty: the
# workspace; `make pr-report` reports the workspace).
BASE ?= main
NEW ?=
# The model, version and (optional) stage `make release` registers.
MODEL ?= nn
VERSION ?=
STAGE ?=
# The study of tune.yaml `make tune` runs, and its budget of trials (empty: the study's own).
STUDY ?= logreg
TRIALS ?=

.PHONY: repro test test-fast test-slow mutants audit docs lint compare pr-report tune release clean-venv

# uv installs the wheels requirements.txt pins, the same files pip would choose, several times faster (it downloads
# and unpacks in parallel); pip only installs uv itself, at the version requirements.txt pins for it. The bytecode
# is compiled as it installs, as pip does, so that no first run of a stage or test pays for it.
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$$(grep '^uv==' requirements.txt)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -r requirements.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

# The page `dvc plots show` and `dvc plots diff` fill (.dvc/config's plots.html_template): DVC's own, with the
# pinned vl-convert-python's vega scripts inline instead of a CDN's, so its plots draw with no network.
$(PLOTS_TEMPLATE): $(VENV)/.installed mnist_pipeline/tools/plots_page.py
	$(BIN)/python -m mnist_pipeline.tools.plots_page $@

repro: $(ENV)  ## Run the pipeline: only the stages whose code, data or params changed
	dvc repro

# The tests spread over every core (pytest-xdist), each module's tests kept together on one worker, since they
# share the module's copy of the tiny pipeline run.
# Modules go out longest first (tests/conftest.py says how), not xdist's default of the most tests first.
# One worker more than the cores: the end-to-end tests spend part of their time waiting on the programs they start
# (dvc, git, pip, the servers), and the extra worker computes meanwhile. On 2 cores: 178 to 183 s with 2 workers,
# 171 to 175 s with 3, 182 s with 4. The inner loop computes without waiting, so it keeps one worker a core.
# The cores: those this process may use where the system says (Linux), else all of them.
ONE_MORE_THAN_CORES := import os; cores = getattr(os, "sched_getaffinity", None); \
    print((len(cores(0)) if cores else os.cpu_count()) + 1)
TEST_WORKERS = $(shell $(PYTHON) -c '$(ONE_MORE_THAN_CORES)')
test: $(ENV)  ## Unit, stage and end-to-end tests (the tiny `dvc repro` and its copies; minutes)
	python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

test-fast: $(ENV)  ## The inner loop: unit tests, no TensorFlow, no DVC run (seconds)
	python -m pytest -n auto --dist loadscope --no-loadscope-reorder -m "not e2e and not heavy and not slow"

test-slow: $(ENV)  ## Accuracy floors: the default params' models on the full data (the workspace's, if up to date)
	python -m pytest -m slow -n auto

# mutmut copies the project into mutants/ and runs each mutant against the unit tests that reach its function; the
# verdict then fails on any survivor that tests/equivalent_mutants.yaml does not list as equivalent.
mutants: $(ENV)  ## Mutation testing of the pure modules (pyproject.toml's [tool.mutmut]): fails on a mutant the unit tests let through
	rm -rf mutants
	mutmut run
	python -m mnist_pipeline.tools.mutants

audit: $(ENV)  ## Rerun every stage from nothing in a temporary clone of HEAD; compare each output with dvc.lock
	python -m mnist_pipeline.tools.audit

docs: $(ENV)  ## Run the commands the docs show, in a temporary clone of HEAD, and put their real output in the pages
	python -m mnist_pipeline.tools.examples

compare: $(ENV)  ## Is a change real? Each model's accuracy with 95% intervals and McNemar's test, $(NEW) against $(BASE)
	@python -m mnist_pipeline.tools.compare $(BASE) $(NEW)

pr-report: $(ENV)  ## Markdown for a pull request (comparison, metrics, params against $(BASE)) and both sides' plots as images, in pr-report/
	@python -m mnist_pipeline.tools.pr_report $(BASE) --out pr-report

tune: $(ENV)  ## Search tune.yaml's study $(STUDY), each trial a DVC experiment, by validation accuracy; rerun to resume
	python -m mnist_pipeline.tools.tune $(STUDY) $(if $(TRIALS),--trials $(TRIALS))

release: $(ENV)  ## Register the commit's $(MODEL) as $(VERSION) with GTO (refused if uncommitted, stale or unpushed); STAGE= assigns it too
	python -m mnist_pipeline.tools.release $(MODEL) $(VERSION)$(if $(STAGE), --stage $(STAGE))

lint: $(ENV)
	ruff check .

clean-venv:
	rm -rf $(VENV)
