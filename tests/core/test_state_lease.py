"""Run leases in the store: fencing tokens (every write of a run is compare-and-set on plan, runner and token), the
database's clock (a runner whose own clock is off neither steals a live lease nor keeps a dead one), releases,
takeovers of a dead process's run on the same host, and approvals that lapsed before their run could start.

Every test runs on SQLite and on PostgreSQL (a real server the test run starts: tests/postgres.py)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.core.plan import ResourceResult
from bot.core.state import Lease, StateStore
from tests.core.helpers import state_backend as state_backend  # fixtures: every test on SQLite and PostgreSQL
from tests.core.helpers import store as store
from tests.core.test_state import make_plan

HOUR = 3600.0


def running(store: StateStore, runner: str = "a", host: str = "h", pid: int = 0) -> Lease:
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=600)
    assert store.approve(r.id, "U2")
    lease = store.start_run(r.id, runner, host=host, pid=pid)
    assert lease is not None
    return lease


def result(key: str = "k1", status: str = "deleted") -> ResourceResult:
    return ResourceResult(key, "Lambda function", "fn0", "us-east-1", status)  # type: ignore[arg-type]


def skew(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """This process's clock (every Python time.time()) off by `seconds`; the database server's is not."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


def test_every_claim_hands_out_a_new_token_and_fences_off_the_previous_one(store: StateStore) -> None:
    first = running(store, "a")
    assert first.token == 1
    store.release_run(first)
    second = store.claim_stale_run(first.plan_id, "b", lease_seconds=30)
    assert second is not None and second.token > first.token + 1  # the release counted too
    # the old claim can write nothing: no heartbeat, no result, no finish
    assert not store.heartbeat(first.plan_id, "a", token=first.token)
    assert not store.record_result(first.plan_id, result(), lease=first)
    assert not store.finish_run(first.plan_id, "a", "done", "", token=first.token)
    assert store.results(first.plan_id) == {} and not store.owns(first)
    # the new owner's writes take effect
    assert store.owns(second) and store.heartbeat(second.plan_id, "b", token=second.token)
    assert store.record_result(second.plan_id, result(), lease=second)
    assert store.finish_run(second.plan_id, "b", "done", "1 deleted", token=second.token)
    assert not store.record_result(second.plan_id, result("k2"), lease=second)  # finished: nobody owns it now
    assert list(store.results(second.plan_id)) == ["k1"]


def test_the_same_runner_name_with_an_old_token_is_fenced_off(store: StateStore) -> None:
    """A token, not a name: a runner that lost its run and claimed it again writes only under the new claim."""
    old = running(store, "a")
    new = store.claim_stale_run(old.plan_id, "a", lease_seconds=0.0, now=time.time() + 1)
    assert new is not None and new.runner == "a" and new.token == old.token + 1
    assert not store.record_result(old.plan_id, result(), lease=old)
    assert not store.heartbeat(old.plan_id, "a", token=old.token)
    assert store.record_result(new.plan_id, result(), lease=new)


def test_a_released_run_is_claimable_at_once(store: StateStore) -> None:
    lease = running(store, "a")
    assert store.claim_stale_run(lease.plan_id, "b", lease_seconds=HOUR) is None  # a live lease holds
    assert store.release_run(lease)
    assert not store.release_run(lease)  # once
    assert [r.id for r in store.stale_runs(lease_seconds=HOUR)] == [lease.plan_id]
    taken = store.claim_stale_run(lease.plan_id, "b", lease_seconds=HOUR)
    assert taken is not None
    actions = [e.action for e in store.audit_log(lease.plan_id)]
    assert actions[-3:] == ["run-started", "run-released", "run-resumed"]
    rec = store.get(lease.plan_id)
    assert rec is not None and rec.status == "running" and rec.runner == "b" and rec.lease_token == taken.token


def test_a_runner_clock_ahead_by_an_hour_does_not_steal_a_live_lease(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = running(store, "a")
    skew(monkeypatch, +HOUR)
    assert store.stale_runs(lease_seconds=30) == []
    assert store.claim_stale_run(lease.plan_id, "b", lease_seconds=30) is None
    assert store.owns(lease)


def test_a_runner_clock_ahead_by_an_hour_does_not_keep_a_dead_lease(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    skew(monkeypatch, +HOUR)
    lease = running(store, "a")  # its clock is an hour ahead; then it dies
    assert store.heartbeat(lease.plan_id, "a", token=lease.token)
    monkeypatch.undo()
    time.sleep(0.6)
    assert [r.id for r in store.stale_runs(lease_seconds=0.5)] == [lease.plan_id]
    assert store.claim_stale_run(lease.plan_id, "b", lease_seconds=0.5) is not None


def test_a_runner_clock_behind_by_an_hour_keeps_its_lease(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    skew(monkeypatch, -HOUR)
    lease = running(store, "a")
    assert store.heartbeat(lease.plan_id, "a", token=lease.token)
    monkeypatch.undo()
    assert store.claim_stale_run(lease.plan_id, "b", lease_seconds=30) is None
    assert store.owns(lease)


def test_a_dead_process_run_on_the_same_host_is_claimed_once(store: StateStore) -> None:
    lease = running(store, "a", host="host-1", pid=4242)
    listed = store.runs_on_host("host-1")
    assert [r.id for r in listed] == [lease.plan_id] and listed[0].runner_pid == 4242
    assert store.runs_on_host("host-2") == []
    seen = Lease(lease.plan_id, listed[0].runner, listed[0].lease_token)
    # another host cannot use a pid it does not know; a wrong pid or an old token claims nothing
    assert store.claim_orphaned_run(lease.plan_id, "b", seen, 4242, host="host-2") is None
    assert store.claim_orphaned_run(lease.plan_id, "b", seen, 4243, host="host-1") is None
    stale = Lease(lease.plan_id, "a", lease.token - 1)
    assert store.claim_orphaned_run(lease.plan_id, "b", stale, 4242, host="host-1") is None
    taken = store.claim_orphaned_run(lease.plan_id, "b", seen, 4242, host="host-1", pid=5151)
    assert taken is not None and taken.token == lease.token + 1
    assert store.claim_orphaned_run(lease.plan_id, "c", seen, 4242, host="host-1") is None  # exactly once
    rec = store.get(lease.plan_id)
    assert rec is not None and (rec.runner, rec.runner_host, rec.runner_pid) == ("b", "host-1", 5151)
    resumed = [e for e in store.audit_log(lease.plan_id) if e.action == "run-resumed"]
    assert len(resumed) == 1 and "4242" in resumed[0].detail and resumed[0].actor == "b"


def test_an_approval_that_could_not_start_within_the_plan_lifetime_lapses(store: StateStore) -> None:
    now = time.time()
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=1800, now=now - 3 * 86400)  # Friday
    assert store.approve(r.id, "U2", now=now - 3 * 86400 + 60)
    # Monday: the app was down all weekend
    assert not store.lapse_approval(r.id, now=now - 3 * 86400 + 120)  # (within its lifetime it would not lapse)
    assert store.start_run(r.id, "a", now=now) is None
    assert store.lapse_approval(r.id, now=now)
    assert not store.lapse_approval(r.id, now=now)
    rec = store.get(r.id)
    assert rec is not None and rec.status == "expired" and rec.started_at is None
    assert store.start_run(r.id, "a", now=now) is None
    lapsed = [e for e in store.audit_log(r.id) if e.action == "approval-lapsed"]
    assert len(lapsed) == 1 and "needs a new approval" in lapsed[0].detail


def test_an_approval_in_the_plan_last_moment_still_starts(store: StateStore) -> None:
    now = time.time()
    r = store.create_plan(make_plan(), "C1", "U1", ttl_seconds=60, now=now - 59.9)
    assert store.approve(r.id, "U2", now=now - 0.05)
    assert not store.lapse_approval(r.id, now=now + 1)
    assert store.start_run(r.id, "a", now=now + 1) is not None  # just after expiry, within the start grace


def test_a_report_is_owed_until_delivered_and_taken_over_once_when_overdue(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = running(store, "a")
    assert store.finish_run(lease.plan_id, "a", "done", "1 deleted", token=lease.token, report_within=300)
    assert store.reports_owed() == []  # its runner still has time, by the database's clock
    skew(monkeypatch, -HOUR)  # a copy whose clock is an hour behind does not see it overdue any sooner
    assert store.reports_owed() == []

    later = store.reports_owed(now=time.time() + HOUR + 301)
    assert [r.id for r in later] == [lease.plan_id] and later[0].report_due is not None
    with ThreadPoolExecutor(8) as pool:  # eight copies' janitors at once: exactly one takes it over
        won = list(
            pool.map(lambda i: store.claim_report(lease.plan_id, f"r{i}", 300, now=time.time() + HOUR + 301), range(8))
        )
    assert won.count(True) == 1
    assert [e.action for e in store.audit_log(lease.plan_id)].count("report-taken-over") == 1
    assert store.reports_owed(now=time.time() + HOUR + 302) == []  # the taker has its own 300 s now

    store.report_delivered(lease.plan_id)
    assert store.reports_owed(now=time.time() + 10 * HOUR) == []
    assert not store.claim_report(lease.plan_id, "late", 300, now=time.time() + 10 * HOUR)


def test_a_run_finished_without_a_report_owes_none(store: StateStore) -> None:
    lease = running(store, "a")  # the CLI's runs: nothing to deliver to Slack
    assert store.finish_run(lease.plan_id, "a", "failed", "1 failed", token=lease.token)
    assert store.reports_owed(now=time.time() + 10 * HOUR) == []
