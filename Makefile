# make demo: set up, run the demo cluster live on SQLite and walk the seed's procedure.
# make test: set up and run linters, type checks, import contracts and every test.
# make test-kill: the runbook SIGKILL test on its own (UCCERTS_KILL_TRIALS, default 20).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-kill lint typecheck contracts bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	UCCERTS=$(abspath $(BIN))/uccerts bash demo/walkthrough.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck contracts
	$(BIN)/pytest -n 2 -q

test-kill: $(STAMP)
	$(BIN)/pytest -q tests/e2e/test_runbook_kills.py

bench: $(STAMP)
	for b in benchmarks/[!_]*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
