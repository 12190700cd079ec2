"""The plan message: what will be deleted and kept, the buttons, the full list for the thread, and the
statuses the message shows once the plan is handled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.plan import Plan, ResourceResult, refusals, run_verdict
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


def plan_summary(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    n, regions = len(plan.to_delete), plan.regions
    where = t._(
        "{regions} ({names})", regions=t.n_("{n} region", "{n} regions", len(regions)), names=", ".join(regions)
    )
    if not n:
        return t._("Nothing to delete in {where}.", where=where)
    return t._(
        "*{resources}* to delete in {where}, {cost}.",
        resources=resources_text(n, lang),
        where=where,
        cost=cost_text(plan, lang),
    )


def accounts_label(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "account 123456789012", or "20 accounts" for a plan of several."""
    from bot.slack.blocks import fleet as fleet_blocks

    return fleet_blocks.accounts_label(plan, lang)


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
    if plan.is_fleet:  # several accounts: each one's detail goes to the thread
        from bot.slack.blocks import fleet as fleet_blocks

        return fleet_blocks.needs_full_list(plan)
    return _plan_blocks(plan, PlanContext("x" * 16, "U0", 0.0), None, True)[1]


def plan_blocks(
    plan: Plan, ctx: PlanContext, status: str | None = None, buttons: bool = True, lang: str = DEFAULT_LANGUAGE
) -> list[Block]:
    """The scan result, in the channel's language. `status` (a mrkdwn line) replaces the buttons once the plan is
    handled."""
    if plan.is_fleet:  # several accounts: a line with each one's subtotal, then the total
        from bot.slack.blocks import fleet as fleet_blocks

        return fleet_blocks.plan_blocks(plan, ctx, status, buttons, lang)
    return _plan_blocks(plan, ctx, status, buttons, lang)[0]


def _plan_blocks(
    plan: Plan, ctx: PlanContext, status: str | None, buttons: bool, lang: str = DEFAULT_LANGUAGE
) -> tuple[list[Block], bool]:
    if not plan.resources:
        return nothing_found_blocks(plan, ctx, lang), False
    t = translator(lang)
    truncated = False
    blocks: list[Block] = [
        header(t._("Cleanup plan: {profile}", profile=plan.profile)),
        section(plan_summary(plan, lang)),
    ]
    if ctx.requester == REMINDER_REQUESTER:
        blocks.insert(1, section(reminder_text(plan, lang)))
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
    parts = [
        t._("Requested by {who}", who=who(ctx.requester, lang)),
        t._("account {id}", id=esc(plan.account_id)),
        t._("plan `{id}`", id=esc(ctx.plan_id)),
    ]
    if ctx.expires_at and status is None:
        parts.append(t._("expires {date}", date=slack_date(ctx.expires_at, lang)))
    blocks.append(context(" · ".join(parts)))
    if status is not None:
        blocks.append(section(status))
    elif buttons and plan.to_delete:
        blocks.append(actions(plan, ctx.plan_id, lang))
    elif not plan.to_delete:
        blocks.append(section(t._("Nothing will be deleted: everything found is kept.")))
    return blocks, truncated


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
    """Every resource of the plan, for the thread, in as many messages as needed."""
    if plan.is_fleet:
        from bot.slack.blocks import fleet as fleet_blocks

        return fleet_blocks.detail_messages(plan, lang)
    t = translator(lang)
    lines = []
    for service, items in group_by_service(plan.to_delete).items():
        lines.append(t._("*{service}* ({n}), to delete:", service=esc(service), n=t.number(len(items))))
        lines.extend(resource_line(r, lang) for r in items)
    if plan.kept:
        lines.append(t._("*Kept, not deleted* ({n}):", n=t.number(len(plan.kept))))
        lines.extend(kept_line(r, lang) for r in plan.kept)
    return _messages([section(text) for text in pack(lines)], title=t._("Full list of the plan"))


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
