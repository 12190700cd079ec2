"""What cleanups saved, per calendar month (UTC), from what the state store recorded.

- stopped: the monthly cost (USD per month, the price table's estimate at scan time) of every resource a finished
  cleanup (done or failed) deleted, counted in the month the run finished;
- still running: the monthly cost of the resources scheduled reminders found to delete in that month that no
  cleanup had deleted by the end of the month (by now, for the current month). A resource found by several
  reminders counts once, at its latest price.

A plain function of the records and a clock: no AWS, no Slack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.plan import GONE, Plan, ResourceResult, ResultStatus, split_key
from bot.core.state.records import PlanRecord
from bot.core.state.store import StateStore

Activity = Iterable[tuple[PlanRecord, Mapping[str, ResourceResult]]]


@dataclass(frozen=True)
class MonthSavings:
    month: str  # "2026-11"
    stopped: float  # USD per month that cleanups finished in the month stopped
    runs: int  # cleanups finished in the month
    still_running: float  # USD per month still running on what reminders found in the month
    found: int  # how many resources that is


def month_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m")


def months_back(now: float, count: int) -> list[str]:
    """The last `count` months, oldest first, ending with the month of `now`."""
    current = datetime.fromtimestamp(now, UTC)
    year, month = current.year, current.month
    out = []
    for _ in range(max(1, count)):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def start_of(month: str) -> float:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1, tzinfo=UTC).timestamp()


def _end_of(month: str) -> float:
    year, number = (int(part) for part in month.split("-"))
    year, number = (year, number + 1) if number < 12 else (year + 1, 1)
    return datetime(year, number, 1, tzinfo=UTC).timestamp()


def stopped_by(plan: Plan, results: Mapping[str, ResourceResult]) -> float:
    """What one run stopped: the monthly cost of what it deleted (unknown prices count as nothing)."""
    return sum(
        r.monthly_cost or 0.0
        for r in plan.to_delete
        if r.key in results and results[r.key].status == ResultStatus.DELETED
    )


def _ident(plan: Plan, key: str) -> tuple[str, str]:
    account, local = split_key(key)
    return account or plan.account_id, local


def monthly_savings(activity: Activity, now: float, months: int, reminder_requester: str) -> list[MonthSavings]:
    """One row per month of the last `months` (oldest first), from `activity` (plans with their results)."""
    wanted = months_back(now, months)
    stopped: dict[str, float] = dict.fromkeys(wanted, 0.0)
    runs: dict[str, int] = dict.fromkeys(wanted, 0)
    deleted_at: dict[tuple[str, str], list[float]] = {}
    found: dict[str, dict[tuple[str, str], tuple[float, float]]] = {m: {} for m in wanted}  # -> (when, cost)
    for record, results in activity:
        plan = record.plan
        if record.status in ("done", "failed") and record.finished_at is not None:
            month = month_of(record.finished_at)
            if month in stopped:
                stopped[month] += stopped_by(plan, results)
                runs[month] += 1
            for key, result in results.items():
                if result.status in GONE:
                    deleted_at.setdefault(_ident(plan, key), []).append(record.finished_at)
        if record.requester == reminder_requester:
            month = month_of(record.created_at)
            if month not in found:
                continue
            for r in plan.to_delete:
                ident = _ident(plan, r.key)
                seen = found[month].get(ident)
                if seen is None or record.created_at >= seen[0]:
                    found[month][ident] = (record.created_at, r.monthly_cost or 0.0)
    rows = []
    for month in wanted:
        end = min(now, _end_of(month))
        alive = [
            cost
            for ident, (when, cost) in found[month].items()
            if not any(when <= at <= end for at in deleted_at.get(ident, ()))
        ]
        rows.append(MonthSavings(month, round(stopped[month], 2), runs[month], round(sum(alive), 2), len(alive)))
    return rows


def savings_report(store: StateStore, now: float, months: int, reminder_requester: str) -> list[MonthSavings]:
    """`monthly_savings` of what `store` recorded since the first of the months asked for."""
    since = start_of(months_back(now, months)[0])
    return monthly_savings(store.activity_since(since), now, months, reminder_requester)
