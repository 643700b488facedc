# Two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lint bench system-deps sample clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/alertsim demo --out reports/demo

system-deps:
	@bash scripts/system-deps.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check alertsim tests benchmarks
	$(BIN)/mypy alertsim
	$(BIN)/lint-imports --no-cache

test: $(VENV)/.installed-dev system-deps lint
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-dev system-deps
	$(BIN)/python benchmarks/run.py

# Regenerates data/sample/ exactly (the generator is seeded).
sample: $(VENV)/.installed
	$(BIN)/alertsim datasets generate --seed 7 --days 60 --out data/sample

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
