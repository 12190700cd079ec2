"""Block Kit builders: pure functions, plan (and results) in, blocks out. No Slack calls, no state.

Every builder stays inside Block Kit's limits however many resources it is given: 50 blocks a message,
100 a modal, 3000 characters a text, 150 a header, 75 a button label, 10 fields a section. Long lists are
summarised ("and 112 more SageMaker endpoints") and the full list goes to the thread with `full_list_messages`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.plan import GONE, Plan, PlannedResource, ResourceResult
from bot.core.pricing import cost_since_created, format_monthly, format_usd

Block = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_MODAL_TITLE = 24
# Leave a little room in messages so a status line can always be added.
MESSAGE_BLOCK_BUDGET = 45

DELETE_ACTION = "cleanup_delete"
CANCEL_ACTION = "cleanup_cancel"
SNOOZE_ACTION = "cleanup_snooze"
KEEP_UNTIL_ACTION = "cleanup_keep_until"  # a datepicker: its block_actions carry selected_date, not a value
ACTIONS_BLOCK = "cleanup_actions"  # the buttons' block; its block_id is ACTIONS_BLOCK:<plan id>
CONFIRM_CALLBACK = "cleanup_confirm"
CONFIRM_BLOCK = "confirm_block"
CONFIRM_INPUT = "confirm_input"
CONFIRM_WORD = "confirm"
# The requester recorded for plans a scheduled reminder posted: never a Slack user ID, so it never matches one
# (anyone eligible may approve) and is never rendered as a mention.
REMINDER_REQUESTER = "scheduled-reminder"

RESULT_ICONS = {"deleted": "✅", "already_gone": "☑️", "skipped": "⏭️", "failed": "❌"}
RESULT_WORDS = {"deleted": "deleted", "already_gone": "already gone", "skipped": "skipped", "failed": "failed"}
KEEP_WORDS = {
    "protected": "protected",
    "guarded": "protected by AWS",
    "in-use": "in use",
    "depends-on-kept": "needed by a kept resource",
    "unchecked": "could not be checked",
    "unprovable": "cannot prove it is unused",
    "shared": "shared",
    "kept-until": "kept until",
}


# -- text helpers -----------------------------------------------------------------------------------------------


def esc(text: str) -> str:
    """Escape the three characters mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def plain(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_TEXT)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_TEXT)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER)}


def divider() -> Block:
    return {"type": "divider"}


def slack_date(epoch: float) -> str:
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))
    return f"<!date^{int(epoch)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def who(user: str) -> str:
    """A requester for people: a mention, or "a scheduled reminder" for plans the schedule posted."""
    return "a scheduled reminder" if user == REMINDER_REQUESTER else f"<@{esc(user)}>"


def age(seconds: float) -> str:
    """How old, roughly: "40 minutes", "26 hours", "3 days"."""
    minutes = max(0.0, seconds) / 60
    if minutes < 120:
        return plural(round(minutes), "minute")
    if minutes < 48 * 60:
        return plural(round(minutes / 60), "hour")
    return plural(round(minutes / 1440), "day")


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def cost_text(plan: Plan) -> str:
    text = f"about *{format_monthly(plan.monthly_cost)}* while alive"
    if plan.unknown_cost_count:
        text += f" (+{plural(plan.unknown_cost_count, 'resource')} with an unknown price)"
    return text


def _label_plural(label: str, n: int) -> str:
    return (
        label if n == 1 else (label[:-1] + "ies" if label.endswith("y") and not label.endswith("ey") else label + "s")
    )


def more_text(resources: Iterable[PlannedResource | ResourceResult]) -> str:
    counts = Counter(r.label for r in resources)
    parts = [f"{n} more {_label_plural(label, n)}" for label, n in counts.most_common()]
    return "and " + ", ".join(parts)


def pack(lines: Sequence[str], limit: int = MAX_TEXT) -> list[str]:
    """Join lines into as few texts of at most `limit` characters as possible, in order."""
    return [text for text, _ in pack_counted(lines, limit)]


def pack_counted(lines: Sequence[str], limit: int = MAX_TEXT) -> list[tuple[str, int]]:
    """Like `pack`, with how many of the lines each text holds."""
    chunks: list[tuple[str, int]] = []
    current, count = "", 0
    for line in lines:
        line = clip(line, limit)
        if count and len(current) + 1 + len(line) > limit:
            chunks.append((current, count))
            current, count = line, 1
        else:
            current, count = (f"{current}\n{line}" if count else line), count + 1
    if count:
        chunks.append((current, count))
    return chunks


def one_line(text: str) -> str:
    return " ".join(text.split())


def fit_lines(
    title: str, lines: Sequence[str], extra: Sequence[Any], tail: str, limit: int = MAX_TEXT
) -> tuple[str, bool]:
    """`title` plus as many lines as fit in `limit`, then "and N more ..." for the rest (`extra[i]` is line i's
    item, with a `.label`). Also says whether lines were left out."""
    text = title
    for i, line in enumerate(lines):
        rest = extra[i + 1 :]
        reserve = len(more_text(rest)) + len(tail) + 8 if rest else 0
        if len(text) + 1 + len(line) + reserve > limit:
            return clip(f"{text}\n_{more_text(extra[i:])}{tail}_", limit), True
        text = f"{text}\n{line}"
    return clip(text, limit), False


def group_by_service(resources: Iterable[PlannedResource]) -> dict[str, list[PlannedResource]]:
    groups: dict[str, list[PlannedResource]] = {}
    for r in resources:
        groups.setdefault(r.service, []).append(r)
    return groups


def _name(label: str, name: str, region: str) -> str:
    shown = esc(one_line(name).replace("`", "'"))
    return f"{esc(one_line(label))} `{shown}` · {esc(region)}"


def resource_line(r: PlannedResource) -> str:
    cost = "" if r.monthly_cost is None and not r.cost_basis else f" · {format_monthly(r.monthly_cost)}"
    contents = r.contents_text()
    held = f"\n    _{esc(one_line(clip(contents, 600)))}_" if contents else ""
    return f"• {_name(r.label, r.name, r.region)} · {esc(one_line(clip(r.reason, 300)))}{cost}{held}"


def kept_line(r: PlannedResource) -> str:
    why = KEEP_WORDS.get(r.keep or "", r.keep or "kept")
    until, by = str(r.details.get("keep_until") or ""), str(r.details.get("kept_by") or "")
    if r.keep == "kept-until" and until and by:
        return f"• {_name(r.label, r.name, r.region)} · *kept until {esc(until)}* by <@{esc(by)}>"
    if r.keep == "kept-until" and until:
        why = f"kept until {esc(until)}"
    return f"• {_name(r.label, r.name, r.region)} · *{why}*: {esc(one_line(clip(r.keep_reason, 400)))}"


def result_line(r: ResourceResult) -> str:
    line = (
        f"{RESULT_ICONS.get(r.status, '•')} {_name(r.label, r.name, r.region)} · {RESULT_WORDS.get(r.status, r.status)}"
    )
    if r.error_code:
        line += f" `{esc(one_line(r.error_code))}`"
    if r.reason:
        line += f": {esc(one_line(clip(r.reason, 400)))}"
    return line


# -- the plan message -------------------------------------------------------------------------------------------


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
    from bot.slack import fleet_blocks

    return fleet_blocks.accounts_label(plan)


def plan_text(plan: Plan) -> str:
    """The notification fallback text of the plan message."""
    if not plan.resources:
        return f"Nothing to clean for {plan.profile}"
    return f"Cleanup plan for {plan.profile}: {plural(len(plan.to_delete), 'resource')} to delete"


def needs_full_list(plan: Plan) -> bool:
    """True when the plan message had to summarise, so the full list should follow in the thread."""
    if plan.is_fleet:  # several accounts: each one's detail goes to the thread
        from bot.slack import fleet_blocks

        return fleet_blocks.needs_full_list(plan)
    return _plan_blocks(plan, PlanContext("x" * 16, "U0", 0.0), None, True)[1]


def plan_blocks(plan: Plan, ctx: PlanContext, status: str | None = None, buttons: bool = True) -> list[Block]:
    """The scan result. `status` (a mrkdwn line) replaces the buttons once the plan is handled."""
    if plan.is_fleet:  # several accounts: a line with each one's subtotal, then the total
        from bot.slack import fleet_blocks

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
        from bot.slack import fleet_blocks

        return fleet_blocks.detail_messages(plan)
    lines = []
    for service, items in group_by_service(plan.to_delete).items():
        lines.append(f"*{esc(service)}* ({len(items)}), to delete:")
        lines.extend(resource_line(r) for r in items)
    if plan.kept:
        lines.append(f"*Kept, not deleted* ({len(plan.kept)}):")
        lines.extend(kept_line(r) for r in plan.kept)
    return _messages([section(t) for t in pack(lines)], title="Full list of the plan")


def _messages(body: list[Block], title: str) -> list[list[Block]]:
    """Split blocks into messages of at most MESSAGE_BLOCK_BUDGET blocks; a title on the first one."""
    per = MESSAGE_BLOCK_BUDGET - 1
    chunks = [body[i : i + per] for i in range(0, len(body), per)] or [[]]
    out: list[list[Block]] = []
    for i, chunk in enumerate(chunks):
        label = title if len(chunks) == 1 else f"{title} ({i + 1}/{len(chunks)})"
        out.append([context(label), *chunk])
    return out


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


def counts_text(counts: Mapping[Any, int]) -> str:
    order = ["deleted", "already_gone", "skipped", "failed"]
    return ", ".join(f"{counts.get(s, 0)} {RESULT_WORDS[s]}" for s in order)


# -- the confirmation modal -------------------------------------------------------------------------------------


def confirm_modal(plan: Plan, ctx: PlanContext) -> dict[str, Any]:
    """The modal a teammate types `confirm` in. Only the plan id travels, in private_metadata."""
    if plan.is_fleet:
        from bot.slack import fleet_blocks

        return fleet_blocks.confirm_modal(plan, ctx)
    n = len(plan.to_delete)
    blocks: list[Block] = [
        section(
            f"{_capital(who(ctx.requester))} asks to delete *{plural(n, 'resource')}* in account "
            f"{esc(plan.account_id)} "
            f"({', '.join(plan.regions)}), {cost_text(plan)}. This cannot be undone."
        )
    ]
    lines: list[str] = []
    items: list[Any] = []
    for service, rs in group_by_service(plan.to_delete).items():
        lines.append(f"*{esc(service)}*")
        items.append(_Labelled("heading"))
        for r in rs:
            lines.append(resource_line(r))
            items.append(r)
    budget = MAX_MODAL_BLOCKS - 5
    packed = pack_counted(lines)
    texts = [t for t, _ in packed]
    if len(packed) > budget:
        shown_lines = sum(n for _, n in packed[: budget - 1])
        rest = [x for x in items[shown_lines:] if isinstance(x, PlannedResource)]
        texts = [*texts[: budget - 1], f"_{more_text(rest)}; the full list is in the thread_"]
    blocks.extend(section(t) for t in texts)
    if plan.kept:
        blocks.append(
            context(clip(f"{plural(len(plan.kept), 'resource')} found will be kept (see the message).", MAX_TEXT))
        )
    blocks.append(
        {
            "type": "input",
            "block_id": CONFIRM_BLOCK,
            "label": plain(f"Type {CONFIRM_WORD} to delete {plural(n, 'resource')}", 2000),
            "element": {
                "type": "plain_text_input",
                "action_id": CONFIRM_INPUT,
                "placeholder": plain(CONFIRM_WORD, 150),
                "max_length": 100,
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": CONFIRM_CALLBACK,
        "private_metadata": ctx.plan_id,
        "title": plain("Confirm cleanup", MAX_MODAL_TITLE),
        "submit": plain("Delete", MAX_MODAL_TITLE),
        "close": plain("Cancel", MAX_MODAL_TITLE),
        "blocks": blocks,
    }


# -- progress and results in the thread -------------------------------------------------------------------------


def progress_blocks(
    plan: Plan, results: Mapping[str, ResourceResult], current: str = "", finished: bool = False
) -> list[Block]:
    """The one progress message of a run, updated in place."""
    total = len(plan.to_delete)
    done = len([k for k in results if k in {r.key for r in plan.to_delete}])
    counts = Counter(r.status for r in results.values())
    bar_len = 20
    filled = bar_len if not total else round(bar_len * done / total)
    bar = "█" * filled + "░" * (bar_len - filled)
    head = "Deletion finished" if finished else "Deleting"
    blocks: list[Block] = [section(f"*{head}:* {done}/{total} handled `{bar}`\n{counts_text(counts)}")]
    recent = [result_line(r) for r in list(results.values())[-10:]]
    if recent:
        blocks.append(section("Latest:\n" + "\n".join(recent)))
    if current and not finished:
        blocks.append(context(esc(clip(current, 2000))))
    return blocks


def progress_text(plan: Plan, results: Mapping[str, ResourceResult], finished: bool = False) -> str:
    head = "Deletion finished" if finished else "Deleting"
    return f"{head}: {len(results)}/{len(plan.to_delete)} handled"


def summary_messages(
    plan: Plan, results: Sequence[ResourceResult], seconds: float, approver: str, cost_stopped: float
) -> list[list[Block]]:
    """The final report: one line per resource (deleted, already gone, skipped, failed with the AWS error)."""
    if plan.is_fleet:  # per account
        from bot.slack import fleet_blocks

        return fleet_blocks.summary_messages(plan, results, seconds, approver, cost_stopped)
    counts = Counter(r.status for r in results)
    intro = section(
        f"*Cleanup of {esc(plan.profile)} finished* in {duration(seconds)}, approved by <@{esc(approver)}>: "
        f"{counts_text(counts)}. Cost stopped: about *{format_monthly(cost_stopped)}*."
    )
    lines: list[str] = []
    for status in ("failed", "skipped", "deleted", "already_gone"):
        group = [r for r in results if r.status == status]
        if group:
            lines.append(f"*{RESULT_WORDS[status].capitalize()}* ({len(group)})")
            lines.extend(result_line(r) for r in group)
    missing = [r for r in plan.to_delete if r.key not in {x.key for x in results}]
    if missing:
        lines.append(f"*Not handled* ({len(missing)})")
        lines.extend(f"• {esc(r.label)} `{esc(r.name)}` · {esc(r.region)}" for r in missing)
    messages = _messages([section(t) for t in pack(lines)], title="Results")
    messages[0].insert(0, intro)
    return messages


def summary_text(results: Sequence[ResourceResult]) -> str:
    return "Cleanup finished: " + counts_text(Counter(r.status for r in results))


def cost_stopped(plan: Plan, results: Iterable[ResourceResult]) -> float:
    deleted = {r.key for r in results if r.status == "deleted"}
    return sum(r.monthly_cost or 0.0 for r in plan.to_delete if r.key in deleted)


# -- small conversations ----------------------------------------------------------------------------------------


def usage_blocks(profiles: Mapping[str, str], default_regions: Sequence[str]) -> list[Block]:
    names = "\n".join(f"• `{esc(n)}`: {esc(d)}" for n, d in sorted(profiles.items())) or "• (none)"
    return [
        section(
            "*/cleanup* finds a workshop's AWS resources and, once a teammate types `confirm`, deletes them.\n"
            "• `/cleanup <profile> [region ...] [account-id ...]`: scan and post a plan to this channel "
            f"(default regions: {', '.join(default_regions)}; with CLEANUP_ACCOUNTS, every configured account "
            "unless some are named)\n"
            "• `/cleanup history`: the last runs\n"
            "• `/cleanup savings`: what cleanups saved, month by month\n"
            "• `/cleanup help`: this message"
        ),
        section(clip("*Profiles*\n" + names, MAX_TEXT)),
    ]


def history_blocks(entries: Sequence[Any]) -> list[Block]:
    """`entries` are bot.core.state.HistoryEntry values (record + result counts)."""
    if not entries:
        return [section("No cleanup has been requested yet.")]
    lines = []
    for entry in entries:
        rec = entry.record
        asked = who(rec.requester) + (f", approved by <@{esc(rec.approver)}>" if rec.approver else "")
        result = "nothing to clean" if rec.status == "cancelled" and not rec.plan.to_delete else rec.status
        if entry.counts:
            result += f": {counts_text(entry.counts)}"
        lines.append(f"• {slack_date(rec.created_at)} · `{esc(rec.profile)}` · asked by {asked} · *{esc(result)}*")
    return [section("*Last cleanups*"), *(section(t) for t in pack(lines)[:20])]


def not_in_channel_text(channel: str) -> str:
    return (
        f"I can't post the plan in <#{esc(channel)}> because I'm not a member of it. "
        "Invite me with `/invite @dogcat-cleanup` (or the channel's settings → Integrations → Add apps), "
        "then run the command again."
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- scheduled reminders and the channel feed -------------------------------------------------------------------


def reminder_text(plan: Plan) -> str:
    """The banner of a plan a scheduled reminder posted: how old the stack is and what it has cost so far.

    Worked out at the scan's time (`plan.created_at`) from each resource's creation time and monthly price.
    """
    now = plan.created_at
    spent = [cost_since_created(r.monthly_cost, r.created_at, now) for r in plan.to_delete]
    total = sum(c for c in spent if c is not None)
    unknown = sum(1 for c in spent if c is None)
    text = ":alarm_clock: *Scheduled reminder*: this workshop stack is still in the account"
    created = [r.created_at for r in plan.to_delete if r.created_at is not None]
    if created:
        oldest = min(created)
        text += f"; its oldest resource was created {slack_date(oldest)}, {age(now - oldest)} before this reminder"
    text += f". Since it was created it has cost about *{format_usd(total)}*"
    if unknown:
        text += f" (not counting {plural(unknown, 'resource')} whose price or creation time is unknown)"
    return text + (
        ", estimated from creation times and the price table. "
        "Delete it with the button below, snooze the reminder for a day, or keep it until a date."
    )


def _safe_url(url: str) -> bool:
    """A plain https URL that can sit in a mrkdwn link as it is."""
    return url.startswith("https://") and not any(c in url for c in " <>|\n")


def _alive_line(r: PlannedResource, result: ResourceResult | None) -> str:
    state = "not handled" if result is None else RESULT_WORDS.get(result.status, result.status)
    if result is not None and result.error_code:
        state += f" `{esc(one_line(clip(result.error_code, 100)))}`"
    return f"• {_name(r.label, r.name, r.region)} · {format_monthly(r.monthly_cost)} · {state}"


def feed_blocks(
    plan: Plan,
    results: Sequence[ResourceResult],
    status: str,
    requester: str,
    approver: str,
    channel: str,
    permalink: str,
    plan_id: str,
    error: str = "",
    month_total: MonthTotal | None = None,
) -> list[Block]:
    """The one short notice a finished run (done or failed) posts to the notification channel.

    Says who asked and approved, the counts and the cost stopped, and links to the run's thread; when anything
    approved is still there (failed, skipped, not reached) it lists it, costliest first, with what it still costs.
    """
    counts = Counter(r.status for r in results)
    word, icon = ("done", ":white_check_mark:") if status == "done" else ("failed", ":warning:")
    head = (
        f"{icon} *Cleanup of `{esc(one_line(plan.profile))}` {word}* in {esc(', '.join(plan.regions))} "
        f"({esc(accounts_label(plan))})\n"
        f"Asked by {who(requester)}, approved by <@{esc(approver)}> · {counts_text(counts)} · "
        f"cost stopped: about *{format_monthly(cost_stopped(plan, results))}*"
    )
    out: list[Block] = [section(head)]
    if error:
        out.append(section(f":x: The run stopped with an error: `{esc(one_line(clip(error, 500)))}`"))
    by_key = {r.key: r for r in results}
    alive = [r for r in plan.to_delete if by_key.get(r.key) is None or by_key[r.key].status not in GONE]
    if alive:
        alive.sort(key=lambda r: -(r.monthly_cost or 0.0))
        unknown = sum(1 for r in alive if r.monthly_cost is None)
        title = (
            f":money_with_wings: *Still alive* ({len(alive)}), still costing about "
            f"*{format_monthly(sum(r.monthly_cost or 0.0 for r in alive))}*"
            + (f" (+{plural(unknown, 'resource')} with an unknown price)" if unknown else "")
            + ":"
        )
        lines = [_alive_line(r, by_key.get(r.key)) for r in alive]
        out.append(section(fit_lines(title, lines, alive, "; see the thread")[0]))
    if month_total is not None:
        out.append(context(month_total_text(month_total)))
    thread = f"<{permalink}|Open the thread> in" if _safe_url(permalink) else "The thread is in"
    out.append(context(f"{thread} <#{esc(channel)}> · plan `{esc(plan_id)}`"))
    return out


@dataclass(frozen=True)
class MonthTotal:
    """The running total of a month, for the feed notice."""

    month: str  # "2026-11"
    stopped: float  # USD per month
    runs: int


def month_total_text(total: MonthTotal) -> str:
    return (
        f":chart_with_upwards_trend: So far in {esc(total.month)}: {plural(total.runs, 'cleanup')} stopped about "
        f"*{format_monthly(total.stopped)}*"
    )


# -- /cleanup savings -------------------------------------------------------------------------------------------


def savings_blocks(rows: Sequence[Any]) -> list[Block]:
    """`rows` are bot.core.savings.MonthSavings, oldest first: a short table, one row a month."""
    table_rows: list[list[dict[str, Any]]] = [
        [_cell("Month"), _cell("Cost stopped"), _cell("Cleanups"), _cell("Still running"), _cell("Found")]
    ]
    for row in rows[-12:]:
        table_rows.append(
            [
                _cell(row.month),
                _cell(format_monthly(row.stopped)),
                _cell(str(row.runs)),
                _cell(format_monthly(row.still_running)),
                _cell(str(row.found)),
            ]
        )
    total = sum(r.stopped for r in rows)
    return [
        section(
            f"*What cleanups saved* (last {plural(len(rows), 'month')}): about *{format_monthly(total)}* stopped "
            "by finished cleanups."
        ),
        {
            "type": "table",
            "column_settings": [{"align": "left"}] + [{"align": "right"}] * 4,
            "rows": table_rows,
        },
        context(
            "Cost stopped: the monthly price of what cleanups finished that month deleted. Still running: the "
            "monthly price of what scheduled reminders found that month and no cleanup had deleted by its end. "
            "Estimates from the price table, in US dollars per month."
        ),
    ]


def savings_text(rows: Sequence[Any]) -> str:
    """The notification fallback text of the savings table."""
    total = format_monthly(sum(r.stopped for r in rows))
    return f"What cleanups saved: about {total} stopped in {plural(len(rows), 'month')}"


def _cell(text: str) -> dict[str, Any]:
    return {"type": "raw_text", "text": clip(text, 200)}


def feed_text(plan: Plan, results: Sequence[ResourceResult], status: str) -> str:
    """The notice's notification fallback text."""
    counts = Counter(r.status for r in results)
    word = "done" if status == "done" else "failed"
    return (
        f"Cleanup of {plan.profile} {word}: {counts_text(counts)}; "
        f"cost stopped about {format_monthly(cost_stopped(plan, results))}"
    )
