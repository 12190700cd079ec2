"""Shared fixtures. Unit tests run against moto's in-process mock; integration tests use a moto server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from moto import mock_aws

from bot.aws.clients import Aws, new_session
from bot.demo import moto_gaps
from bot.demo import moto_server as moto_server_module

moto_gaps.apply()  # moto's missing SageMaker listings, for the in-process mock and the servers alike
# The account's enabled regions, where users of roles and buckets are listed: four, not moto's twenty.
ENABLED_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"]
moto_gaps.enable_only_regions(ENABLED_REGIONS)

if TYPE_CHECKING:
    from tests.postgres import PostgresServer

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see real credentials or a real endpoint."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def mocked() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def aws(mocked: None) -> Iterator[Aws]:
    client = Aws(new_session(region_name=REGION))
    yield client
    client.close()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")


@pytest.fixture(scope="session")
def moto_server_url() -> Iterator[str]:
    """A real moto server over HTTP on loopback, shared by the session's integration and end-to-end tests.

    Tests that use it call `reset_moto(url)` first so each starts from an empty account.
    """
    with moto_server_module.running() as url:
        yield url


def reset_moto(url: str) -> None:
    moto_server_module.reset(url)


@pytest.fixture
def moto_server(moto_server_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The shared moto server, reset, with this process's boto3 pointed at it."""
    reset_moto(moto_server_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server_url)
    return moto_server_url


# -- the state database: SQLite by default; PostgreSQL on a real server this test run starts -------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on loopback for the session (tests/postgres.py), started on first use."""
    from tests.postgres import PostgresServer

    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    with postgres_server.database() as url:
        yield url


@pytest.fixture
def state_backend(request: pytest.FixtureRequest) -> str:
    """ "sqlite" unless a test parametrizes it (indirect=True) or a module overrides this fixture with params."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def state_db(state_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The test's CLEANUP_STATE_DB: `tmp_path/state.sqlite3`, or a fresh PostgreSQL database's URL."""
    from tests import state_db as registry

    if state_backend == "sqlite":
        target = str(tmp_path / "state.sqlite3")
    elif state_backend == "postgresql":
        target = request.getfixturevalue("postgres_url")
    else:
        raise ValueError(f"unknown state backend {state_backend!r}")
    registry.register(tmp_path, target)
    yield target
    registry.forget(tmp_path)


# -- markers (registered in pyproject.toml; `make test-fast` deselects e2e, reliability and slow) ----------------
# e2e and reliability by folder. slow: what takes seconds a test (pytest --durations): every test on a moto server
# over HTTP, and the modules below, which scan or clean whole seeded stacks, start the app as a subprocess or run a
# hypothesis search; and single tests named below (all their parameters, or the one named).

_FOLDER_MARKERS = {"e2e": "e2e", "reliability": "reliability"}
_SLOW_FIXTURES = frozenset({"moto_server", "moto_server_url"})
_SLOW_MODULES = frozenset(
    {
        "test_cli.py",
        "test_demo.py",
        "test_least_privilege.py",
        "core/test_accounts.py",
        "core/test_created_at.py",
        "core/test_executor.py",
        "core/test_keeps.py",
        "core/test_non_use_property.py",
        "core/test_proof_of_non_use.py",
        "core/test_scanner.py",
    }
)
_SLOW_TESTS = frozenset(
    {
        "aws/test_s3.py::test_delete_empties_versioned_bucket_with_markers_and_uploads",
        "aws/test_s3.py::test_delete_in_bounded_rounds",
        "core/test_state.py::test_concurrent_approvals_processes",
        "core/test_state_migrations.py::test_processes_opening_a_new_database_at_once_migrate_it_once",
        "slack/test_blocks.py::test_progress_and_summary_within_limits[2500]",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).resolve().parent
    for item in items:
        try:
            relative = item.path.resolve().relative_to(tests)
        except ValueError:
            continue
        marker = _FOLDER_MARKERS.get(relative.parts[0])
        if marker is not None:
            item.add_marker(marker)
            continue
        module = relative.as_posix()
        names = {f"{module}::{item.name}", f"{module}::{getattr(item, 'originalname', item.name)}"}
        if module in _SLOW_MODULES or names & _SLOW_TESTS or _SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("slow")
