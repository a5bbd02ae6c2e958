# Every target works from a fresh clone: the virtualenv is created and filled on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate schema schema-check node-tools bench-tools demo bench clean

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
	@$(MAKE) --no-print-directory node-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.dev-installed  ## ruff, ruff format --check, mypy --strict, schema drift
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python -m stratograph export-schema | diff -u schema.graphql - \
		|| (echo "schema.graphql is stale: run 'make schema'" && exit 1)
	$(MAKE) --no-print-directory schema-check

format: $(BIN)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(BIN)/.runtime-installed  ## regenerate schema.graphql from the code
	$(BIN)/python -m stratograph export-schema > schema.graphql

# Node tooling for the schema (GraphQL Code Generator, GraphQL Inspector), pinned by its lock file.
# Without node the check is skipped on a developer machine and fails under CI=true.
SCHEMA_TOOLS := tools/schema

$(SCHEMA_TOOLS)/node_modules/.package-lock.json: $(SCHEMA_TOOLS)/package-lock.json
	npm ci --prefix $(SCHEMA_TOOLS) --no-audit --no-fund --loglevel=error

# GraphiQL's own files, so the development IDE works without a CDN (see graph/graphiql_assets.py).
GRAPHIQL_TOOLS := tools/graphiql

$(GRAPHIQL_TOOLS)/node_modules/.package-lock.json: $(GRAPHIQL_TOOLS)/package-lock.json
	npm ci --prefix $(GRAPHIQL_TOOLS) --no-audit --no-fund --loglevel=error

# The Apollo Client and urql recipes of docs/clients.md, run by tests/test_example_node.py.
NODE_EXAMPLES := examples/node

$(NODE_EXAMPLES)/node_modules/.package-lock.json: $(NODE_EXAMPLES)/package-lock.json
	npm ci --prefix $(NODE_EXAMPLES) --no-audit --no-fund --loglevel=error

# PostGraphile 5, the peer that bench/http_peer.py measures the product against (and whose
# answers tests/test_bench_http_peer.py checks).
BENCH_TOOLS := tools/postgraphile

$(BENCH_TOOLS)/node_modules/.package-lock.json: $(BENCH_TOOLS)/package-lock.json
	npm ci --prefix $(BENCH_TOOLS) --no-audit --no-fund --loglevel=error

node-tools:  ## npm ci every Node folder (skipped without npm, unless CI=true)
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(SCHEMA_TOOLS)/node_modules/.package-lock.json \
			$(GRAPHIQL_TOOLS)/node_modules/.package-lock.json \
			$(NODE_EXAMPLES)/node_modules/.package-lock.json \
			$(BENCH_TOOLS)/node_modules/.package-lock.json; \
	elif [ "$$CI" = "true" ]; then echo "node-tools: npm is required under CI=true" >&2; exit 1; \
	else echo "node-tools skipped: npm is not installed"; fi

schema-check:  ## example operations validate (codegen) and no breaking change since the last release
	@if ! command -v node >/dev/null 2>&1; then \
		if [ "$$CI" = "true" ]; then echo "schema-check: node is required under CI=true" >&2; exit 1; fi; \
		echo "schema-check skipped: node is not installed (install Node 20 + npm)"; exit 0; \
	fi; \
	$(MAKE) --no-print-directory $(SCHEMA_TOOLS)/node_modules/.package-lock.json && \
	cd $(SCHEMA_TOOLS) && npx --no-install graphql-codegen --config codegen.yml --silent && \
	node schema-diff.mjs

bench-tools:  ## PostGraphile for bench/http_peer.py (skipped without npm; wrk comes from apt)
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(BENCH_TOOLS)/node_modules/.package-lock.json; \
	else echo "bench-tools skipped: npm is not installed (http_peer skips PostGraphile)"; fi

# `make bench BENCH_QUICK=1` for a smoke-sized run; `make bench BENCHMARKS="read_api"` for some.
bench: $(BIN)/.dev-installed bench-tools  ## every benchmark in bench/, one table of ratios
	BENCH_QUICK=$(BENCH_QUICK) $(BIN)/python -m bench $(BENCHMARKS)

demo: $(BIN)/.dev-installed  ## a synced demo against a local AWS stand-in, until Ctrl-C
	$(BIN)/python -m stratograph demo --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
