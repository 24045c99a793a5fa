# PlanFlow: `make run` serves the product, `make test` runs the test suite.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PLANFLOW := $(VENV)/bin/planflow
FRONTEND := webapp/frontend
DIST := webapp/static/dist

.PHONY: install assets translations run db worker test browser bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Front-end packages come from the npm registry (package-lock.json) and are served locally: no CDN.
# One of them (@carbon/grid, via form-js) runs a usage-telemetry collector after install that stays in the
# background and reports to a third party; the build of a complaint system sends nothing anywhere.
$(DIST)/.built: $(FRONTEND)/package.json $(FRONTEND)/package-lock.json $(wildcard $(FRONTEND)/src/*.js) \
		$(FRONTEND)/build.mjs $(FRONTEND)/.bpmnlintrc
	cd $(FRONTEND) && IBM_TELEMETRY_DISABLED=true npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(DIST)/dmn-js
	cp $(FRONTEND)/node_modules/@bpmn-io/form-js/dist/form-viewer.umd.js $(DIST)/
	cp $(FRONTEND)/node_modules/@bpmn-io/form-js/dist/form-editor.umd.js $(DIST)/
	cp $(FRONTEND)/node_modules/@bpmn-io/form-js/dist/assets/form-js.css $(DIST)/
	cp $(FRONTEND)/node_modules/@bpmn-io/form-js/dist/assets/form-js-editor.css $(DIST)/
	cp $(FRONTEND)/node_modules/dmn-js/dist/dmn-modeler.production.min.js $(DIST)/dmn-modeler.js
	cp -r $(FRONTEND)/node_modules/dmn-js/dist/assets/. $(DIST)/dmn-js/
	cd $(FRONTEND) && node build.mjs
	touch $@

assets: $(DIST)/.built

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -d webapp/translations

install: $(VENV)/.installed assets translations

db: install
	$(PLANFLOW) db upgrade   # creates the schema, or runs the migrations an existing database lacks
	$(PLANFLOW) deploy processes forms --as setup --new-only
	$(PLANFLOW) calendar load calendars/cn_overrides.yaml --as setup
	$(PLANFLOW) demo-users

run: db
	$(PLANFLOW) serve

worker: db
	$(PLANFLOW) worker

# Browser tests drive Debian's Chromium; install it when missing (CI runs as root).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

# Two tests at a time: CI and most machines here have two cores.
test: install browser
	$(PY) -m pytest -q -n 2

bench: install
	$(PY) bench/throughput.py
	$(PY) bench/inbox.py
	$(PY) bench/sandbox.py
	$(PY) bench/audit.py
	$(PY) bench/timers.py
	$(PY) bench/notifications.py

clean:
	rm -rf $(VENV) instance .pytest_cache $(DIST) $(FRONTEND)/node_modules
