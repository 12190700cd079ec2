"""Benchmark: twenty REST APIs behind DeleteRestApi's quota must not delay anything else (SPEC, deletion order).

AWS allows one DeleteRestApi per 30 s per account. The app waits for that quota without holding a delete worker:
a deletion that must wait is parked on a timer, its worker freed. Here the interval is 1 s (moto does not enforce
AWS's, and 30 s x 19 would make each run ten minutes; the mechanism is the same at any interval), 50 ms per AWS
call. The workshop stack alone, then with 19 more REST APIs named as the chapter's (20 in all), each cleaned up
by the app now and by the app at BASELINE (a git worktree), whose waits slept in the worker (8 workers: eight
waiting APIs held every one). What is compared is when the last resource that is not a REST API was done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from bench.common import Options, Report, Row, ratio, ratio_target, run_repeated
from bench.proof import NOW, Baseline
from bench.scan import WORKSHOP, seed
from bot.demo.aws_proxy import LatencyModel

TITLE = "Twenty REST APIs behind DeleteRestApi's quota: the rest of the cleanup is not delayed (50 ms per AWS call)"
BASELINE = "fdf90eb"  # the last commit whose quota waits slept in a delete worker
LATENCY = LatencyModel(default=0.05)
REGION = "us-east-1"
INTERVAL = 1.0
EXTRA_APIS = 19
BEFORE = "app before (waits held a worker)"
TARGET = 1.2
VERSIONS = Baseline("quota", TITLE, "quota_contender.py", BASELINE, BEFORE, default_runs=3)


def _seed(extra_apis: int) -> None:
    """The workshop stack, and `extra_apis` more REST APIs named as the chapter's."""
    seed(WORKSHOP, [REGION])
    client = boto3.session.Session(region_name=REGION).client("apigateway")
    for _ in range(extra_apis):
        client.create_rest_api(name="MLInferenceAPI")


def run(options: Options) -> Report:
    report = VERSIONS.report(
        "the stack seeded afresh for every run; the scan untimed; the time is from the start of the cleanup to the "
        "end of its last deletion that is not a REST API.",
        sizes=f"{WORKSHOP.describe()}; with and without {EXTRA_APIS} more; DeleteRestApi every {INTERVAL:g} s",
        columns={"apis_done": "last REST API done s", "rest_apis": "REST APIs", "planned": "resources planned"},
    )
    runs = VERSIONS.runs(options)
    with VERSIONS.versions([REGION], LATENCY) as (versions, aws):
        for extra in (0, EXTRA_APIS):
            case = f"workshop + {extra} REST APIs" if extra else "workshop (1 REST API)"
            for label, tree in versions:

                def once(tree: Path = tree, extra: int = extra) -> dict[str, Any]:
                    aws.reseed(lambda: _seed(extra), LATENCY)
                    return VERSIONS.run(tree, aws.env, {"interval": INTERVAL})

                seconds, results = run_repeated(f"{case}: {label}", runs, once, keep=("apis_done",))
                last = results[-1]
                report.rows.append(
                    Row(
                        case,
                        label,
                        seconds,
                        {
                            "apis_done": round(sorted(r["apis_done"] for r in results)[len(results) // 2], 2),
                            "rest_apis": last["rest_apis"],
                            "planned": last["planned"],
                        },
                    )
                )
    alone = report.row("workshop (1 REST API)", NOW)
    for label in (BEFORE, NOW):
        row = report.row(f"workshop + {EXTRA_APIS} REST APIs", label)
        base = report.row("workshop (1 REST API)", label)
        value = ratio(row.median if row else None, base.median if base else None)
        if row is not None:
            row.ratio, row.ratio_label = value, "x the same app without the 19 APIs"
        if label == NOW:
            report.targets.append(
                ratio_target(
                    f"the rest of the cleanup with 20 REST APIs <= {TARGET}x of it with 1", value, at_most=TARGET
                )
            )
    if alone is not None:
        report.notes.append(
            f"The 20 REST APIs themselves take at least 19 x {INTERVAL:g} s: AWS's quota, kept by both versions."
        )
    return report
