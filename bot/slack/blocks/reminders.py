"""Scheduled reminders: the banner a reminder's plan message opens with."""

from __future__ import annotations

from bot.core.plan import Plan
from bot.core.pricing import cost_since_created
from bot.i18n import DEFAULT_LANGUAGE, translator
from bot.slack.blocks.common import age, slack_date


def reminder_text(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    """The banner of a plan a scheduled reminder posted: how old the stack is and what it has cost so far.

    Worked out at the scan's time (`plan.created_at`) from each resource's creation time and monthly price.
    """
    t = translator(lang)
    now = plan.created_at
    spent = [cost_since_created(r.monthly_cost, r.created_at, now) for r in plan.to_delete]
    total = sum(c for c in spent if c is not None)
    unknown = sum(1 for c in spent if c is None)
    text = t._(":alarm_clock: *Scheduled reminder*: this workshop stack is still in the account")
    created = [r.created_at for r in plan.to_delete if r.created_at is not None]
    if created:
        oldest = min(created)
        text += t._(
            "; its oldest resource was created {date}, {age} before this reminder",
            date=slack_date(oldest, lang),
            age=age(now - oldest, lang),
        )
    text += t._(". Since it was created it has cost about *{cost}*", cost=t.usd(total))
    if unknown:
        text += t.n_(
            " (not counting {n} resource whose price or creation time is unknown)",
            " (not counting {n} resources whose price or creation time is unknown)",
            unknown,
        )
    return text + t._(
        ", estimated from creation times and the price table. "
        "Delete it with the button below, snooze the reminder for a day, or keep it until a date."
    )
