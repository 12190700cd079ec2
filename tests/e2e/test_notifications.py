"""The channel feed and scheduled reminders against the real app (`python -m bot`, HTTP mode, a subprocess), a moto
server and the Slack stand-in.

Reminders need a stack "older than the interval" without waiting for it: the app's test-only clock hook
CLEANUP_TEST_CLOCK_OFFSET_SECONDS runs its reminder scheduler that many seconds in the future (moto's creation
times are real), and CLEANUP_REMINDER_POLL_SECONDS makes it check often. Nothing here sleeps to let time pass.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3

from bot.demo.aws_proxy import AwsProxy
from bot.demo.inventory import existing
from bot.demo.slack_standin import Message, SlackStandIn
from bot.demo.stack import SeededStack
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, OTHER, REQUESTER, TEAMMATE, AppProcess
from tests.e2e.test_conversation import final_summary, scan, text_of, wait_status

FEED = "CFEED0001"
REMIND = "CREMIND01"
HOUR = 3600
REMINDER = f"dogcat@{REMIND}:1h"


def reminder_env(offset: float, **more: str) -> dict[str, str]:
    return {
        "CLEANUP_REMINDERS": REMINDER,
        "CLEANUP_TEST_CLOCK_OFFSET_SECONDS": str(offset),
        "CLEANUP_REMINDER_POLL_SECONDS": "0.1",
        **more,
    }


def feed_notices(standin: SlackStandIn) -> list[Message]:
    return standin.top_messages(FEED)


def wait_feed(standin: SlackStandIn, timeout: float = 60) -> Message:
    result: Message = standin.wait_for(lambda s: next(iter(s.top_messages(FEED)), None), timeout)
    return result


def db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "state.sqlite3")


def reminder_row(tmp_path: Path) -> dict[str, Any] | None:
    conn = db(tmp_path)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM reminders WHERE key = ?", (f"dogcat@{REMIND}",)).fetchone()
    except sqlite3.OperationalError:  # the app has not created its tables yet
        return None
    finally:
        conn.close()
    return dict(row) if row is not None else None


def wait_reminder(tmp_path: Path, predicate: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        row = reminder_row(tmp_path)
        if row is not None and predicate(row):
            return row
        assert time.monotonic() < deadline, f"reminder state: {row}"
        time.sleep(0.05)


def audit_actions(tmp_path: Path, plan_id: str) -> list[str]:
    return [r[0] for r in db(tmp_path).execute("SELECT action FROM audit WHERE plan_id = ?", (plan_id,))]


def reminder_messages(standin: SlackStandIn) -> list[Message]:
    return standin.top_messages(REMIND)


def plan_id_in(message: Message) -> str:
    actions = [b for b in message.blocks if b["type"] == "actions"]
    assert actions, message.blocks
    assert actions[0]["elements"][0]["style"] == "danger"
    return str(actions[0]["elements"][0]["value"])


def approve(app: AppProcess, standin: SlackStandIn, plan_id: str, ts: str, channel: str = CHANNEL) -> None:
    opened = len(standin.calls_to("views.open"))
    assert app.click("cleanup_delete", plan_id, TEAMMATE, ts, channel=channel).status_code == 200
    standin.wait_for(lambda s: len(s.calls_to("views.open")) > opened)
    r = app.submit(plan_id, TEAMMATE, "confirm")
    assert r.status_code == 200 and not r.text.strip(), r.text


# -- the channel feed -------------------------------------------------------------------------------------------


def test_feed_notice_after_a_run(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path
) -> None:
    app = start_app(CLEANUP_NOTIFY_CHANNEL=FEED)
    plan_id, ts = scan(app, standin)
    approve(app, standin, plan_id, ts)
    final_summary(standin, ts)
    notice = wait_feed(standin)
    shown = text_of(notice.blocks)
    assert "Cleanup of `dogcat` done" in shown and "us-east-1" in shown
    assert f"Asked by <@{REQUESTER}>, approved by <@{TEAMMATE}>" in shown
    assert f"{len(stack.workshop)} deleted" in shown and "0 failed" in shown
    assert "cost stopped: about *$" in shown and "/month*" in shown
    assert "Still alive" not in shown
    link = standin.wait_for_call("chat.getPermalink")
    assert link.args["channel"] == CHANNEL and link.args["message_ts"] == ts
    assert f"<{link.response['permalink']}|Open the thread>" in shown
    assert wait_status(tmp_path, plan_id, "done") == "done"
    deadline = time.monotonic() + 10
    while "feed-posted" not in (actions := audit_actions(tmp_path, plan_id)) and time.monotonic() < deadline:
        time.sleep(0.05)  # the audit row follows the post
    assert actions.count("feed-posted") == 1
    assert len(feed_notices(standin)) == 1


def test_feed_notice_after_a_failed_run(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    aws_proxy: AwsProxy,
    session: boto3.session.Session,
    tmp_path: Path,
) -> None:
    app = start_app(CLEANUP_NOTIFY_CHANNEL=FEED)
    plan_id, ts = scan(app, standin)
    aws_proxy.deny(lambda request: request.name == "dynamodb.DeleteTable")  # AWS refuses to delete the table
    approve(app, standin, plan_id, ts)
    notice = wait_feed(standin, timeout=90)
    shown = text_of(notice.blocks)
    assert "Cleanup of `dogcat` failed" in shown and "1 failed" in shown
    assert "*Still alive* (1), still costing about *$" in shown
    assert "PredictionHistory" in shown and "AccessDeniedException" in shown
    assert wait_status(tmp_path, plan_id, "failed") == "failed"
    assert "dynamodb.table:PredictionHistory" in existing(session)
    assert len(feed_notices(standin)) == 1


def test_no_feed_notice_after_a_cancel(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path
) -> None:
    app = start_app(CLEANUP_NOTIFY_CHANNEL=FEED)
    plan_id, ts = scan(app, standin)
    app.click("cleanup_cancel", plan_id, REQUESTER, ts)
    standin.wait_for(lambda s: "Cancelled by" in text_of(s.messages[(CHANNEL, ts)].blocks))
    assert wait_status(tmp_path, plan_id, "cancelled") == "cancelled"
    time.sleep(1.0)  # a notice, if any were wrongly sent, would come right after the cancel
    assert feed_notices(standin) == []
    assert not standin.calls_to("chat.getPermalink")


# -- reminders --------------------------------------------------------------------------------------------------


def test_reminder_posted_for_an_old_stack_and_approved_through_the_modal(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    tmp_path: Path,
) -> None:
    app = start_app(**reminder_env(2 * HOUR, CLEANUP_NOTIFY_CHANNEL=FEED))  # the stack is 2 hours old
    message = standin.wait_for(lambda s: next(iter(s.top_messages(REMIND)), None), timeout=90)
    shown = text_of(message.blocks)
    assert "Scheduled reminder" in shown and "Requested by a scheduled reminder" in shown
    # an ml.m5.large endpoint for 2 hours ($0.23) and a 5 RCU / 5 WCU table: about $0.24
    assert "Since it was created it has cost about *$0.2" in shown, shown
    for name in ("InvokeModelLambda", "PredictionHistory", stack.endpoint, stack.bucket):
        assert name in shown
    row = wait_reminder(tmp_path, lambda r: r["outcome"].startswith("posted"))
    plan_id = plan_id_in(message)
    assert row["plan_id"] == plan_id

    # a reminder's plan needs two people too: the first confirm is the request, a teammate's approves it
    r = app.submit(plan_id, REQUESTER, "confirm")
    assert r.status_code == 200 and not r.text.strip(), r.text
    approve(app, standin, plan_id, message.ts, channel=REMIND)
    summary: Message = standin.wait_for(
        lambda s: next(
            (m for m in s.thread(REMIND, message.ts) if "Cleanup of dogcat finished" in text_of(m.blocks)), None
        ),
        timeout=90,
    )
    assert f"approved by <@{TEAMMATE}>" in text_of(summary.blocks)
    assert wait_status(tmp_path, plan_id, "done") == "done"
    assert not (set(stack.workshop) & existing(session))
    assert set(stack.survivors) <= existing(session)
    notice = wait_feed(standin)
    assert "Asked by a scheduled reminder" in text_of(notice.blocks)
    assert len(reminder_messages(standin)) == 1


def test_no_reminder_for_a_young_stack(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path
) -> None:
    start_app(**reminder_env(30 * 60))  # the stack is half an hour old; the interval is an hour
    row = wait_reminder(tmp_path, lambda r: r["outcome"] not in ("", "running"))
    assert row["outcome"] == "nothing older than 1 hour" and row["plan_id"] == ""
    assert reminder_messages(standin) == []
    assert db(tmp_path).execute("SELECT COUNT(*) FROM plans").fetchone()[0] == 0


def test_no_reminder_when_nothing_is_found(start_app: AppFactory, standin: SlackStandIn, tmp_path: Path) -> None:
    start_app(**reminder_env(2 * HOUR))  # an empty account
    row = wait_reminder(tmp_path, lambda r: r["outcome"] not in ("", "running"))
    assert row["outcome"] == "nothing to delete"
    assert reminder_messages(standin) == []


def test_one_reminder_with_two_app_processes(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path
) -> None:
    apps = [start_app(start=False, **reminder_env(2 * HOUR)) for _ in range(2)]
    errors: list[BaseException] = []

    def start(app: AppProcess) -> None:
        try:
            app.start()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=start, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    standin.wait_for(lambda s: s.top_messages(REMIND), timeout=90)
    row = wait_reminder(tmp_path, lambda r: r["outcome"].startswith("posted"))
    time.sleep(1.5)  # both schedulers keep ticking (every 0.1 s) against the same lease
    assert len(reminder_messages(standin)) == 1
    plans = db(tmp_path).execute("SELECT COUNT(*) FROM plans WHERE requester = 'scheduled-reminder'").fetchone()[0]
    assert plans == 1
    assert wait_reminder(tmp_path, lambda r: True)["last_run"] == row["last_run"]
    for app in apps:  # both really ran a scheduler
        assert "reminders: dogcat@CREMIND01:1h" in app.log()


def test_pending_reminder_updated_after_a_restart(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path
) -> None:
    first = start_app(**reminder_env(2 * HOUR))
    standin.wait_for(lambda s: s.top_messages(REMIND), timeout=90)
    posted = wait_reminder(tmp_path, lambda r: r["outcome"].startswith("posted"))
    first.stop()
    [message] = reminder_messages(standin)
    first_plan = plan_id_in(message)

    # restarted half an interval later: the stored last run says it is not due yet
    early = start_app(**reminder_env(2 * HOUR + 30 * 60))
    time.sleep(1.0)  # ~10 scheduler passes
    assert wait_reminder(tmp_path, lambda r: True)["last_run"] == posted["last_run"]
    early.stop()

    # restarted after the interval: due; the pending reminder's message is updated, not posted again
    start_app(**reminder_env(3 * HOUR + 60))
    row = wait_reminder(tmp_path, lambda r: r["last_run"] != posted["last_run"] and r["outcome"] != "running")
    assert row["outcome"].startswith("updated the pending reminder"), row
    standin.wait_for(lambda s: s.messages[(REMIND, message.ts)].updates >= 1)
    [same] = reminder_messages(standin)
    assert same.ts == message.ts
    second_plan = plan_id_in(same)
    assert second_plan != first_plan and row["plan_id"] == second_plan
    statuses = dict(db(tmp_path).execute("SELECT id, status FROM plans").fetchall())
    assert statuses == {first_plan: "cancelled", second_plan: "pending"}


def test_malformed_reminders_stop_the_start(start_app: AppFactory, tmp_path: Path) -> None:
    app = start_app(start=False)
    for value, named in (
        ("dogcat@C0123ABCD:24h,dogcat@C0123ABCD", "'dogcat@C0123ABCD'"),
        ("dogcat@C0123ABCD:24x", "'dogcat@C0123ABCD:24x'"),
        ("catdog@C0123ABCD:24h", "'catdog@C0123ABCD:24h'"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "bot"],
            cwd=tmp_path,
            env={**app.env, "CLEANUP_REMINDERS": value},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, (value, done.stderr)
        assert "CLEANUP_REMINDERS" in done.stderr and named in done.stderr, done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**app.env, "CLEANUP_NOTIFY_CHANNEL": "#cleanups"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "CLEANUP_NOTIFY_CHANNEL" in done.stderr


def test_nothing_extra_without_the_settings(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path
) -> None:
    """Neither variable set: no feed notice, no reminder, no reminder state."""
    app = start_app(CLEANUP_TEST_CLOCK_OFFSET_SECONDS=str(2 * HOUR))
    plan_id, ts = scan(app, standin, user=OTHER)
    approve(app, standin, plan_id, ts)
    final_summary(standin, ts)
    assert wait_status(tmp_path, plan_id, "done") == "done"
    posted_to = {c.args.get("channel") for c in standin.calls_to("chat.postMessage")}
    assert posted_to == {CHANNEL}
    assert reminder_row(tmp_path) is None
    assert not standin.calls_to("chat.getPermalink")
