# Every target works from a fresh clone: the virtualenv is created and filled on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate schema demo bench clean

$(BIN)/.runtime-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.dev-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BIN)/.runtime-installed $@

run: $(BIN)/.runtime-installed  ## migrate the embedded SQLite database and serve on :8000
	$(BIN)/python -m stratograph migrate
	$(BIN)/python -m stratograph serve --host $(HOST) --port $(PORT)

migrate: $(BIN)/.runtime-installed
	$(BIN)/python -m stratograph migrate

test: $(BIN)/.dev-installed  ## the whole suite; PostgreSQL/Redis parts skip when absent (fail under CI=true)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.dev-installed  ## ruff, ruff format --check, mypy --strict, schema drift
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python -m stratograph export-schema | diff -u schema.graphql - \
		|| (echo "schema.graphql is stale: run 'make schema'" && exit 1)

format: $(BIN)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(BIN)/.runtime-installed  ## regenerate schema.graphql from the code
	$(BIN)/python -m stratograph export-schema > schema.graphql

# `make bench BENCH_QUICK=1` for a smoke-sized run; `make bench BENCHMARKS="read_api"` for some.
bench: $(BIN)/.dev-installed  ## every benchmark in bench/, one table of ratios
	BENCH_QUICK=$(BENCH_QUICK) $(BIN)/python -m bench $(BENCHMARKS)

demo: $(BIN)/.dev-installed  ## a synced demo against a local AWS stand-in, until Ctrl-C
	$(BIN)/python -m stratograph demo --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
