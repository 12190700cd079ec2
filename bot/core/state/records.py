"""What the state store hands out: immutable snapshots of rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from bot.core.plan import Plan

PlanStatus = Literal["pending", "approved", "running", "done", "failed", "cancelled", "expired"]
FINAL_STATUSES: frozenset[str] = frozenset({"done", "failed", "cancelled", "expired"})
FINAL_RESULTS: frozenset[str] = frozenset({"deleted", "already_gone", "skipped", "failed"})


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

    @property
    def plan(self) -> Plan:
        return Plan.from_json(self.plan_json)

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class ReminderState:
    key: str
    next_due: float
    owner: str
    last_run: float | None
    plan_id: str
    outcome: str

    def due(self, interval: float) -> float:
        """When the next run is due; a shortened interval counts from the last run at once."""
        if self.last_run is None:
            return self.next_due
        return min(self.next_due, self.last_run + interval)


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
