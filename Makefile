# AtoCore Ops. `make run` sets everything up and serves the demo; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run setup migrate demo nightly test test-pg lint bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

migrate: setup
	$(BIN)/python manage.py migrate --verbosity 0

# The demo store: this project's own docs/ ingested, and a small memories file about them.
# The project first (ingest refuses an unknown --project), the memories after the chunks
# (their quotes resolve to chunks).
demo: migrate
	$(BIN)/python manage.py import_memories --projects docs/demo/projects.jsonl
	$(BIN)/python manage.py ingest docs --project atocore-docs
	$(BIN)/python manage.py import_memories docs/demo/memories.jsonl
	$(BIN)/python manage.py ensure_dev_user

nightly: migrate
	-$(BIN)/python manage.py nightly

run: demo nightly
	@echo ""
	@echo "  AtoCore Ops is at http://$(HOST):$(PORT)/admin/  (development login: admin / admin)"
	@echo "  Audit API: http://$(HOST):$(PORT)/admin/audit/recent"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: setup
	$(BIN)/pytest -q

test-pg: setup
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
