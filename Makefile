# Gatehouse: `make serve` starts the service with demo data; `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: setup assets serve demo test test-postgres bench bench-scoring lint fuzz

setup: $(VENV)/.installed static/app.css

# The GOV.UK Design System's assets come from the npm registry (govuk-frontend), compiled once.
static/app.css: package.json package-lock.json registry/web/assets/app.scss
	@if command -v npm >/dev/null 2>&1; then bash scripts/build_assets.sh; \
	else echo "npm not found: the web pages will be served without the GOV.UK styles"; fi

assets:
	bash scripts/build_assets.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Install, migrate, load the demo council (once) and serve on http://127.0.0.1:5000
serve: setup
	$(BIN)/gatehouse db upgrade
	$(BIN)/gatehouse demo
	$(BIN)/gatehouse run --host 127.0.0.1 --port 5000

# The suite runs on one worker process per core (pytest-xdist), each test file whole on one worker
# (its module-scoped fitted models are made once); PARALLEL= runs it in this one process.
PARALLEL ?= -n auto --dist loadfile

# Tests on SQLite; set GATEHOUSE_TEST_DATABASE_URL to run them on PostgreSQL instead.
# pytest exits 5 when it collects nothing: that is not a failure of the code.
test: setup
	$(BIN)/python -m pytest $(PARALLEL); rc=$$?; if [ $$rc -eq 5 ]; then exit 0; else exit $$rc; fi

# The same tests on a fresh PostgreSQL database (local server, trust auth).
test-postgres: setup
	bash scripts/test_postgres.sh $(PARALLEL)

# Schemathesis over the whole API as each role against the demo council, for
# GATEHOUSE_FUZZ_SECONDS (180 by default); prints the counts per status and role (the suite runs
# a short bounded pass in tests/test_fuzz.py).
fuzz: setup
	$(BIN)/python scripts/fuzz.py

bench: setup
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_cli.py

# Scoring over HTTP with 2 workers and 8 clients, in one run: bare gunicorn, gunicorn.conf.py and
# (if its environment exists, see benchmarks/scoring_alibi.py) MLServer + alibi TreeShap; on
# SQLite, or PostgreSQL with GATEHOUSE_BENCH_DATABASE_URL (a throwaway database).
bench-scoring: setup
	$(BIN)/python benchmarks/bench_scoring.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
