"""The state store: every read and every compare-and-set, written once in SQLAlchemy Core for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, Double, Engine, Row, cast, extract, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.core.keeps import KeepUntil, parse_date, today
from bot.core.plan import RESULT_STATUSES, Plan, ResourceResult
from bot.core.state.database import begin_statement, describe, make_engine, state_url
from bot.core.state.records import (
    AuditEntry,
    HistoryEntry,
    Lease,
    PlanRecord,
    PlanStatus,
    ReminderState,
    SnoozeRecord,
    check_transition,
)
from bot.core.state.schema import audit, keeps, migrate, plans, reminders, results, snoozes

log = logging.getLogger(__name__)

# An approval given in the plan's last moments still gets this long to reach a runner and start.
START_GRACE_SECONDS = 60.0


class StateStore:
    """Thread-safe, one per process: a pool of connections, each used by one thread at a time.

    `path` is a SQLite file path or a ``postgresql://`` URL (see `bot.core.state.database`). Opening a store
    migrates its database to the latest schema.
    """

    def __init__(self, path: str, busy_timeout_ms: int = 10_000, pool_size: int | None = None) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.url = state_url(path)
        self.engine: Engine = make_engine(self.url, busy_timeout_ms, pool_size)
        self.dialect = self.engine.dialect.name
        self._begin = begin_statement(self.engine)
        self._insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
        with self._tx() as db:
            applied = migrate(db)
        if applied:
            log.info("state store %s: schema migrated to version %s", self.describe(), applied[-1])

    def describe(self) -> str:
        """Where the state is, without any password: what logs may show."""
        return describe(self.url)

    def __repr__(self) -> str:
        return f"StateStore({self.describe()!r})"

    # -- connections -------------------------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A pooled connection for reads: each statement sees the latest committed state."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction. SQLite: IMMEDIATE, writers queue on the file lock instead of failing on upgrade.
        PostgreSQL: read committed; a compare-and-set UPDATE re-checks its WHERE clause after a concurrent one."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql(self._begin)
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")

    def close(self) -> None:
        self.engine.dispose()

    # -- plans -------------------------------------------------------------------------------------------------

    def create_plan(
        self, plan: Plan, channel: str, requester: str, ttl_seconds: float, now: float | None = None
    ) -> PlanRecord:
        now = time.time() if now is None else now
        plan_id = uuid.uuid4().hex[:16]
        with self._tx() as db:
            db.execute(
                plans.insert().values(
                    id=plan_id,
                    profile=plan.profile,
                    channel=channel,
                    requester=requester,
                    plan_json=plan.to_json(),
                    status="pending",
                    created_at=now,
                    expires_at=now + ttl_seconds,
                )
            )
            self._audit(db, plan_id, requester, "requested", f"{len(plan.to_delete)} to delete in {channel}", now)
        record = self.get(plan_id)
        assert record is not None
        return record

    def get(self, plan_id: str) -> PlanRecord | None:
        with self._read() as db:
            row = db.execute(select(plans).where(plans.c.id == plan_id)).first()
        return _record(row) if row is not None else None

    def set_message(self, plan_id: str, message_ts: str) -> None:
        with self._tx() as db:
            db.execute(update(plans).where(plans.c.id == plan_id).values(message_ts=message_ts))

    def set_progress_message(self, plan_id: str, progress_ts: str) -> None:
        with self._tx() as db:
            db.execute(update(plans).where(plans.c.id == plan_id).values(progress_ts=progress_ts))

    def _cas(
        self,
        plan_id: str,
        from_status: str | Sequence[str],
        to_status: str,
        actor: str,
        action: str,
        detail: str = "",
        where: Sequence[ColumnElement[bool]] = (),
        sets: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> bool:
        """``UPDATE plans SET status = to_status ... WHERE id = ? AND status IN (from) AND where``; audited when won.

        True for the one caller whose UPDATE changed the row."""
        now = time.time() if now is None else now
        froms = [from_status] if isinstance(from_status, str) else list(from_status)
        for source in froms:
            check_transition(source, to_status)
        values = {**(sets or {}), "status": to_status}
        with self._tx() as db:
            cursor = db.execute(
                update(plans).where(plans.c.id == plan_id, plans.c.status.in_(froms), *where).values(**values)
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
            where=[plans.c.expires_at > now],
            sets={"approver": approver, "approved_at": now},
            now=now,
        )

    def cancel(self, plan_id: str, actor: str, detail: str = "", now: float | None = None) -> bool:
        return self._cas(plan_id, "pending", "cancelled", actor, "cancelled", detail, now=now)

    def expire(self, plan_id: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self._cas(plan_id, "pending", "expired", "system", "expired", where=[plans.c.expires_at <= now])

    def start_run(
        self,
        plan_id: str,
        runner: str,
        now: float | None = None,
        host: str = "",
        pid: int = 0,
        start_grace: float = START_GRACE_SECONDS,
    ) -> Lease | None:
        """approved -> running, owned by `runner` (of process `pid` on `host`): its lease, for exactly one caller.

        Only while the approval is within the plan's lifetime (or `start_grace` after it was given): a run that
        could not start in time (the app was down) needs a new approval (`lapse_approval`)."""
        check_transition(PlanStatus.APPROVED, PlanStatus.RUNNING)
        at = time.time() if now is None else now
        with self._tx() as db:
            row = db.execute(
                update(plans)
                .where(
                    plans.c.id == plan_id,
                    plans.c.status == "approved",
                    or_(plans.c.expires_at > at, plans.c.approved_at > at - start_grace),
                )
                .values(
                    status="running",
                    runner=runner,
                    heartbeat_at=self._lease_clock(now),
                    started_at=at,
                    attempts=plans.c.attempts + 1,
                    **_claimed_by(host, pid),
                )
                .returning(plans.c.lease_token)
            ).first()
            if row is None:
                return None
            self._audit(db, plan_id, runner, "run-started", "", at)
        return Lease(plan_id, runner, int(row.lease_token))

    def lapse_approval(self, plan_id: str, now: float | None = None, start_grace: float = START_GRACE_SECONDS) -> bool:
        """approved -> expired when the run could not start within the plan's lifetime; audited. True once."""
        at = time.time() if now is None else now
        return self._cas(
            plan_id,
            "approved",
            "expired",
            "system",
            "approval-lapsed",
            "the run could not start within the plan's lifetime (the app was down); it needs a new approval",
            where=[plans.c.expires_at <= at, plans.c.approved_at <= at - start_grace],
            now=at,
        )

    def claim_stale_run(
        self, plan_id: str, runner: str, lease_seconds: float, now: float | None = None, host: str = "", pid: int = 0
    ) -> Lease | None:
        """Take over a run left `running` whose owner stopped renewing its lease (or released it), by the database's
        clock: the new lease, for exactly one caller."""
        return self._take_over(
            plan_id,
            runner,
            [_lease_lapsed(self._lease_clock(now) - lease_seconds)],
            "the previous runner stopped",
            now,
            host,
            pid,
        )

    def claim_orphaned_run(
        self, plan_id: str, runner: str, seen: Lease, dead_pid: int, host: str, pid: int = 0, now: float | None = None
    ) -> Lease | None:
        """Take over at once, lease or not, the run `seen` held by process `dead_pid` on this `host`, which the
        caller found gone (a pid means something only on its own host): the new lease, for exactly one caller."""
        held = [
            plans.c.runner == seen.runner,
            plans.c.lease_token == seen.token,
            plans.c.runner_host == host,
            plans.c.runner_pid == dead_pid,
        ]
        detail = f"the previous runner's process ({dead_pid}) on this host is gone"
        return self._take_over(plan_id, runner, held, detail, now, host, pid)

    def _take_over(
        self,
        plan_id: str,
        runner: str,
        where: Sequence[ColumnElement[bool]],
        detail: str,
        now: float | None,
        host: str,
        pid: int,
    ) -> Lease | None:
        check_transition(PlanStatus.RUNNING, PlanStatus.RUNNING)
        with self._tx() as db:
            row = db.execute(
                update(plans)
                .where(plans.c.id == plan_id, plans.c.status == "running", *where)
                .values(
                    runner=runner,
                    heartbeat_at=self._lease_clock(now),
                    attempts=plans.c.attempts + 1,
                    **_claimed_by(host, pid),
                )
                .returning(plans.c.lease_token)
            ).first()
            if row is None:
                return None
            self._audit(db, plan_id, runner, "run-resumed", detail, time.time() if now is None else now)
        return Lease(plan_id, runner, int(row.lease_token))

    def heartbeat(self, plan_id: str, runner: str, now: float | None = None, token: int | None = None) -> bool:
        """Renew the lease (by the database's clock); False when another runner owns the run now (then stop)."""
        owner = [plans.c.runner == runner] + ([plans.c.lease_token == token] if token is not None else [])
        with self._tx() as db:
            cursor = db.execute(
                update(plans)
                .where(plans.c.id == plan_id, plans.c.status == "running", *owner)
                .values(heartbeat_at=self._lease_clock(now))
            )
            return cursor.rowcount == 1

    def owns(self, lease: Lease) -> bool:
        """Whether `lease` is still the run's current claim (one indexed read)."""
        with self._read() as db:
            return db.execute(select(plans.c.id).where(*_held_by(lease))).first() is not None

    def release_run(self, lease: Lease, detail: str = "the runner's process is stopping") -> bool:
        """Hand a run over: it stays running, claimable at once by any runner; `lease` is fenced off. Audited."""
        with self._tx() as db:
            cursor = db.execute(
                update(plans)
                .where(*_held_by(lease))
                .values(heartbeat_at=None, runner="", lease_token=plans.c.lease_token + 1, runner_host="", runner_pid=0)
            )
            released = cursor.rowcount == 1
            if released:
                self._audit(db, lease.plan_id, lease.runner, "run-released", detail, time.time())
        return released

    def finish_run(
        self,
        plan_id: str,
        runner: str,
        status: str,
        outcome: str,
        now: float | None = None,
        token: int | None = None,
        report_within: float | None = None,
    ) -> bool:
        """running -> done | failed, by the run's owner (and, given `token`, only its current claim).

        With `report_within` (seconds), the run's report in Slack is owed from now on: overdue after that long by
        the database's clock, unless `report_delivered` is called first (`reports_owed`, `claim_report`)."""
        if status not in (PlanStatus.DONE, PlanStatus.FAILED):
            raise ValueError(f"a run finishes done or failed, not {status!r}")
        owner = [plans.c.runner == runner] + ([plans.c.lease_token == token] if token is not None else [])
        sets: dict[str, Any] = {"finished_at": time.time() if now is None else now, "outcome": outcome}
        if report_within is not None:
            sets["report_due"] = self._lease_clock(now) + report_within
        return self._cas(plan_id, "running", status, runner, f"run-{status}", outcome, where=owner, sets=sets, now=now)

    def report_delivered(self, plan_id: str) -> None:
        """The run's report reached Slack: nobody owes it any more."""
        with self._tx() as db:
            db.execute(update(plans).where(plans.c.id == plan_id).values(report_due=None))

    def report_due_now(self, plan_id: str) -> None:
        """A report its owner hands over undelivered (the process stops): overdue at once, for the next process."""
        with self._tx() as db:
            db.execute(
                update(plans)
                .where(plans.c.id == plan_id, plans.c.report_due.is_not(None))
                .values(report_due=self._lease_clock(None))
            )

    def reports_owed(self, now: float | None = None) -> list[PlanRecord]:
        """Finished runs whose report is overdue: whoever owed it gave up or died (Slack down, process gone)."""
        return self._plans(select(plans).where(*_report_overdue(self._lease_clock(now))).order_by(plans.c.created_at))

    def claim_report(self, plan_id: str, runner: str, within: float, now: float | None = None) -> bool:
        """An overdue report, taken by exactly one caller: it owes it now, for `within` seconds more (audited)."""
        clock = self._lease_clock(now)
        with self._tx() as db:
            cursor = db.execute(
                update(plans).where(plans.c.id == plan_id, *_report_overdue(clock)).values(report_due=clock + within)
            )
            won = cursor.rowcount == 1
            if won:
                self._audit(db, plan_id, runner, "report-taken-over", "", time.time() if now is None else now)
        return won

    def stale_runs(self, lease_seconds: float, now: float | None = None) -> list[PlanRecord]:
        """Running plans whose lease lapsed by the database's clock (or was released)."""
        return self._plans(
            select(plans)
            .where(plans.c.status == "running", _lease_lapsed(self._lease_clock(now) - lease_seconds))
            .order_by(plans.c.created_at)
        )

    def runs_on_host(self, host: str) -> list[PlanRecord]:
        """Running plans whose owner is a process on `host` (a process there can tell whether it still exists)."""
        return self._plans(
            select(plans)
            .where(plans.c.status == "running", plans.c.runner_host == host, plans.c.runner_pid != 0)
            .order_by(plans.c.created_at)
        )

    def _lease_clock(self, now: float | None) -> ColumnElement[Any]:
        """What leases are measured by: the database's clock; an explicit `now` stands in for it (tests)."""
        return literal(now, Double) if now is not None else _database_clock(self.dialect)

    def approved_unstarted(self, older_than: float, now: float | None = None) -> list[PlanRecord]:
        """Approved plans whose run never started (the process died between approval and start)."""
        now = time.time() if now is None else now
        return self._plans(
            select(plans)
            .where(plans.c.status == "approved", plans.c.approved_at < now - older_than)
            .order_by(plans.c.created_at)
        )

    def overdue_pending(self, now: float | None = None) -> list[PlanRecord]:
        now = time.time() if now is None else now
        return self._plans(
            select(plans).where(plans.c.status == "pending", plans.c.expires_at <= now).order_by(plans.c.created_at)
        )

    def history(self, limit: int = 10) -> list[HistoryEntry]:
        with self._read() as db:
            rows = db.execute(
                select(plans).where(plans.c.status != "pending").order_by(plans.c.created_at.desc()).limit(limit)
            ).all()
            entries = []
            for row in rows:
                counted = db.execute(
                    select(results.c.status, func.count())
                    .where(results.c.plan_id == row.id)
                    .group_by(results.c.status)
                    .order_by(results.c.status)
                )
                entries.append(HistoryEntry(_record(row), {status: int(n) for status, n in counted}))
        return entries

    def _plans(self, query: Any) -> list[PlanRecord]:
        with self._read() as db:
            return [_record(row) for row in db.execute(query)]

    # -- reminders (a lease per schedule) ----------------------------------------------------------------------

    def reminder(self, key: str) -> ReminderState | None:
        with self._read() as db:
            row = db.execute(select(reminders).where(reminders.c.key == key)).first()
        return ReminderState(**row._mapping) if row is not None else None

    def claim_reminder(self, key: str, interval: float, owner: str, now: float) -> ReminderState | None:
        """Claim the run of schedule `key` due at or before `now`; None when it is not due or another process won.

        A schedule seen for the first time is due at once. The winner moves ``next_due`` to ``now + interval``
        with ``UPDATE ... WHERE key = ? AND next_due = ?``: of several processes reading the same due time, the
        one whose UPDATE changed a row owns this interval's run.
        """
        state = self.reminder(key)
        if state is None:
            with self._tx() as db:
                db.execute(self._insert(reminders).values(key=key, next_due=now).on_conflict_do_nothing())
            state = self.reminder(key)
            assert state is not None
        if now < state.due(interval):
            return None
        snoozed = self.snoozed_until(key)
        if snoozed is not None and now < snoozed:
            return None
        with self._tx() as db:
            won = (
                db.execute(
                    update(reminders)
                    .where(reminders.c.key == key, reminders.c.next_due == state.next_due)
                    .values(next_due=now + interval, owner=owner, last_run=now, outcome="running")
                ).rowcount
                == 1
            )
        return self.reminder(key) if won else None

    def finish_reminder(
        self, key: str, owner: str, outcome: str, plan_id: str | None = None, unanswered: int | None = None
    ) -> None:
        """Record what the claimed run did (and the plan it offered, and how many intervals in a row it has gone
        unanswered), unless another process has claimed since."""
        values: dict[str, Any] = {"outcome": outcome} if plan_id is None else {"outcome": outcome, "plan_id": plan_id}
        if unanswered is not None:
            values["unanswered"] = unanswered
        with self._tx() as db:
            db.execute(update(reminders).where(reminders.c.key == key, reminders.c.owner == owner).values(**values))

    def retry_reminder(self, key: str, owner: str, claimed: ReminderState, at: float, outcome: str) -> bool:
        """Bring the next run forward to `at` after a failed one, unless the schedule moved on meanwhile."""
        with self._tx() as db:
            cursor = db.execute(
                update(reminders)
                .where(reminders.c.key == key, reminders.c.owner == owner, reminders.c.next_due == claimed.next_due)
                .values(next_due=min(at, claimed.next_due), outcome=outcome)
            )
            return cursor.rowcount == 1

    # -- owners' answers: keep until a date, snooze a schedule (append-only records, each audited) --------------

    def add_keeps(self, plan_id: str, kept: Sequence[KeepUntil], actor: str, now: float | None = None) -> None:
        """Record that `actor` keeps these resources until their dates; one transaction, one audit entry each."""
        now = time.time() if now is None else now
        with self._tx() as db:
            for k in kept:
                db.execute(
                    keeps.insert().values(
                        resource_key=k.key,
                        account_id=k.account_id,
                        until=k.until.isoformat(),
                        actor=actor,
                        at=now,
                        plan_id=plan_id,
                    )
                )
                where = f"{k.account_id}/{k.key}" if k.account_id else k.key
                self._audit(db, plan_id, actor, "kept-until", f"{where} until {k.until.isoformat()}", now)

    def keeps(self, now: float | None = None, plan_id: str | None = None) -> list[KeepUntil]:
        """The keeps whose date has not passed at `now` (every one when `now` is None), of one plan if given."""
        query = select(keeps).order_by(keeps.c.seq)
        if now is not None:
            query = query.where(keeps.c.until >= today(now).isoformat())  # ISO dates sort as text
        if plan_id is not None:
            query = query.where(keeps.c.plan_id == plan_id)
        with self._read() as db:
            rows = db.execute(query).all()
        kept = []
        for row in rows:
            until = parse_date(row.until)
            if until is not None:
                kept.append(KeepUntil(row.resource_key, row.account_id, until, row.actor, row.at, row.plan_id))
        return kept

    def snooze(self, reminder_key: str, plan_id: str, actor: str, until: float, now: float | None = None) -> None:
        """No reminder of schedule `reminder_key` before `until`; recorded and audited."""
        now = time.time() if now is None else now
        with self._tx() as db:
            db.execute(
                snoozes.insert().values(reminder_key=reminder_key, until=until, actor=actor, at=now, plan_id=plan_id)
            )
            self._audit(db, plan_id, actor, "snoozed", f"{reminder_key} until {until:.0f}", now)

    def snoozed_until(self, reminder_key: str) -> float | None:
        """The latest snooze of the schedule (past or not), or None when it was never snoozed."""
        with self._read() as db:
            value = db.execute(
                select(func.max(snoozes.c.until)).where(snoozes.c.reminder_key == reminder_key)
            ).scalar_one_or_none()
        return float(value) if value is not None else None

    def snooze_log(self, reminder_key: str | None = None) -> list[SnoozeRecord]:
        query = select(snoozes).order_by(snoozes.c.seq)
        if reminder_key is not None:
            query = query.where(snoozes.c.reminder_key == reminder_key)
        with self._read() as db:
            return [SnoozeRecord(**row._mapping) for row in db.execute(query)]

    # -- what cleanups saved ----------------------------------------------------------------------------------

    def activity_since(self, since: float) -> list[tuple[PlanRecord, dict[str, ResourceResult]]]:
        """Plans created or finished at or after `since`, oldest first, each with its results."""
        records = self._plans(
            select(plans)
            .where(or_(plans.c.created_at >= since, plans.c.finished_at >= since))
            .order_by(plans.c.created_at)
        )
        return [(r, self.results(r.id) if r.status in ("done", "failed", "running") else {}) for r in records]

    # -- results and audit -------------------------------------------------------------------------------------

    def record_result(
        self, plan_id: str, result: ResourceResult, now: float | None = None, lease: Lease | None = None
    ) -> bool:
        """Store a resource's final result (the latest wins), so that a resumed run does not redo it.

        Given the run's `lease`, only while it is the current claim (False otherwise: nothing is written)."""
        if result.status not in RESULT_STATUSES:
            raise ValueError(f"not a final result: {result.status!r}")
        now = time.time() if now is None else now
        stmt = self._insert(results).values(
            plan_id=plan_id,
            key=result.key,
            label=result.label,
            name=result.name,
            region=result.region,
            status=result.status,
            reason=result.reason,
            error_code=result.error_code,
            seconds=result.seconds,
            recorded_at=now,
        )
        latest = {c: stmt.excluded[c] for c in ("status", "reason", "error_code", "seconds", "recorded_at")}
        with self._tx() as db:
            # the owner check writes the plan's row, so a takeover waits for this transaction (or this for it)
            if lease is not None and not db.execute(_touch(lease)).rowcount:
                return False
            db.execute(stmt.on_conflict_do_update(index_elements=[results.c.plan_id, results.c.key], set_=latest))
            detail = f"{result.key}: {result.status}" + (f" ({result.error_code})" if result.error_code else "")
            self._audit(db, plan_id, "system", "result", detail, now)
        return True

    def results(self, plan_id: str) -> dict[str, ResourceResult]:
        with self._read() as db:
            rows = db.execute(
                select(results).where(results.c.plan_id == plan_id).order_by(results.c.recorded_at, results.c.key)
            ).all()
        return {
            row.key: ResourceResult(
                key=row.key,
                label=row.label,
                name=row.name,
                region=row.region,
                status=row.status,
                reason=row.reason,
                error_code=row.error_code,
                seconds=row.seconds,
            )
            for row in rows
        }

    def audit(self, plan_id: str, actor: str, action: str, detail: str = "", now: float | None = None) -> None:
        with self._tx() as db:
            self._audit(db, plan_id, actor, action, detail, time.time() if now is None else now)

    def audit_log(self, plan_id: str | None = None) -> list[AuditEntry]:
        query = select(audit).order_by(audit.c.seq)
        if plan_id is not None:
            query = query.where(audit.c.plan_id == plan_id)
        with self._read() as db:
            return [AuditEntry(r.seq, r.at, r.plan_id, r.actor, r.action, r.detail) for r in db.execute(query)]

    @staticmethod
    def _audit(db: Connection, plan_id: str, actor: str, action: str, detail: str, now: float) -> None:
        db.execute(audit.insert().values(at=now, plan_id=plan_id, actor=actor, action=action, detail=detail))


def _lease_lapsed(before: ColumnElement[Any]) -> ColumnElement[bool]:
    return or_(plans.c.heartbeat_at.is_(None), plans.c.heartbeat_at < before)


_UNIX_EPOCH_JULIAN_DAY = 2440587.5


def _report_overdue(clock: ColumnElement[Any]) -> tuple[ColumnElement[bool], ...]:
    return (
        plans.c.status.in_((PlanStatus.DONE, PlanStatus.FAILED)),
        plans.c.report_due.is_not(None),
        plans.c.report_due < clock,
    )


def _database_clock(dialect: str) -> ColumnElement[Any]:
    """The database server's current time in Unix seconds: one clock for every runner, whatever theirs say."""
    if dialect == "sqlite":  # julianday: milliseconds (unixepoch('subsec') needs SQLite 3.42)
        return (func.julianday("now") - _UNIX_EPOCH_JULIAN_DAY) * 86400.0
    return cast(extract("epoch", func.clock_timestamp()), Double)


def _claimed_by(host: str, pid: int) -> dict[str, Any]:
    """What every claim sets: a new fencing token, and the process that holds it."""
    return {"lease_token": plans.c.lease_token + 1, "runner_host": host, "runner_pid": pid}


def _held_by(lease: Lease) -> tuple[ColumnElement[bool], ...]:
    return (
        plans.c.id == lease.plan_id,
        plans.c.status == "running",
        plans.c.runner == lease.runner,
        plans.c.lease_token == lease.token,
    )


def _touch(lease: Lease) -> Any:
    """An UPDATE that changes nothing but matches (and locks) the plan's row only while `lease` holds the run."""
    return update(plans).where(*_held_by(lease)).values(lease_token=plans.c.lease_token)


def _record(row: Row[Any]) -> PlanRecord:
    return PlanRecord(**row._mapping)
