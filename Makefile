# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed-stamp
# uv installs the pinned dependencies far faster than pip, which every clean-clone make test pays.
UV_VERSION := 0.13.8
# `make run` serves cards through localstripe on this port (LOCALSTRIPE=no: Stripe as .env says).
LOCALSTRIPE ?= yes
LOCALSTRIPE_PORT ?= 8420
LOCALSTRIPE_URL := http://127.0.0.1:$(LOCALSTRIPE_PORT)
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
# pytest-xdist workers, one per core of the 2-core machine the suite is timed on (or `auto`).
# Each worker has its own test database and Redis database (tests/conftest.py).
TEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal
# Python writes its compiled modules, whatever the shell says: each pytest worker, the live
# server's emulator processes and every manage.py call would otherwise compile Django, the
# dependencies and the assertion-rewritten tests again (seconds per process).
unexport PYTHONDONTWRITEBYTECODE

# Compiled translation catalogs (gitignored): built from the committed .po files by msgfmt.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: install run test lint typecheck test-sqlite test-postgres services chromium pango gettext \
	messages messages-check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(MO_FILES)

gettext:
	@scripts/ensure-gettext.sh

locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(STAMP)
	@scripts/ensure-gettext.sh
	$(BIN)/python manage.py compilemessages --locale=$* --ignore=.venv --ignore=bench --verbosity=0

# The catalogs updated from the code, for a translator to fill in (only msgids change).
messages: $(STAMP) gettext
	$(BIN)/python scripts/check-messages.py --update

# makemessages runs cleanly on a copy of the sources, and the committed catalogs match it and
# are fully translated.
messages-check: $(STAMP) gettext
	$(BIN)/python scripts/check-messages.py

# The mail worker runs beside the development server (the emails print on this terminal with the
# default EMAIL_URL); Ctrl-C stops both, the worker after the message it is sending.
run: install pango
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_emulator
	$(BIN)/python manage.py seed_demo
	@$(BIN)/python manage.py send_queued_mail --loop & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	if [ "$(LOCALSTRIPE)" = yes ] && scripts/ensure-localstripe.sh $(LOCALSTRIPE_PORT) $(PORT) whsec_localstripe; then \
		STRIPE_SECRET_KEY=sk_test_localstripe STRIPE_PUBLISHABLE_KEY=pk_test_localstripe \
		STRIPE_WEBHOOK_SECRET=whsec_localstripe \
		STRIPE_API_BASE=$(LOCALSTRIPE_URL) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT); \
	else \
		$(BIN)/python manage.py runserver 127.0.0.1:$(PORT); \
	fi

lint: $(STAMP) messages-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy portal orders nue_emulator

# Within `make test` the browser suite runs once, in the PostgreSQL + Redis pass; the SQLite pass
# runs it too only where that pass cannot run (PostgreSQL or Redis missing outside CI).
test: BROWSER_ONCE := yes

test-sqlite: install chromium pango
	$(BIN)/python manage.py makemigrations --check --dry-run
	@if [ "$(BROWSER_ONCE)" = yes ] && scripts/ensure-services.sh >/dev/null 2>&1; then \
		echo "SQLite pass without the browser suite (it runs in the PostgreSQL + Redis pass)"; \
		echo '$(PYTEST) -m "not browser"'; \
		$(PYTEST) -m "not browser"; \
	else \
		echo '$(PYTEST)'; \
		$(PYTEST); \
	fi

test-postgres: install services chromium pango
	@if scripts/ensure-services.sh; then \
		DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) DATABASE_SYNCHRONOUS_COMMIT=off \
			$(PYTEST); \
	else \
		echo "SKIPPED: the PostgreSQL/Redis run (services not available on this machine)"; \
	fi

services:
	@scripts/ensure-services.sh >/dev/null || test "$$CI" != "true"

chromium:
	@scripts/ensure-chromium.sh

# Pango for the quote PDF (WeasyPrint): installed in CI, a note elsewhere when missing.
pango:
	@scripts/ensure-pango.sh

test: lint typecheck test-sqlite test-postgres

# Benchmarks (not part of `make test`): results go to bench/RESULTS.md.
bench: $(STAMP) services
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,bench]'
	@test -x /usr/sbin/nginx || apt-get install -y -qq nginx
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache test-artifacts $(MO_FILES)
