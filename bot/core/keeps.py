"""Owners' answers to a plan: "keep until <date>" and "snooze 1 day", decided here from facts others report.

A resource is kept until a date when an owner said so from Slack (a stored `KeepUntil`, written through the state
store) or when it carries the tag ``cleanup:keep-until=<YYYY-MM-DD>`` (set by hand in the console; the AWS layer
reports tags as facts). It is kept through the whole of that day (UTC) and offered again from the next day on.
A stored keep and a tag on the same resource: the later date wins. A tag that is not a date keeps the resource
too (its owner meant to keep it) and says so.

Dates are calendar days in UTC; the clock is always the caller's (`today(now)`), so tests choose any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

KEEP_UNTIL_TAG = "cleanup:keep-until"
MAX_KEEP_DAYS = 90  # the furthest an owner may keep something from Slack; a tag set by hand may say any date
SNOOZE_SECONDS = 86400.0  # "Snooze 1 day": the schedule's next reminder comes this much later
UNANSWERED_INTERVALS = 3  # a reminder nobody answered for this many intervals mentions the approvers, once


@dataclass(frozen=True)
class KeepUntil:
    """An owner's "keep until": `key` is the resource's key within its account (type|region|id)."""

    key: str
    account_id: str
    until: date
    by: str  # the Slack user who asked
    at: float = 0.0  # when, epoch seconds
    plan_id: str = ""  # the plan whose message it was answered on


def today(now: float) -> date:
    return datetime.fromtimestamp(now, UTC).date()


def parse_date(text: str) -> date | None:
    """A YYYY-MM-DD date (what Slack's datepicker sends, and what the tag holds), or None."""
    value = text.strip()
    if len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def keep_date_problem(selected: str, now: float) -> str:
    """Why `selected` (a datepicker's selected_date) cannot be a keep-until date, or "" when it can."""
    picked = parse_date(selected)
    if picked is None:
        return "Pick a date (YYYY-MM-DD) to keep these resources until; nothing was changed."
    first = today(now)
    if picked <= first:
        return f"{picked.isoformat()} is not in the future. Pick a date after today; nothing was changed."
    if picked > first + timedelta(days=MAX_KEEP_DAYS):
        latest = (first + timedelta(days=MAX_KEEP_DAYS)).isoformat()
        return (
            f"{picked.isoformat()} is more than {MAX_KEEP_DAYS} days ahead. Pick a date up to {latest}; "
            "nothing was changed."
        )
    return ""


@dataclass(frozen=True)
class KeepVerdict:
    until: date | None  # None: the tag was not a date
    by: str  # who asked from Slack; "" for a tag
    reason: str  # for people, without Slack markup (the CLI shows it as it is)


def keep_verdict(tags: dict[str, str], stored: KeepUntil | None, now: float) -> KeepVerdict | None:
    """Whether a resource is kept until a date at `now`, from its tags and the stored keep; None when not."""
    day = today(now)
    tagged_text = tags.get(KEEP_UNTIL_TAG)
    tagged = parse_date(tagged_text) if tagged_text is not None else None
    if tagged_text is not None and tagged is None:
        shown = tagged_text.strip()[:40]
        return KeepVerdict(None, "", f"tagged {KEEP_UNTIL_TAG}={shown}, which is not a date (YYYY-MM-DD): kept")
    candidates: list[KeepVerdict] = []
    if tagged is not None and tagged >= day:
        candidates.append(KeepVerdict(tagged, "", f"tagged {KEEP_UNTIL_TAG}={tagged.isoformat()}"))
    if stored is not None and stored.until >= day:
        candidates.append(KeepVerdict(stored.until, stored.by, f"kept until {stored.until.isoformat()} by {stored.by}"))
    if not candidates:
        return None
    return max(candidates, key=lambda v: v.until or day)


def snooze_until(due: float, now: float) -> float:
    """When a snoozed schedule's next reminder comes: a day after it would have come (never before now + a day)."""
    return max(due, now) + SNOOZE_SECONDS
