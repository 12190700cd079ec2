"""The state store: compare-and-set transitions, results, append-only audit, concurrency across threads/processes.

Every test runs on SQLite and on PostgreSQL (a real server the test run starts: tests/postgres.py)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from bot.core.plan import Plan, ResourceResult
from bot.core.state import StateStore
from bot.demo.plans import lambda_plan
from tests.core.helpers import state_backend as state_backend  # fixtures: every test on SQLite and PostgreSQL
from tests.core.helpers import store as store


def make_plan(n: int = 2) -> Plan:
    return lambda_plan(n)


def test_create_and_read_back(store: StateStore) -> None:
    plan = make_plan()
    record = store.create_plan(plan, "C1", "U1", ttl_seconds=60)
    assert record.status == "pending"
    assert record.plan == plan
    store.set_message(record.id, "111.222")
    again = store.get(record.id)
    assert again is not None and again.message_ts == "111.222" and again.requester == "U1"
    assert store.get("nope") is None


def test_wal_mode(store: StateStore, tmp_path: Path, state_backend: str) -> None:
    if state_backend != "sqlite":
        pytest.skip("WAL is SQLite's journal mode")
    conn = sqlite3.connect(tmp_path / "state.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_state_machine_happy_path(store: StateStore) -> None:
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60)
    assert store.approve(r.id, "U2")
    assert not store.approve(r.id, "U3")  # second approval loses
    assert not store.cancel(r.id, "U1")  # too late to cancel
    assert store.start_run(r.id, "runner-a")
    assert not store.start_run(r.id, "runner-b")
    assert store.heartbeat(r.id, "runner-a")
    assert not store.heartbeat(r.id, "runner-b")
    assert store.finish_run(r.id, "runner-a", "done", "2 deleted")
    rec = store.get(r.id)
    assert rec is not None and rec.status == "done" and rec.approver == "U2" and rec.outcome == "2 deleted"
    actions = [e.action for e in store.audit_log(r.id)]
    assert actions == ["requested", "approved", "run-started", "run-done"]


def test_expired_plan_cannot_be_approved(store: StateStore) -> None:
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=10, now=1000.0)
    assert not store.approve(r.id, "U2", now=1010.0)
    assert [p.id for p in store.overdue_pending(now=1011.0)] == [r.id]
    assert not store.expire(r.id, now=1005.0)  # not yet
    assert store.expire(r.id, now=1011.0)
    assert not store.approve(r.id, "U2", now=1001.0)
    rec = store.get(r.id)
    assert rec is not None and rec.status == "expired"


def test_cancel_then_nothing(store: StateStore) -> None:
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60)
    assert store.cancel(r.id, "U1")
    assert not store.approve(r.id, "U2")
    assert not store.cancel(r.id, "U1")


def test_results_latest_wins_and_reject_non_final(store: StateStore) -> None:
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60)
    store.record_result(
        r.id, ResourceResult("k1", "Lambda function", "fn0", "us-east-1", "failed", "boom", "Throttling")
    )
    store.record_result(r.id, ResourceResult("k1", "Lambda function", "fn0", "us-east-1", "deleted"))
    store.record_result(r.id, ResourceResult("k2", "Lambda function", "fn1", "us-east-1", "already_gone"))
    results = store.results(r.id)
    assert results["k1"].status == "deleted" and results["k1"].error_code == ""
    assert results["k2"].status == "already_gone"
    with pytest.raises(ValueError):
        store.record_result(r.id, ResourceResult("k3", "x", "y", "z", "started"))  # type: ignore[arg-type]


def test_audit_is_append_only(store: StateStore, state_backend: str) -> None:
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60)
    if state_backend == "sqlite":
        conn = sqlite3.connect(store.path)
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE audit SET actor = 'mallory'")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("DELETE FROM audit")
    else:  # another client, straight to the server, as the table's owner (a superuser, even)
        import psycopg

        with psycopg.connect(store.path, autocommit=True) as pg:
            for statement in ("UPDATE audit SET actor = 'mallory'", "DELETE FROM audit", "TRUNCATE audit"):
                with pytest.raises(psycopg.errors.IntegrityError, match="append-only"):
                    pg.execute(statement)
    assert store.audit_log(r.id)[0].actor == "U1"


def test_stale_run_claimed_once(store: StateStore) -> None:
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60)
    store.approve(r.id, "U2", now=100.0)
    assert store.start_run(r.id, "a", now=100.0)
    assert store.stale_runs(lease_seconds=30, now=120.0) == []
    assert not store.claim_stale_run(r.id, "b", lease_seconds=30, now=120.0)
    assert [p.id for p in store.stale_runs(lease_seconds=30, now=200.0)] == [r.id]
    assert store.claim_stale_run(r.id, "b", lease_seconds=30, now=200.0)
    assert not store.claim_stale_run(r.id, "c", lease_seconds=30, now=200.0)
    assert not store.heartbeat(r.id, "a")  # the old runner learns it lost the run
    assert not store.finish_run(r.id, "a", "done", "")
    assert store.finish_run(r.id, "b", "done", "")


def test_history(store: StateStore) -> None:
    a = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60, now=1.0)
    b = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60, now=2.0)
    store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60, now=3.0)  # pending: not history
    store.cancel(a.id, "U1")
    store.approve(b.id, "U2", now=3.0)
    store.start_run(b.id, "r")
    store.record_result(b.id, ResourceResult("k1", "L", "n", "r", "deleted"))
    store.finish_run(b.id, "r", "done", "1 deleted")
    hist = store.history()
    assert [h.record.id for h in hist] == [b.id, a.id]
    assert hist[0].counts == {"deleted": 1}


def test_concurrent_approvals_threads(store: StateStore) -> None:
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60)
    barrier = threading.Barrier(16)
    wins: list[str] = []

    def go(i: int) -> None:
        barrier.wait()
        if store.approve(r.id, f"U{i}"):
            wins.append(f"U{i}")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    rec = store.get(r.id)
    assert rec is not None and rec.approver == wins[0]


def _approve_in_process(path: str, plan_id: str, user: str, start: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = StateStore(path)
    while time.time() < start:
        time.sleep(0.001)
    won = store.approve(plan_id, user) and store.start_run(plan_id, user)
    out.put((user, won))


def test_concurrent_approvals_processes(state_db: str) -> None:
    path = state_db
    store = StateStore(path)
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 1.5
    procs = [ctx.Process(target=_approve_in_process, args=(path, r.id, f"U{i}", start, out)) for i in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert sum(1 for _, won in results if won) == 1
    rec = store.get(r.id)
    assert rec is not None and rec.status == "running"
