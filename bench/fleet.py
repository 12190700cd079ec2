"""Benchmark: a workshop fleet. 20 accounts x 2 regions, the workshop stack in each, 50 ms per AWS call.

All accounts live on one moto server process (MOTO-NOTES 13: `sts:AssumeRole` into `arn:aws:iam::<ID>:role/...`
acts on that account's own backend), behind the latency proxy. The contenders are the app's own code
(`bot.core.accounts`), each run in a fresh process:

- scan: one account's 2-region scan (`scan_fleet` narrowed to that account, through its assumed role); the fleet
  scan of all 20 accounts; and the same 20 accounts scanned one after another by the app itself (`scan_fleet`
  narrowed to each account in turn). Each process first scans once untimed (clients built, role sessions open, as
  in the running app after its first scan), then says READY; the proxy's counters are reset and the timed scan runs.
- cleanup: 20 accounts with one stack each (20 REST APIs, one per account: no DeleteRestApi wait, with the real
  30 s spacing) against one account with one stack: `execute_fleet` after an untimed scan, stacks seeded afresh
  before each run.

Reported: median wall time, AWS calls of the timed part, most calls in flight, the contender's peak resident
memory (VmHWM of the timed part), CPU of the contender, the proxy and moto.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from functools import partial
from typing import Any

import boto3

from bench.common import (
    ROOT,
    Options,
    ProxiedMoto,
    Report,
    Row,
    WorkerError,
    contender_result,
    measure,
    progress,
    proxied_moto,
    ratio,
    ratio_target,
)
from bot.demo.aws_proxy import NO_LATENCY, LatencyModel

TITLE = "Many accounts: 20 accounts x 2 regions, fleet scan and cleanup (50 ms per AWS call)"
LATENCY = LatencyModel(default=0.05)
REGIONS = ["us-east-1", "us-west-2"]
ROLE = "DogcatCleanupRole"
GO = "GO"


def accounts_of(n: int) -> list[str]:
    return [f"{200000000000 + i:012d}" for i in range(1, n + 1)]


# -- seeding (this process, straight through the proxy with no latency) -------------------------------------


def seed(accounts: list[str], regions: list[str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from bot.aws.accounts import assumed_session
    from bot.demo.stack import seed_workshop

    base = boto3.session.Session(region_name=regions[0])

    def one(account: str) -> None:
        session = assumed_session(base, f"arn:aws:iam::{account}:role/{ROLE}", "seeding")
        for number, region in enumerate(regions):
            seed_workshop(session, region, suffix=f"r{number:07d}", objects=5)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, accounts))


# -- contenders (in a fresh process) -------------------------------------------------------------------------


def _fleet(accounts: list[str], regions: list[str]) -> Any:
    from bot.aws.clients import Aws
    from bot.core.accounts import Fleet
    from bot.core.scanner import scan_workers

    aws = Aws(boto3.session.Session(region_name=regions[0]), max_workers=scan_workers(regions))
    return Fleet(aws, accounts, ROLE, workers_per_account=scan_workers(regions))


def _ready() -> None:
    """Tell the parent the untimed part is done, and wait until it has reset its counters."""
    print("READY", flush=True)
    if sys.stdin.readline().strip() != GO:
        raise SystemExit("no go")


def scan_worker(accounts: list[str], regions: list[str], mode: str) -> dict[str, Any]:
    from bot.aws.registry import RESOURCE_TYPES
    from bot.core.accounts import scan_fleet
    from bot.profiles import load_profiles

    fleet = _fleet(accounts, regions)
    profile = load_profiles(None, frozenset(RESOURCE_TYPES))["dogcat"]

    def run() -> list[Any]:
        if mode == "fleet":
            return [scan_fleet(fleet, profile, regions, requester="UBENCH")]
        return [scan_fleet(fleet, profile, regions, [a], requester="UBENCH") for a in accounts]  # one by one

    run()  # untimed: clients built and role sessions open, as in the app after its first scan
    _ready()
    plans, metrics = measure(run)
    resources = sum(len(p.resources) for p in plans)
    errors = [a.error for p in plans for a in p.accounts if a.error]
    problems = [str(x) for p in plans for x in p.problems]
    return {**metrics, "found": resources, "errors": errors[:3], "problems": problems[:3]}


def cleanup_worker(accounts: list[str], regions: list[str]) -> dict[str, Any]:
    from bot.aws.registry import RESOURCE_TYPES
    from bot.core.accounts import execute_fleet, scan_fleet
    from bot.core.executor import ExecutorOptions
    from bot.profiles import load_profiles

    fleet = _fleet(accounts, regions)
    profile = load_profiles(None, frozenset(RESOURCE_TYPES))["dogcat"]
    plan = scan_fleet(fleet, profile, regions, requester="UBENCH")
    _ready()
    # The real DeleteRestApi spacing (30 s per account): one REST API per account never waits for it.
    results, metrics = measure(lambda: execute_fleet(fleet, plan, "UBENCH", options=ExecutorOptions()))
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    return {**metrics, "found": len(plan.to_delete), "statuses": statuses}


def _run(target: str, aws: ProxiedMoto, **kwargs: Any) -> dict[str, Any]:
    """A contender in a fresh interpreter; the proxy's counters and the CPU clocks start at its READY."""
    proxy, moto = aws.proxy, aws.moto
    command = [sys.executable, "-m", "bench.worker", target, json.dumps(kwargs)]
    with subprocess.Popen(
        command, cwd=ROOT, env=aws.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        line = child.stdout.readline()
        if line.strip() != "READY":
            child.kill()
            raise WorkerError(
                f"{target} did not get ready: {line[:200]} {child.stderr.read()[-2000:] if child.stderr else ''}"
            )
        proxy.reset()
        cpu_here, cpu_moto = time.process_time(), moto.cpu_seconds()
        child.stdin.write(GO + "\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=900)
    result = contender_result(target, child.returncode, out, err[-2000:])
    result["calls"] = proxy.total()
    result["peak"] = proxy.peak_concurrency()
    result["proxy_cpu"] = round(time.process_time() - cpu_here, 2)
    result["moto_cpu"] = round(moto.cpu_seconds() - cpu_moto, 2)
    return result


def _row(case: str, contender: str, results: list[dict[str, Any]], note: str = "") -> Row:
    last = results[-1]
    metrics = {
        "accounts": last.get("accounts"),
        "found": last.get("found"),
        "calls": last["calls"],
        "peak": max(r["peak"] for r in results),
        "rss": round(statistics.median(float(r["peak_rss_kb"]) for r in results) / 1024, 1),
        "cpu": round(statistics.median(float(r["cpu_seconds"]) for r in results), 2),
        "proxy_cpu": round(statistics.median(float(r["proxy_cpu"]) for r in results), 2),
        "moto_cpu": round(statistics.median(float(r["moto_cpu"]) for r in results), 2),
    }
    extra = [*last.get("errors", []), *last.get("problems", [])]
    if "statuses" in last:
        extra.insert(0, ", ".join(f"{n} {s}" for s, n in sorted(last["statuses"].items())))
    return Row(case, contender, [float(r["seconds"]) for r in results], metrics, note=note or "; ".join(extra))


def run(options: Options) -> Report:
    n = 3 if options.quick else 20
    runs = options.runs_or(3)
    accounts = accounts_of(n)
    report = Report(
        name="fleet",
        title=TITLE,
        compared=(
            "The app's own code (`bot.core.accounts.scan_fleet` / `execute_fleet`), each run in a fresh process on "
            "one moto server holding every account (reached through sts:AssumeRole, as in member accounts), every "
            "AWS call delayed 50 ms by the latency proxy. Scans: one account's 2-region scan, all accounts at once "
            "(at most 10 at a time, each with its own pool), and all accounts one after another with the app "
            "itself; each process scans once untimed first (clients and role sessions ready, as in the app after "
            "its first scan). Cleanup: all accounts' stacks against one stack, after an untimed scan, seeded "
            "afresh before each run, with the real 30 s DeleteRestApi spacing (one REST API per account)."
        ),
        sizes=f"scan: {n} accounts x {len(REGIONS)} regions ({', '.join(REGIONS)}), the workshop stack in each "
        f"(14 resources a region); cleanup: {n} accounts x 1 region, one stack each, against 1 account x 1 stack.",
        columns={
            "accounts": "accounts",
            "found": "resources",
            "calls": "AWS calls",
            "peak": "most calls in flight",
            "rss": "peak RSS MiB",
            "cpu": "app CPU s",
            "proxy_cpu": "proxy CPU s",
            "moto_cpu": "moto CPU s",
        },
    )
    with proxied_moto(["all"], NO_LATENCY) as aws:
        progress(f"seeding {n} accounts x {len(REGIONS)} regions")
        aws.reseed(partial(seed, accounts, REGIONS), LATENCY)
        scans = [
            ("1 account, 2 regions", "app scan of one account", [accounts[0]], "fleet", runs),
            (f"{n} accounts, 2 regions", "app fleet scan (all at once)", accounts, "fleet", runs),
            (f"{n} accounts, 2 regions", "app, one account after another", accounts, "sequential", 1),
        ]
        for case, contender, which, mode, times in scans:
            results = []
            for number in range(times):
                result = _run("bench.fleet:scan_worker", aws, accounts=which, regions=REGIONS, mode=mode)
                result["accounts"] = len(which)
                results.append(result)
                progress(f"{contender} run {number + 1}/{times}: {result['seconds']:.2f} s, {result['calls']} calls")
            report.rows.append(_row(case, contender, results))

        for case, contender, which in (
            ("cleanup, 1 account x 1 stack", "app: execute_fleet", accounts[:1]),
            (f"cleanup, {n} accounts x 1 stack", "app: execute_fleet (accounts in parallel)", accounts),
        ):
            results = []
            for number in range(runs):
                aws.reseed(partial(seed, which, REGIONS[:1]), LATENCY)
                result = _run("bench.fleet:cleanup_worker", aws, accounts=which, regions=REGIONS[:1])
                result["accounts"] = len(which)
                results.append(result)
                progress(f"{contender} run {number + 1}/{runs}: {result['seconds']:.2f} s {result['statuses']}")
            report.rows.append(_row(case, contender, results))
    _targets(report, n)
    return report


def _targets(report: Report, n: int) -> None:
    one = report.rows[0]
    fleet, sequential, clean_one, clean_all = report.rows[1], report.rows[2], report.rows[3], report.rows[4]
    fleet.ratio, fleet.ratio_label = ratio(fleet.median, one.median), "one account's 2-region scan"
    sequential.ratio, sequential.ratio_label = ratio(sequential.median, fleet.median), "the fleet scan"
    clean_all.ratio, clean_all.ratio_label = ratio(clean_all.median, clean_one.median), "one stack's cleanup"
    cores = os.cpu_count() or 1

    def floor(row: Row, reference: Row) -> str:
        total = sum(float(row.metrics[k]) for k in ("cpu", "proxy_cpu", "moto_cpu"))
        if not reference.median:
            return ""
        return (
            f"CPU needed: app {row.metrics['cpu']} + proxy {row.metrics['proxy_cpu']} + moto "
            f"{row.metrics['moto_cpu']} = {total:.1f} CPU-s on {cores} cores, at least {total / cores:.1f} s = "
            f"{total / cores / reference.median:.1f}x the reference whatever the app does ({row.metrics['calls']} "
            f"calls vs {reference.metrics['calls']})"
        )

    report.targets += [
        ratio_target(
            f"fleet scan of {n} accounts x 2 regions within 3x of one account's 2-region scan",
            fleet.ratio,
            at_most=3,
            why_missed=floor(fleet, one),
        ),
        ratio_target(
            f"fleet scan >= 8x faster than the {n} accounts one after another (the app itself)",
            sequential.ratio,
            at_least=8,
            why_missed=f"the fleet scan is CPU-bound here: {floor(fleet, one)}; one after another, each scan waits "
            "on latency and leaves the cores idle",
            digits=1,
        ),
        ratio_target(
            f"cleanup of {n} stacks ({n} accounts) within 3x of one stack's cleanup",
            clean_all.ratio,
            at_most=3,
            why_missed=floor(clean_all, clean_one),
        ),
    ]
    statuses = {s for r in report.rows[3:] for s in (r.note.split("; ")[0],)}
    report.notes += [
        f"Cleanups: {'; '.join(sorted(statuses))} (every planned resource deleted in every account).",
        "One moto server process holds every account, as one AWS endpoint would serve many accounts; on this "
        "2-core machine moto, the proxy and the app share the same cores, which AWS does not: see the CPU columns. "
        "Each account's role session is assumed once per process and reused (botocore refreshes it before it ends).",
        "Peak RSS: the contender's whole process during the timed part (VmHWM after a reset), boto3 clients of "
        "every account included.",
    ]
