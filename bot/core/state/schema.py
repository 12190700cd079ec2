"""The state store's tables, and the ordered migrations that build and evolve them on SQLite and PostgreSQL.

The version of a database is the highest row of `schema_version`. Opening a store applies the migrations it has
not seen, in order, in one transaction that holds the database's write lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: an advisory lock), so that several processes starting at once migrate once and none reads a
half-migrated schema. A file made before `schema_version` existed (the first SQLite schema) has every table of
migration 1 already: migration 1 creates only what is missing, so the file is adopted as version 1 and then
migrated on.

Add a migration by appending to MIGRATIONS; never edit or reorder one that has shipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    insert,
    inspect,
    select,
    text,
)

APPEND_ONLY = "the audit log is append-only"
# Any fixed 64-bit number, the same in every process: the key of the PostgreSQL advisory lock held while migrating.
_MIGRATION_LOCK_KEY = 0x646F67636174  # "dogcat"

metadata = MetaData()

plans = Table(
    "plans",
    metadata,
    Column("id", Text, primary_key=True),
    Column("profile", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("requester", Text, nullable=False),
    Column("message_ts", Text, nullable=False, server_default=""),
    Column("progress_ts", Text, nullable=False, server_default=""),
    Column("plan_json", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("approver", Text, nullable=False, server_default=""),
    Column("approved_at", Double),
    Column("started_at", Double),
    Column("finished_at", Double),
    Column("runner", Text, nullable=False, server_default=""),
    Column("heartbeat_at", Double),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("outcome", Text, nullable=False, server_default=""),
    # migration 4: the fencing token of the current claim, and the host and pid of the process holding it
    Column("lease_token", Integer, nullable=False, server_default=text("0")),
    Column("runner_host", Text, nullable=False, server_default=""),
    Column("runner_pid", Integer, nullable=False, server_default=text("0")),
    # migration 5: when a finished run's report in Slack is overdue (database clock); NULL once delivered, or owed
    # by nobody (the CLI's runs, and every run finished before this migration)
    Column("report_due", Double),
    Index("plans_status", "status"),
    Index("plans_created", "created_at"),
)

results = Table(
    "results",
    metadata,
    Column("plan_id", Text, ForeignKey("plans.id"), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("label", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("error_code", Text, nullable=False, server_default=""),
    Column("seconds", Double, nullable=False, server_default=text("0")),
    Column("recorded_at", Double, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    # BIGSERIAL on PostgreSQL; INTEGER PRIMARY KEY AUTOINCREMENT on SQLite (a seq is never reused)
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", Double, nullable=False),
    Column("plan_id", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    sqlite_autoincrement=True,
)

reminders = Table(
    "reminders",
    metadata,
    Column("key", Text, primary_key=True),  # profile@channel
    Column("next_due", Double, nullable=False),
    Column("owner", Text, nullable=False, server_default=""),  # the process that claimed the last run
    Column("last_run", Double),  # when the last run was claimed (the scheduler's clock)
    Column("plan_id", Text, nullable=False, server_default=""),  # the plan the last posted reminder offered
    Column("outcome", Text, nullable=False, server_default=""),  # what the last run did, for people and tests
    # migration 3: how many intervals in a row the offered reminder went unanswered (pending, then expired or
    # superseded)
    Column("unanswered", Integer, nullable=False, server_default=text("0")),
)

# Owners' answers (bot.core.keeps), append-only like the audit log (every row is also an audit entry): a later
# keep of the same resource does not change an earlier one; the latest date still in the future holds.
keeps = Table(
    "keeps",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("resource_key", Text, nullable=False),  # type|region|id within its account
    Column("account_id", Text, nullable=False, server_default=""),
    Column("until", Text, nullable=False),  # YYYY-MM-DD (UTC): kept through that day
    Column("actor", Text, nullable=False),  # the Slack user who kept it
    Column("at", Double, nullable=False),
    Column("plan_id", Text, nullable=False, server_default=""),
    Index("keeps_until", "until"),
    sqlite_autoincrement=True,
)

snoozes = Table(
    "snoozes",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("reminder_key", Text, nullable=False),  # profile@channel: the schedule whose next reminder moves
    Column("until", Double, nullable=False),  # no reminder of the schedule before this time
    Column("actor", Text, nullable=False),
    Column("at", Double, nullable=False),
    Column("plan_id", Text, nullable=False, server_default=""),
    Index("snoozes_key", "reminder_key", "until"),
    sqlite_autoincrement=True,
)

# Not in `metadata`: created before any migration runs, and never by create_all of the state's tables.
schema_version = Table(
    "schema_version",
    MetaData(),
    Column("version", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("applied_at", Double, nullable=False),
)


# -- migrations ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _baseline(conn: Connection) -> None:
    """Plans, results, audit and reminders, with the audit log append-only in the database itself."""
    metadata.create_all(conn, tables=[plans, results, audit, reminders], checkfirst=True)
    if conn.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS audit_no_{verb.lower()} BEFORE {verb} ON audit"
                f" BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
        return
    conn.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation'; END $$"
    )
    for name, when in (
        ("audit_no_update", "BEFORE UPDATE ON audit FOR EACH ROW"),
        ("audit_no_delete", "BEFORE DELETE ON audit FOR EACH ROW"),
        ("audit_no_truncate", "BEFORE TRUNCATE ON audit FOR EACH STATEMENT"),  # row triggers miss TRUNCATE
    ):
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON audit")
        conn.exec_driver_sql(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION audit_append_only()")


def _audit_by_plan(conn: Connection) -> None:
    """A plan's audit trail (`audit_log(plan_id)`, every approval refusal) without reading the whole log."""
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS audit_plan ON audit (plan_id, seq)")  # the same on both


def _owners_answers(conn: Connection) -> None:
    """Keep-until and snooze records, append-only (triggers, as for the audit log); unanswered reminders."""
    metadata.create_all(conn, tables=[keeps, snoozes], checkfirst=True)
    # a database made by migration 1 of this app has the column already (create_all follows `reminders`)
    if "unanswered" not in {c["name"] for c in inspect(conn).get_columns("reminders")}:
        conn.exec_driver_sql("ALTER TABLE reminders ADD COLUMN unanswered INTEGER NOT NULL DEFAULT 0")
    for table in ("keeps", "snoozes"):
        message = f"{table} records are append-only"
        if conn.dialect.name == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table}"
                    f" BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
            continue
        conn.exec_driver_sql(
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation'; END $$"
        )
        for name, when in (
            (f"{table}_no_update", f"BEFORE UPDATE ON {table} FOR EACH ROW"),
            (f"{table}_no_delete", f"BEFORE DELETE ON {table} FOR EACH ROW"),
            (f"{table}_no_truncate", f"BEFORE TRUNCATE ON {table} FOR EACH STATEMENT"),
        ):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            conn.exec_driver_sql(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {table}_append_only()")


_LEASE_COLUMNS = (
    ("lease_token", "INTEGER NOT NULL DEFAULT 0"),
    ("runner_host", "TEXT NOT NULL DEFAULT ''"),
    ("runner_pid", "INTEGER NOT NULL DEFAULT 0"),
)


def _fencing_tokens(conn: Connection) -> None:
    """A fencing token per run and the owner's host and pid (runs claimed before have token 0, owner unknown)."""
    # a database made by migration 1 of this app has the columns already (create_all follows `plans`)
    present = {c["name"] for c in inspect(conn).get_columns("plans")}
    for name, ddl in _LEASE_COLUMNS:
        if name not in present:
            conn.exec_driver_sql(f"ALTER TABLE plans ADD COLUMN {name} {ddl}")


def _report_delivery(conn: Connection) -> None:
    """A finished run's report (the summary, the plan message's outcome) owed until delivered: a process that dies
    while Slack is down leaves it to the next one. Runs finished before owe nothing (NULL)."""
    if "report_due" not in {c["name"] for c in inspect(conn).get_columns("plans")}:
        kind = "REAL" if conn.dialect.name == "sqlite" else "DOUBLE PRECISION"
        conn.exec_driver_sql(f"ALTER TABLE plans ADD COLUMN report_due {kind}")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "plans, results, append-only audit, reminders", _baseline),
    Migration(2, "index of the audit log by plan", _audit_by_plan),
    Migration(3, "keep-until and snooze records, unanswered reminders", _owners_answers),
    Migration(4, "fencing tokens and the owner process of runs", _fencing_tokens),
    Migration(5, "reports of finished runs owed until delivered", _report_delivery),
)
LATEST = MIGRATIONS[-1].version


def migrate(conn: Connection) -> list[int]:
    """Apply the migrations `conn`'s database has not seen, in order; the versions applied.

    Runs inside the caller's write transaction (which it locks further on PostgreSQL).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
    schema_version.create(conn, checkfirst=True)
    current = conn.execute(select(func.max(schema_version.c.version))).scalar_one_or_none() or 0
    if current > LATEST:
        raise RuntimeError(
            f"the state database is at schema version {current}, newer than this app's {LATEST}: upgrade the app"
        )
    applied = []
    for migration in MIGRATIONS:
        if migration.version > current:
            migration.apply(conn)
            conn.execute(
                insert(schema_version).values(version=migration.version, name=migration.name, applied_at=time.time())
            )
            applied.append(migration.version)
    return applied


def version(conn: Connection) -> int:
    return conn.execute(select(func.max(schema_version.c.version))).scalar_one_or_none() or 0
