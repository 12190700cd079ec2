"""Shared set-up for core tests: the dogcat profile, a seeded account, fault-injecting clients, and a state store
on every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.aws.clients import Aws, new_session
from bot.aws.registry import RESOURCE_TYPES
from bot.core.state import StateStore
from bot.profiles import Profile, load_profiles
from tests.faults import Faults
from tests.state_db import BACKENDS

REGION = "us-east-1"


def dogcat() -> Profile:
    return load_profiles(None, frozenset(RESOURCE_TYPES))["dogcat"]


def faulty_aws(region: str = REGION) -> tuple[Aws, Faults]:
    session = new_session(region_name=region)
    faults = Faults(session)
    return Aws(session), faults


def planned_ids(plan: object, kept: bool = False) -> set[str]:
    resources = plan.kept if kept else plan.to_delete  # type: ignore[attr-defined]
    return {f"{r.type}:{r.id}" for r in resources}


# -- the state store on SQLite and on PostgreSQL: a module imports both fixtures to run every test on each -------


@pytest.fixture(params=BACKENDS)
def state_backend(request: pytest.FixtureRequest) -> str:
    """Overrides tests/conftest.py's (SQLite unless asked): every test that uses the state database, on each."""
    return str(request.param)


@pytest.fixture
def store(state_db: str) -> Iterator[StateStore]:
    s = StateStore(state_db)
    yield s
    s.close()
