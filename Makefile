# Quick start: `make demo` (the product on embedded AWS and Slack stand-ins), `make test` (everything CI runs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

UNIT := not e2e and not reliability and not slow

.PHONY: demo test test-fast lint fmt bench clean i18n-extract i18n-update i18n-compile

# The runtime (requirements.txt) and development pins (requirements-dev.txt), then the project itself, editable,
# so that the `dogcat-cleanup` console script exists in .venv/bin.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m bot demo

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix bot tests bench
	$(BIN)/ruff format bot tests bench

test: lint
	$(BIN)/python -m tests.postgres --ensure  # PostgreSQL's server binaries, installed (Debian) when missing
	$(BIN)/python -m pytest

# Unit tests only (no e2e, reliability or slow ones), on every core (pytest-xdist): `make test` before pushing.
test-fast: $(STAMP)
	$(BIN)/python -m tests.postgres --ensure
	$(BIN)/python -m pytest -m "$(UNIT)" -n auto

# Message catalogs (bot/i18n.py): extract the texts into a template, merge it into each language's .po (then
# translate what is new or fuzzy), compile the .po files into the .mo files the app reads.
LOCALES := bot/locales
PYBABEL := $(BIN)/pybabel
I18N_KEYWORDS := --no-default-keywords -k _ -k N_ -k n_:1,2 -k NP_:1,2

i18n-extract: $(STAMP)
	$(PYBABEL) -q extract -F babel.cfg $(I18N_KEYWORDS) --no-location --sort-output -o $(LOCALES)/messages.pot .

i18n-update: i18n-extract
	$(PYBABEL) update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages --ignore-obsolete

i18n-compile: $(STAMP)
	$(PYBABEL) compile -d $(LOCALES) -D messages --statistics

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
