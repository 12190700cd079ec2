"""Slack failing during a run: HTTP 500, `ratelimited` with Retry-After, dropped connections, Slack unreachable.

The Slack stand-in opens a window in which it fails the way Slack does (bot/demo/slack_standin.py `fail_for`).
Whatever Slack does, the run ends `done`/`failed` in the state store; a summary Slack could not take at first
reaches the thread once Slack is back (within the persistence deadline), and the plan message shows the outcome.
In process through the real runner, then the real app over HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from slack_sdk import WebClient

from bot.aws.clients import Aws
from bot.core.plan import Plan, ResourceResult
from bot.core.state import StateStore
from bot.demo.inventory import existing
from bot.demo.slack_standin import FaultKind, SlackStandIn
from bot.demo.stack import SeededStack
from bot.slack.web import Persistence, SlackWeb
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, TEAMMATE
from tests.reliability.conftest import record
from tests.reliability.helpers import approve, final_summary, scan, text_of, wait_status
from tests.slack.factories import make_plan, new_runner
from tests.slack.test_runner import CHANNEL as RUNNER_CHANNEL
from tests.slack.test_runner import fake_execute, setup

SUMMARY = "Cleanup of dogcat finished"
QUICK = Persistence(seconds=30.0, first_pause=0.25, longest_pause=1.0)  # the real one waits minutes, not seconds


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = StateStore(str(tmp_path / "state.sqlite3"))
    yield s
    s.close()


def into_outage(standin: SlackStandIn, kind: FaultKind, seconds: float, retry_after: int = 1) -> Any:
    """The fake executor, then Slack fails for `seconds` from the moment the last result is in: the final
    progress update, the plan message's outcome and the summary all meet the outage."""
    inner = fake_execute()

    def execute(
        aws: Aws, plan: Plan, on_event: Any, options: Any, previous: dict[str, ResourceResult]
    ) -> list[ResourceResult]:
        results: list[ResourceResult] = inner(aws, plan, on_event, options, previous)
        time.sleep(0.2)  # the progress thread shows the last result before Slack goes
        standin.fail_for(seconds, kind, retry_after=retry_after)
        return results

    return execute


def summaries(standin: SlackStandIn, ts: str) -> list[str]:
    return [json.dumps(m.blocks) for m in standin.thread(RUNNER_CHANNEL, ts) if SUMMARY in json.dumps(m.blocks)]


@pytest.mark.parametrize("kind", ["server_error", "ratelimited", "drop"])
def test_summary_reaches_the_thread_after_slack_comes_back(
    standin: SlackStandIn, store: StateStore, kind: FaultKind
) -> None:
    outage = 4.0
    runner, plan_id, ts, _plan = setup(standin, store, into_outage(standin, kind, outage, 2), QUICK)
    finished: list[str] = []
    runner.on_finished = lambda plan, _error: finished.append(plan)
    started = time.monotonic()
    runner._reporting_crashes(runner._run_new, plan_id)  # as Runner.start runs it, synchronously
    seconds = time.monotonic() - started

    rec = store.get(plan_id)
    assert rec is not None and rec.status == "done", rec
    met = [c for c in standin.faulted if c.response["fault"] == kind]
    assert {c.method for c in met} & {"chat.update", "chat.postMessage"}, met  # the end did meet the outage
    assert len(summaries(standin, ts)) == 1, [m.text for m in standin.thread(RUNNER_CHANNEL, ts)]
    top = standin.messages[(RUNNER_CHANNEL, ts)]
    assert ":white_check_mark: *Cleanup finished*" in json.dumps(top.blocks) and top.text.startswith("Cleanup finished")
    progress = next(m for m in standin.thread(RUNNER_CHANNEL, ts) if m.ts == rec.progress_ts)
    assert "Deletion finished" in json.dumps(progress.blocks)
    assert finished == [plan_id]
    if kind == "ratelimited":  # Retry-After (2 s) is honoured: Slack is not hammered while it limits us
        assert len(met) <= outage / 2 + 3, [(c.method, round(c.at, 2)) for c in met]
    record(f"slack_{kind}_at_run_end", outage_s=outage, faulted_calls=len(met), run_s=round(seconds, 1))


def test_slack_down_longer_than_the_deadline_still_finishes_the_run(standin: SlackStandIn, store: StateStore) -> None:
    brief = Persistence(seconds=2.0, first_pause=0.2, longest_pause=0.5)
    runner, plan_id, ts, _plan = setup(standin, store, into_outage(standin, "drop", 600.0), brief)
    finished: list[str] = []
    runner.on_finished = lambda plan, _error: finished.append(plan)
    started = time.monotonic()
    runner._reporting_crashes(runner._run_new, plan_id)  # as Runner.start runs it, synchronously
    seconds = time.monotonic() - started

    rec = store.get(plan_id)
    assert rec is not None and rec.status == "done" and "30 deleted" in rec.outcome, rec
    assert seconds < 45, seconds  # bounded: the deadline, plus slack_sdk's own few retries of the last try
    assert not summaries(standin, ts)  # Slack never came back: nothing to see, but nothing stuck either
    assert finished == [plan_id]
    record("slack_down_past_deadline", run_s=round(seconds, 1), status=rec.status)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_slack_unreachable_from_the_start(standin: SlackStandIn, store: StateStore) -> None:
    runner, plan_id, _ts, _plan = setup(standin, store, fake_execute(fail="dogcat-endpoint-00003"))
    nowhere = WebClient(token="xoxb-x", base_url=f"http://127.0.0.1:{closed_port()}/api/", timeout=2)
    runner.slack = SlackWeb(nowhere, Persistence(seconds=1.0, first_pause=0.2, longest_pause=0.5))
    started = time.monotonic()
    runner._reporting_crashes(runner._run_new, plan_id)  # as Runner.start runs it, synchronously

    rec = store.get(plan_id)
    assert rec is not None and rec.status == "failed" and "1 failed" in rec.outcome, rec  # the AccessDenied one
    assert len(store.results(plan_id)) == 30
    assert time.monotonic() - started < 60
    record("slack_unreachable", status=rec.status)


@pytest.mark.parametrize("kind", ["server_error", "ratelimited"])  # (slack_sdk retried one drop already)
def test_every_call_gets_slack_sdk_retries(standin: SlackStandIn, kind: FaultKind) -> None:
    """A short blip is absorbed inside the one call, for every caller (listeners too), not only a run's end."""
    slack = SlackWeb(WebClient(token="xoxb-x", base_url=standin.api_url))
    standin.fail_for(0.6, kind, retry_after=1)
    assert slack.post(RUNNER_CHANNEL, "hello", []), standin.faulted
    assert [c.method for c in standin.faulted] and {c.method for c in standin.faulted} == {"chat.postMessage"}


def test_errors_retrying_cannot_cure_end_at_once(standin: SlackStandIn) -> None:
    slack = SlackWeb(WebClient(token="xoxb-x", base_url=standin.api_url), QUICK)
    standin.not_in_channel.add("CGONE")
    started = time.monotonic()
    assert slack.post_until(slack.deadline(), "CGONE", "hello", []) == ""
    assert time.monotonic() - started < 1 and len(standin.calls_to("chat.postMessage")) == 1


# -- the real app over HTTP ------------------------------------------------------------------------------------


def test_slack_down_while_the_app_deletes(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, session: boto3.session.Session, tmp_path: Path
) -> None:
    app = start_app()
    plan_id, ts = scan(app, standin)
    approve(app, plan_id, TEAMMATE, ts)
    standin.fail_for(3600, "drop")  # Slack gone from the approval on: the whole run, and its end, in the outage

    assert wait_status(tmp_path, plan_id, "done", "failed", timeout=120) == "done"  # finished while Slack is down
    assert not set(stack.workshop) & existing(session)
    assert not [m for m in standin.thread(CHANNEL, ts) if SUMMARY in text_of(m.blocks)]
    time.sleep(2.0)  # a few of the app's tries meet the outage
    standin.end_outage()
    summary = final_summary(standin, ts, timeout=90)  # Slack is back: the summary gets through
    assert "14 deleted" in text_of(summary.blocks)
    top = standin.messages[(CHANNEL, ts)]
    assert ":white_check_mark: *Cleanup finished*" in text_of(top.blocks)
    assert not any(b["type"] == "actions" for b in top.blocks)
    progress = [m for m in standin.thread(CHANNEL, ts) if "handled" in text_of(m.blocks)]
    assert len(progress) == 1 and "Deletion finished" in text_of(progress[0].blocks)  # posted late if need be
    assert standin.faulted, "the outage met no call"
    record("slack_down_during_app_run", faulted_calls=len(standin.faulted), status="done")


def test_a_report_slack_did_not_take_stays_owed_and_another_runner_delivers_it(
    standin: SlackStandIn, store: StateStore
) -> None:
    """Slack down past the runner's redelivery time (or the process gone meanwhile): the run is finished in the
    store and its report stays owed; once overdue, another runner's janitor pass takes it over and delivers the
    progress message, the plan message's outcome and the summary, once."""
    brief = Persistence(seconds=1.0, first_pause=0.2, longest_pause=0.5)
    runner, plan_id, ts, _plan = setup(standin, store, into_outage(standin, "drop", 600.0), brief, report_margin=0.0)
    runner._reporting_crashes(runner._run_new, plan_id)  # as Runner.start runs it, synchronously

    rec = store.get(plan_id)
    assert rec is not None and rec.status == "done" and not summaries(standin, ts)
    assert [r.id for r in store.reports_owed(now=time.time() + 60)] == [plan_id]

    standin.end_outage()
    other = new_runner(standin, store, fake_execute(), QUICK, report_margin=0.0)  # another copy of the app
    deadline = time.monotonic() + 30
    while not store.reports_owed() and time.monotonic() < deadline:  # overdue once the first runner's time is out
        time.sleep(0.1)
    other.sweep()
    other.sweep()  # a second pass while the first delivers takes nothing more
    deadline = time.monotonic() + 30
    while len(summaries(standin, ts)) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    other.sweep()  # delivered: owed no more

    assert len(summaries(standin, ts)) == 1, [m.text for m in standin.thread(RUNNER_CHANNEL, ts)]
    assert "30 deleted" in summaries(standin, ts)[0]
    top = standin.messages[(RUNNER_CHANNEL, ts)]
    assert ":white_check_mark: *Cleanup finished*" in json.dumps(top.blocks)
    shown = [m for m in standin.thread(RUNNER_CHANNEL, ts) if "Deletion finished" in json.dumps(m.blocks)]
    assert len(shown) == 1, [m.text for m in standin.thread(RUNNER_CHANNEL, ts)]
    assert store.reports_owed(now=time.time() + 3600) == []
    taken = [e for e in store.audit_log(plan_id) if e.action == "report-taken-over"]
    assert [e.actor for e in taken] == [other.id]
    record("report_owed_then_delivered_by_another_runner", status=rec.status)


def test_a_stopping_runner_hands_its_undelivered_report_over_at_once(standin: SlackStandIn, store: StateStore) -> None:
    """SIGTERM while the summary waits for Slack: the report is overdue at once, not after the redelivery time."""
    runner, plan_id, ts, _plan = setup(standin, store, into_outage(standin, "server_error", 600.0), QUICK)
    worker = threading.Thread(target=runner._reporting_crashes, args=(runner._run_new, plan_id))
    worker.start()
    deadline = time.monotonic() + 30
    while not standin.faulted and time.monotonic() < deadline:  # the end of the run meets the outage
        time.sleep(0.05)
    rec = store.get(plan_id)
    assert rec is not None and rec.status == "done" and store.reports_owed() == []  # still its runner's to deliver

    runner.stop(timeout=5)
    worker.join(timeout=10)
    assert not worker.is_alive()
    time.sleep(0.05)
    assert [r.id for r in store.reports_owed()] == [plan_id]  # the next process's first pass takes it
    assert not summaries(standin, ts)


def test_a_run_without_a_slack_thread_owes_no_report(standin: SlackStandIn, store: StateStore) -> None:
    """A command-line run resumed by the Slack app's janitor has no thread to report in: nothing stays owed."""
    runner = new_runner(standin, store, fake_execute(), QUICK, report_margin=0.0)
    record_ = store.create_plan(make_plan(3, kept=0), "", "operator", 600)
    assert store.approve(record_.id, "operator")
    runner._reporting_crashes(runner._run_new, record_.id)  # as Runner.start runs it, synchronously

    rec = store.get(record_.id)
    assert rec is not None and rec.status == "done"
    assert store.reports_owed(now=time.time() + 3600) == []
