"""The plan message: what will be deleted and kept, the buttons, the full list for the thread, and the
statuses the message shows once the plan is handled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.plan import Plan, ResourceResult
from bot.core.pricing import format_monthly
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
    plural,
    resource_line,
    section,
    slack_date,
    who,
)
from bot.slack.blocks.reminders import reminder_text


@dataclass(frozen=True)
class PlanContext:
    """Who and when, around a plan: what the message shows beside the plan itself."""

    plan_id: str
    requester: str
    expires_at: float


def plan_summary(plan: Plan) -> str:
    n, regions = len(plan.to_delete), plan.regions
    where = f"{plural(len(regions), 'region')} ({', '.join(regions)})"
    if not n:
        return f"Nothing to delete in {where}."
    return f"*{plural(n, 'resource')}* to delete in {where}, {cost_text(plan)}."


def accounts_label(plan: Plan) -> str:
    """ "account 123456789012", or "20 accounts" for a plan of several."""
    from bot.slack.blocks import fleet as fleet_blocks

    return fleet_blocks.accounts_label(plan)


def plan_text(plan: Plan) -> str:
    """The notification fallback text of the plan message."""
    if not plan.resources:
        return f"Nothing to clean for {plan.profile}"
    return f"Cleanup plan for {plan.profile}: {plural(len(plan.to_delete), 'resource')} to delete"


def needs_full_list(plan: Plan) -> bool:
    """True when the plan message had to summarise, so the full list should follow in the thread."""
    if plan.is_fleet:  # several accounts: each one's detail goes to the thread
        from bot.slack.blocks import fleet as fleet_blocks

        return fleet_blocks.needs_full_list(plan)
    return _plan_blocks(plan, PlanContext("x" * 16, "U0", 0.0), None, True)[1]


def plan_blocks(plan: Plan, ctx: PlanContext, status: str | None = None, buttons: bool = True) -> list[Block]:
    """The scan result. `status` (a mrkdwn line) replaces the buttons once the plan is handled."""
    if plan.is_fleet:  # several accounts: a line with each one's subtotal, then the total
        from bot.slack.blocks import fleet as fleet_blocks

        return fleet_blocks.plan_blocks(plan, ctx, status, buttons)
    return _plan_blocks(plan, ctx, status, buttons)[0]


def _plan_blocks(plan: Plan, ctx: PlanContext, status: str | None, buttons: bool) -> tuple[list[Block], bool]:
    if not plan.resources:
        return nothing_found_blocks(plan, ctx), False
    truncated = False
    blocks: list[Block] = [header(f"Cleanup plan: {plan.profile}"), section(plan_summary(plan))]
    if ctx.requester == REMINDER_REQUESTER:
        blocks.insert(1, section(reminder_text(plan)))
    tail = "; the full list is in the thread"
    groups = list(group_by_service(plan.to_delete).items())
    # every group gets a section; if a custom profile ever has more services than fit, the last one summarises
    room = MESSAGE_BLOCK_BUDGET - 8
    for i, (service, items) in enumerate(groups):
        if i == room - 1 and len(groups) > room:
            rest = [r for _, rs in groups[i:] for r in rs]
            blocks.append(section(f"_{more_text(rest)}{tail}_"))
            truncated = True
            break
        title = f"*{esc(service)}* ({len(items)})"
        text, cut = fit_lines(title, [resource_line(r) for r in items], items, tail)
        blocks.append(section(text))
        truncated = truncated or cut
    kept = plan.kept
    if kept:
        title = f"*Kept, not deleted* ({len(kept)})"
        text, cut = fit_lines(title, [kept_line(r) for r in kept], kept, tail)
        blocks.append(section(text))
        truncated = truncated or cut
    if plan.problems:
        blocks.append(
            section(problems_text(plan, ":warning: *Could not check everything*, so the plan may be incomplete:"))
        )
    blocks.append(
        context(
            f"Requested by {who(ctx.requester)} · account {esc(plan.account_id)} · plan `{esc(ctx.plan_id)}`"
            + (f" · expires {slack_date(ctx.expires_at)}" if ctx.expires_at and status is None else "")
        )
    )
    if status is not None:
        blocks.append(section(status))
    elif buttons and plan.to_delete:
        blocks.append(actions(plan, ctx.plan_id))
    elif not plan.to_delete:
        blocks.append(section("Nothing will be deleted: everything found is kept."))
    return blocks, truncated


@dataclass(frozen=True)
class _Labelled:
    label: str


def problems_text(plan: Plan, title: str) -> str:
    lines = [f"• {esc(one_line(str(p)))}" for p in plan.problems]
    return fit_lines(title, lines, [_Labelled("problem")] * len(lines), "")[0]


def plan_id_of_block(block_id: str) -> str:
    """The plan id an actions block carries in its block_id ("" when it is not one of ours)."""
    head, sep, plan_id = block_id.partition(":")
    return plan_id if sep and head == ACTIONS_BLOCK else ""


def actions(plan: Plan, plan_id: str) -> Block:
    """Delete (red), Cancel, Snooze 1 day, and Keep until… (a datepicker: picking a date is the answer)."""
    n = len(plan.to_delete)
    return {
        "type": "actions",
        "block_id": f"{ACTIONS_BLOCK}:{plan_id}",
        "elements": [
            {
                "type": "button",
                "action_id": DELETE_ACTION,
                "text": plain(f"Delete {plural(n, 'resource')}…", MAX_BUTTON),
                "style": "danger",
                "value": plan_id,
            },
            {"type": "button", "action_id": CANCEL_ACTION, "text": plain("Cancel", MAX_BUTTON), "value": plan_id},
            {"type": "button", "action_id": SNOOZE_ACTION, "text": plain("Snooze 1 day", MAX_BUTTON), "value": plan_id},
            {"type": "datepicker", "action_id": KEEP_UNTIL_ACTION, "placeholder": plain("Keep until…", 150)},
        ],
    }


def nothing_found_blocks(plan: Plan, ctx: PlanContext) -> list[Block]:
    blocks = [
        section(
            f":sparkles: *Nothing to clean* for `{esc(plan.profile)}` in {', '.join(plan.regions)}: "
            "no resource of the workshop was found. Nothing costs money here, and nothing will be deleted."
        )
    ]
    if plan.problems:
        blocks.append(section(problems_text(plan, ":warning: But some parts could not be checked:")))
    blocks.append(context(f"Requested by {who(ctx.requester)} · account {esc(plan.account_id)}"))
    return blocks


def full_list_messages(plan: Plan) -> list[list[Block]]:
    """Every resource of the plan, for the thread, in as many messages as needed."""
    if plan.is_fleet:
        from bot.slack.blocks import fleet as fleet_blocks

        return fleet_blocks.detail_messages(plan)
    lines = []
    for service, items in group_by_service(plan.to_delete).items():
        lines.append(f"*{esc(service)}* ({len(items)}), to delete:")
        lines.extend(resource_line(r) for r in items)
    if plan.kept:
        lines.append(f"*Kept, not deleted* ({len(plan.kept)}):")
        lines.extend(kept_line(r) for r in plan.kept)
    return _messages([section(t) for t in pack(lines)], title="Full list of the plan")


# -- statuses shown on the scan message once handled ------------------------------------------------------------


def status_running(approver: str) -> str:
    return f":hourglass_flowing_sand: *Approved by <@{esc(approver)}>*, deleting now. Progress is in the thread."


def status_cancelled(actor: str) -> str:
    return f":no_entry_sign: *Cancelled by <@{esc(actor)}>.* Nothing was deleted."


def status_snoozed(actor: str, until: float, scheduled: bool) -> str:
    then = "The next reminder comes" if scheduled else "Reminders of this workshop here come back"
    return (
        f":zzz: *Snoozed for a day by <@{esc(actor)}>.* Nothing was deleted. {then} {slack_date(until)} at the "
        "earliest; `/cleanup` still scans at any time."
    )


def status_kept(actor: str, until: str, n: int) -> str:
    return (
        f":lock: *Kept until {esc(until)} by <@{esc(actor)}>.* Nothing was deleted. Scans show these "
        f"{plural(n, 'resource')} as kept, and reminders do not offer them before that date has passed."
    )


def approvers_mention_text(approvers: Iterable[str], intervals: int, every: str) -> str:
    """The one thread reply that mentions the approvers when a reminder went unanswered for `intervals`."""
    names = ", ".join(f"<@{esc(a)}>" for a in sorted(approvers))
    return (
        f":bell: {names}: nobody has answered this reminder for {plural(intervals, 'interval')} (every {esc(every)}). "
        "Delete these resources, snooze the reminder for a day, or keep them until a date with the buttons above."
    )


def status_expired() -> str:
    return ":hourglass: *This plan expired* before anyone approved it. Nothing was deleted; run `/cleanup` again."


def status_finished(approver: str, results: Sequence[ResourceResult], seconds: float, cost_stopped: float) -> str:
    counts = Counter(r.status for r in results)
    failed = counts.get("failed", 0)
    icon = ":white_check_mark:" if not failed else ":warning:"
    return (
        f"{icon} *Cleanup finished* (approved by <@{esc(approver)}>, {duration(seconds)}): {counts_text(counts)}. "
        f"Cost stopped: about {format_monthly(cost_stopped)}. Details are in the thread."
    )


def status_failed(approver: str, reason: str) -> str:
    return f":x: *Cleanup failed* (approved by <@{esc(approver)}>): {esc(clip(reason, 2000))}"
