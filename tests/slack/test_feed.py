"""The channel feed: the notice's builder (pure, within Slack's limits) and the runner posting it once per run."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from bot.core.plan import Plan, ResourceResult
from bot.core.pricing import format_monthly
from bot.core.state import StateStore
from bot.demo.slack_standin import SlackStandIn
from bot.slack import blocks
from bot.slack.runner import Runner
from tests.slack.factories import approved_plan, make_plan, new_runner
from tests.slack.limits import message_problems
from tests.slack.test_runner import fake_execute

CHANNEL = "CTEST0001"
FEED = "CFEED0001"
LINK = "https://dogcat.example.slack.com/archives/CTEST0001/p1700000000000100"


def results_for(plan: Plan, failed: int = 0, skipped: int = 0, missing: int = 0) -> list[ResourceResult]:
    out = []
    items = plan.to_delete[: len(plan.to_delete) - missing]
    for i, r in enumerate(items):
        status = "failed" if i < failed else "skipped" if i < failed + skipped else "deleted"
        code = "AccessDeniedException" if status == "failed" else ""
        out.append(ResourceResult(r.key, r.label, r.name, r.region, status, "no" if code else "", code))  # type: ignore[arg-type]
    return out


def text(bs: list[dict]) -> str:  # type: ignore[type-arg]
    return json.dumps(bs)


@pytest.mark.parametrize("n", [0, 1, 12, 600, 2500])
@pytest.mark.parametrize("long", [False, True])
@pytest.mark.parametrize("status", ["done", "failed"])
def test_notice_within_limits(n: int, long: bool, status: str) -> None:
    plan = make_plan(n, kept=2, long=long)
    results = results_for(plan, failed=n // 3 if status == "failed" else 0, missing=n // 5)
    error = "RuntimeError: " + "AWS fell over " * 400 if status == "failed" and long else ""
    for permalink in (LINK, ""):
        notice = blocks.feed_blocks(plan, results, status, "UREQ", "UAPP", CHANNEL, permalink, "0" * 16, error)
        assert message_problems(notice) == []
        assert len(notice) <= 4
        assert len(blocks.feed_text(plan, results, status)) < 300


def test_done_notice_says_who_what_and_links_the_thread() -> None:
    plan = make_plan(12, kept=1)
    results = results_for(plan)
    notice = text(blocks.feed_blocks(plan, results, "done", "UREQ", "UAPP", CHANNEL, LINK, "0123456789abcdef"))
    assert "Cleanup of `dogcat` done" in notice and "us-east-1, eu-west-1" in notice
    assert "<@UREQ>" in notice and "<@UAPP>" in notice
    assert "12 deleted, 0 already gone, 0 skipped, 0 failed" in notice
    stopped = blocks.cost_stopped(plan, results)
    assert f"cost stopped: about *{format_monthly(stopped)}*" in notice
    assert f"<{LINK}|Open the thread>" in notice and f"<#{CHANNEL}>" in notice
    assert "Still alive" not in notice


def test_failed_notice_lists_what_is_still_alive_costliest_first() -> None:
    plan = make_plan(12, kept=1)
    # the first two fail (an endpoint at $150/month, a config at $0), the last is never reached
    results = results_for(plan, failed=2, missing=1)
    notice = blocks.feed_blocks(plan, results, "failed", "UREQ", "UAPP", CHANNEL, LINK, "0123456789abcdef")
    alive = next(b["text"]["text"] for b in notice if "Still alive" in b.get("text", {}).get("text", ""))
    assert "*Still alive* (3), still costing about *$150.00/month*" in alive
    lines = alive.splitlines()[1:]
    assert "dogcat-endpoint-00000" in lines[0] and "failed `AccessDeniedException`" in lines[0]
    assert any("not handled" in line and "dogcat-endpoint-00011" in line for line in lines)
    assert "dogcat-endpoint-00005" not in alive  # deleted: not alive
    assert "Cleanup of `dogcat` failed" in text(notice)


def test_notice_from_a_reminder_and_a_run_error() -> None:
    plan = make_plan(3, kept=0)
    notice = text(
        blocks.feed_blocks(
            plan, [], "failed", blocks.REMINDER_REQUESTER, "UAPP", CHANNEL, "javascript:alert(1)", "x", "Boom|<&>"
        )
    )
    assert "Asked by a scheduled reminder" in notice and "<@scheduled-reminder>" not in notice
    assert "Boom|&lt;&amp;&gt;" in notice and "javascript:" not in notice  # only https links
    assert "not handled" in notice


# -- the runner posts it ----------------------------------------------------------------------------------------


def approved(standin: SlackStandIn, store: StateStore) -> tuple[str, str]:
    return approved_plan(standin, store, make_plan(8, kept=1), CHANNEL)


def runner_with_feed(standin: SlackStandIn, store: StateStore, execute: Any, **opts: Any) -> Runner:
    return new_runner(standin, store, execute, feed_channel=FEED, **opts)


def test_a_failed_run_posts_one_notice(standin: SlackStandIn, store: StateStore) -> None:
    runner = runner_with_feed(standin, store, fake_execute(fail="dogcat-endpoint-00000"))
    plan_id, ts = approved(standin, store)
    runner._run_new(plan_id)
    runner._run_new(plan_id)  # a second start does nothing, and posts nothing
    [notice] = standin.top_messages(FEED)
    shown = text(notice.blocks)
    assert "Cleanup of `dogcat` failed" in shown and "Still alive" in shown and "AccessDenied" in shown
    [link] = standin.calls_to("chat.getPermalink")
    assert link.args["channel"] == CHANNEL and link.args["message_ts"] == ts
    assert link.response["permalink"] in shown
    assert [e.action for e in store.audit_log(plan_id)][-1] == "feed-posted"


def test_a_run_error_is_in_the_notice(standin: SlackStandIn, store: StateStore) -> None:
    runner = runner_with_feed(standin, store, fake_execute(raise_=True))
    plan_id, _ = approved(standin, store)
    runner._run_new(plan_id)
    [notice] = standin.top_messages(FEED)
    assert "AWS fell over" in text(notice.blocks) and "not handled" in text(notice.blocks)


def test_no_permalink_still_posts(standin: SlackStandIn, store: StateStore) -> None:
    standin.failures["chat.getPermalink"] = "message_not_found"
    runner = runner_with_feed(standin, store, fake_execute())
    plan_id, _ = approved(standin, store)
    runner._run_new(plan_id)
    [notice] = standin.top_messages(FEED)
    assert "Cleanup of `dogcat` done" in text(notice.blocks) and "https://" not in text(notice.blocks)
    assert f"The thread is in <#{CHANNEL}>" in text(notice.blocks)


def test_a_run_taken_over_posts_no_notice(standin: SlackStandIn, store: StateStore) -> None:
    gate = threading.Event()
    runner = runner_with_feed(standin, store, fake_execute(gate=gate), lease_seconds=1.0)
    plan_id, ts = approved(standin, store)
    worker = threading.Thread(target=runner._run_new, args=(plan_id,))
    worker.start()
    standin.wait_for(lambda s: len(s.thread(CHANNEL, ts)) >= 1)
    assert store.claim_stale_run(plan_id, "other-runner", lease_seconds=0.0, now=time.time() + 0.01)
    time.sleep(0.6)  # the first runner's heartbeat learns it lost
    gate.set()
    worker.join(15)
    assert standin.top_messages(FEED) == []


def test_cancelled_and_expired_plans_post_nothing(standin: SlackStandIn, store: StateStore) -> None:
    runner = runner_with_feed(standin, store, fake_execute())
    record = store.create_plan(make_plan(3), CHANNEL, "UREQ", 0.0)
    assert runner.expire(record)
    cancelled = store.create_plan(make_plan(3), CHANNEL, "UREQ", 600)
    assert store.cancel(cancelled.id, "UREQ")
    runner.sweep()
    runner._pool.shutdown(wait=True)
    assert standin.top_messages(FEED) == []
