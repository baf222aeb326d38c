# 就业协议网上签约 — build, run and test (GNU make; Debian 12, run as root).
#
#   make run        venv + Debian packages + migrations + demo data, then serve
#                   http://127.0.0.1:8080 on SQLite (instance/app.db); prints the demo logins
#   make test       lint-imports (the layer contracts in .importlinter), then pytest on SQLite, then
#                   on PostgreSQL (PG_URL); fails if any of the three fails (first `npm ci`
#                   when node_modules is missing: axe-core for the browser tests)
#   make migration  after changing app/models.py: compare the models with the migrations and
#                   write a new revision into migrations/versions when they differ (review it!)
#   make worker     an rq worker (app.jobs.worker.AppWorker, with its scheduler) on REDIS_URL serving
#                   QUEUES (default: mail default bulk); production runs one for "mail default" and
#                   one for "bulk" (deploy/systemd)
#   make cron       the single `rq cron app/jobs/cron.py` process on REDIS_URL (expiry, reminders,
#                   outbox sweep, run sweep); run exactly one
#   (make run also starts two workers — "mail default" and "bulk" — and the cron process when
#   REDIS_URL is set and Redis answers, each under deploy/supervise.sh, which restarts it whenever
#   it exits; all stop when the server stops. Without REDIS_URL jobs run inline.)
#
# Variables: PYTHON (python3), PG_URL, PYTEST_ARGS (e.g. PYTEST_ARGS="-x -k seed"), MSG,
#            REDIS_URL (from the environment), QUEUES (make worker).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
MSG ?= model changes
HOST ?= 127.0.0.1
PORT ?= 8080

export FLASK_APP := app:create_app
# The developer's targets run as development (config.py APP_ENV): a per-instance SECRET_KEY is
# accepted there; `make worker`, `make cron` and gunicorn in production need SECRET_KEY set.
run seed migrate migration: export APP_ENV ?= development
# The address `make run` serves on is the one the app links to (mails, the PDF's QR code) and the
# one `flask demo seed` prints with the demo logins; an explicit PUBLIC_BASE_URL wins.
run seed migrate: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
export PYTHONPATH := $(CURDIR)

DEB_PACKAGES := wkhtmltopdf fonts-noto-cjk poppler-utils chromium
APT_INSTALL := apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends

VENV_STAMP := $(VENV)/.stamp-requirements
DEB_STAMP := .stamp-deb
# npm ci writes this file; it reruns when package-lock.json changes or node_modules is deleted.
NODE_STAMP := node_modules/.package-lock.json

RQ := $(VENV)/bin/rq
QUEUES ?= mail default bulk
# The queue names are settings (RQ_MAIL_QUEUE, RQ_QUEUE, RQ_BULK_QUEUE; config.py); these are the defaults.
WORKER_CMD = $(RQ) worker --with-scheduler --worker-class app.jobs.worker.AppWorker --url "$$REDIS_URL"
CRON_CMD = $(RQ) cron --url "$$REDIS_URL" app/jobs/cron.py
SUPERVISE := deploy/supervise.sh
# Exit status 0 when Redis answers on $REDIS_URL within a second.
REDIS_PING = $(PY) -c 'import os, redis; redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=1).ping()' 2>/dev/null

.PHONY: help venv deb node migrate seed run test migration worker cron

help:
	@echo "make run        serve the demo on http://$(HOST):$(PORT) (SQLite) and print the demo logins"
	@echo "make test       lint-imports, then pytest on SQLite, then on PostgreSQL ($(PG_URL))"
	@echo "make migration  compare app/models.py with migrations/; write a new revision if they differ"
	@echo "make worker     an rq worker on REDIS_URL serving QUEUES ($(QUEUES))"
	@echo "make cron       the one rq cron process on REDIS_URL (expiry, reminders, outbox sweep)"
	@echo "make venv | deb | node | migrate | seed   the single steps"

# ---------------------------------------------------------------- environment

venv: $(VENV_STAMP)

# Reruns only when requirements.txt changes (or .venv was deleted with the stamp inside it).
$(VENV_STAMP): requirements.txt
	@if [ ! -x $(VENV)/bin/pip ]; then \
	  rm -rf $(VENV); \
	  $(PYTHON) -m venv $(VENV) || { \
	    echo "python3 -m venv failed: installing python3-venv"; rm -rf $(VENV); \
	    $(APT_INSTALL) python3-venv && $(PYTHON) -m venv $(VENV); }; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

deb: $(DEB_STAMP)

# apt runs only when a package is missing; the stamp is redone when this Makefile changes.
$(DEB_STAMP): Makefile
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(APT_INSTALL) $$missing; \
	else \
	  echo "Debian packages present: $(DEB_PACKAGES)"; \
	fi
	touch $@

node: $(NODE_STAMP)

# Test-only JavaScript (axe-core for tests/browser), exactly as package-lock.json pins it. Debian's
# nodejs and npm are installed only when there is no npm at all: a NodeSource nodejs brings its own
# npm and conflicts with Debian's npm package.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "installing Debian packages: nodejs npm"; $(APT_INSTALL) nodejs npm; }
	npm ci --no-audit --no-fund
	touch $@

# ---------------------------------------------------------------- database

migrate: venv
	$(FLASK) db upgrade
	$(FLASK) roles sync
	$(FLASK) stats refresh

seed: migrate
	$(FLASK) demo seed

# With REDIS_URL set and Redis answering, a worker and the cron process run beside the server and
# are stopped with it (Ctrl-C); otherwise jobs run inline in the web process (R4 still holds).
run: venv deb seed
	@pids=""; \
	if [ -n "$$REDIS_URL" ] && $(REDIS_PING); then \
	  echo "Redis answers on $$REDIS_URL: starting two rq workers (mail default | bulk) and rq cron, each supervised"; \
	  $(SUPERVISE) worker-fast $(WORKER_CMD) mail default & pids="$$pids $$!"; \
	  $(SUPERVISE) worker-bulk $(WORKER_CMD) bulk & pids="$$pids $$!"; \
	  $(SUPERVISE) cron $(CRON_CMD) & pids="$$pids $$!"; \
	  trap 'kill -TERM $$pids 2>/dev/null; wait $$pids 2>/dev/null' EXIT INT TERM; \
	elif [ -n "$$REDIS_URL" ]; then \
	  echo "REDIS_URL is set but Redis does not answer: no worker/cron; jobs wait (make worker / make cron later)"; \
	else \
	  echo "REDIS_URL not set: background jobs run inline"; \
	fi; \
	echo "serving http://$(HOST):$(PORT)/ (Ctrl-C stops)"; \
	$(FLASK) run --host $(HOST) --port $(PORT) --with-threads

# ---------------------------------------------------------------- background processes

worker: venv
	@if [ -z "$$REDIS_URL" ]; then echo "make worker needs REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379/0"; exit 2; fi
	$(WORKER_CMD) $(QUEUES)

# rq's cron has no lock: run exactly one of these for the whole deployment.
cron: venv
	@if [ -z "$$REDIS_URL" ]; then echo "make cron needs REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379/0"; exit 2; fi
	$(CRON_CMD)

# After a model change: upgrade a scratch SQLite database to head, let Alembic compare it with
# app/models.py, and autogenerate a revision only when they differ. Autogenerate misses things:
# read the new file (partial indexes need postgresql_where and sqlite_where, data migrations).
MIGRATION_DB := $(CURDIR)/instance/migration-scratch.db
migration: venv
	@mkdir -p instance; rm -f $(MIGRATION_DB)
	DATABASE_URL=sqlite:///$(MIGRATION_DB) $(FLASK) db upgrade
	@if DATABASE_URL=sqlite:///$(MIGRATION_DB) $(FLASK) db check; then \
	  echo "migrations match app/models.py: nothing to do"; \
	else \
	  DATABASE_URL=sqlite:///$(MIGRATION_DB) $(FLASK) db migrate -m "$(MSG)" && \
	  echo "new revision written to migrations/versions/: review it, then run make test"; \
	fi
	@rm -f $(MIGRATION_DB)

# ---------------------------------------------------------------- tests

test: venv deb node
	@status=0; \
	echo "== lint-imports (.importlinter: layers, imports/ without Flask, no cycles)"; \
	$(VENV)/bin/lint-imports || status=1; \
	echo "== pytest on SQLite"; \
	env -u TEST_DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS) || status=1; \
	echo "== pytest on PostgreSQL ($(PG_URL))"; \
	TEST_DATABASE_URL='$(PG_URL)' $(PY) -m pytest $(PYTEST_ARGS) || status=1; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED (see above)"; fi; \
	exit $$status
