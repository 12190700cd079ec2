"""Scheduled reminders and the channel feed's notices."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.plan import GONE, Plan, PlannedResource, ResourceResult
from bot.core.pricing import format_monthly
from bot.slack.blocks.common import (
    RESULT_WORDS,
    Block,
    _name,
    clip,
    context,
    counts_text,
    esc,
    fit_lines,
    one_line,
    plural,
    section,
    who,
)
from bot.slack.blocks.plan import accounts_label
from bot.slack.blocks.progress import cost_stopped


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


def feed_text(plan: Plan, results: Sequence[ResourceResult], status: str) -> str:
    """The notice's notification fallback text."""
    counts = Counter(r.status for r in results)
    word = "done" if status == "done" else "failed"
    return (
        f"Cleanup of {plan.profile} {word}: {counts_text(counts)}; "
        f"cost stopped about {format_monthly(cost_stopped(plan, results))}"
    )
