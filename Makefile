# The two commands of the README. Both set up everything on a fresh machine (a virtualenv in .venv).
VENV ?= .venv
PYTHON ?= python3

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

.PHONY: install run test lint
install: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/notifier run

test: $(VENV)/.installed
	$(VENV)/bin/ruff check notifier tasks sources tests bench
	$(VENV)/bin/pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check notifier tasks sources tests bench
