# PlanFlow: `make run` serves the product, `make test` runs the test suite.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PLANFLOW := $(VENV)/bin/planflow

.PHONY: install run db worker test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

db: install
	$(PLANFLOW) init
	$(PLANFLOW) deploy processes forms --as setup
	$(PLANFLOW) calendar load calendars/cn_overrides.yaml --as setup
	$(PLANFLOW) demo-users

run: db
	$(PLANFLOW) serve

worker: db
	$(PLANFLOW) worker

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) bench/throughput.py

clean:
	rm -rf $(VENV) instance .pytest_cache
