"""Benchmark: what proving "not in use" costs. The app now against the app just before that change.

Proof of non-use lists the users of every candidate role and bucket in every enabled region of the account (20
on moto, as in a new AWS account), at scan time and again right before each role or bucket is deleted. This
benchmark measures what that adds on the workshop stack, 1 region, 50 ms per AWS call: the scan alone, and the
whole cleanup (execute, after a scan that is not timed). The baseline is the app at BASELINE, checked out in a
temporary git worktree; both run the same contender script (bench/proof_contender.py) in fresh processes against
the same moto server and latency proxy, on a freshly seeded stack each run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import (
    RESULT_PREFIX,
    ROOT,
    Options,
    Report,
    Row,
    Target,
    WorkerError,
    aws_endpoint,
    child_env,
    moto_processes,
    ratio,
    reset_moto,
    run_repeated,
)
from bench.scan import WORKSHOP, seed
from bot.demo.aws_proxy import NO_LATENCY, AwsProxy, LatencyModel

TITLE = "Proof of non-use: the app against itself before it proved roles and buckets unused (50 ms per AWS call)"
BASELINE = "c04dc56^"  # the commit before "Prove roles and buckets unused across every enabled region"
LATENCY = LatencyModel(default=0.05)
REGIONS = ["us-east-1"]
NOW, BEFORE = "app now", "app before proof of non-use"
SCAN_TARGET, CLEANUP_TARGET = 1.5, 1.3


@contextmanager
def baseline_tree(commit: str = BASELINE) -> Iterator[Path]:
    """The app at `commit`, in a temporary git worktree."""
    with tempfile.TemporaryDirectory(prefix="dogcat-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit], check=True,
                       capture_output=True)  # fmt: skip
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False,
                           capture_output=True)  # fmt: skip


def run_in_tree(
    script: str, tree: Path, env: dict[str, str], args: dict[str, Any], timeout: float = 900
) -> dict[str, Any]:
    """Run a contender script of bench/ (this checkout's copy) with `tree` as the app's code; its BENCH-RESULT."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), json.dumps(args)],
        cwd=tree, env=dict(env, PYTHONPATH=str(tree)), capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise WorkerError(f"{script} {args} in {tree} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return result


def _contender(tree: Path, env: dict[str, str], what: str) -> dict[str, Any]:
    return run_in_tree("proof_contender.py", tree, env, {"what": what, "regions": REGIONS}, timeout=600)


def run(options: Options) -> Report:
    runs = options.runs or (1 if options.quick else 5)
    report = Report(
        name="proof",
        title=TITLE,
        compared=(
            f"`python bench/proof_contender.py` in this checkout ({NOW}) and in a git worktree at {BASELINE} "
            f"({BEFORE}), fresh processes, clients built before timing, the workshop stack seeded afresh for every "
            "run; the scan timed alone, and the cleanup (execute) timed after an untimed scan."
        ),
        sizes=f"{WORKSHOP.describe()}; 1 region (us-east-1); users listed in the 20 regions moto enables.",
        columns={
            "calls": "AWS calls",
            "planned": "resources planned",
            "rss": "peak RSS MiB",
            "moto_cpu": "moto CPU s",
        },
    )
    with (
        baseline_tree() as before_tree,
        moto_processes(REGIONS) as moto,
        AwsProxy(moto.urls[REGIONS[0]], LATENCY) as proxy,
    ):
        env = child_env(proxy.url)
        for what in ("scan", "cleanup"):
            for label, tree in ((BEFORE, before_tree), (NOW, ROOT)):
                calls: list[int] = []
                moto_cpu: list[float] = []

                def once(
                    tree: Path = tree, what: str = what, calls: list[int] = calls, moto_cpu: list[float] = moto_cpu
                ) -> dict[str, Any]:
                    reset_moto(moto.urls[REGIONS[0]])
                    proxy.model = NO_LATENCY
                    with aws_endpoint(proxy.url):
                        seed(WORKSHOP, REGIONS)
                    proxy.model = LATENCY
                    proxy.reset()
                    cpu = moto.cpu_seconds()
                    result = _contender(tree, env, what)
                    calls.append(proxy.total())
                    moto_cpu.append(moto.cpu_seconds() - cpu)
                    return result

                seconds, results = run_repeated(f"{what}: {label}", runs, once)
                report.rows.append(
                    Row(
                        f"workshop, 1 region: {what}",
                        label,
                        seconds,
                        {
                            "calls": max(calls),
                            "planned": results[-1]["planned"],
                            "rss": round(max(r["maxrss_kb"] for r in results) / 1024, 1),
                            "moto_cpu": round(sorted(moto_cpu)[len(moto_cpu) // 2], 2),
                        },
                    )
                )
    for what, target in (("scan", SCAN_TARGET), ("cleanup", CLEANUP_TARGET)):
        case = f"workshop, 1 region: {what}"
        now, before = report.row(case, NOW), report.row(case, BEFORE)
        value = ratio(now.median if now else None, before.median if before else None)
        if now is not None:
            now.ratio, now.ratio_label = value, f"x the {what} {BEFORE}"
        report.targets.append(
            Target(
                f"{what} with every region's users listed < {target}x of the {what} before",
                f"{value:.2f}x" if value is not None else "-",
                None if value is None else value < target,
            )
        )
    report.notes.append(
        "The added calls are the listings of users (SageMaker: 13 kinds, Lambda, EC2, Step Functions, Scheduler) in "
        "each of the 20 enabled regions, at scan time and again before each role and bucket deletion. moto answers "
        "about 350-400 calls a second on this machine, so that much listing costs at least its count / 375 s here "
        "whatever the concurrency; on AWS each region is an independent endpoint."
    )
    return report
