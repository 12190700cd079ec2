"""Scheduled reminders: the banner a reminder's plan message opens with."""

from __future__ import annotations

from bot.core.plan import Plan
from bot.core.pricing import cost_since_created, format_usd
from bot.slack.blocks.common import age, plural, slack_date


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
