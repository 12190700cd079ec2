"""A plan of many accounts in Slack: grouped by account with a subtotal each, then the total, and inside Block Kit's
limits at 50 accounts (each account's detail and results go to the thread)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from bot.core.plan import AccountPart, Plan, ResourceResult
from bot.core.pricing import format_monthly
from bot.slack import blocks
from bot.slack.blocks import account_lines
from tests.slack.factories import make_plan
from tests.slack.limits import message_problems, modal_problems

CTX = blocks.PlanContext("0123456789abcdef", "UREQ", 1_800_000_000.0)


def account(i: int) -> str:
    return f"{100000000000 + i:012d}"


def fleet(accounts: int, per_account: int = 14, failed: int = 0, long: bool = False) -> Plan:
    """`accounts` accounts, the first `failed` of which could not be scanned (their role was refused)."""
    plan = Plan("dogcat", "", ["us-east-1", "eu-west-1"], 1_700_000_000.0)
    for i in range(accounts):
        if i < failed:
            reason = f"could not assume arn:aws:iam::{account(i)}:role/DogcatCleanupRole: AccessDenied: " + "no " * 40
            plan.accounts.append(AccountPart(account(i), f"arn:aws:iam::{account(i)}:role/DogcatCleanupRole", reason))
            continue
        part = make_plan(per_account, kept=2, problems=1 if i % 7 == 0 else 0, long=long)
        plan.accounts.append(AccountPart(account(i), f"arn:aws:iam::{account(i)}:role/DogcatCleanupRole"))
        plan.resources += [replace(r, account_id=account(i)) for r in part.resources]
        plan.problems += [replace(p, account_id=account(i)) for p in part.problems]
    return plan


def text(bs: list[dict[str, Any]]) -> str:
    return json.dumps(bs, ensure_ascii=False)


def results(plan: Plan) -> list[ResourceResult]:
    statuses = ["deleted", "deleted", "already_gone", "skipped", "failed"]
    out = []
    for i, r in enumerate(plan.to_delete):
        code = "AccessDenied" if i % 5 == 4 else ""
        out.append(ResourceResult(r.key, r.label, r.name, r.region, statuses[i % 5], "why " * (i % 3), code))  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize(("accounts", "failed", "long"), [(2, 0, False), (20, 1, False), (50, 3, False), (50, 5, True)])
def test_plan_message_groups_by_account_within_limits(accounts: int, failed: int, long: bool) -> None:
    plan = fleet(accounts, failed=failed, long=long)
    message = blocks.plan_blocks(plan, CTX)
    assert message_problems(message) == []
    shown = text(message)
    for part in plan.accounts:
        assert part.account_id in shown
    assert f"*Total: {len(plan.to_delete)} resources* to delete in {accounts - failed} accounts x 2 regions" in shown
    assert "not scanned" in shown if failed else "not scanned" not in shown
    subtotal = plan.for_account(account(failed))
    assert f"`{account(failed)}` · {len(subtotal.to_delete)} resources to delete" in shown
    actions = [b for b in message if b["type"] == "actions"]
    assert actions and f"Delete {len(plan.to_delete)} resources" in actions[0]["elements"][0]["text"]["text"]
    assert blocks.needs_full_list(plan)

    detail = blocks.full_list_messages(plan)
    assert len(detail) <= (accounts // 5 if long else max(2, accounts // 10))  # several accounts a message
    for m in detail:
        assert message_problems(m) == []
    every = "".join(text(m) for m in detail)
    for r in plan.resources:
        assert r.name[:40] in every or long

    modal = blocks.confirm_modal(plan, CTX)
    assert modal_problems(modal) == []
    assert f"in {accounts - failed} accounts" in text(modal["blocks"])

    done = results(plan)
    summary = blocks.summary_messages(plan, done, 12.0, "UAPP", 86.8)
    for m in summary:
        assert message_problems(m) == []
    reported = "".join(text(m) for m in summary)
    assert "Results per account" in reported and f"across {accounts - failed} accounts" in reported
    for part in plan.accounts[failed:]:
        assert f"*Account `{part.account_id}`*" in reported
    progress = blocks.progress_blocks(plan, {r.key: r for r in done}, "Deleting", False)
    assert message_problems(progress) == []
    assert f"{len(done)}/{len(plan.to_delete)} handled" in text(progress)
    for status in (None, blocks.status_cancelled("UX"), blocks.status_running("UAPP")):
        assert message_problems(blocks.plan_blocks(plan, CTX, status)) == []


@pytest.mark.parametrize(("accounts", "failed", "long"), [(2, 0, False), (50, 3, False), (50, 5, True)])
def test_fleet_messages_within_limits_in_vietnamese(accounts: int, failed: int, long: bool) -> None:
    """The same messages in Vietnamese (longer words) stay inside Block Kit's limits too."""
    plan = fleet(accounts, failed=failed, long=long)
    message = blocks.plan_blocks(plan, CTX, lang="vi")
    assert message_problems(message) == []
    assert f"*Tổng cộng: {len(plan.to_delete)} tài nguyên* cần xoá trong {accounts - failed} tài khoản" in text(message)
    for m in blocks.full_list_messages(plan, lang="vi"):
        assert message_problems(m) == []
    modal = blocks.confirm_modal(plan, CTX, "vi")
    assert modal_problems(modal) == [] and "Gõ confirm để xoá" in text(modal["blocks"])
    done = results(plan)
    summary = blocks.summary_messages(plan, done, 12.0, "UAPP", 86.8, lang="vi")
    for m in summary:
        assert message_problems(m) == []
    assert "86,80\u00a0US$/tháng" in "".join(text(m) for m in summary)
    assert message_problems(blocks.progress_blocks(plan, {r.key: r for r in done}, "", False, lang="vi")) == []
    for status in (None, blocks.status_cancelled("UX", "vi"), blocks.status_running("UAPP", "vi")):
        assert message_problems(blocks.plan_blocks(plan, CTX, status, lang="vi")) == []


def test_one_account_of_a_fleet_is_shown_as_a_plain_plan() -> None:
    plan = fleet(1)
    message = text(blocks.plan_blocks(plan, CTX))
    assert "SageMaker" in message and f"account {account(0)}" in message
    done = results(plan)
    summary = "".join(text(m) for m in blocks.summary_messages(plan, done, 3.0, "UAPP", 1.0))
    assert "Cleanup of dogcat finished" in summary and plan.resources[0].name in summary


def test_each_account_line_has_its_subtotal() -> None:
    plan = fleet(3, per_account=5, failed=1)
    lines = account_lines(plan)
    assert lines[0].startswith(f"• `{account(0)}` · :x: *not scanned*: could not assume")
    part = plan.for_account(account(1))
    assert lines[1] == f"• `{account(1)}` · 5 resources to delete, {format_monthly(part.monthly_cost)} · 2 kept"
    worst = fleet(8, per_account=8)
    part = worst.for_account(account(7))  # every 7th account has a problem; 8 resources include a log group
    assert account_lines(worst)[7] == (
        f"• `{account(7)}` · 8 resources to delete, {format_monthly(part.monthly_cost)}"
        " (+1 unknown) · 2 kept · :warning: 1 part not checked"
    )
