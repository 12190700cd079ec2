"""Runs are handed over without waiting for their lease (real `python -m bot` processes on one state database, on
one host): a process stopped with SIGTERM (every deploy) releases its run at the executor's next safe point and
the other process resumes it at once; after `kill -9`, the other process sees the owner's pid is gone and resumes
at once too. The lease is a minute, and each test is over well before it could lapse. And an approved run that
could not start within the plan's lifetime (the app was down over a weekend) is not run."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from bot.demo.aws_proxy import AwsProxy
from bot.demo.inventory import existing
from bot.demo.slack_standin import SlackStandIn
from bot.demo.stack import SeededStack
from tests import state_db as state
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, TEAMMATE, AppProcess
from tests.reliability.conftest import record
from tests.reliability.helpers import (
    approve,
    audit,
    delete_counts,
    expected_deletes,
    final_summary,
    scan,
    text_of,
    wait_status,
)
from tests.reliability.test_shared_state import owner_of, wait_for
from tests.state_db import BACKENDS

LEASE = "60"  # seconds: what a takeover would wait for without a handover
QUICK = 30.0  # every handover below is over within this, half the lease


def run_and_interrupt(
    start_app: AppFactory,
    standin: SlackStandIn,
    aws_proxy: AwsProxy,
    tmp_path: Path,
    stop: Callable[[AppProcess], None],
) -> tuple[str, str, AppProcess, int, float]:
    """Two copies; a run started on one is interrupted with `stop` once it has deleted something.
    (plan id, plan ts, the survivor, results recorded before, when it was stopped)."""
    apps = [start_app(CLEANUP_RUN_LEASE_SECONDS=LEASE), start_app(CLEANUP_RUN_LEASE_SECONDS=LEASE)]
    plan_id, ts = scan(apps[0], standin)
    aws_proxy.delay = 0.5  # every AWS call takes 0.5 s: long enough to interrupt the run in the middle
    approve(apps[0], plan_id, TEAMMATE, ts)
    started = wait_for(lambda: [a for a, action, _ in audit(tmp_path, plan_id) if action == "run-started"])
    assert isinstance(started, list)
    running = owner_of(started[0], apps)
    survivor = next(app for app in apps if app is not running)
    db = state.connect(tmp_path)
    count = "SELECT COUNT(*) FROM results WHERE plan_id = ?"
    wait_for(lambda: db.execute(count, (plan_id,)).fetchone()[0] > 0, timeout=120)
    stopped_at = time.monotonic()
    stop(running)
    done_before = int(db.execute(count, (plan_id,)).fetchone()[0])
    aws_proxy.delay = 0.0
    return plan_id, ts, survivor, done_before, stopped_at


def assert_finished_once(
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
    plan_id: str,
    ts: str,
    survivor: AppProcess,
    stopped_at: float,
) -> float:
    summary = final_summary(standin, ts, timeout=QUICK)
    took = time.monotonic() - stopped_at
    assert took < QUICK, took
    assert "Cleanup of dogcat finished" in text_of(summary.blocks)
    assert wait_status(tmp_path, plan_id, "done", "failed") == "done"
    log = audit(tmp_path, plan_id)
    resumer = [actor for actor, action, _ in log if action == "run-resumed"]
    assert len(resumer) == 1 and owner_of(resumer[0], [survivor]) is survivor
    summaries = [m for m in standin.thread(CHANNEL, ts) if "Cleanup of dogcat finished" in text_of(m.blocks)]
    assert len(summaries) == 1
    after = existing(session)
    assert not (set(stack.workshop) & after) and set(stack.survivors) <= after
    deletes = delete_counts(aws_proxy.deletes())
    assert deletes == expected_deletes(stack), deletes  # each resource deleted exactly once, over both processes
    return took


@pytest.mark.parametrize("state_backend", BACKENDS, indirect=True)
def test_sigterm_hands_the_run_over_at_once(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
    state_backend: str,
) -> None:
    def sigterm(app: AppProcess) -> None:
        app.stop()  # SIGTERM to gunicorn, as a deploy does; waits for the process to exit
        assert app.proc is not None and app.proc.returncode == 0, app.log()[-3000:]

    plan_id, ts, survivor, done_before, stopped_at = run_and_interrupt(start_app, standin, aws_proxy, tmp_path, sigterm)
    actions = [action for _actor, action, _ in audit(tmp_path, plan_id)]
    assert "run-released" in actions  # by the stopping process, before it exited
    skipped = state.connect(tmp_path).execute(
        "SELECT COUNT(*) FROM results WHERE plan_id = ? AND status = 'skipped'", (plan_id,)
    )
    assert skipped.fetchone()[0] == 0  # what it left undone was not recorded as done
    took = assert_finished_once(standin, stack, session, aws_proxy, tmp_path, plan_id, ts, survivor, stopped_at)
    record(
        f"sigterm_handover_{state_backend}",
        lease_seconds=int(LEASE),
        done_before_stop=done_before,
        resumed_after_s=round(took, 1),
    )


@pytest.mark.parametrize("state_backend", BACKENDS, indirect=True)
def test_kill_9_on_the_same_host_is_resumed_at_once(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
    state_backend: str,
) -> None:
    def kill_9(app: AppProcess) -> None:
        app.kill()
        time.sleep(0.6)  # a delete the dead copy had sent is held by the proxy's delay, then reaches AWS

    plan_id, ts, survivor, done_before, stopped_at = run_and_interrupt(start_app, standin, aws_proxy, tmp_path, kill_9)
    took = assert_finished_once(standin, stack, session, aws_proxy, tmp_path, plan_id, ts, survivor, stopped_at)
    detail = next(d for _a, action, d in audit(tmp_path, plan_id) if action == "run-resumed")
    assert "on this host is gone" in detail
    record(
        f"kill_9_same_host_{state_backend}",
        lease_seconds=int(LEASE),
        done_before_kill=done_before,
        resumed_after_s=round(took, 1),
    )


def test_an_approval_the_app_could_not_start_in_time_is_not_run(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
) -> None:
    app = start_app()
    plan_id, ts = scan(app, standin)
    db = state.connect(tmp_path)
    wait_for(lambda: db.execute("SELECT message_ts FROM plans WHERE id = ?", (plan_id,)).fetchone()[0] == ts)
    app.kill()
    # Friday evening: approved, and the app went down before its run could start; Monday now
    friday = time.time() - 3 * 86400
    db.execute(
        "UPDATE plans SET status = 'approved', approver = ?, approved_at = ?, created_at = ?, expires_at = ?"
        " WHERE id = ?",
        (TEAMMATE, friday + 600, friday, friday + 1800, plan_id),
    )
    if hasattr(db, "commit"):  # sqlite3; the PostgreSQL connection commits each statement
        db.commit()
    before = delete_counts(aws_proxy.deletes())
    start_app()
    assert wait_status(tmp_path, plan_id, "expired", timeout=QUICK) == "expired"
    standin.wait_for(lambda s: "could not start before this plan expired" in text_of(s.messages[(CHANNEL, ts)].blocks))
    words = text_of(standin.messages[(CHANNEL, ts)].blocks)
    assert "Nothing was deleted" in words and f"<@{TEAMMATE}>" in words
    actions = [action for _a, action, _d in audit(tmp_path, plan_id)]
    assert "approval-lapsed" in actions and "run-started" not in actions
    assert delete_counts(aws_proxy.deletes()) == before
    assert set(stack.workshop) <= existing(session)
    record("approval_lapsed_while_down", delete_calls=0, resources_kept=len(stack.workshop))
