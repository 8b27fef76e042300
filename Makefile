# schoolnet — two commands: `make demo` and `make test` (`make test-fast` before each commit).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP  := $(VENV)/.installed

.PHONY: audit audit-if-reachable demo test test-fast lint typecheck install lock bench bench-celery bench-history bench-live bench-messy pictures clean

# --compile-bytecode: the packages' .pyc files are written once here, so every later process
# (each airflow and schoolnet command, each task) loads them instead of compiling Airflow from
# source again, which it does wherever PYTHONDONTWRITEBYTECODE is set: about 5 s a process.
$(STAMP): requirements.lock pyproject.toml
	@echo "==> installing into $(VENV) (first run only)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	@$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes requirements.lock
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

# `make` alone lists the targets; each target's `## ` comment is its line in that list.
.DEFAULT_GOAL := help
.PHONY: help lock-check

help: ## List every target with what it does
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## / { printf "  %-20s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

install: $(STAMP) ## Install the locked dependencies and schoolnet into .venv (other targets do it first)

demo: $(STAMP) ## The national daily run on this machine, with embedded defaults (README)
	@$(BIN)/schoolnet demo

# The suite waits on Airflow processes, servers and the quota pacer more than it computes, so
# it runs in TEST_WORKERS processes even on 2 cores (docs/benchmarks.md "The test suite"). Each
# file stays in one process (its module fixtures are made once) and the files go out in
# collection order, the slow tiers (deploy, e2e) first. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 4
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: $(STAMP) lock-check audit-if-reachable ## Lock drift, audit, ruff, mypy and the whole pytest suite
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy
	@$(BIN)/pytest $(PYTEST_PARALLEL)

# Before each commit: lint, types and the unit tier (tests/unit), in under 3 minutes on a 2-core
# machine. The few unit-folder tests that run Airflow are marked e2e and left to `make test`.
test-fast: $(STAMP) ## Before each commit: ruff, mypy and the unit tests (tests/unit), in minutes
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy
	@$(BIN)/pytest $(PYTEST_PARALLEL) tests/unit -m "not e2e"

# Known vulnerabilities in the locked dependencies; --strict fails when a package could not be
# audited, so a green result always means every package was checked (docs/reliability.md).
audit: $(STAMP) ## Known vulnerabilities in the locked dependencies (needs PyPI)
	@$(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip --strict --progress-spinner off

# Run by `make test`: audits when PyPI's vulnerability data answers, and says plainly when not.
audit-if-reachable: $(STAMP) ## The audit when PyPI answers, else a plain NOT RUN line
	@if $(BIN)/python -c "import urllib.request; urllib.request.urlopen('https://pypi.org/pypi/pip/24.0/json', timeout=10)" 2>/dev/null; \
	then $(MAKE) --no-print-directory audit; \
	else echo "audit: NOT RUN - PyPI's vulnerability data did not answer; the dependencies were NOT audited (make audit)"; fi

lint: $(STAMP) ## ruff check and ruff format --check
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy (strict)
	@$(BIN)/mypy

bench: $(STAMP) ## Measured speed of the pipeline's stages (docs/benchmarks.md)
	@$(BIN)/python -m benchmarks

# Validation of the national day: the demo's messy data set against a clean one, in turns.
bench-messy: $(STAMP) ## Validation of the national day, the demo's messy data against clean
	@$(BIN)/python -m benchmarks.messy

# The report's queries over a year of history (~10.6M snapshot rows), SQLite and PostgreSQL.
bench-history: $(STAMP) ## The report's queries over a year of history, SQLite and PostgreSQL
	@$(BIN)/python -m benchmarks.history

# One national morning under the scheduler with one and with two Celery workers, against the
# quota bound (needs PostgreSQL and Redis on 127.0.0.1; docs/benchmarks.md).
bench-celery: $(STAMP) ## A national morning under Celery with one and two workers
	@$(BIN)/python -m benchmarks.celery

# Near-live feedback: Google calls per feedback run (k of 245 sheets edited) at Google's quota,
# then edit to finding under the real scheduler and triggerer (about 15 minutes more).
bench-live: $(STAMP) ## Near-live feedback: Google calls per run and edit-to-finding time
	@$(BIN)/python -m benchmarks.live

# Pictures of the demo's report for docs/ and README: the email at phone and desktop width and
# its speed section in headless Chromium, the province map, the PDF's first page, and an ESA's
# feedback email with its standing. Runs the demo first if nothing was rendered yet;
# installs Debian's Chromium when it is missing (as root), or says how to.
pictures: $(STAMP) ## The README's and docs' pictures from the demo's report and mail
	@ls out/report/*/manifest.json >/dev/null 2>&1 || $(MAKE) demo
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && \
	    echo "==> installing Chromium (apt-get install chromium)" && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
	  { echo "Chromium is needed: apt-get install chromium, then make pictures again"; exit 1; }
	@$(BIN)/schoolnet pictures

# The lock's one command: `make lock` writes requirements.lock with it, lock-check compares.
LOCK_COMPILE = $(BIN)/uv pip compile requirements-dev.in --python-version 3.11 --generate-hashes --no-header
# The index uv resolves from: its own settings, else PyPI.
LOCK_INDEX = $${UV_DEFAULT_INDEX:-$${UV_INDEX_URL:-https://pypi.org/simple}}

# Resolve requirements*.in into requirements.lock (needs the registry); commit the result. uv keeps
# the pins already in the lock where the .in files still allow them; to move every package to its
# newest allowed release, run `make lock LOCK_UPGRADE=--upgrade`.
lock: $(STAMP) ## Resolve requirements*.in into requirements.lock, keeping its pins (needs the registry)
	@$(LOCK_COMPILE) $(LOCK_UPGRADE) -o requirements.lock

# Run by `make test`: requirements.lock is what `make lock` makes of the .in files (uv keeps the
# lock's pins as preferences, so a new release upstream is not drift). Resolves from uv's cache
# first, offline; then from the package index, which a stale or empty cache (a fresh machine)
# needs; says plainly when it could not check.
lock-check: $(STAMP) ## requirements.lock re-resolves to itself (run by make test)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cp requirements.lock "$$tmp/offline.lock"; cp requirements.lock "$$tmp/online.lock"; \
	if $(LOCK_COMPILE) --offline -o "$$tmp/offline.lock" >"$$tmp/log" 2>&1 && \
	   cmp -s requirements.lock "$$tmp/offline.lock"; then \
	  echo "lock-check: requirements.lock re-resolves to itself (from uv's cache)"; exit 0; fi; \
	if $(LOCK_COMPILE) -o "$$tmp/online.lock" >"$$tmp/log" 2>&1; then \
	  if diff -u requirements.lock "$$tmp/online.lock"; then \
	    echo "lock-check: requirements.lock re-resolves to itself (from $(LOCK_INDEX))"; exit 0; fi; \
	  echo "lock-check: FAILED - requirements.lock is not what requirements*.in resolve to (diff above): run make lock and commit requirements.lock"; exit 1; fi; \
	if ! $(BIN)/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1].rstrip('/') + '/pip/', timeout=10)" "$(LOCK_INDEX)" 2>/dev/null; then \
	  echo "lock-check: NOT RUN - uv's cache cannot resolve the lock and the package index ($(LOCK_INDEX)) did not answer; the lock was NOT checked (make lock-check)"; exit 0; fi; \
	cat "$$tmp/log"; \
	echo "lock-check: FAILED - requirements*.in do not resolve (uv's message above): fix them, then make lock"; exit 1

clean: ## Remove the demo's output (out/) and the local Airflow home (.airflow/)
	rm -rf out .airflow
