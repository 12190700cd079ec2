"""The plan message: what will be deleted and kept, the buttons, the full list for the thread, and the
statuses the message shows once the plan is handled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.plan import AccountPart, Plan, PlannedResource, ResourceResult, refusals, run_verdict
from bot.i18n import DEFAULT_LANGUAGE, translator
from bot.reasons_i18n import translate_reason
from bot.slack.blocks.common import (
    ACTIONS_BLOCK,
    CANCEL_ACTION,
    DELETE_ACTION,
    KEEP_UNTIL_ACTION,
    MAX_BUTTON,
    MESSAGE_BLOCK_BUDGET,
    REMINDER_REQUESTER,
    SNOOZE_ACTION,
    Block,
    _messages,
    clip,
    context,
    cost_text,
    counts_text,
    duration,
    esc,
    fit_lines,
    group_by_service,
    header,
    kept_line,
    more_text,
    one_line,
    pack,
    plain,
    resource_line,
    resources_text,
    section,
    shown_plan,
    slack_date,
    who,
)
from bot.slack.blocks.progress import VERDICT_ICONS, VERDICT_TITLES, refusal_text, verdict_words
from bot.slack.blocks.reminders import reminder_text


@dataclass(frozen=True)
class PlanContext:
    """Who and when, around a plan: what the message shows beside the plan itself."""

    plan_id: str
    requester: str
    expires_at: float


# Detail lines per account in the thread before "and N more": a workshop stack is ~14 lines; a big account is
# summarised.
DETAIL_LINES_PER_ACCOUNT = 40


def plan_summary(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    """The line under the title: what is deleted where, and what it costs (the total, for several accounts)."""
    t = translator(lang)
    n, regions = len(plan.to_delete), plan.regions
    count = t.n_("{n} region", "{n} regions", len(regions))
    if plan.is_fleet:
        scanned = [p for p in plan.accounts if not p.error]
        failed = len(plan.accounts) - len(scanned)
        where = t._(
            "{accounts} x {regions} ({names})",
            accounts=t.n_("{n} account", "{n} accounts", len(scanned)),
            regions=count,
            names=", ".join(regions),
        )
        if failed:
            where += t.n_("; *{n} account could not be scanned*", "; *{n} accounts could not be scanned*", failed)
    else:
        where = t._("{regions} ({names})", regions=count, names=", ".join(regions))
    if not n:
        return t._("Nothing to delete in {where}.", where=where)
    resources, cost = resources_text(n, lang), cost_text(plan, lang)
    if plan.is_fleet:
        return t._("*Total: {resources}* to delete in {where}, {cost}.", resources=resources, where=where, cost=cost)
    return t._("*{resources}* to delete in {where}, {cost}.", resources=resources, where=where, cost=cost)


def accounts_label(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "account 123456789012", or "20 accounts" for a plan of several."""
    t = translator(lang)
    if plan.is_fleet and len(plan.accounts) != 1:
        return t.n_("{n} account", "{n} accounts", len(plan.accounts))
    return t._("account {id}", id=plan.accounts[0].account_id if plan.is_fleet else plan.account_id)


def plan_text(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    """The notification fallback text of the plan message."""
    t = translator(lang)
    if not plan.resources:
        return t._("Nothing to clean for {profile}", profile=plan.profile)
    return t._(
        "Cleanup plan for {profile}: {resources} to delete",
        profile=plan.profile,
        resources=resources_text(len(plan.to_delete), lang),
    )


def needs_full_list(plan: Plan) -> bool:
    """True when the plan message had to summarise, so the full list should follow in the thread."""
    return _plan_message(plan, PlanContext("x" * 16, "U0", 0.0), None, True)[1]


def plan_blocks(
    plan: Plan, ctx: PlanContext, status: str | None = None, buttons: bool = True, lang: str = DEFAULT_LANGUAGE
) -> list[Block]:
    """The scan result, in the channel's language. `status` (a mrkdwn line) replaces the buttons once the plan is
    handled."""
    return _plan_message(plan, ctx, status, buttons, lang)[0]


def _plan_message(
    plan: Plan, ctx: PlanContext, status: str | None, buttons: bool, lang: str = DEFAULT_LANGUAGE
) -> tuple[list[Block], bool]:
    """The plan message, and whether it summarised (so the full list follows in the thread).

    One frame for every plan: title, summary, body, context line, then the buttons or the status. Only the body
    depends on the plan's shape: one account's resources by service (and what is kept), or several accounts'
    subtotals, each account's detail going to the thread."""
    plan = shown_plan(plan)
    if not plan.resources and not plan.is_fleet:
        return nothing_found_blocks(plan, ctx, lang), False
    t = translator(lang)
    blocks: list[Block] = [
        header(t._("Cleanup plan: {profile}", profile=plan.profile)),
        section(plan_summary(plan, lang)),
    ]
    if ctx.requester == REMINDER_REQUESTER:
        blocks.insert(1, section(reminder_text(plan, lang)))
    body, truncated = _by_account(plan, lang) if plan.is_fleet else _by_service(plan, lang)
    blocks.extend(body)
    parts = [t._("Requested by {who}", who=who(ctx.requester, lang)), accounts_label(plan, lang)]
    parts.append(t._("plan `{id}`", id=esc(ctx.plan_id)))
    if ctx.expires_at and status is None:
        parts.append(t._("expires {date}", date=slack_date(ctx.expires_at, lang)))
    if plan.is_fleet:
        parts.append(t._("each account's detail is in the thread"))
    blocks.append(context(" · ".join(parts)))
    if status is not None:
        blocks.append(section(status))
    elif buttons and plan.to_delete:
        blocks.append(actions(plan, ctx.plan_id, lang))
    elif plan.resources:
        blocks.append(section(t._("Nothing will be deleted: everything found is kept.")))
    else:
        blocks.append(section(t._("Nothing will be deleted.")))
    return blocks, truncated


def _by_service(plan: Plan, lang: str) -> tuple[list[Block], bool]:
    """One account's body: a section per service, what is kept, what could not be checked."""
    t = translator(lang)
    blocks: list[Block] = []
    truncated = False
    tail = t._("; the full list is in the thread")
    groups = list(group_by_service(plan.to_delete).items())
    # every group gets a section; if a custom profile ever has more services than fit, the last one summarises
    room = MESSAGE_BLOCK_BUDGET - 8
    for i, (service, items) in enumerate(groups):
        if i == room - 1 and len(groups) > room:
            rest = [r for _, rs in groups[i:] for r in rs]
            blocks.append(section(f"_{more_text(rest, lang)}{tail}_"))
            truncated = True
            break
        title = f"*{esc(service)}* ({t.number(len(items))})"
        text, cut = fit_lines(title, [resource_line(r, lang) for r in items], items, tail, lang=lang)
        blocks.append(section(text))
        truncated = truncated or cut
    kept = plan.kept
    if kept:
        title = t._("*Kept, not deleted* ({n})", n=t.number(len(kept)))
        text, cut = fit_lines(title, [kept_line(r, lang) for r in kept], kept, tail, lang=lang)
        blocks.append(section(text))
        truncated = truncated or cut
    if plan.problems:
        title = t._(":warning: *Could not check everything*, so the plan may be incomplete:")
        blocks.append(section(problems_text(plan, title, lang)))
    return blocks, truncated


def _by_account(plan: Plan, lang: str) -> tuple[list[Block], bool]:
    """Several accounts' body: a line with each one's subtotal, packed into a few sections (50 accounts stay far
    inside Block Kit's limits). It always summarises: each account's detail follows in the thread."""
    t = translator(lang)
    title = t._("*By account* ({n}), each account's subtotal:", n=t.number(len(plan.accounts)))
    texts = pack([title, *account_lines(plan, lang)])
    room = MESSAGE_BLOCK_BUDGET - 8
    if len(texts) > room:  # thousands of accounts: the rest are in the thread
        texts = [*texts[: room - 1], t._("_and more accounts; every account's detail is in the thread_")]
    return [section(text) for text in texts], True


def account_subtotal(plan: Plan, account: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """What one account of a fleet plan deletes, what that costs, what it keeps and what it could not check."""
    t = translator(lang)
    part = plan.for_account(account)
    text = t._(
        "{resources} to delete, {cost}",
        resources=resources_text(len(part.to_delete), lang),
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
    """A line per account of a fleet plan: its subtotal, or why it could not be scanned."""
    t = translator(lang)
    lines = []
    for part in plan.accounts:
        if part.error:
            error = esc(one_line(clip(translate_reason(part.error, lang), 300)))
            lines.append(f"• `{part.account_id}` · " + t._(":x: *not scanned*: {error}", error=error))
        else:
            lines.append(f"• `{part.account_id}` · {account_subtotal(plan, part.account_id, lang)}")
    return lines


@dataclass(frozen=True)
class _Labelled:
    label: str


def problems_text(plan: Plan, title: str, lang: str = DEFAULT_LANGUAGE) -> str:
    lines = [f"• {esc(one_line(translate_reason(str(p), lang)))}" for p in plan.problems]
    return fit_lines(title, lines, [_Labelled("problem")] * len(lines), "", lang=lang)[0]


def plan_id_of_block(block_id: str) -> str:
    """The plan id an actions block carries in its block_id ("" when it is not one of ours)."""
    head, sep, plan_id = block_id.partition(":")
    return plan_id if sep and head == ACTIONS_BLOCK else ""


def actions(plan: Plan, plan_id: str, lang: str = DEFAULT_LANGUAGE) -> Block:
    """Delete (red), Cancel, Snooze 1 day, and Keep until… (a datepicker: picking a date is the answer)."""
    t = translator(lang)
    n = len(plan.to_delete)
    return {
        "type": "actions",
        "block_id": f"{ACTIONS_BLOCK}:{plan_id}",
        "elements": [
            {
                "type": "button",
                "action_id": DELETE_ACTION,
                "text": plain(t._("Delete {resources}…", resources=resources_text(n, lang)), MAX_BUTTON),
                "style": "danger",
                "value": plan_id,
            },
            {"type": "button", "action_id": CANCEL_ACTION, "text": plain(t._("Cancel"), MAX_BUTTON), "value": plan_id},
            {
                "type": "button",
                "action_id": SNOOZE_ACTION,
                "text": plain(t._("Snooze 1 day"), MAX_BUTTON),
                "value": plan_id,
            },
            {"type": "datepicker", "action_id": KEEP_UNTIL_ACTION, "placeholder": plain(t._("Keep until…"), 150)},
        ],
    }


def nothing_found_blocks(plan: Plan, ctx: PlanContext, lang: str = DEFAULT_LANGUAGE) -> list[Block]:
    t = translator(lang)
    blocks = [
        section(
            t._(
                ":sparkles: *Nothing to clean* for `{profile}` in {regions}: no resource of the workshop was found. "
                "Nothing costs money here, and nothing will be deleted.",
                profile=esc(plan.profile),
                regions=", ".join(plan.regions),
            )
        )
    ]
    if plan.problems:
        blocks.append(section(problems_text(plan, t._(":warning: But some parts could not be checked:"), lang)))
    requested = t._("Requested by {who}", who=who(ctx.requester, lang))
    blocks.append(context(f"{requested} · " + t._("account {id}", id=esc(plan.account_id))))
    return blocks


def full_list_messages(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> list[list[Block]]:
    """Every resource of the plan, for the thread, in as many messages as needed; for several accounts, each
    account's own list (it starts a new section), several accounts to a message."""
    t = translator(lang)
    plan = shown_plan(plan)
    if not plan.is_fleet:
        lines = [line for line, _ in _listing(plan, lang, nested=False)]
        return _messages([section(text) for text in pack(lines)], title=t._("Full list of the plan"))
    sections = [section(text) for part in plan.accounts for text in pack(_account_detail(plan, part, lang))]
    return _messages(sections, title=t._("Each account's plan"))


def _listing(plan: Plan, lang: str, nested: bool) -> list[tuple[str, PlannedResource | None]]:
    """One account's resources by service, then what is kept, each line with its resource (None for a heading):
    headings in bold, or in italics under an account."""
    t = translator(lang)
    lines: list[tuple[str, PlannedResource | None]] = []
    for service, items in group_by_service(plan.to_delete).items():
        if nested:
            heading = t._("_{service}_ ({n}), to delete:", service=esc(service), n=t.number(len(items)))
        else:
            heading = t._("*{service}* ({n}), to delete:", service=esc(service), n=t.number(len(items)))
        lines.append((heading, None))
        lines.extend((resource_line(r, lang), r) for r in items)
    if plan.kept:
        if nested:
            heading = t._("_Kept, not deleted_ ({n}):", n=t.number(len(plan.kept)))
        else:
            heading = t._("*Kept, not deleted* ({n}):", n=t.number(len(plan.kept)))
        lines.append((heading, None))
        lines.extend((kept_line(r, lang), r) for r in plan.kept)
    return lines


def _account_detail(plan: Plan, part: AccountPart, lang: str) -> list[str]:
    """One account of a fleet plan, for the thread: how it was reached, its subtotal, then its list (long ones
    summarised after DETAIL_LINES_PER_ACCOUNT lines) and what could not be checked."""
    t = translator(lang)
    via = t._("role `{arn}`", arn=esc(part.role_arn)) if part.role_arn else t._("the app's own credentials")
    head = t._("*Account `{account}`* ({via})", account=part.account_id, via=via)
    if part.error:
        shown = esc(one_line(clip(translate_reason(part.error, lang), 1500)))
        return [head + t._(": :x: not scanned: {error}", error=shown)]
    own = plan.for_account(part.account_id)
    body = _listing(own, lang, nested=True)
    body += [(f"• :warning: {esc(one_line(translate_reason(str(p), lang)))}", None) for p in own.problems]
    lines = [line for line, _ in body]
    if len(body) > DETAIL_LINES_PER_ACCOUNT:
        rest = [r for _, r in body[DETAIL_LINES_PER_ACCOUNT:] if r is not None]
        lines = [*lines[:DETAIL_LINES_PER_ACCOUNT], f"_{more_text(rest, lang)}_"]
    return [f"{head}: {account_subtotal(plan, part.account_id, lang)}", *lines]


# -- statuses shown on the scan message once handled ------------------------------------------------------------


def status_running(approver: str, lang: str = DEFAULT_LANGUAGE) -> str:
    return translator(lang)._(
        ":hourglass_flowing_sand: *Approved by {user}*, deleting now. Progress is in the thread.",
        user=f"<@{esc(approver)}>",
    )


def status_cancelled(actor: str, lang: str = DEFAULT_LANGUAGE) -> str:
    return translator(lang)._(":no_entry_sign: *Cancelled by {user}.* Nothing was deleted.", user=f"<@{esc(actor)}>")


def status_snoozed(actor: str, until: float, scheduled: bool, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    params = {"user": f"<@{esc(actor)}>", "date": slack_date(until, lang)}
    if scheduled:
        return t._(
            ":zzz: *Snoozed for a day by {user}.* Nothing was deleted. The next reminder comes {date} at the "
            "earliest; `/cleanup` still scans at any time.",
            **params,
        )
    return t._(
        ":zzz: *Snoozed for a day by {user}.* Nothing was deleted. Reminders of this workshop here come back {date} "
        "at the earliest; `/cleanup` still scans at any time.",
        **params,
    )


def status_kept(actor: str, until: str, n: int, lang: str = DEFAULT_LANGUAGE) -> str:
    return translator(lang).n_(
        ":lock: *Kept until {date} by {user}.* Nothing was deleted. Scans show this {n} resource as kept, and "
        "reminders do not offer it before that date has passed.",
        ":lock: *Kept until {date} by {user}.* Nothing was deleted. Scans show these {n} resources as kept, and "
        "reminders do not offer them before that date has passed.",
        n,
        date=esc(until),
        user=f"<@{esc(actor)}>",
    )


def approvers_mention_text(approvers: Iterable[str], intervals: int, every: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The one thread reply that mentions the approvers when a reminder went unanswered for `intervals`."""
    names = ", ".join(f"<@{esc(a)}>" for a in sorted(approvers))
    return translator(lang).n_(
        ":bell: {names}: nobody has answered this reminder for {n} interval (every {every}). Delete these "
        "resources, snooze the reminder for a day, or keep them until a date with the buttons above.",
        ":bell: {names}: nobody has answered this reminder for {n} intervals (every {every}). Delete these "
        "resources, snooze the reminder for a day, or keep them until a date with the buttons above.",
        intervals,
        names=names,
        every=esc(every),
    )


def status_expired(lang: str = DEFAULT_LANGUAGE) -> str:
    return translator(lang)._(
        ":hourglass: *This plan expired* before anyone approved it. Nothing was deleted; run `/cleanup` again."
    )


def status_approval_lapsed(approver: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """An approved plan whose run could not start within the plan's lifetime (the app was down): not run."""
    return translator(lang)._(
        ":hourglass: *Approved by {user}, but the cleanup could not start before this plan expired* (the app was "
        "not running). Nothing was deleted: an approval holds only within the plan's lifetime. Run `/cleanup` "
        "again and approve the new plan.",
        user=f"<@{esc(approver)}>",
    )


def approval_lapsed_text(lang: str = DEFAULT_LANGUAGE) -> str:
    return translator(lang)._("The approval lapsed: the cleanup could not start in time")


def status_finished(
    approver: str,
    results: Sequence[ResourceResult],
    seconds: float,
    cost_stopped: float,
    lang: str = DEFAULT_LANGUAGE,
    planned: int | None = None,
) -> str:
    """The outcome on the plan message: an icon and words that say what happened (all gone, partly, some failed,
    nothing deleted, refused, with the refusal once), for a run of `planned` resources (default: one per result)."""
    t = translator(lang)
    planned = len(results) if planned is None else planned
    verdict = run_verdict(results, planned)
    text = t._(
        "{icon} *{title}*: {verdict} (approved by {user}, {duration}): {counts}.",
        icon=VERDICT_ICONS[verdict],
        title=t._(VERDICT_TITLES[verdict]),
        verdict=verdict_words(verdict, results, planned, lang),
        user=f"<@{esc(approver)}>",
        duration=duration(seconds, lang),
        counts=counts_text(Counter(r.status for r in results), lang),
    )
    refused = refusal_text(refusals(results), lang)
    if refused:
        text += f" {refused}."
    if cost_stopped:
        text += " " + t._("Cost stopped: about {cost}.", cost=t.monthly(cost_stopped))
    return text + " " + t._("Details are in the thread.")


def status_failed(approver: str, reason: str, lang: str = DEFAULT_LANGUAGE) -> str:
    return translator(lang)._(
        ":x: *Cleanup failed* (approved by {user}): {reason}",
        user=f"<@{esc(approver)}>",
        reason=esc(clip(reason, 2000)),
    )
