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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    Options,
    ProxiedMoto,
    Report,
    Row,
    contender_result,
    proxied_moto,
    ratio,
    ratio_target,
    run_repeated,
)
from bench.scan import WORKSHOP, seed
from bot.demo.aws_proxy import LatencyModel

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
    return contender_result(f"{script} {args} in {tree}", done.returncode, done.stdout, done.stderr[-2000:])


@dataclass(frozen=True)
class Baseline:
    """A benchmark of the app now (this checkout) against the app at an older commit (in a git worktree), both
    running the same contender script of bench/ against one moto behind the latency proxy."""

    name: str  # the benchmark's
    title: str
    script: str  # the contender, in bench/
    commit: str
    label: str  # the app at `commit`, as the rows name it
    default_runs: int

    def runs(self, options: Options) -> int:
        """Runs per version and case: as asked (with --quick too), else one with --quick, else the default."""
        return options.runs or (1 if options.quick else self.default_runs)

    def report(self, how: str, sizes: str, columns: dict[str, str]) -> Report:
        """The benchmark's report; `how` ends its `compared` text, which starts with the two versions."""
        compared = (
            f"`python bench/{self.script}` in this checkout ({NOW}) and in a git worktree at {self.commit} "
            f"({self.label}), fresh processes, {how}"
        )
        return Report(name=self.name, title=self.title, compared=compared, sizes=sizes, columns=columns)

    @contextmanager
    def versions(
        self, regions: list[str], latency: LatencyModel
    ) -> Iterator[tuple[list[tuple[str, Path]], ProxiedMoto]]:
        """(label, the app's code) of both versions, the old one first, and moto for `regions` behind the proxy."""
        with baseline_tree(self.commit) as tree, proxied_moto(regions, latency) as aws:
            yield [(self.label, tree), (NOW, ROOT)], aws

    def run(self, tree: Path, env: dict[str, str], args: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
        """One run of the contender with `tree` as the app's code (run_in_tree); its BENCH-RESULT."""
        return run_in_tree(self.script, tree, env, args, timeout)


VERSIONS = Baseline("proof", TITLE, "proof_contender.py", BASELINE, BEFORE, default_runs=5)


def run(options: Options) -> Report:
    report = VERSIONS.report(
        "clients built before timing, the workshop stack seeded afresh for every run; the scan timed alone, and the "
        "cleanup (execute) timed after an untimed scan.",
        sizes=f"{WORKSHOP.describe()}; 1 region (us-east-1); users listed in the 20 regions moto enables.",
        columns={
            "calls": "AWS calls",
            "planned": "resources planned",
            "rss": "peak RSS MiB",
            "moto_cpu": "moto CPU s",
        },
    )
    runs = VERSIONS.runs(options)
    with VERSIONS.versions(REGIONS, LATENCY) as (versions, aws):
        for what in ("scan", "cleanup"):
            for label, tree in versions:
                calls: list[int] = []
                moto_cpu: list[float] = []

                def once(
                    tree: Path = tree, what: str = what, calls: list[int] = calls, moto_cpu: list[float] = moto_cpu
                ) -> dict[str, Any]:
                    aws.reseed(lambda: seed(WORKSHOP, REGIONS), LATENCY)
                    aws.proxy.reset()
                    cpu = aws.moto.cpu_seconds()
                    result = VERSIONS.run(tree, aws.env, {"what": what, "regions": REGIONS}, timeout=600)
                    calls.append(aws.proxy.total())
                    moto_cpu.append(aws.moto.cpu_seconds() - cpu)
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
            ratio_target(
                f"{what} with every region's users listed < {target}x of the {what} before",
                value,
                below=target,
            )
        )
    report.notes.append(
        "The added calls are the listings of users (SageMaker: 13 kinds, Lambda, EC2, Step Functions, Scheduler) in "
        "each of the 20 enabled regions, at scan time and again before each role and bucket deletion. moto answers "
        "about 350-400 calls a second on this machine, so that much listing costs at least its count / 375 s here "
        "whatever the concurrency; on AWS each region is an independent endpoint."
    )
    return report
