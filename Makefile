# Accord: `make run` starts everything on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test lint format bench install install-dev browser clean

# Debian's python3 needs python3-venv for `-m venv`; installed when missing and we are root.
$(BIN)/python:
	@if ! $(PYTHON) -m venv $(VENV) >/dev/null 2>&1; then \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's python3-venv ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; \
	  fi; \
	  $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "Cannot create $(VENV): install python3-venv"; exit 1; }; \
	fi
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "Accord is starting at http://$(HOST):$(PORT)/  (sign in with a demo login above)"
	@echo "Web server, Celery worker and beat run together below; Ctrl-C stops all three."
	@echo ""
	@# 130: honcho stopped everything after Ctrl-C, which is how this is meant to end.
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile || [ $$? -eq 130 ]

# Debian's chromium for the browser tests; installed when missing and we are root.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else echo "chromium is missing: install Debian's chromium package to run the browser tests"; fi; \
	fi

# The tests keep their SQLite file and broker folders apart from `make run`'s (var/test/),
# so a running dev worker never picks up a message a test sent. pytest's exit code 5
# ("no tests collected") is a failure too: a run that tested nothing did not pass.
# Lint findings do not stop the tests from running; any failure fails the target.
# Settings imported as production imports them (DEBUG off); HTTPS redirects off, because the
# test client speaks plain HTTP. In a var dir of its own: the static files it collects, left
# in the main pass's, were read by WhiteNoise for every test client of the next run (~130 ms
# a test; CI's second pass ran six minutes longer than its first).
PRODUCTION_ENV := ACCORD_VAR_DIR="$${ACCORD_VAR_DIR:-$(CURDIR)/var/test}/production" DJANGO_ENV=production \
	SECRET_KEY=production-pass-of-the-test-suite-not-a-real-secret-0123456789abcdef \
	ALLOWED_HOSTS=testserver,localhost,127.0.0.1 SECURE_SSL_REDIRECT=0
PRODUCTION_TESTS := tests/production tests/leads/test_lifecycle.py tests/leads/test_touch_clock.py \
	tests/agreements/test_sla_clock.py tests/leads/test_clock_recompute.py tests/sla/test_sla_check.py \
	tests/leads/test_ledger.py tests/reports/test_figures.py

test: install-dev browser
	@failed=""; \
	$(BIN)/ruff check . || failed="$$failed ruff-check"; \
	$(BIN)/ruff format --check . || failed="$$failed ruff-format"; \
	$(BIN)/lint-imports || failed="$$failed import-layers"; \
	rc=0; ACCORD_VAR_DIR="$${ACCORD_VAR_DIR:-$(CURDIR)/var/test}" \
	  $(BIN)/python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests (PYTEST_ARGS=$(PYTEST_ARGS))"; fi; \
	if [ $$rc -ne 0 ]; then failed="$$failed pytest(exit $$rc)"; fi; \
	if [ -z "$(PYTEST_ARGS)" ]; then \
	  echo "--- the lifecycle, the clock and the ledger again, with production settings ---"; \
	  rc=0; $(PRODUCTION_ENV) $(BIN)/python manage.py collectstatic --noinput -v 0 && \
	  $(PRODUCTION_ENV) $(BIN)/python -m pytest $(PRODUCTION_TESTS) || rc=$$?; \
	  if [ $$rc -ne 0 ]; then failed="$$failed pytest-production(exit $$rc)"; fi; \
	fi; \
	if [ -n "$$failed" ]; then echo "make test FAILED:$$failed"; exit 1; fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python manage.py bench

clean:
	rm -rf $(VENV) var
