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

from bot.core.plan import Plan, ResourceResult, refusals, run_verdict, split_key
from bot.i18n import DEFAULT_LANGUAGE, translator
from bot.reasons_i18n import translate_reason
from bot.slack import blocks as b
from bot.slack.blocks import progress

Block = dict[str, Any]

# Detail sections per account before "and N more": a workshop stack is ~14 lines; a big account is summarised.
DETAIL_LINES_PER_ACCOUNT = 40


def _subtotal(plan: Plan, account: str, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    part = plan.for_account(account)
    text = t._(
        "{resources} to delete, {cost}",
        resources=b.resources_text(len(part.to_delete), lang),
        cost=t.monthly(part.monthly_cost),
    )
    if part.unknown_cost_count:
        text += t._(" (+{n} unknown)", n=t.number(part.unknown_cost_count))
    if part.kept:
        text += t._(" · {n} kept", n=t.number(len(part.kept)))
    if part.problems:
        text += t.n_(" · :warning: {n} part not checked", " · :warning: {n} parts not checked", len(part.problems))
    return text


def account_lines(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    t = translator(lang)
    lines = []
    for part in plan.accounts:
        if part.error:
            error = b.esc(b.one_line(b.clip(translate_reason(part.error, lang), 300)))
            lines.append(f"• `{part.account_id}` · " + t._(":x: *not scanned*: {error}", error=error))
        else:
            lines.append(f"• `{part.account_id}` · {_subtotal(plan, part.account_id, lang)}")
    return lines


def summary_text(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    n, regions = len(plan.to_delete), plan.regions
    scanned = [p for p in plan.accounts if not p.error]
    failed = len(plan.accounts) - len(scanned)
    where = t._(
        "{accounts} x {regions} ({names})",
        accounts=t.n_("{n} account", "{n} accounts", len(scanned)),
        regions=t.n_("{n} region", "{n} regions", len(regions)),
        names=", ".join(regions),
    )
    if failed:
        where += t.n_("; *{n} account could not be scanned*", "; *{n} accounts could not be scanned*", failed)
    if not n:
        return t._("Nothing to delete in {where}.", where=where)
    return t._(
        "*Total: {resources}* to delete in {where}, {cost}.",
        resources=b.resources_text(n, lang),
        where=where,
        cost=b.cost_text(plan, lang),
    )


def _single(plan: Plan) -> Plan | None:
    """The one account's own plan, when a fleet plan covers one account that was scanned (shown as usual)."""
    if len(plan.accounts) == 1 and not plan.accounts[0].error:
        return plan.for_account(plan.accounts[0].account_id)
    return None


def plan_blocks(
    plan: Plan, ctx: b.PlanContext, status: str | None = None, buttons: bool = True, lang: str = DEFAULT_LANGUAGE
) -> list[Block]:
    single = _single(plan)
    if single is not None:
        return b.plan_blocks(single, ctx, status, buttons, lang=lang)
    t = translator(lang)
    out: list[Block] = [
        b.header(t._("Cleanup plan: {profile}", profile=plan.profile)),
        b.section(summary_text(plan, lang)),
    ]
    if ctx.requester == b.REMINDER_REQUESTER:
        out.insert(1, b.section(b.reminder_text(plan, lang)))
    lines = account_lines(plan, lang)
    title = t._("*By account* ({n}), each account's subtotal:", n=t.number(len(plan.accounts)))
    texts = b.pack([title, *lines])
    room = b.MESSAGE_BLOCK_BUDGET - 8
    if len(texts) > room:  # thousands of accounts: the rest are in the thread
        texts = [*texts[: room - 1], t._("_and more accounts; every account's detail is in the thread_")]
    out.extend(b.section(text) for text in texts)
    parts = [
        t._("Requested by {who}", who=b.who(ctx.requester, lang)),
        t.n_("{n} account", "{n} accounts", len(plan.accounts)),
        t._("plan `{id}`", id=b.esc(ctx.plan_id)),
    ]
    if ctx.expires_at and status is None:
        parts.append(t._("expires {date}", date=b.slack_date(ctx.expires_at, lang)))
    parts.append(t._("each account's detail is in the thread"))
    out.append(b.context(" · ".join(parts)))
    if status is not None:
        out.append(b.section(status))
    elif buttons and plan.to_delete:
        out.append(b.actions(plan, ctx.plan_id, lang=lang))
    elif not plan.to_delete:
        out.append(b.section(t._("Nothing will be deleted.")))
    return out


def needs_full_list(plan: Plan) -> bool:
    single = _single(plan)
    return b.needs_full_list(single) if single is not None else True


def _detail_lines(plan: Plan, account: str, error: str, role_arn: str, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    t = translator(lang)
    via = t._("role `{arn}`", arn=b.esc(role_arn)) if role_arn else t._("the app's own credentials")
    head = t._("*Account `{account}`* ({via})", account=account, via=via)
    if error:
        shown = b.esc(b.one_line(b.clip(translate_reason(error, lang), 1500)))
        return [head + t._(": :x: not scanned: {error}", error=shown)]
    part = plan.for_account(account)
    lines = [f"{head}: {_subtotal(plan, account, lang)}"]
    items: list[Any] = []
    body: list[str] = []
    for service, rs in b.group_by_service(part.to_delete).items():
        body.append(t._("_{service}_ ({n}), to delete:", service=b.esc(service), n=t.number(len(rs))))
        items.append(b._Labelled("heading"))
        for r in rs:
            body.append(b.resource_line(r, lang))
            items.append(r)
    if part.kept:
        body.append(t._("_Kept, not deleted_ ({n}):", n=t.number(len(part.kept))))
        items.append(b._Labelled("heading"))
        for r in part.kept:
            body.append(b.kept_line(r, lang))
            items.append(r)
    body += [f"• :warning: {b.esc(b.one_line(translate_reason(str(p), lang)))}" for p in part.problems]
    items += [b._Labelled("problem")] * len(part.problems)
    if len(body) > DETAIL_LINES_PER_ACCOUNT:
        rest = [x for x in items[DETAIL_LINES_PER_ACCOUNT:] if not isinstance(x, b._Labelled)]
        body = [*body[:DETAIL_LINES_PER_ACCOUNT], f"_{b.more_text(rest, lang)}_"]
    return lines + body


def detail_messages(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> list[list[Block]]:
    """Each account's plan, for the thread: its own sections (it starts a new one), several accounts a message."""
    single = _single(plan)
    if single is not None:
        return b.full_list_messages(single, lang=lang)
    sections = [
        b.section(text)
        for part in plan.accounts
        for text in b.pack(_detail_lines(plan, part.account_id, part.error, part.role_arn, lang))
    ]
    return b._messages(sections, title=translator(lang)._("Each account's plan"))


def confirm_modal(plan: Plan, ctx: b.PlanContext, lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    single = _single(plan)
    if single is not None:
        return b.confirm_modal(single, ctx, lang)
    t = translator(lang)
    modal = b.confirm_modal(Plan(plan.profile, "", plan.regions, plan.created_at), ctx, lang)  # the frame only
    n = len(plan.to_delete)
    intro = b.section(
        t._(
            "{who} asks to delete *{resources}* in {accounts} ({regions}), {cost}. Each account is deleted under its "
            "own account check. This cannot be undone.",
            who=b._capital(b.who(ctx.requester, lang)),
            resources=b.resources_text(n, lang),
            accounts=t.n_("{n} account", "{n} accounts", len([p for p in plan.accounts if not p.error])),
            regions=", ".join(plan.regions),
            cost=b.cost_text(plan, lang),
        )
    )
    texts = b.pack([t._("*By account* ({n}):", n=t.number(len(plan.accounts))), *account_lines(plan, lang)])
    budget = b.MAX_MODAL_BLOCKS - 5
    if len(texts) > budget:
        texts = [*texts[: budget - 1], t._("_and more accounts; see the thread_")]
    body = [intro, *(b.section(text) for text in texts)]
    if plan.kept:
        kept = t.n_(
            "{n} resource found will be kept (see the thread).",
            "{n} resources found will be kept (see the thread).",
            len(plan.kept),
        )
        body.append(b.context(kept))
    modal["blocks"] = [*body, b.confirm_input(n, lang)]
    return modal


def summary_messages(
    plan: Plan,
    results: Sequence[ResourceResult],
    seconds: float,
    approver: str,
    cost_stopped: float,
    lang: str = DEFAULT_LANGUAGE,
) -> list[list[Block]]:
    """The final report, per account: its counts, then one line per resource (failed and skipped first)."""
    single = _single(plan)
    if single is not None:
        account = plan.accounts[0].account_id
        local = [_local(r) for r in results if split_key(r.key)[0] == account]
        return b.summary_messages(single, local, seconds, approver, cost_stopped, lang=lang)
    t = translator(lang)
    counts = Counter(r.status for r in results)
    by_account: dict[str, list[ResourceResult]] = {}
    for r in results:
        by_account.setdefault(split_key(r.key)[0], []).append(r)
    accounts_failed = sum(1 for rs in by_account.values() if any(r.status == "failed" for r in rs))
    failures = ""
    if accounts_failed:
        failures = t.n_(" ({n} account with failures)", " ({n} accounts with failures)", accounts_failed)
    verdict = run_verdict(results, len(plan.to_delete))
    verdict_words = b._capital(progress.verdict_words(verdict, results, len(plan.to_delete), lang))
    intro = b.section(
        progress.VERDICT_ICONS[verdict]
        + " "
        + t._(
            "*Cleanup of {profile} finished* in {duration} across {accounts}, approved by {approver}: {counts}"
            "{failures}. Cost stopped: about *{cost}*.",
            profile=b.esc(plan.profile),
            duration=b.duration(seconds, lang),
            accounts=t.n_("{n} account", "{n} accounts", len(by_account)),
            approver=f"<@{b.esc(approver)}>",
            counts=b.counts_text(counts, lang),
            failures=failures,
            cost=t.monthly(cost_stopped),
        )
        + f" *{verdict_words}.*"
    )
    sections: list[Block] = []
    planned = {r.key for r in results}
    for part in plan.accounts:
        if part.error:
            continue
        rs = by_account.get(part.account_id, [])
        lines = [
            t._(
                "*Account `{account}`*: {counts}",
                account=part.account_id,
                counts=b.counts_text(Counter(r.status for r in rs), lang),
            )
        ]
        refused = b.refusal_text(refusals(rs), lang)
        if refused:  # said once for the account, not on each of its resources
            lines[0] += f"\n:no_entry: {refused}"
        for status in ("failed", "skipped", "deleted", "already_gone"):
            lines += [b.outcome_line(r, lang) for r in rs if r.status == status]
        missing = [r for r in plan.to_delete if r.account_id == part.account_id and r.key not in planned]
        not_handled = t._("not handled")
        lines += [f"• {b.esc(t.label(r.label))} `{b.esc(r.name)}` · {b.esc(r.region)} · {not_handled}" for r in missing]
        sections.extend(b.section(text) for text in b.pack(lines))
    messages = b._messages(sections, title=t._("Results per account"))
    messages[0].insert(0, intro)
    return messages


def _local(r: ResourceResult) -> ResourceResult:
    from dataclasses import replace

    return replace(r, key=split_key(r.key)[1])


def accounts_label(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "account 123456789012", or "5 accounts" for a fleet plan."""
    t = translator(lang)
    if plan.is_fleet and len(plan.accounts) != 1:
        return t.n_("{n} account", "{n} accounts", len(plan.accounts))
    return t._("account {id}", id=plan.accounts[0].account_id if plan.is_fleet else plan.account_id)
