# The two entry points of a fresh clone: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat .python-version)

.PHONY: run test venv lint bench clean

$(STAMP): requirements.lock .python-version
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' || \
		{ echo "taskboard needs Python >= 3.12 as '$(PYTHON)' (.python-version names $$(cat .python-version))"; exit 1; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

run: venv
	$(VENV)/bin/python manage.py migrate --noinput
	exec $(VENV)/bin/python manage.py taskboard_serve

test: venv
	$(VENV)/bin/python manage.py check --fail-level WARNING
	$(VENV)/bin/python manage.py makemigrations --check --dry-run
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check taskboard tests bench
	$(VENV)/bin/mypy

bench: venv
	$(VENV)/bin/python -m bench.throughput --rounds 3

clean:
	rm -rf $(VENV)
