"""Shared fixtures for the Slack tests: the Slack stand-in and a real state store (SQLite in `tmp_path`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.state import StateStore
from bot.demo.slack_standin import SlackStandIn


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as s:
        yield s


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "state.sqlite3")


@pytest.fixture
def store(db_path: str) -> Iterator[StateStore]:
    s = StateStore(db_path)
    yield s
    s.close()
