"""State that survives restarts: plans, their state machine, per-resource results and an append-only audit log.

On SQLite (a file, embedded: one machine; WAL mode, ``busy_timeout``, so that several threads and processes share
it) or PostgreSQL (a server: several app processes on several machines), through one code path in SQLAlchemy
Core (`store.py`), with versioned migrations (`schema.py`). Every state change is a compare-and-set
(``UPDATE ... WHERE id = ? AND status = ?``; the caller whose UPDATE changed one row won), so one approval starts
one run even with retries, double clicks, concurrent submissions from two teammates, or several copies of the app
on the same database.

    pending --approve--> approved --start--> running --finish--> done | failed
    pending --cancel--> cancelled           pending --expire--> expired

(`records.TRANSITIONS` is that diagram as data; the store refuses any other change.)

A run's owner keeps a lease (``heartbeat_at``, read from the database's own clock, so that no two machines' clocks
need agree) fresh while it works; a run left ``running`` whose lease went stale (its process crashed or was
restarted) is claimed by exactly one other runner and resumed. Every claim increments the run's fencing token
(``lease_token``): heartbeats, results and the finish are compare-and-set on (plan, runner, token), so a runner
that was taken over can write nothing more. A process that stops releases its runs (claimable at once), and a run
whose owner was a process on the same host that no longer exists is claimed at once too.

Scheduled reminders keep one row each in ``reminders``: when the next one is due, who claimed the last one and
when. Claiming is a compare-and-set on ``next_due``, so one reminder is posted per interval however many
processes share the database, and a restarted process continues the schedule from the stored last run.

Owners' answers are records too, append-only and audited: `keeps` (a resource kept until a date, by whom, from
which plan) and `snoozes` (a schedule's next reminder moved later, by whom).

The audit log is append-only in the database itself: triggers refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL) of its rows, whoever connects.
"""

from bot.core.state.database import StateDbError, mask_url, state_url
from bot.core.state.records import (
    ENDED_STATUSES,
    TRANSITIONS,
    AuditEntry,
    HistoryEntry,
    Lease,
    PlanRecord,
    PlanStatus,
    ReminderState,
    SnoozeRecord,
    TransitionError,
)
from bot.core.state.store import StateStore

__all__ = [
    "ENDED_STATUSES",
    "TRANSITIONS",
    "AuditEntry",
    "HistoryEntry",
    "Lease",
    "PlanRecord",
    "PlanStatus",
    "ReminderState",
    "SnoozeRecord",
    "StateDbError",
    "StateStore",
    "TransitionError",
    "mask_url",
    "state_url",
]
