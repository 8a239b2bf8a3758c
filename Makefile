# The two commands of the README:
#   make evaluate   provision the vendor sandboxes, run the reference evaluation, write the scorecard
#   make test       run crmproof's own tests (unit and integration, against the real vendors)
# Both set up whatever is missing first; a second call skips what is already done.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VENDORS := tryton bottlecrm djangocrm

.PHONY: setup system evaluate test lint sandboxes down clean

setup: system $(VENV)/.installed

system:
	@scripts/install-system-deps

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

sandboxes: setup
	$(BIN)/crmproof sandbox up $(VENDORS)

evaluate: sandboxes
	$(BIN)/crmproof run --evidence all

test: setup
	$(BIN)/mypy
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

down:
	$(BIN)/crmproof sandbox down $(VENDORS)

clean: down
	rm -rf $(VENV) reports
