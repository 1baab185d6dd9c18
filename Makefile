# The two commands a new machine needs: `make demo` and `make test` (both install first).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Most tests wait on subprocesses (dbt, servers, brokers): two workers keep both cores busy.
TEST_WORKERS ?= 2
# The dbt manifest the @dbt_assets load (never parsed on import): rebuilt when a file of the dbt project is
# newer, which on a fresh clone (no manifest yet) is always.
MANIFEST := dbt/target/manifest.json
DBT_SOURCES := $(wildcard dbt/dbt_project.yml dbt/packages.yml dbt/dependencies.yml) \
	$(shell find dbt/models dbt/macros dbt/tests dbt/seeds dbt/snapshots dbt/analyses -type f 2>/dev/null)

.PHONY: install dbt-prepare test lint typecheck unit demo compat-table clean

install: $(STAMP) $(MANIFEST)

# uv when present (or installable into the venv); plain pip otherwise.
$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@if command -v uv >/dev/null 2>&1; then UV=uv; \
	elif $(PY) -m pip install -q uv >/dev/null 2>&1; then UV=$(BIN)/uv; \
	else UV=; fi; \
	if [ -n "$$UV" ]; then $$UV pip install --python $(PY) -q -e '.[dev]'; \
	else $(PY) -m pip install -q -e '.[dev]'; fi
	@touch $(STAMP)

$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	$(BIN)/flexprice dbt-prepare

# By hand, e.g. after switching branches: parse the dbt project again.
dbt-prepare: $(STAMP)
	$(BIN)/flexprice dbt-prepare

lint: install
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .
	@# dbt templater on the DuckDB target, compiled against a throw-away file (dbt/.sqlfluff says what is checked).
	@# Its own target path, so the lint's compile never replaces the manifest the pipeline loads.
	@tmp=$$(mktemp -d /tmp/sqlfluff-XXXXXX); \
	(cd dbt && FLEXPRICE_DUCKDB_PATH=$$tmp/lint.duckdb DBT_TARGET_PATH=$$tmp/target \
		../$(BIN)/sqlfluff lint --nocolor .); rc=$$?; rm -rf $$tmp; exit $$rc

typecheck: install
	$(BIN)/mypy flexprice_pipelines api sensors

test: install lint typecheck
	@scripts/ensure-system-deps
	@scripts/ensure-postgres
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

# Pure billing tests only: fast feedback while editing the core.
unit: install
	$(BIN)/pytest -q tests/billing

# Seeds a demo tenant in ./.flexprice-demo (wiped each run), bills three months of ~1M events, writes PDFs.
demo: install
	$(BIN)/flexprice demo $(DEMO_ARGS)

# Regenerates docs/flexprice-compatibility.md from Flexprice's OpenAPI document and our app
# (tests/support/flexprice_compat.py; tests/api/test_flexprice_operations.py fails while it is stale).
compat-table: install
	$(PY) -m tests.support.flexprice_compat

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
