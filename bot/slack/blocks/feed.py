"""Scheduled reminders and the channel feed's notices."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.plan import GONE, Plan, PlannedResource, ResourceResult
from bot.i18n import DEFAULT_LANGUAGE, translator
from bot.slack.blocks.common import (
    Block,
    _name,
    clip,
    context,
    counts_text,
    esc,
    fit_lines,
    one_line,
    result_word,
    section,
    who,
)
from bot.slack.blocks.plan import accounts_label
from bot.slack.blocks.progress import cost_stopped


def _safe_url(url: str) -> bool:
    """A plain https URL that can sit in a mrkdwn link as it is."""
    return url.startswith("https://") and not any(c in url for c in " <>|\n")


def _alive_line(r: PlannedResource, result: ResourceResult | None, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    state = t._("not handled") if result is None else result_word(result.status, lang)
    if result is not None and result.error_code:
        state += f" `{esc(one_line(clip(result.error_code, 100)))}`"
    return f"• {_name(r.label, r.name, r.region, lang)} · {t.monthly(r.monthly_cost)} · {state}"


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
    lang: str = DEFAULT_LANGUAGE,
) -> list[Block]:
    """The one short notice a finished run (done or failed) posts to the notification channel.

    Says who asked and approved, the counts and the cost stopped, and links to the run's thread; when anything
    approved is still there (failed, skipped, not reached) it lists it, costliest first, with what it still costs.
    """
    t = translator(lang)
    counts = Counter(r.status for r in results)
    params = {
        "profile": esc(one_line(plan.profile)),
        "regions": esc(", ".join(plan.regions)),
        "accounts": esc(accounts_label(plan, lang)),
    }
    if status == "done":
        head = t._(":white_check_mark: *Cleanup of `{profile}` done* in {regions} ({accounts})", **params)
    else:
        head = t._(":warning: *Cleanup of `{profile}` failed* in {regions} ({accounts})", **params)
    head += "\n" + t._(
        "Asked by {requester}, approved by {approver} · {counts} · cost stopped: about *{cost}*",
        requester=who(requester, lang),
        approver=f"<@{esc(approver)}>",
        counts=counts_text(counts, lang),
        cost=t.monthly(cost_stopped(plan, results)),
    )
    out: list[Block] = [section(head)]
    if error:
        out.append(section(t._(":x: The run stopped with an error: `{error}`", error=esc(one_line(clip(error, 500))))))
    by_key = {r.key: r for r in results}
    alive = [r for r in plan.to_delete if by_key.get(r.key) is None or by_key[r.key].status not in GONE]
    if alive:
        alive.sort(key=lambda r: -(r.monthly_cost or 0.0))
        unknown = sum(1 for r in alive if r.monthly_cost is None)
        title = t._(
            ":money_with_wings: *Still alive* ({n}), still costing about *{cost}*",
            n=t.number(len(alive)),
            cost=t.monthly(sum(r.monthly_cost or 0.0 for r in alive)),
        )
        if unknown:
            title += t.n_(" (+{n} resource with an unknown price)", " (+{n} resources with an unknown price)", unknown)
        lines = [_alive_line(r, by_key.get(r.key), lang) for r in alive]
        out.append(section(fit_lines(title + ":", lines, alive, t._("; see the thread"), lang=lang)[0]))
    if month_total is not None:
        out.append(context(month_total_text(month_total, lang)))
    where = {"channel": f"<#{esc(channel)}>", "id": esc(plan_id)}
    if _safe_url(permalink):
        out.append(context(t._("<{link}|Open the thread> in {channel} · plan `{id}`", link=permalink, **where)))
    else:
        out.append(context(t._("The thread is in {channel} · plan `{id}`", **where)))
    return out


@dataclass(frozen=True)
class MonthTotal:
    """The running total of a month, for the feed notice."""

    month: str  # "2026-11"
    stopped: float  # USD per month
    runs: int


def month_total_text(total: MonthTotal, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    return t._(
        ":chart_with_upwards_trend: So far in {month}: {cleanups} stopped about *{cost}*",
        month=esc(total.month),
        cleanups=t.n_("{n} cleanup", "{n} cleanups", total.runs),
        cost=t.monthly(total.stopped),
    )


def feed_text(plan: Plan, results: Sequence[ResourceResult], status: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The notice's notification fallback text."""
    t = translator(lang)
    params = {
        "profile": plan.profile,
        "counts": counts_text(Counter(r.status for r in results), lang),
        "cost": t.monthly(cost_stopped(plan, results)),
    }
    if status == "done":
        return t._("Cleanup of {profile} done: {counts}; cost stopped about {cost}", **params)
    return t._("Cleanup of {profile} failed: {counts}; cost stopped about {cost}", **params)
