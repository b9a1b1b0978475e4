# Himaya — two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# Find a Python >= 3.12: on PATH first, then pyenv's versions.
PYTHON ?= $(shell for p in python3.13 python3.12 python3 \
	$$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 \
	/usr/local/bin/python3.13 /usr/local/bin/python3.12; do \
	  c=$$(command -v $$p 2>/dev/null) || continue; \
	  $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo $$c; break; }; \
	done)

.PHONY: run install serve migrate demo test test-fast lint format messages compilemessages \
	e2e bench drills geodata clean check-python

check-python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Himaya needs Python 3.12 or newer and none was found."; \
	  echo "Install one (e.g. 'pyenv install 3.12') or run: make PYTHON=/path/to/python3.12"; \
	  exit 1; fi

$(VENV)/.installed: pyproject.toml constraints.txt | check-python
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

# A fresh clone has no var/ (git ignores it) and SQLite cannot create the folder of its file:
# every manage.py command that runs the system checks would fail to open the database.
install: $(VENV)/.installed
	@mkdir -p -m 0700 var

migrate: install
	$(MANAGE) init_keys
	$(MANAGE) migrate --noinput
	$(MANAGE) compilemessages_himaya

demo: migrate
	$(MANAGE) load_demo

run: demo
	$(MANAGE) collectstatic --noinput --verbosity 0
	@echo "Himaya on http://$(HOST):$(PORT)/  (Ctrl-C stops the web server and the task worker)"
	@trap 'kill 0' EXIT INT TERM; \
	  $(MANAGE) db_worker --verbosity 0 & \
	  $(MANAGE) run_schedule --verbosity 0 & \
	  $(VENV)/bin/uvicorn himaya.asgi:application --app-dir src --host $(HOST) --port $(PORT) \
	    --proxy-headers --forwarded-allow-ips 127.0.0.1 --no-server-header

# --dist loadgroup: the browser journeys (tests/e2e) all run on one worker, against one
# server and one prepared database, while the other worker runs the rest of the suite.
test: install
	$(MANAGE) compilemessages_himaya
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src tests
	$(VENV)/bin/lint-imports
	HIMAYA_ENV=test $(MANAGE) makemigrations --check --dry-run
	$(MANAGE) compilemessages_himaya --check
	$(VENV)/bin/bandit -q -r src -x '*/migrations/*' -c pyproject.toml

format: install
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

# Benchmarks (bench/README.md). BENCH_SCALE=small: 10,000 cases; full: 1,000,000 (generation
# takes minutes). Each database gets a scratch copy (SQLite under /tmp/himaya-bench,
# PostgreSQL database himaya_bench on 127.0.0.1:5432) dropped at the end. Results go to
# bench/results/*.json; a missed target is printed, not fatal.
BENCH_SCALE ?= small
BENCH_DATABASES ?= sqlite postgresql
bench: install
	@for db in $(BENCH_DATABASES); do \
	  BENCH_SCALE=$(BENCH_SCALE) $(PY) bench/bench_cases.py --database $$db \
	    && BENCH_SCALE=$(BENCH_SCALE) $(PY) bench/bench_intake_http.py --database $$db \
	    && BENCH_SCALE=$(BENCH_SCALE) $(PY) bench/bench_referrals.py --database $$db --reuse \
	    && BENCH_SCALE=$(BENCH_SCALE) $(PY) bench/bench_justice.py --database $$db \
	    && BENCH_SCALE=$(BENCH_SCALE) $(PY) bench/bench_pages.py --database $$db; \
	  status=$$?; $(PY) bench/generate.py --drop --database $$db; \
	  [ $$status -eq 0 ] || exit $$status; \
	done
	$(PY) bench/bench_routing.py
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres $(PY) bench/bench_routing.py

# Crash and restore drills (tests/drills, docs/architecture/drills.md) at full length, on
# SQLite then PostgreSQL (DRILL_PG_URL; each drill makes and drops its own scratch database).
# `make test` (and so CI) runs the same drills at quick length.
DRILL_PG_URL ?= postgres://postgres@127.0.0.1:5432/test
drills: install
	DRILL_LENGTH=full $(PY) -m pytest tests/drills -p no:xdist -m drill $(PYTEST_ARGS)
	DRILL_LENGTH=full DATABASE_URL=$(DRILL_PG_URL) TEST_DATABASE_NAME=test_himaya_drills \
	  $(PY) -m pytest tests/drills -p no:xdist -m drill $(PYTEST_ARGS)

# Extract strings (needs GNU gettext's xgettext/msgmerge), then compile in pure Python.
# Translate what is new in ar/fr/zgh; `make lint` fails while anything is left untranslated.
messages: install
	cd src/himaya && ../../$(PY) ../../manage.py makemessages --no-obsolete --no-location \
	  -l ar -l fr -l zgh -l en --ignore 'migrations/*'
	$(MANAGE) compilemessages_himaya

# Rebuild src/himaya/geo/data/ from the census and boundary packages (pinned in
# tools/geodata/requirements.txt). They are heavy and build-only: they live in their own venv,
# never in the app's. Deterministic: `git diff` after a rebuild shows only real changes.
GEODATA_VENV := .venv-geodata
geodata: | check-python
	@[ -x $(GEODATA_VENV)/bin/python ] || $(PYTHON) -m venv $(GEODATA_VENV)
	$(GEODATA_VENV)/bin/python -m pip install --quiet -r tools/geodata/requirements.txt
	$(GEODATA_VENV)/bin/python tools/geodata/build.py

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .ruff_cache
