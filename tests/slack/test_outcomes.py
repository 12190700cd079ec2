"""A run's outcome in words that match what happened: the verdict (all done, partly done, some failed, nothing
deleted, refused), its icon on the plan message, and a refusal said once at the top, not once per resource."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from bot.core.plan import RUN_REFUSED, AccountPart, Plan, ResourceResult, RunVerdict, run_verdict
from bot.slack import blocks
from tests.slack.factories import make_plan
from tests.slack.limits import message_problems

REFUSAL = "credentials now point at account 999999999999, the plan is for 123456789012; nothing deleted"


def results(plan: Plan, *statuses: str) -> list[ResourceResult]:
    """One result per planned resource, with the given statuses in turn ("refused": the run's refusal)."""
    out = []
    for i, r in enumerate(plan.to_delete):
        status = statuses[i % len(statuses)]
        if status == "refused":
            out.append(ResourceResult(r.key, r.label, r.name, r.region, "skipped", REFUSAL, RUN_REFUSED))
        elif status == "failed":
            out.append(ResourceResult(r.key, r.label, r.name, r.region, "failed", "not allowed", "AccessDenied"))
        elif status == "skipped":
            out.append(ResourceResult(r.key, r.label, r.name, r.region, "skipped", "tagged cleanup:protect=true"))
        else:
            out.append(ResourceResult(r.key, r.label, r.name, r.region, status))
    return out


def text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        (("deleted",), RunVerdict.ALL_DONE),
        (("deleted", "already_gone"), RunVerdict.ALL_DONE),
        (("deleted", "skipped"), RunVerdict.PARTLY_DONE),
        (("deleted", "refused"), RunVerdict.PARTLY_DONE),  # resumed after some deletions, then refused
        (("deleted", "failed"), RunVerdict.SOME_FAILED),
        (("failed",), RunVerdict.SOME_FAILED),
        (("skipped",), RunVerdict.NOTHING_DELETED),
        (("refused", "skipped"), RunVerdict.NOTHING_DELETED),
        (("refused",), RunVerdict.REFUSED),
    ],
)
def test_verdict_follows_the_results(statuses: tuple[str, ...], verdict: RunVerdict) -> None:
    plan = make_plan(14, kept=0)
    assert run_verdict(results(plan, *statuses), len(plan.to_delete)) == verdict


def test_verdict_of_a_run_with_unhandled_resources() -> None:
    plan = make_plan(14, kept=0)
    done = results(plan, "deleted")
    assert run_verdict(done[:10], 14) == RunVerdict.PARTLY_DONE
    assert run_verdict(results(plan, "refused")[:10], 14) == RunVerdict.NOTHING_DELETED
    assert run_verdict([], 14) == RunVerdict.NOTHING_DELETED


@pytest.mark.parametrize(
    ("statuses", "icon", "words"),
    [
        (("deleted",), ":white_check_mark:", "*Cleanup finished*: everything approved is gone"),
        (("deleted", "skipped"), ":large_yellow_circle:", "*Cleanup partly done*: 7 of 14 gone, the rest kept"),
        (("deleted", "failed"), ":warning:", "*Cleanup finished with failures*: 7 of 14 failed"),
        (("skipped",), ":no_entry_sign:", "*Cleanup finished, nothing deleted*: nothing was deleted"),
        (("refused",), ":no_entry:", "*Cleanup refused*: refused as a whole, nothing was deleted"),
    ],
)
def test_plan_message_status_matches_what_happened(statuses: tuple[str, ...], icon: str, words: str) -> None:
    plan = make_plan(14, kept=0)
    status = blocks.status_finished("UAPP", results(plan, *statuses), 12.0, 0.0, planned=14)
    assert status.startswith(f"{icon} {words}"), status
    assert "<@UAPP>" in status
    others = {":white_check_mark:", ":large_yellow_circle:", ":warning:", ":no_entry_sign:", ":no_entry:"} - {icon}
    assert not [other for other in others if other + " " in status], status


def test_refused_run_says_why_once_everywhere() -> None:
    plan = make_plan(14, kept=0)
    refused = results(plan, "refused")
    status = blocks.status_finished("UAPP", refused, 3.0, 0.0, planned=14)
    assert status.count(REFUSAL) == 1 and "Cost stopped" not in status
    summary = text(blocks.summary_messages(plan, refused, 3.0, "UAPP", 0.0))
    assert summary.count(REFUSAL) == 1, summary
    assert summary.count(RUN_REFUSED) == 0  # the code is for the app, the words for people
    assert "Cleanup of dogcat finished" in summary and "refused as a whole, nothing was deleted" in summary
    assert "Not deleted, refused* (14)" in summary
    for r in plan.to_delete:  # each resource is still named, without the reason
        assert r.name in summary
    progress = text(blocks.progress_blocks(plan, {r.key: r for r in refused}, finished=True))
    assert progress.count(REFUSAL) == 1, progress
    assert blocks.summary_text(refused, 14).startswith("Cleanup refused: refused as a whole, nothing was deleted")


def test_partly_refused_resumed_run_lists_deleted_and_says_refusal_once() -> None:
    plan = make_plan(14, kept=0)
    mixed = results(plan, "deleted", "refused")
    summary = text(blocks.summary_messages(plan, mixed, 3.0, "UAPP", 1.0))
    assert summary.count(REFUSAL) == 1 and ":large_yellow_circle:" in summary
    assert "7 of 14 gone, the rest kept" in summary and "Deleted* (7)" in summary


def fleet_plan(accounts: list[str]) -> Plan:
    plan = Plan("dogcat", "", ["us-east-1"], 1_700_000_000.0, accounts=[AccountPart(a) for a in accounts])
    for account in accounts:
        plan.resources += [replace(r, account_id=account) for r in make_plan(14, kept=0).resources]
    return plan


def test_fleet_summary_says_each_refusal_once_per_account() -> None:
    plan = fleet_plan(["111122223333", "444455556666", "777788889999"])
    out: list[ResourceResult] = []
    for r in plan.to_delete:
        if r.account_id == "111122223333":
            out.append(
                ResourceResult(r.key, r.label, r.name, r.region, "skipped", "role refused: AccessDenied", RUN_REFUSED)
            )
        elif r.account_id == "444455556666":
            out.append(ResourceResult(r.key, r.label, r.name, r.region, "skipped", REFUSAL, RUN_REFUSED))
        else:
            out.append(ResourceResult(r.key, r.label, r.name, r.region, "deleted"))
    messages = blocks.summary_messages(plan, out, 9.0, "UAPP", 10.0)
    for m in messages:
        assert message_problems(m) == []
    summary = text(messages)
    assert summary.count("role refused: AccessDenied") == 1 and summary.count(REFUSAL) == 1, summary
    assert ":large_yellow_circle:" in summary and "14 of 42 gone, the rest kept" in summary
    status = blocks.status_finished("UAPP", out, 9.0, 10.0, planned=42)
    assert status.startswith(":large_yellow_circle: *Cleanup partly done*")
    assert "account `111122223333` refused: role refused: AccessDenied" in status
    assert "account `444455556666` refused" in status


def test_fleet_refused_in_every_account_is_refused() -> None:
    plan = fleet_plan(["111122223333", "444455556666"])
    out = [ResourceResult(r.key, r.label, r.name, r.region, "skipped", REFUSAL, RUN_REFUSED) for r in plan.to_delete]
    status = blocks.status_finished("UAPP", out, 2.0, 0.0, planned=len(plan.to_delete))
    assert status.startswith(":no_entry: *Cleanup refused*") and status.count(REFUSAL) == 2  # once per account
    summary = text(blocks.summary_messages(plan, out, 2.0, "UAPP", 0.0))
    assert summary.count(REFUSAL) == 2 and "Refused as a whole, nothing was deleted" in summary


def test_command_line_end_says_the_refusal_once() -> None:
    from bot.cli import render_results

    plan = make_plan(14, kept=0)
    shown = render_results(results(plan, "refused"), 1.0, 14)
    assert shown.count(REFUSAL) == 1 and "Refused, nothing deleted in 1.0 s: 14 skipped" in shown, shown
    assert all(r.name in shown for r in plan.to_delete) and "Done in" not in shown
    assert "Partly done in" in render_results(results(plan, "deleted", "skipped"), 1.0, 14)
    assert "Done in" in render_results(results(plan, "deleted"), 1.0, 14)
