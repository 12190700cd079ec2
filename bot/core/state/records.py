"""What the state store hands out: immutable snapshots of rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from bot.core.plan import Plan


class PlanStatus(StrEnum):
    PENDING = "pending"  # posted, waiting for a teammate's confirm
    APPROVED = "approved"  # confirmed; a runner will start it
    RUNNING = "running"  # a runner holds its lease and deletes
    DONE = "done"
    FAILED = "failed"  # the run could not finish (not: some resources failed; that is in its results)
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# The plan lifecycle, as one table: the only transitions the store makes (StateStore refuses any other).
# A running plan "moves" to running again when another runner takes over its lapsed lease. An approved plan whose
# run could not start within the plan's lifetime (the app was down) expires: it needs a new approval.
TRANSITIONS: dict[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.PENDING: frozenset({PlanStatus.APPROVED, PlanStatus.CANCELLED, PlanStatus.EXPIRED}),
    PlanStatus.APPROVED: frozenset({PlanStatus.RUNNING, PlanStatus.EXPIRED}),
    PlanStatus.RUNNING: frozenset({PlanStatus.RUNNING, PlanStatus.DONE, PlanStatus.FAILED}),
    PlanStatus.DONE: frozenset(),
    PlanStatus.FAILED: frozenset(),
    PlanStatus.CANCELLED: frozenset(),
    PlanStatus.EXPIRED: frozenset(),
}
ENDED_STATUSES: frozenset[str] = frozenset(status for status, nexts in TRANSITIONS.items() if not nexts)


class TransitionError(ValueError):
    """A state change the lifecycle does not allow: a bug in the caller, never a race (races lose the CAS)."""


def check_transition(from_status: str, to_status: str) -> None:
    if PlanStatus(to_status) not in TRANSITIONS[PlanStatus(from_status)]:
        raise TransitionError(f"a plan cannot go from {from_status} to {to_status}")


@dataclass(frozen=True)
class PlanRecord:
    id: str
    profile: str
    channel: str
    requester: str
    message_ts: str
    progress_ts: str
    plan_json: str
    status: str
    created_at: float
    expires_at: float
    approver: str
    approved_at: float | None
    started_at: float | None
    finished_at: float | None
    runner: str
    heartbeat_at: float | None
    attempts: int
    outcome: str
    # migration 4: the fencing token of the current claim (incremented by every claim and release) and the
    # process holding it, so that a process on the same host can see that the owner is gone
    lease_token: int = 0
    runner_host: str = ""
    runner_pid: int = 0
    # migration 5: when the finished run's report in Slack is overdue (database clock); None when nobody owes one
    report_due: float | None = None

    @property
    def plan(self) -> Plan:
        return Plan.from_json(self.plan_json)

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at

    @property
    def final(self) -> bool:
        return self.status in ENDED_STATUSES


@dataclass(frozen=True)
class Lease:
    """One claim of a run: whoever holds the plan's current token owns the run; every later claim fences it off."""

    plan_id: str
    runner: str
    token: int


@dataclass(frozen=True)
class ReminderState:
    key: str
    next_due: float
    owner: str
    last_run: float | None
    plan_id: str
    outcome: str
    unanswered: int = 0  # intervals in a row the offered reminder went unanswered

    def due(self, interval: float) -> float:
        """When the next run is due; a shortened interval counts from the last run at once."""
        if self.last_run is None:
            return self.next_due
        return min(self.next_due, self.last_run + interval)


@dataclass(frozen=True)
class SnoozeRecord:
    seq: int
    reminder_key: str
    until: float
    actor: str
    at: float
    plan_id: str


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: float
    plan_id: str
    actor: str
    action: str
    detail: str


@dataclass(frozen=True)
class HistoryEntry:
    record: PlanRecord
    counts: dict[str, int]
