# The two entry points of a fresh clone: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat .python-version)
# The browser tests' JavaScript tools (axe-core), pinned in package-lock.json; like the venv,
# reinstalled when the lock changes. npm ci starts from an empty node_modules every time.
NODE_STAMP := node_modules/.installed

.PHONY: run test venv node lint bench bench-peers clean

$(STAMP): requirements.lock .python-version
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' || \
		{ echo "taskboard needs Python >= 3.12 as '$(PYTHON)' (.python-version names $$(cat .python-version))"; exit 1; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make test needs Node.js and npm (for axe-core in the browser tests)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

node: $(NODE_STAMP)

run: venv
	$(VENV)/bin/python manage.py migrate --noinput
	exec $(VENV)/bin/python manage.py taskboard_serve

test: venv node
	$(VENV)/bin/python manage.py check --fail-level WARNING
	$(VENV)/bin/python manage.py makemigrations --check --dry-run
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check taskboard tests bench
	$(VENV)/bin/mypy

# The peers taskboard is measured against (Celery, procrastinate, django-tasks-db), installed
# into the same venv from their own lock; never needed to run or test taskboard.
bench-peers: venv
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-bench.lock

bench: venv
	$(VENV)/bin/python -m bench.throughput --rounds 3

clean:
	rm -rf $(VENV) node_modules
