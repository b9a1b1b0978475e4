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

install: $(VENV)/.installed

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
	  $(VENV)/bin/uvicorn himaya.asgi:application --app-dir src --host $(HOST) --port $(PORT) \
	    --proxy-headers --forwarded-allow-ips 127.0.0.1 --no-server-header

test: install
	$(MANAGE) compilemessages_himaya
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

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

messages: install
	cd src/himaya && ../../$(MANAGE) makemessages --no-obsolete --no-location -l ar -l fr -l zgh -l en \
	  --ignore 'migrations/*'

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .ruff_cache
