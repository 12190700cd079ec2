"""Block Kit builders for a plan of several accounts (CLEANUP_ACCOUNTS): pure functions, like bot.slack.blocks.

The plan message summarises: one line per account with its subtotal (what it deletes, what that costs, what is
kept, or why it could not be scanned), then the total, and the buttons; each account's detail follows as thread
messages (`detail_messages`), several accounts to a message. At 50 accounts the message stays far inside Block
Kit's limits (50 blocks, 3000 characters a text): the account lines are packed into a few sections. Results are
reported per account in the thread the same way. `bot.slack.blocks` dispatches here for fleet plans.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.core.plan import Plan, ResourceResult, split_key
from bot.core.pricing import format_monthly
from bot.slack import blocks as b

Block = dict[str, Any]

# Detail sections per account before "and N more": a workshop stack is ~14 lines; a big account is summarised.
DETAIL_LINES_PER_ACCOUNT = 40


def _subtotal(plan: Plan, account: str) -> str:
    part = plan.for_account(account)
    text = f"{b.plural(len(part.to_delete), 'resource')} to delete, {format_monthly(part.monthly_cost)}"
    if part.unknown_cost_count:
        text += f" (+{part.unknown_cost_count} unknown)"
    if part.kept:
        text += f" · {len(part.kept)} kept"
    if part.problems:
        text += f" · :warning: {b.plural(len(part.problems), 'part')} not checked"
    return text


def account_lines(plan: Plan) -> list[str]:
    lines = []
    for part in plan.accounts:
        if part.error:
            lines.append(f"• `{part.account_id}` · :x: *not scanned*: {b.esc(b.one_line(b.clip(part.error, 300)))}")
        else:
            lines.append(f"• `{part.account_id}` · {_subtotal(plan, part.account_id)}")
    return lines


def summary_text(plan: Plan) -> str:
    n, regions = len(plan.to_delete), plan.regions
    scanned = [p for p in plan.accounts if not p.error]
    failed = len(plan.accounts) - len(scanned)
    where = f"{b.plural(len(scanned), 'account')} x {b.plural(len(regions), 'region')} ({', '.join(regions)})" + (
        f"; *{b.plural(failed, 'account')} could not be scanned*" if failed else ""
    )
    if not n:
        return f"Nothing to delete in {where}."
    return f"*Total: {b.plural(n, 'resource')}* to delete in {where}, {b.cost_text(plan)}."


def _single(plan: Plan) -> Plan | None:
    """The one account's own plan, when a fleet plan covers one account that was scanned (shown as usual)."""
    if len(plan.accounts) == 1 and not plan.accounts[0].error:
        return plan.for_account(plan.accounts[0].account_id)
    return None


def plan_blocks(plan: Plan, ctx: b.PlanContext, status: str | None = None, buttons: bool = True) -> list[Block]:
    single = _single(plan)
    if single is not None:
        return b.plan_blocks(single, ctx, status, buttons)
    out: list[Block] = [b.header(f"Cleanup plan: {plan.profile}"), b.section(summary_text(plan))]
    if ctx.requester == b.REMINDER_REQUESTER:
        out.insert(1, b.section(b.reminder_text(plan)))
    lines = account_lines(plan)
    title = f"*By account* ({len(plan.accounts)}), each account's subtotal:"
    texts = b.pack([title, *lines])
    room = b.MESSAGE_BLOCK_BUDGET - 8
    if len(texts) > room:  # thousands of accounts: the rest are in the thread
        texts = [*texts[: room - 1], "_and more accounts; every account's detail is in the thread_"]
    out.extend(b.section(t) for t in texts)
    out.append(
        b.context(
            f"Requested by {b.who(ctx.requester)} · {len(plan.accounts)} accounts · plan `{b.esc(ctx.plan_id)}`"
            + (f" · expires {b.slack_date(ctx.expires_at)}" if ctx.expires_at and status is None else "")
            + " · each account's detail is in the thread"
        )
    )
    if status is not None:
        out.append(b.section(status))
    elif buttons and plan.to_delete:
        out.append(b.actions(plan, ctx.plan_id))
    elif not plan.to_delete:
        out.append(b.section("Nothing will be deleted."))
    return out


def needs_full_list(plan: Plan) -> bool:
    single = _single(plan)
    return b.needs_full_list(single) if single is not None else True


def _detail_lines(plan: Plan, account: str, error: str, role_arn: str) -> list[str]:
    via = f"role `{b.esc(role_arn)}`" if role_arn else "the app's own credentials"
    if error:
        return [f"*Account `{account}`* ({via}): :x: not scanned: {b.esc(b.one_line(b.clip(error, 1500)))}"]
    part = plan.for_account(account)
    lines = [f"*Account `{account}`* ({via}): {_subtotal(plan, account)}"]
    items: list[Any] = []
    body: list[str] = []
    for service, rs in b.group_by_service(part.to_delete).items():
        body.append(f"_{b.esc(service)}_ ({len(rs)}), to delete:")
        items.append(b._Labelled("heading"))
        for r in rs:
            body.append(b.resource_line(r))
            items.append(r)
    if part.kept:
        body.append(f"_Kept, not deleted_ ({len(part.kept)}):")
        items.append(b._Labelled("heading"))
        for r in part.kept:
            body.append(b.kept_line(r))
            items.append(r)
    body += [f"• :warning: {b.esc(b.one_line(str(p)))}" for p in part.problems]
    items += [b._Labelled("problem")] * len(part.problems)
    if len(body) > DETAIL_LINES_PER_ACCOUNT:
        rest = [x for x in items[DETAIL_LINES_PER_ACCOUNT:] if not isinstance(x, b._Labelled)]
        body = [*body[:DETAIL_LINES_PER_ACCOUNT], f"_{b.more_text(rest)}_"]
    return lines + body


def detail_messages(plan: Plan) -> list[list[Block]]:
    """Each account's plan, for the thread: its own sections (it starts a new one), several accounts a message."""
    single = _single(plan)
    if single is not None:
        return b.full_list_messages(single)
    sections = [
        b.section(text)
        for part in plan.accounts
        for text in b.pack(_detail_lines(plan, part.account_id, part.error, part.role_arn))
    ]
    return b._messages(sections, title="Each account's plan")


def confirm_modal(plan: Plan, ctx: b.PlanContext) -> dict[str, Any]:
    single = _single(plan)
    if single is not None:
        return b.confirm_modal(single, ctx)
    modal = b.confirm_modal(Plan(plan.profile, "", plan.regions, plan.created_at), ctx)  # the frame, no resources
    n = len(plan.to_delete)
    intro = b.section(
        f"{b._capital(b.who(ctx.requester))} asks to delete *{b.plural(n, 'resource')}* in "
        f"{b.plural(len([p for p in plan.accounts if not p.error]), 'account')} ({', '.join(plan.regions)}), "
        f"{b.cost_text(plan)}. Each account is deleted under its own account check. This cannot be undone."
    )
    texts = b.pack([f"*By account* ({len(plan.accounts)}):", *account_lines(plan)])
    budget = b.MAX_MODAL_BLOCKS - 5
    if len(texts) > budget:
        texts = [*texts[: budget - 1], "_and more accounts; see the thread_"]
    body = [intro, *(b.section(t) for t in texts)]
    if plan.kept:
        body.append(b.context(f"{b.plural(len(plan.kept), 'resource')} found will be kept (see the thread)."))
    confirm = next(block for block in modal["blocks"] if block.get("block_id") == b.CONFIRM_BLOCK)
    confirm["label"] = b.plain(f"Type {b.CONFIRM_WORD} to delete {b.plural(n, 'resource')}", 2000)
    modal["blocks"] = [*body, confirm]
    return modal


def summary_messages(
    plan: Plan, results: Sequence[ResourceResult], seconds: float, approver: str, cost_stopped: float
) -> list[list[Block]]:
    """The final report, per account: its counts, then one line per resource (failed and skipped first)."""
    single = _single(plan)
    if single is not None:
        account = plan.accounts[0].account_id
        local = [_local(r) for r in results if split_key(r.key)[0] == account]
        return b.summary_messages(single, local, seconds, approver, cost_stopped)
    counts = Counter(r.status for r in results)
    by_account: dict[str, list[ResourceResult]] = {}
    for r in results:
        by_account.setdefault(split_key(r.key)[0], []).append(r)
    accounts_failed = sum(1 for rs in by_account.values() if any(r.status == "failed" for r in rs))
    intro = b.section(
        f"*Cleanup of {b.esc(plan.profile)} finished* in {b.duration(seconds)} across "
        f"{b.plural(len(by_account), 'account')}, approved by <@{b.esc(approver)}>: {b.counts_text(counts)}"
        + (f" ({b.plural(accounts_failed, 'account')} with failures)" if accounts_failed else "")
        + f". Cost stopped: about *{format_monthly(cost_stopped)}*."
    )
    sections: list[Block] = []
    planned = {r.key for r in results}
    for part in plan.accounts:
        if part.error:
            continue
        rs = by_account.get(part.account_id, [])
        lines = [f"*Account `{part.account_id}`*: {b.counts_text(Counter(r.status for r in rs))}"]
        for status in ("failed", "skipped", "deleted", "already_gone"):
            lines += [b.result_line(r) for r in rs if r.status == status]
        missing = [r for r in plan.to_delete if r.account_id == part.account_id and r.key not in planned]
        lines += [f"• {b.esc(r.label)} `{b.esc(r.name)}` · {b.esc(r.region)} · not handled" for r in missing]
        sections.extend(b.section(t) for t in b.pack(lines))
    messages = b._messages(sections, title="Results per account")
    messages[0].insert(0, intro)
    return messages


def _local(r: ResourceResult) -> ResourceResult:
    from dataclasses import replace

    return replace(r, key=split_key(r.key)[1])


def accounts_label(plan: Plan) -> str:
    """ "account 123456789012", or "5 accounts" for a fleet plan."""
    if plan.is_fleet and len(plan.accounts) != 1:
        return b.plural(len(plan.accounts), "account")
    return f"account {plan.accounts[0].account_id if plan.is_fleet else plan.account_id}"
