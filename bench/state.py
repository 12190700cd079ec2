"""Benchmark 6, the state store: approvals per second and compare-and-set latency under 20 concurrent writers.

The store as shipped (bot.core.state.StateStore: SQLAlchemy Core, one pool per process) on its two backends, side
by side: a SQLite file (WAL, synchronous=NORMAL, busy_timeout) and a PostgreSQL 15 server on loopback, started
for the benchmark (tests/postgres.py) with the server's default durability (fsync on, synchronous_commit on).
Each of 20 writer processes has its own store, as app copies do; the clock starts when all 20 are connected and
stops when the last one is done. Each call is `approve(plan_id, user)`: ``UPDATE plans SET status = 'approved'
... WHERE id = ? AND status = 'pending' AND expires_at > ?``, rowcount checked, plus the audit row, in one
transaction. Two cases:

- own plans: each writer approves plans no other writer touches (every call wins): throughput of the store.
- racing: all 20 writers try to approve every plan, in the same order, as with the concurrent submissions of
  the race tests (one call in 20 wins): the compare-and-set under contention; every plan must end approved
  exactly once.

A fresh database for every run.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Options, Report, Row, Target, progress
from bot.core.state import StateStore
from bot.demo.plans import lambda_plan

TITLE = "State store: compare-and-set approvals under 20 concurrent writers, SQLite and PostgreSQL"
WRITERS = 20

NOTES = [
    "Medians of the runs' figures; the latency percentiles are over every call of a run (winning and losing).",
    "2 cores for 20 writers, the parent and the PostgreSQL server: the writers queue for CPU as well as for the "
    "database; a PostgreSQL on its own machine (as a platform add-on is) adds a network round trip per "
    "statement (4 a call: BEGIN, UPDATE, INSERT, COMMIT) and takes the server's CPU off the app's.",
    "SQLite serializes writers on the file lock (BEGIN IMMEDIATE, waiting up to busy_timeout) and with "
    "synchronous=NORMAL in WAL mode does not fsync each commit; PostgreSQL here fsyncs its WAL at every commit "
    "(several commits share one flush). Neither is the app's bottleneck: an approval is one call per cleanup.",
    "SQLite's tail is its busy handler's: a writer that finds the file locked sleeps (longer and longer, up to "
    "100 ms a time, within busy_timeout) instead of queueing, so most calls take well under a millisecond and a "
    "few wait hundreds; PostgreSQL queues row locks and commits in order, hence a higher median and a short tail.",
    "The spread between runs comes from whatever else shares the 2 cores (other test runs, during this one).",
    "No target figure is set for the state store: the target row is the correctness of the races.",
]


def _writer(target: str, user: str, plan_ids: list[str], ready: Any, go: Any, out: Any) -> None:
    """One writer process: connect, wait for the start, approve each plan once, report every call's latency."""
    store = StateStore(target, pool_size=1)
    store.get("warm-up")  # the connection is made before the clock starts
    ready.put(user)
    go.wait()
    latencies: list[float] = []
    won = 0
    for plan_id in plan_ids:
        started = time.perf_counter()
        won += store.approve(plan_id, user)
        latencies.append(time.perf_counter() - started)
    out.put({"user": user, "latencies": latencies, "won": won, "ended": time.time()})
    store.close()


def one_run(target: str, per_writer: int, racing: bool) -> dict[str, Any]:
    """Create the plans, start 20 writers, approve; throughput, latency percentiles and the approvals counted."""
    store = StateStore(target)
    count = per_writer if racing else per_writer * WRITERS
    plan = lambda_plan(3)
    ids = [store.create_plan(plan, "CBENCH", "UREQUEST1", ttl_seconds=3600).id for _ in range(count)]
    ctx = multiprocessing.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    shares = [ids if racing else ids[i::WRITERS] for i in range(WRITERS)]
    procs = [
        ctx.Process(target=_writer, args=(target, f"UWRITER{i:02d}", shares[i], ready, go, out), daemon=True)
        for i in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    started = time.time()
    go.set()
    reports = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    wall = max(r["ended"] for r in reports) - started
    latencies = sorted(x for r in reports for x in r["latencies"])
    won = sum(r["won"] for r in reports)
    approved = [r for r in (store.get(i) for i in ids) if r is not None and r.status == "approved"]
    audited = sum(1 for e in store.audit_log() if e.action == "approved")
    store.close()
    return {
        "seconds": wall,
        "calls": len(latencies),
        "approvals": won,
        "approved_plans": len(approved),
        "audited": audited,
        "plans": count,
        "approvals_per_s": won / wall,
        "calls_per_s": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "max_ms": 1000 * latencies[-1],
    }


def run(options: Options) -> Report:
    from tests.postgres import PostgresServer

    runs = options.runs_or(3)
    per_writer = 5 if options.quick else 100  # own plans: 2,000 approvals a run; racing: 100 plans x 20 writers
    report = Report(
        name="state",
        title=TITLE,
        compared=(
            "bot.core.state.StateStore on a SQLite file (WAL, synchronous=NORMAL) and on PostgreSQL 15 on loopback "
            "(fsync and synchronous_commit on), 20 writer processes with a store each: approvals per second and the "
            "latency of each compare-and-set call (`approve`: conditional UPDATE + audit row, one transaction)."
        ),
        sizes=(
            f"{runs} run(s) per case and backend, alternating, a fresh database each; own plans: {WRITERS} writers x "
            f"{per_writer} plans each; racing: {per_writer} plans, every writer tries each one ({WRITERS} calls a "
            "plan, one wins)."
        ),
        columns={
            "approvals_per_s": "approvals/s",
            "calls_per_s": "CAS calls/s",
            "p50_ms": "p50 ms",
            "p99_ms": "p99 ms",
            "max_ms": "max ms",
            "approved_once": "approved once",
        },
    )
    cases = {"own plans, 20 writers": False, "racing, 20 writers a plan": True}
    measured: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with PostgresServer(durable=True) as server, tempfile.TemporaryDirectory(prefix="dogcat-bench-state-") as tmp:
        backends = {
            "SQLite file": lambda n: str(Path(tmp) / f"state-{n}.sqlite3"),
            "PostgreSQL 15, loopback": lambda n: server.create_database(f"bench_{n}"),
        }
        number = 0
        for case, racing in cases.items():
            for attempt in range(1, runs + 1):
                for backend, make in backends.items():
                    number += 1
                    result = one_run(make(number), per_writer, racing)
                    measured.setdefault((case, backend), []).append(result)
                    progress(
                        f"{case}, {backend}, run {attempt}/{runs}: {result['approvals_per_s']:.0f} approvals/s, "
                        f"p99 {result['p99_ms']:.1f} ms, {result['approvals']} approvals of {result['plans']} plans"
                    )
    exact = True
    for (case, backend), results in measured.items():
        once = all(r["approvals"] == r["plans"] == r["approved_plans"] == r["audited"] for r in results)
        exact = exact and once
        report.rows.append(
            Row(
                case,
                backend,
                [float(r["seconds"]) for r in results],
                {
                    key: round(statistics.median(float(r[key]) for r in results), 1)
                    for key in ("approvals_per_s", "calls_per_s", "p50_ms", "p99_ms", "max_ms")
                }
                | {"approved_once": f"{results[-1]['approved_plans']} of {results[-1]['plans']}" if once else "NO"},
            )
        )
    for case in cases:
        sqlite_row, pg_row = (report.row(case, backend) for backend in ("SQLite file", "PostgreSQL 15, loopback"))
        if sqlite_row and pg_row and sqlite_row.metrics["approvals_per_s"]:
            pg_row.ratio = pg_row.metrics["approvals_per_s"] / sqlite_row.metrics["approvals_per_s"]
            pg_row.ratio_label = "SQLite's approvals/s"
    report.targets.append(
        Target(
            "every plan approved exactly once, one audit row each, on both backends and in both cases",
            "yes" if exact else "no",
            exact,
        )
    )
    report.notes += NOTES
    return report
