# badges — `make run` serves the function on an embedded Postgres; `make test` runs the suite.
# Needs only Python 3.11+ and make: everything else is installed into .venv on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run demo screenshots test soak bench lint token clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "badges needs Python 3.11+, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP) ## Create .venv and install the project with its dev tools

run: $(STAMP) ## Serve the function on 127.0.0.1:PORT, default 8080 (embedded Postgres unless DATABASE_URL is set); Ctrl-C stops both
	$(BIN)/badges serve

demo: $(STAMP) ## Serve the web demo (examples/web) and the function on 127.0.0.1:PORT, default 8080, with demo users; Ctrl-C stops it
	$(BIN)/badges demo

screenshots: $(STAMP) ## Regenerate the README's screenshots (docs/images/*.png) from the browser tests
	BADGES_SCREENSHOTS=1 $(BIN)/python -m pytest tests/web -k screenshots $(PYTEST_ARGS)

test: $(STAMP) ## Run the test suite against a real Postgres (embedded unless DATABASE_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

soak: $(STAMP) ## The long variants of the reliability suite (load with faults): SOAK_SECONDS, SOAK_CLIENTS
	$(BIN)/python -m pytest -m soak $(PYTEST_ARGS)

bench: $(STAMP) ## Every performance figure beside its reference (under 20 min here): bench/results/latest.md
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(STAMP) ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check functions tests bench
	$(BIN)/ruff format --check functions tests bench
	$(BIN)/mypy

token: $(STAMP) ## Print a development JWT: make token [USER_ID=<uuid>] (a user token, valid for an hour), or SERVICE=1
	@$(BIN)/badges token $(if $(SERVICE),--service,$(if $(USER_ID),--user $(USER_ID)))

clean: ## Remove the venv, caches and the embedded database's data
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache

.PHONY: openapi
openapi: $(STAMP) ## Write docs/openapi.yaml from the wire models (a test fails when it is stale)
	$(BIN)/python -m badges.openapi

.PHONY: schema
schema: $(STAMP) ## Write supabase/schema.sql, the schema the migrations leave (a test fails when it is stale)
	$(BIN)/python -m badges.schema_snapshot
