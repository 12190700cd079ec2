"""Versioned migrations: a SQLite file made by the first schema (before `schema_version`) keeps working, and
several processes opening a new database at once migrate it once."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy

from bot.core.plan import ResourceResult
from bot.core.state import StateStore
from bot.core.state.schema import LATEST, MIGRATIONS
from tests.core.test_state import make_plan
from tests.state_db import BACKENDS

# The DDL of bot/core/state.py as shipped before migrations (commit 8ba8943), byte for byte.
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    id            TEXT PRIMARY KEY,
    profile       TEXT NOT NULL,
    channel       TEXT NOT NULL,
    requester     TEXT NOT NULL,
    message_ts    TEXT NOT NULL DEFAULT '',
    progress_ts   TEXT NOT NULL DEFAULT '',
    plan_json     TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL,
    approver      TEXT NOT NULL DEFAULT '',
    approved_at   REAL,
    started_at    REAL,
    finished_at   REAL,
    runner        TEXT NOT NULL DEFAULT '',
    heartbeat_at  REAL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS plans_status ON plans (status);
CREATE INDEX IF NOT EXISTS plans_created ON plans (created_at);
CREATE TABLE IF NOT EXISTS results (
    plan_id     TEXT NOT NULL REFERENCES plans (id),
    key         TEXT NOT NULL,
    label       TEXT NOT NULL,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    error_code  TEXT NOT NULL DEFAULT '',
    seconds     REAL NOT NULL DEFAULT 0,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (plan_id, key)
);
CREATE TABLE IF NOT EXISTS audit (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      REAL NOT NULL,
    plan_id TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS reminders (
    key        TEXT PRIMARY KEY,            -- profile@channel
    next_due   REAL NOT NULL,
    owner      TEXT NOT NULL DEFAULT '',    -- the process that claimed the last run
    last_run   REAL,                        -- when the last run was claimed (the scheduler's clock)
    plan_id    TEXT NOT NULL DEFAULT '',    -- the plan the last posted reminder offered
    outcome    TEXT NOT NULL DEFAULT ''     -- what the last run did, for people and tests
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def legacy_file(path: Path) -> str:
    """A state file as the first schema's store left it: a plan approved and running, a result, its audit."""
    plan = make_plan(2)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(LEGACY_SCHEMA)
    conn.execute(
        "INSERT INTO plans (id, profile, channel, requester, plan_json, status, created_at, expires_at, approver,"
        " approved_at, started_at, runner, heartbeat_at, attempts)"
        " VALUES ('0123456789abcdef', 'dogcat', 'C1', 'U1', ?, 'running', 100.0, 1900.0, 'U2', 110.0, 111.0,"
        " 'old-runner', 112.0, 1)",
        (plan.to_json(),),
    )
    conn.execute(
        "INSERT INTO results (plan_id, key, label, name, region, status, recorded_at)"
        " VALUES ('0123456789abcdef', 'k0', 'Lambda function', 'fn0', 'us-east-1', 'deleted', 113.0)"
    )
    for at, actor, action in (
        (100.0, "U1", "requested"),
        (110.0, "U2", "approved"),
        (111.0, "old-runner", "run-started"),
    ):
        conn.execute(
            "INSERT INTO audit (at, plan_id, actor, action) VALUES (?, '0123456789abcdef', ?, ?)", (at, actor, action)
        )
    conn.execute("INSERT INTO reminders (key, next_due, owner, last_run) VALUES ('dogcat@C1', 500.0, 'p1', 400.0)")
    conn.close()
    return "0123456789abcdef"


def versions(path: Path) -> list[int]:
    return [row[0] for row in sqlite3.connect(path).execute("SELECT version FROM schema_version ORDER BY version")]


def test_a_file_from_the_first_schema_is_adopted_read_and_updated(tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite3"
    plan_id = legacy_file(path)
    store = StateStore(str(path))
    assert versions(path) == [m.version for m in MIGRATIONS]

    record = store.get(plan_id)
    assert record is not None and record.status == "running" and record.runner == "old-runner"
    assert record.approver == "U2" and record.attempts == 1 and record.message_ts == "" and record.plan == record.plan
    assert [r.name for r in record.plan.to_delete] == ["fn0", "fn1"]
    assert store.results(plan_id)["k0"].status == "deleted"
    assert [e.action for e in store.audit_log(plan_id)] == ["requested", "approved", "run-started"]
    assert store.reminder("dogcat@C1") is not None

    # the crashed run is resumed and finished through the new store; the audit goes on from the old rows
    assert [p.id for p in store.stale_runs(lease_seconds=30, now=200.0)] == [plan_id]
    assert store.claim_stale_run(plan_id, "new-runner", lease_seconds=30, now=200.0)
    store.record_result(plan_id, ResourceResult("k1", "Lambda function", "fn1", "us-east-1", "deleted"))
    assert store.finish_run(plan_id, "new-runner", "done", "2 deleted")
    again = store.get(plan_id)
    assert again is not None and again.status == "done" and again.attempts == 2
    log = store.audit_log(plan_id)
    assert [e.seq for e in log] == sorted(e.seq for e in log) and log[0].seq == 1
    assert [e.action for e in log][3:] == ["run-resumed", "result", "run-done"]
    assert [h.counts for h in store.history()] == [{"deleted": 2}]

    # new plans work alongside, and the old triggers still make the audit append-only
    fresh = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60)
    assert store.approve(fresh.id, "U2")
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit")
    conn.close()  # (its implicit transaction holds the write lock)
    store.close()

    # opening it again migrates nothing more
    StateStore(str(path)).close()
    assert versions(path) == [m.version for m in MIGRATIONS]
    indexes = {row[0] for row in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"plans_status", "plans_created", "audit_plan"} <= indexes


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    StateStore(str(path)).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'from the future', 0)", (LATEST + 1,)
    )
    with pytest.raises(RuntimeError, match="newer than this app"):
        StateStore(str(path))


def _open(target: str, start: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    while time.time() < start:
        time.sleep(0.001)
    try:
        StateStore(target).close()
        out.put("ok")
    except Exception as e:  # reported to the test
        out.put(repr(e))


@pytest.mark.parametrize("state_backend", BACKENDS, indirect=True)
def test_processes_opening_a_new_database_at_once_migrate_it_once(state_db: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 1.5
    procs = [ctx.Process(target=_open, args=(state_db, start, out)) for _ in range(4)]
    for p in procs:
        p.start()
    outcomes = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert outcomes == ["ok"] * 4
    store = StateStore(state_db)
    with store.engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT version FROM schema_version ORDER BY version")).all()
    assert [r[0] for r in rows] == [m.version for m in MIGRATIONS]
    store.close()
