# `make run` and `make test` bootstrap their own virtual environment; nothing else is needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Defaults of `make run`; a variable set in the environment always wins.
export ENS_ENV ?= dev
export ENS_DATABASE_URL ?= sqlite:///./var/ens.sqlite
export ENS_PUBLIC_URL ?= http://127.0.0.1:8000

.PHONY: run test test-sqlite test-postgres fuzz bench load lint migrate demo token clean

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

run: $(BIN)/.installed
	$(BIN)/ens migrate
	$(BIN)/ens demo
	$(BIN)/ens serve --host 127.0.0.1 --port 8000

# A 12-hour access token for a test identity, with the defaults of `make run`: TOKEN=$$(make -s token)
IDENTITY ?= camille
token: $(BIN)/.installed
	@$(BIN)/ens migrate >/dev/null
	@$(BIN)/ens dev token $(IDENTITY)

migrate: $(BIN)/.installed
	$(BIN)/ens migrate

demo: $(BIN)/.installed
	$(BIN)/ens demo

# The whole suite on SQLite, then again on a private PostgreSQL server.
test: $(BIN)/.installed
	@bash scripts/test-all

test-sqlite: $(BIN)/.installed
	@bash scripts/test-sqlite

test-postgres: $(BIN)/.installed
	@bash scripts/with-postgres bash scripts/test-one postgresql

# Schemathesis deeper than make test's seeded run: unseeded, 200 examples per operation, on PostgreSQL.
fuzz: $(BIN)/.installed
	@ENS_FUZZ_DEEP=1 bash scripts/with-postgres bash scripts/test-one postgresql -m fuzz tests/fuzz

# A benchmark, never a pass/fail test, on a durable private PostgreSQL (fsync on): prints ratios to the
# ceilings measured in the same run, then the figures; writes bench-results.json. Knobs: README, Benchmarks.
bench: $(BIN)/.installed
	@bash scripts/ensure-bench-tools
	@bash scripts/with-postgres $(BIN)/python -m bench

# A bounded load test (60 s by default) of ENS in production mode (TLS, several workers) on a durable
# private PostgreSQL: phone reads, device batch writes and complete logins at a fixed rate; prints
# throughput and p50/p95/p99 per operation, fails on any error. Knobs: README, Benchmarks.
load: $(BIN)/.installed
	@bash scripts/ensure-test-tools
	@ENS_ENV= ENS_PUBLIC_URL= bash scripts/with-postgres $(BIN)/python -m bench.load

# What .ci/run enforces before the suite: lint rules, formatting, and strict types over ens, tests and bench.
lint: $(BIN)/.installed
	$(BIN)/ruff check ens tests bench
	$(BIN)/ruff format --check ens tests bench
	$(BIN)/mypy

clean:
	rm -rf var/test-* .pytest_cache
