"""Owners answer through the real app (`python -m bot`, HTTP mode, a subprocess), with signed requests in Slack's
formats, a moto server and the Slack stand-in: "Snooze 1 day" on a scheduled reminder, and "Keep until…" (a
datepicker's block_actions) that makes the next scan keep what was offered."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.keeps import SNOOZE_SECONDS
from bot.demo.slack_standin import Message, SlackStandIn
from bot.demo.stack import SeededStack
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, REQUESTER, TEAMMATE
from tests.e2e.test_conversation import db, scan, text_of, wait_status
from tests.e2e.test_notifications import HOUR, REMIND, plan_id_in, reminder_env, reminder_messages, wait_reminder


def actions_block_id(message: Message) -> str:
    return str(next(b for b in message.blocks if b["type"] == "actions")["block_id"])


def test_an_owner_snoozes_a_reminder_and_the_next_one_comes_a_day_later(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path
) -> None:
    first = start_app(**reminder_env(2 * HOUR))
    message = standin.wait_for(lambda s: next(iter(s.top_messages(REMIND)), None), timeout=90)
    posted = wait_reminder(tmp_path, lambda r: r["outcome"].startswith("posted"))
    plan_id = plan_id_in(message)

    r = first.click("cleanup_snooze", plan_id, TEAMMATE, message.ts, channel=REMIND)
    assert r.status_code == 200
    update = standin.wait_for_call("chat.update", lambda c: c.args.get("ts") == message.ts)
    shown = text_of(update.args["blocks"])
    assert f"Snoozed for a day by <@{TEAMMATE}>" in shown and "The next reminder comes" in shown
    assert "cleanup_delete" not in shown and "cleanup_snooze" not in shown  # the buttons are gone
    assert not standin.calls_to("chat.postEphemeral")
    assert wait_status(tmp_path, plan_id, "cancelled") == "cancelled"
    [row] = db(tmp_path).execute("SELECT reminder_key, until, actor, plan_id FROM snoozes").fetchall()
    assert (row[0], row[2], row[3]) == (f"dogcat@{REMIND}", TEAMMATE, plan_id)
    assert row[1] == posted["last_run"] + HOUR + SNOOZE_SECONDS  # the next run (1 h later), a day later
    audit = db(tmp_path).execute("SELECT actor, action FROM audit WHERE plan_id = ?", (plan_id,)).fetchall()
    assert (TEAMMATE, "snoozed") in [tuple(a) for a in audit] and (TEAMMATE, "cancelled") in [tuple(a) for a in audit]
    first.stop()

    # two hours later the reminder would be due, but it is snoozed: no scan, no message
    early = start_app(**reminder_env(4 * HOUR))
    time.sleep(1.5)  # ~15 scheduler passes
    assert wait_reminder(tmp_path, lambda r: True)["last_run"] == posted["last_run"]
    assert len(reminder_messages(standin)) == 1
    early.stop()

    # a day after it would have come: the reminder comes again, as a new message (the snoozed plan is settled)
    start_app(**reminder_env(3 * HOUR + SNOOZE_SECONDS + 60))
    again = wait_reminder(tmp_path, lambda r: r["last_run"] != posted["last_run"] and r["outcome"] != "running")
    assert again["outcome"].startswith("posted"), again
    standin.wait_for(lambda s: len(s.top_messages(REMIND)) == 2, timeout=30)


def test_keep_until_makes_the_next_scan_keep_the_resources(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path
) -> None:
    app = start_app()
    plan_id, ts = scan(app, standin)
    block_id = actions_block_id(standin.messages[(CHANNEL, ts)])
    assert block_id == f"cleanup_actions:{plan_id}"
    today = datetime.now(UTC).date()

    # a date in the past, and one more than 90 days ahead: told plainly, nothing recorded, the plan still pending
    for bad in (today - timedelta(days=1), today + timedelta(days=91)):
        assert app.pick_date("cleanup_keep_until", block_id, bad.isoformat(), TEAMMATE, ts).status_code == 200
    told = [
        standin.wait_for_call("chat.postEphemeral", lambda c, n=n: c.args.get("text", "").count(n) > 0)  # type: ignore[misc]
        for n in ("is not in the future", "more than 90 days ahead")
    ]
    assert all(c.args["user"] == TEAMMATE and c.args["channel"] == CHANNEL for c in told)
    assert db(tmp_path).execute("SELECT COUNT(*) FROM keeps").fetchone()[0] == 0
    assert wait_status(tmp_path, plan_id, "pending") == "pending"

    until = (today + timedelta(days=14)).isoformat()
    assert app.pick_date("cleanup_keep_until", block_id, until, TEAMMATE, ts).status_code == 200
    update = standin.wait_for_call("chat.update", lambda c: c.args.get("ts") == ts)
    assert f"Kept until {until} by <@{TEAMMATE}>" in text_of(update.args["blocks"])
    assert wait_status(tmp_path, plan_id, "cancelled") == "cancelled"
    rows = db(tmp_path).execute("SELECT resource_key, account_id, until, actor, plan_id FROM keeps").fetchall()
    assert len(rows) == len(stack.workshop)
    assert {(r[1], r[2], r[3], r[4]) for r in rows} == {(stack.account_id, until, TEAMMATE, plan_id)}
    kept_audit = (
        db(tmp_path)
        .execute("SELECT COUNT(*) FROM audit WHERE plan_id = ? AND action = 'kept-until'", (plan_id,))
        .fetchone()[0]
    )
    assert kept_audit == len(stack.workshop)

    # the next scan keeps every one of them, visibly, and offers nothing to delete
    before = len(standin.calls_to("chat.postMessage"))
    assert app.command("dogcat", user=REQUESTER).status_code == 200
    standin.wait_for(lambda s: len(s.calls_to("chat.postMessage")) > before, timeout=60)
    shown = text_of(standin.messages[(CHANNEL, standin.calls_to("chat.postMessage")[-1].response["ts"])].blocks)
    assert f"*kept until {until}* by <@{TEAMMATE}>" in shown
    assert "Nothing will be deleted: everything found is kept." in shown
    assert "cleanup_delete" not in shown
    for name in ("InvokeModelLambda", "PredictionHistory", stack.endpoint):
        assert name in shown
