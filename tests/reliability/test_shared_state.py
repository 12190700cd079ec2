"""Several app copies on one PostgreSQL: two `python -m bot` processes (HTTP, each with its own pool of state
connections) share one database, as web processes behind a platform's router do. Ten simultaneous submissions of
one modal, spread over both, start exactly one run; `kill -9` of the process running it, and the other one takes
the run over once its lease lapses and finishes it, without redoing what was done."""

from __future__ import annotations

import os
import time
from pathlib import Path

import boto3
import pytest

from bot.core.state import state_url
from bot.demo.aws_proxy import AwsProxy
from bot.demo.inventory import existing
from bot.demo.slack_standin import SlackStandIn
from bot.demo.stack import SeededStack
from tests import state_db as state
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, OTHER, TEAMMATE, AppProcess
from tests.reliability.conftest import record
from tests.reliability.helpers import (
    assert_one_accepted,
    audit,
    delete_counts,
    expected_deletes,
    final_summary,
    scan,
    submit_at_once,
    text_of,
    wait_status,
)

SUBMISSIONS = 10


def owner_of(runner: str, apps: list[AppProcess]) -> AppProcess:
    """The app process whose worker is `runner` (ids are "<pid>-<random>"; each app is its own process group)."""
    pid = int(runner.split("-", 1)[0])
    pgid = os.getpgid(pid)
    return next(app for app in apps if app.proc is not None and app.proc.pid == pgid)


def wait_for(check: object, timeout: float = 60.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()  # type: ignore[operator]
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout} s")


@pytest.mark.parametrize("state_backend", ["postgresql"], indirect=True)
def test_two_processes_on_postgresql_run_once_and_resume_after_kill(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
    state_db: str,
) -> None:
    apps = [start_app(), start_app()]
    plan_id, ts = scan(apps[0], standin)
    apps[1].click("cleanup_delete", plan_id, TEAMMATE, ts)  # the modal opened by the other copy
    standin.wait_for_call("views.open")
    aws_proxy.delay = 0.5  # every AWS call takes 0.5 s: the run is long enough to be killed in the middle

    # double clicks, and two teammates at once, on both copies
    responses = submit_at_once(apps, plan_id, SUBMISSIONS, lambda i: (TEAMMATE, OTHER)[(i // 2) % 2])
    assert_one_accepted(responses, SUBMISSIONS)

    # the copy that started the run, killed once it has deleted something
    started = wait_for(lambda: [a for a, action, _ in audit(tmp_path, plan_id) if action == "run-started"])
    assert isinstance(started, list) and len(started) == 1
    running = owner_of(started[0], apps)
    survivor = next(app for app in apps if app is not running)
    db = state.connect(tmp_path)
    count = "SELECT COUNT(*) FROM results WHERE plan_id = ?"
    wait_for(lambda: db.execute(count, (plan_id,)).fetchone()[0] > 0, timeout=120)
    running.kill()
    time.sleep(0.6)  # a delete the dead copy had sent is held by the proxy's delay, then reaches AWS
    deletes_before = delete_counts(aws_proxy.deletes())
    assert wait_status(tmp_path, plan_id, "running", timeout=1) == "running"
    done_before = db.execute(count, (plan_id,)).fetchone()[0]
    assert 0 < done_before < len(stack.workshop)

    aws_proxy.delay = 0.0
    summary = final_summary(standin, ts, timeout=120)  # the survivor, once the dead copy's lease lapsed
    assert "Cleanup of dogcat finished" in text_of(summary.blocks)
    assert wait_status(tmp_path, plan_id, "done", "failed") in ("done", "failed")
    log = audit(tmp_path, plan_id)
    actions = [action for _actor, action, _detail in log]
    assert actions.count("approved") == 1 and actions.count("run-started") == 1
    assert actions.count("run-resumed") == 1 and actions.count("approval-refused") == SUBMISSIONS - 1
    resumer = next(actor for actor, action, _ in log if action == "run-resumed")
    assert owner_of(resumer, [survivor]) is survivor
    assert any("restarted during this cleanup" in text_of(m.blocks) for m in standin.thread(CHANNEL, ts))
    summaries = [m for m in standin.thread(CHANNEL, ts) if "Cleanup of dogcat finished" in text_of(m.blocks)]
    assert len(summaries) == 1

    # everything deleted, nothing else; what was recorded done before the kill was not deleted again
    after = existing(session)
    assert not (set(stack.workshop) & after), set(stack.workshop) & after
    assert set(stack.survivors) <= after
    deletes = delete_counts(aws_proxy.deletes())
    assert set(deletes) == set(expected_deletes(stack))
    redone = sum((deletes - deletes_before).values())
    assert redone <= len(stack.workshop) - done_before, (deletes, deletes_before, done_before)
    assert db.execute(count, (plan_id,)).fetchone()[0] == len(stack.workshop)

    # each process kept its own bounded pool; the database password never reached a log
    connections = db.execute(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'dogcat-cleanup' AND datname = ?",
        (state_url(state_db).database,),
    ).fetchone()[0]
    assert 1 <= connections <= 15  # the survivor's pool: 5 + 10 overflow at most; the killed one's are gone
    password = state_url(state_db).password
    assert password and all(password not in app.log() for app in apps)
    assert "***@127.0.0.1" in survivor.log()
    record(
        "shared_postgresql_two_processes_kill_9",
        submissions=SUBMISSIONS,
        runs=1,
        resumed_by_the_other_process=1,
        done_before_kill=done_before,
        delete_calls_after_kill=redone,
        resources=len(stack.workshop),
        survivor_connections=connections,
    )
