"""Owners answer a plan: "Snooze 1 day" and "Keep until…" (builders, the service with the Slack stand-in and a
real state store), reminders that honour them and mention the approvers once, and what cleanups saved."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import Settings, parse_reminders
from bot.core.keeps import SNOOZE_SECONDS
from bot.core.plan import ResourceResult
from bot.core.pricing import format_monthly
from bot.core.savings import MonthSavings
from bot.core.state import StateStore
from bot.demo.slack_standin import SlackStandIn
from bot.profiles import load_profiles
from bot.slack import blocks
from bot.slack.feed import Feed
from bot.slack.service import CleanupService
from tests.slack.factories import make_plan, new_scheduler, new_service, web_client
from tests.slack.limits import message_problems
from tests.slack.test_reminders import FakeScan

CHANNEL = "CTEST0001"
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC).timestamp()
HOUR = 3600.0


def text(bs: Any) -> str:
    return json.dumps(bs, ensure_ascii=False)


# -- builders ---------------------------------------------------------------------------------------------------


def test_kept_until_is_shown_as_kept_with_who() -> None:
    plan = make_plan(3, kept=2)
    mai, tagged = plan.kept
    mai.keep, mai.keep_reason = "kept-until", "kept until 2026-12-15 by UMAI00001"
    mai.details.update(keep_until="2026-12-15", kept_by="UMAI00001")
    tagged.keep, tagged.keep_reason = "kept-until", "tagged cleanup:keep-until=2027-01-31"
    tagged.details.update(keep_until="2027-01-31", kept_by="")
    shown = text(blocks.plan_blocks(plan, blocks.PlanContext("0" * 16, "UREQ", NOW + 1800)))
    assert f"`{mai.name}` · us-east-1 · *kept until 2026-12-15* by <@UMAI00001>" in shown
    assert "*kept until 2027-01-31*: tagged cleanup:keep-until=2027-01-31" in shown
    assert "*Kept, not deleted* (2)" in shown


@pytest.mark.parametrize("n", [1, 600])
def test_the_answers_in_the_actions_block_within_limits(n: int) -> None:
    plan = make_plan(n, kept=3, long=True)
    ctx = blocks.PlanContext("0123456789abcdef", blocks.REMINDER_REQUESTER, NOW + 1800)
    message = blocks.plan_blocks(plan, ctx)
    assert message_problems(message) == []
    [actions] = [b for b in message if b["type"] == "actions"]
    assert actions["block_id"] == "cleanup_actions:0123456789abcdef"
    snooze = next(e for e in actions["elements"] if e["action_id"] == blocks.SNOOZE_ACTION)
    assert snooze == {
        "type": "button",
        "action_id": "cleanup_snooze",
        "text": {"type": "plain_text", "text": "Snooze 1 day", "emoji": True},
        "value": "0123456789abcdef",
    }
    picker = next(e for e in actions["elements"] if e["action_id"] == blocks.KEEP_UNTIL_ACTION)
    assert picker["type"] == "datepicker" and picker["placeholder"]["text"] == "Keep until…"
    assert "snooze the reminder for a day, or keep it until a date" in text(message)
    for status in (blocks.status_snoozed("UMAI", NOW + 86400, True), blocks.status_kept("UMAI", "2026-12-15", n)):
        handled = blocks.plan_blocks(plan, ctx, status)
        assert message_problems(handled) == [] and not [b for b in handled if b["type"] == "actions"]
    assert blocks.plan_id_of_block("cleanup_actions:0123456789abcdef") == "0123456789abcdef"
    assert blocks.plan_id_of_block("something_else:0123456789abcdef") == ""


def test_savings_table_and_the_feeds_running_total() -> None:
    rows = [MonthSavings(f"2026-{m:02d}", 100.0 * m, m, 12.5, 2) for m in range(7, 13)]
    table = blocks.savings_blocks(rows)
    assert message_problems(table) == []
    [grid] = [b for b in table if b["type"] == "table"]
    assert [c["text"] for c in grid["rows"][0]] == ["Month", "Cost stopped", "Cleanups", "Still running", "Found"]
    assert [c["text"] for c in grid["rows"][-1]] == ["2026-12", "$1,200.00/month", "12", "$12.50/month", "2"]
    assert "about *$5,700.00/month* stopped" in text(table)
    plan = make_plan(3, kept=0)
    total = blocks.MonthTotal("2026-12", 1234.5, 4)
    notice = blocks.feed_blocks(plan, [], "done", "UREQ", "UAPP", CHANNEL, "", "0" * 16, "", total)
    assert message_problems(notice) == []
    assert "So far in 2026-12: 4 cleanups stopped about *$1,234.50/month*" in text(notice)


# -- the service ------------------------------------------------------------------------------------------------


def service_for(standin: SlackStandIn, store: StateStore, **settings: Any) -> CleanupService:
    """The service at NOW, with the built-in profiles, in us-east-1."""
    return new_service(standin, store, load_profiles(), lambda: NOW, regions=("us-east-1",), **settings)


def posted_plan(standin: SlackStandIn, store: StateStore, requester: str = "UREQ") -> tuple[str, str]:
    client = web_client(standin)
    record = store.create_plan(make_plan(4, kept=1), CHANNEL, requester, 400 * 86400, now=NOW)
    ctx = blocks.PlanContext(record.id, requester, record.expires_at)
    ts = str(client.chat_postMessage(channel=CHANNEL, text="plan", blocks=blocks.plan_blocks(record.plan, ctx))["ts"])
    store.set_message(record.id, ts)
    return record.id, ts


def ephemerals(standin: SlackStandIn) -> list[str]:
    return [str(c.args["text"]) for c in standin.calls_to("chat.postEphemeral")]


def test_keep_until_keeps_every_planned_resource_and_settles_the_plan(standin: SlackStandIn, store: StateStore) -> None:
    service = service_for(standin, store)
    plan_id, ts = posted_plan(standin, store)
    service.pick_keep_until(plan_id, "UMAI00001", CHANNEL, "2026-12-15")
    record = store.get(plan_id)
    assert record is not None and record.status == "cancelled"
    kept = store.keeps(NOW)
    assert sorted(k.key for k in kept) == sorted(r.key for r in record.plan.to_delete)
    assert {(k.account_id, k.until.isoformat(), k.by, k.plan_id) for k in kept} == {
        ("123456789012", "2026-12-15", "UMAI00001", plan_id)
    }
    actions = [(e.actor, e.action) for e in store.audit_log(plan_id)]
    assert ("UMAI00001", "cancelled") in actions and actions.count(("UMAI00001", "kept-until")) == 4
    [update] = standin.calls_to("chat.update")
    assert update.args["ts"] == ts and "Kept until 2026-12-15 by <@UMAI00001>" in text(update.args["blocks"])
    assert "cleanup_delete" not in text(update.args["blocks"])
    assert ephemerals(standin) == []
    # answered once: a second pick is refused and writes nothing
    service.pick_keep_until(plan_id, "UMAI00001", CHANNEL, "2026-12-20")
    assert ephemerals(standin) == ["This plan was cancelled."] and len(store.keeps()) == 4


@pytest.mark.parametrize(
    "picked, said",
    [
        ("2026-11-30", "2026-11-30 is not in the future"),
        ("2026-12-01", "2026-12-01 is not in the future"),
        ("2027-03-02", "more than 90 days ahead"),
        ("", "Pick a date"),
        ("tomorrow", "Pick a date"),
    ],
)
def test_bad_dates_are_refused_plainly(standin: SlackStandIn, store: StateStore, picked: str, said: str) -> None:
    service = service_for(standin, store)
    plan_id, _ = posted_plan(standin, store)
    service.pick_keep_until(plan_id, "UMAI00001", CHANNEL, picked)
    [told] = ephemerals(standin)
    assert said in told and "nothing was changed" in told
    assert store.get(plan_id).status == "pending" and store.keeps() == []  # type: ignore[union-attr]
    assert "keep-refused" in [e.action for e in store.audit_log(plan_id)]
    assert not standin.calls_to("chat.update")


def test_strangers_and_wrong_channels_change_nothing(standin: SlackStandIn, store: StateStore) -> None:
    service = service_for(standin, store, approvers=frozenset({"UBOSS0001"}))
    plan_id, _ = posted_plan(standin, store)
    service.click_snooze(plan_id, "USTRANGER", CHANNEL)
    service.pick_keep_until(plan_id, "USTRANGER", CHANNEL, "2026-12-15")
    service.click_snooze(plan_id, "UBOSS0001", "COTHER001")
    service.click_snooze("not-a-plan", "UBOSS0001", CHANNEL)
    told = ephemerals(standin)
    assert told[0] == "Only the requester or an approver can snooze this plan; nothing was changed."
    assert told[1] == "Only the requester or an approver can keep this plan; nothing was changed."
    assert "belongs to <#CTEST0001>" in told[2] and "don't know this plan" in told[3]
    assert store.get(plan_id).status == "pending"  # type: ignore[union-attr]
    assert store.keeps() == [] and store.snooze_log() == [] and not standin.calls_to("chat.update")
    refused = [e.action for e in store.audit_log(plan_id)]
    assert refused.count("snooze-refused") == 2 and refused.count("keep-refused") == 1
    # the requester may answer their own plan, and so may an approver
    service.click_snooze(plan_id, "UREQ", CHANNEL)
    assert store.get(plan_id).status == "cancelled"  # type: ignore[union-attr]


def test_snoozing_a_reminder_moves_its_next_run_by_a_day(standin: SlackStandIn, store: StateStore) -> None:
    entries = "dogcat@CTEST0001:1h"
    scheduler_settings = Settings(regions=("us-east-1",), reminders=parse_reminders(entries))
    scan = FakeScan()
    scheduler = new_scheduler(standin, store, scheduler_settings, scan)
    assert scheduler.tick(NOW)["dogcat@CTEST0001:1h"].startswith("posted")
    [message] = standin.top_messages(CHANNEL)
    plan_id = blocks.plan_id_of_block(next(b for b in message.blocks if b["type"] == "actions")["block_id"])
    service = service_for(standin, store, reminders=parse_reminders(entries))
    service.clock = lambda: NOW + 600
    service.click_snooze(plan_id, "UMAI00001", CHANNEL)
    [snooze] = store.snooze_log("dogcat@CTEST0001")
    assert snooze.until == NOW + HOUR + SNOOZE_SECONDS and snooze.actor == "UMAI00001" and snooze.plan_id == plan_id
    assert store.get(plan_id).status == "cancelled"  # type: ignore[union-attr]
    assert "Snoozed for a day by <@UMAI00001>" in text(standin.messages[(CHANNEL, message.ts)].blocks)
    assert "The next reminder comes" in text(standin.messages[(CHANNEL, message.ts)].blocks)
    assert scheduler.tick(NOW + HOUR) == {} and scheduler.tick(NOW + HOUR + SNOOZE_SECONDS - 1) == {}
    assert len(scan.calls) == 1  # not even a scan while snoozed
    assert scheduler.tick(NOW + HOUR + SNOOZE_SECONDS)["dogcat@CTEST0001:1h"].startswith("posted")
    assert len(standin.top_messages(CHANNEL)) == 2


def test_an_unanswered_reminder_mentions_the_approvers_once(standin: SlackStandIn, store: StateStore) -> None:
    settings = Settings(
        regions=("us-east-1",),
        reminders=parse_reminders("dogcat@CTEST0001:1h"),
        approvers=frozenset({"UBOSS0001", "UBOSS0002"}),
        plan_ttl_minutes=24 * 60.0,
    )
    scheduler = new_scheduler(standin, store, settings, FakeScan())
    outcomes = [scheduler.tick(NOW + i * HOUR)["dogcat@CTEST0001:1h"] for i in range(6)]
    assert [store.reminder("dogcat@CTEST0001").unanswered] == [5]  # type: ignore[union-attr]
    assert ["mentioned the approvers" in o for o in outcomes] == [False, False, False, True, False, False]
    [message] = standin.top_messages(CHANNEL)  # updated in place every interval
    [mention] = standin.thread(CHANNEL, message.ts)
    assert "<@UBOSS0001>, <@UBOSS0002>: nobody has answered this reminder for 3 intervals" in text(mention.blocks)
    # someone answers: the count starts again, and a new streak would mention them again
    plan_id = store.reminder("dogcat@CTEST0001").plan_id  # type: ignore[union-attr]
    service_for(standin, store, approvers=settings.approvers).click_snooze(plan_id, "UBOSS0001", CHANNEL)
    scheduler.tick(NOW + 40 * HOUR)
    assert store.reminder("dogcat@CTEST0001").unanswered == 0  # type: ignore[union-attr]


def test_savings_command_and_the_feed_total(standin: SlackStandIn, store: StateStore) -> None:
    service = service_for(standin, store)
    plan = make_plan(4, kept=0)
    record = store.create_plan(plan, CHANNEL, "UREQ", 600, now=NOW - HOUR)
    assert store.approve(record.id, "UAPP", now=NOW - HOUR) and store.start_run(record.id, "r", now=NOW - HOUR)
    for r in plan.to_delete:
        store.record_result(record.id, ResourceResult(r.key, r.label, r.name, r.region, "deleted"))
    assert store.finish_run(record.id, "r", "done", "ok", now=NOW - 60)
    reply = service.parse_command("savings")
    assert reply.scan is None and message_problems(reply.blocks) == []
    [grid] = [b for b in reply.blocks if b["type"] == "table"]
    assert len(grid["rows"]) == 7 and grid["rows"][-1][0]["text"] == "2026-12"
    stopped = sum(r.monthly_cost or 0.0 for r in plan.to_delete)
    assert grid["rows"][-1][1]["text"] == format_monthly(stopped)
    feed = Feed(store, service.slack, "CFEED0001")
    feed.run_finished(record.id)
    [notice] = standin.top_messages("CFEED0001")
    assert f"So far in 2026-12: 1 cleanup stopped about *{format_monthly(stopped)}*" in text(notice.blocks)
