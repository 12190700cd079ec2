"""State that survives restarts: plans, their state machine, per-resource results and an append-only audit log.

SQLite in WAL mode, one connection per thread, `busy_timeout` so that several threads and several processes can
share one file. Every state change is a compare-and-set (``UPDATE ... WHERE id = ? AND status = ?``; the caller
whose UPDATE changed one row won), so one approval starts one run even with retries, double clicks, concurrent
submissions from two teammates, or several copies of the app on the same file.

    pending --approve--> approved --start--> running --finish--> done | failed
    pending --cancel--> cancelled           pending --expire--> expired

A run's owner keeps a lease (``heartbeat_at``) fresh while it works; a run left ``running`` whose lease went stale
(its process crashed or was restarted) is claimed by exactly one other runner and resumed.

Scheduled reminders keep one row each in ``reminders``: when the next one is due, who claimed the last one and
when. Claiming is a compare-and-set on ``next_due``, so one reminder is posted per interval however many
processes share the file, and a restarted process continues the schedule from the stored last run.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.plan import Plan, ResourceResult

PlanStatus = Literal["pending", "approved", "running", "done", "failed", "cancelled", "expired"]
FINAL_STATUSES: frozenset[str] = frozenset({"done", "failed", "cancelled", "expired"})
FINAL_RESULTS: frozenset[str] = frozenset({"deleted", "already_gone", "skipped", "failed"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    id            TEXT PRIMARY KEY,
    profile       TEXT NOT NULL,
    channel       TEXT NOT NULL,
    requester     TEXT NOT NULL,
    message_ts    TEXT NOT NULL DEFAULT '',
    progress_ts   TEXT NOT NULL DEFAULT '',
    plan_json     TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL,
    approver      TEXT NOT NULL DEFAULT '',
    approved_at   REAL,
    started_at    REAL,
    finished_at   REAL,
    runner        TEXT NOT NULL DEFAULT '',
    heartbeat_at  REAL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS plans_status ON plans (status);
CREATE INDEX IF NOT EXISTS plans_created ON plans (created_at);
CREATE TABLE IF NOT EXISTS results (
    plan_id     TEXT NOT NULL REFERENCES plans (id),
    key         TEXT NOT NULL,
    label       TEXT NOT NULL,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    error_code  TEXT NOT NULL DEFAULT '',
    seconds     REAL NOT NULL DEFAULT 0,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (plan_id, key)
);
CREATE TABLE IF NOT EXISTS audit (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      REAL NOT NULL,
    plan_id TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS reminders (
    key        TEXT PRIMARY KEY,            -- profile@channel
    next_due   REAL NOT NULL,
    owner      TEXT NOT NULL DEFAULT '',    -- the process that claimed the last run
    last_run   REAL,                        -- when the last run was claimed (the scheduler's clock)
    plan_id    TEXT NOT NULL DEFAULT '',    -- the plan the last posted reminder offered
    outcome    TEXT NOT NULL DEFAULT ''     -- what the last run did, for people and tests
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


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


class StateStore:
    """Thread-safe: each thread gets its own connection to the same file."""

    def __init__(self, path: str, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._conn().executescript(_SCHEMA)

    # -- connections -------------------------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: writers queue on the file lock instead of failing on upgrade."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.ProgrammingError):  # made in another thread
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- plans -------------------------------------------------------------------------------------------------

    def create_plan(
        self, plan: Plan, channel: str, requester: str, ttl_seconds: float, now: float | None = None
    ) -> PlanRecord:
        now = time.time() if now is None else now
        plan_id = uuid.uuid4().hex[:16]
        with self._tx() as db:
            db.execute(
                "INSERT INTO plans (id, profile, channel, requester, plan_json, status, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                (plan_id, plan.profile, channel, requester, plan.to_json(), now, now + ttl_seconds),
            )
            self._audit(db, plan_id, requester, "requested", f"{len(plan.to_delete)} to delete in {channel}", now)
        record = self.get(plan_id)
        assert record is not None
        return record

    def get(self, plan_id: str) -> PlanRecord | None:
        row = self._conn().execute("SELECT * FROM plans WHERE id = ?", (plan_id,)).fetchone()
        return _record(row) if row is not None else None

    def set_message(self, plan_id: str, message_ts: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE plans SET message_ts = ? WHERE id = ?", (message_ts, plan_id))

    def set_progress_message(self, plan_id: str, progress_ts: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE plans SET progress_ts = ? WHERE id = ?", (progress_ts, plan_id))

    def _cas(
        self,
        plan_id: str,
        from_status: str | Sequence[str],
        to_status: str,
        actor: str,
        action: str,
        detail: str = "",
        extra_where: str = "",
        extra_args: Sequence[Any] = (),
        sets: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> bool:
        now = time.time() if now is None else now
        froms = [from_status] if isinstance(from_status, str) else list(from_status)
        sets = dict(sets or {})
        sets["status"] = to_status
        assignments = ", ".join(f"{column} = ?" for column in sets)
        marks = ", ".join("?" for _ in froms)
        with self._tx() as db:
            cursor = db.execute(
                f"UPDATE plans SET {assignments} WHERE id = ? AND status IN ({marks}){extra_where}",  # noqa: S608
                (*sets.values(), plan_id, *froms, *extra_args),
            )
            won = cursor.rowcount == 1
            if won:
                self._audit(db, plan_id, actor, action, detail, now)
        return won

    def approve(self, plan_id: str, approver: str, now: float | None = None) -> bool:
        """pending -> approved, only while the plan has not expired. True for exactly one caller."""
        now = time.time() if now is None else now
        return self._cas(
            plan_id,
            "pending",
            "approved",
            approver,
            "approved",
            extra_where=" AND expires_at > ?",
            extra_args=(now,),
            sets={"approver": approver, "approved_at": now},
            now=now,
        )

    def cancel(self, plan_id: str, actor: str, detail: str = "", now: float | None = None) -> bool:
        return self._cas(plan_id, "pending", "cancelled", actor, "cancelled", detail, now=now)

    def expire(self, plan_id: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self._cas(
            plan_id, "pending", "expired", "system", "expired", extra_where=" AND expires_at <= ?", extra_args=(now,)
        )

    def start_run(self, plan_id: str, runner: str, now: float | None = None) -> bool:
        """approved -> running, owned by `runner`. True for exactly one caller."""
        now = time.time() if now is None else now
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE plans SET status = 'running', runner = ?, heartbeat_at = ?, started_at = ?,"
                " attempts = attempts + 1 WHERE id = ? AND status = 'approved'",
                (runner, now, now, plan_id),
            )
            won = cursor.rowcount == 1
            if won:
                self._audit(db, plan_id, runner, "run-started", "", now)
        return won

    def claim_stale_run(self, plan_id: str, runner: str, lease_seconds: float, now: float | None = None) -> bool:
        """Take over a run left `running` whose owner stopped renewing its lease. True for exactly one caller."""
        now = time.time() if now is None else now
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE plans SET runner = ?, heartbeat_at = ?, attempts = attempts + 1"
                " WHERE id = ? AND status = 'running' AND runner != ? AND (heartbeat_at IS NULL OR heartbeat_at < ?)",
                (runner, now, plan_id, runner, now - lease_seconds),
            )
            won = cursor.rowcount == 1
            if won:
                self._audit(db, plan_id, runner, "run-resumed", "the previous runner stopped", now)
        return won

    def heartbeat(self, plan_id: str, runner: str, now: float | None = None) -> bool:
        """Renew the lease; False when another runner owns the run now (then stop working on it)."""
        now = time.time() if now is None else now
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE plans SET heartbeat_at = ? WHERE id = ? AND status = 'running' AND runner = ?",
                (now, plan_id, runner),
            )
            return cursor.rowcount == 1

    def finish_run(self, plan_id: str, runner: str, status: str, outcome: str, now: float | None = None) -> bool:
        if status not in ("done", "failed"):
            raise ValueError(f"a run finishes done or failed, not {status!r}")
        return self._cas(
            plan_id,
            "running",
            status,
            runner,
            f"run-{status}",
            outcome,
            extra_where=" AND runner = ?",
            extra_args=(runner,),
            sets={"finished_at": time.time() if now is None else now, "outcome": outcome},
            now=now,
        )

    def stale_runs(self, lease_seconds: float, now: float | None = None) -> list[PlanRecord]:
        now = time.time() if now is None else now
        rows = self._conn().execute(
            "SELECT * FROM plans WHERE status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < ?)"
            " ORDER BY created_at",
            (now - lease_seconds,),
        )
        return [_record(r) for r in rows]

    def approved_unstarted(self, older_than: float, now: float | None = None) -> list[PlanRecord]:
        """Approved plans whose run never started (the process died between approval and start)."""
        now = time.time() if now is None else now
        rows = self._conn().execute(
            "SELECT * FROM plans WHERE status = 'approved' AND approved_at < ? ORDER BY created_at",
            (now - older_than,),
        )
        return [_record(r) for r in rows]

    def overdue_pending(self, now: float | None = None) -> list[PlanRecord]:
        now = time.time() if now is None else now
        rows = self._conn().execute("SELECT * FROM plans WHERE status = 'pending' AND expires_at <= ?", (now,))
        return [_record(r) for r in rows]

    def history(self, limit: int = 10) -> list[HistoryEntry]:
        rows = (
            self._conn()
            .execute("SELECT * FROM plans WHERE status != 'pending' ORDER BY created_at DESC LIMIT ?", (limit,))
            .fetchall()
        )
        entries = []
        for row in rows:
            counts = {
                status: n
                for status, n in self._conn().execute(
                    "SELECT status, COUNT(*) FROM results WHERE plan_id = ? GROUP BY status", (row["id"],)
                )
            }
            entries.append(HistoryEntry(_record(row), counts))
        return entries

    # -- reminders (a lease per schedule) ----------------------------------------------------------------------

    def reminder(self, key: str) -> ReminderState | None:
        row = self._conn().execute("SELECT * FROM reminders WHERE key = ?", (key,)).fetchone()
        return ReminderState(**{k: row[k] for k in row.keys()}) if row is not None else None  # noqa: SIM118

    def claim_reminder(self, key: str, interval: float, owner: str, now: float) -> ReminderState | None:
        """Claim the run of schedule `key` due at or before `now`; None when it is not due or another process won.

        A schedule seen for the first time is due at once. The winner moves ``next_due`` to ``now + interval``
        with ``UPDATE ... WHERE key = ? AND next_due = ?``: of several processes reading the same due time, the
        one whose UPDATE changed a row owns this interval's run.
        """
        state = self.reminder(key)
        if state is None:
            with self._tx() as db:
                db.execute("INSERT OR IGNORE INTO reminders (key, next_due) VALUES (?, ?)", (key, now))
            state = self.reminder(key)
            assert state is not None
        if now < state.due(interval):
            return None
        with self._tx() as db:
            won = (
                db.execute(
                    "UPDATE reminders SET next_due = ?, owner = ?, last_run = ?, outcome = 'running'"
                    " WHERE key = ? AND next_due = ?",
                    (now + interval, owner, now, key, state.next_due),
                ).rowcount
                == 1
            )
        return self.reminder(key) if won else None

    def finish_reminder(self, key: str, owner: str, outcome: str, plan_id: str | None = None) -> None:
        """Record what the claimed run did (and the plan it offered), unless another process has claimed since."""
        with self._tx() as db:
            if plan_id is None:
                db.execute("UPDATE reminders SET outcome = ? WHERE key = ? AND owner = ?", (outcome, key, owner))
            else:
                db.execute(
                    "UPDATE reminders SET outcome = ?, plan_id = ? WHERE key = ? AND owner = ?",
                    (outcome, plan_id, key, owner),
                )

    def retry_reminder(self, key: str, owner: str, claimed: ReminderState, at: float, outcome: str) -> bool:
        """Bring the next run forward to `at` after a failed one, unless the schedule moved on meanwhile."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE reminders SET next_due = ?, outcome = ? WHERE key = ? AND owner = ? AND next_due = ?",
                (min(at, claimed.next_due), outcome, key, owner, claimed.next_due),
            )
            return cursor.rowcount == 1

    # -- results and audit -------------------------------------------------------------------------------------

    def record_result(self, plan_id: str, result: ResourceResult, now: float | None = None) -> None:
        """Store a resource's final result (the latest wins), so that a resumed run does not redo it."""
        if result.status not in FINAL_RESULTS:
            raise ValueError(f"not a final result: {result.status!r}")
        now = time.time() if now is None else now
        with self._tx() as db:
            db.execute(
                "INSERT INTO results (plan_id, key, label, name, region, status, reason, error_code, seconds,"
                " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (plan_id, key) DO UPDATE SET status = excluded.status, reason = excluded.reason,"
                " error_code = excluded.error_code, seconds = excluded.seconds, recorded_at = excluded.recorded_at",
                (
                    plan_id,
                    result.key,
                    result.label,
                    result.name,
                    result.region,
                    result.status,
                    result.reason,
                    result.error_code,
                    result.seconds,
                    now,
                ),
            )
            detail = f"{result.key}: {result.status}" + (f" ({result.error_code})" if result.error_code else "")
            self._audit(db, plan_id, "system", "result", detail, now)

    def results(self, plan_id: str) -> dict[str, ResourceResult]:
        rows = (
            self._conn()
            .execute("SELECT * FROM results WHERE plan_id = ? ORDER BY recorded_at, key", (plan_id,))
            .fetchall()
        )
        return {
            row["key"]: ResourceResult(
                key=row["key"],
                label=row["label"],
                name=row["name"],
                region=row["region"],
                status=row["status"],
                reason=row["reason"],
                error_code=row["error_code"],
                seconds=row["seconds"],
            )
            for row in rows
        }

    def audit(self, plan_id: str, actor: str, action: str, detail: str = "", now: float | None = None) -> None:
        with self._tx() as db:
            self._audit(db, plan_id, actor, action, detail, time.time() if now is None else now)

    def audit_log(self, plan_id: str | None = None) -> list[AuditEntry]:
        if plan_id is None:
            rows = self._conn().execute("SELECT * FROM audit ORDER BY seq").fetchall()
        else:
            rows = self._conn().execute("SELECT * FROM audit WHERE plan_id = ? ORDER BY seq", (plan_id,)).fetchall()
        return [AuditEntry(r["seq"], r["at"], r["plan_id"], r["actor"], r["action"], r["detail"]) for r in rows]

    @staticmethod
    def _audit(db: sqlite3.Connection, plan_id: str, actor: str, action: str, detail: str, now: float) -> None:
        db.execute(
            "INSERT INTO audit (at, plan_id, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            (now, plan_id, actor, action, detail),
        )


def _record(row: sqlite3.Row) -> PlanRecord:
    return PlanRecord(**{key: row[key] for key in row.keys()})  # noqa: SIM118 (sqlite3.Row is not a mapping)
