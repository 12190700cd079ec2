# Quick start: `make demo` (the product on embedded AWS and Slack stand-ins), `make test` (everything CI runs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

UNIT := not e2e and not reliability and not slow

.PHONY: demo test test-fast lint fmt bench clean

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

# Unit tests only (no e2e, reliability or slow ones), under a minute: `make test` before pushing.
test-fast: $(STAMP)
	$(BIN)/python -m tests.postgres --ensure
	$(BIN)/python -m pytest -m "$(UNIT)"

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
