"""Benchmark 5, start-up: from process start to the first answered request, and resident memory at idle.

`python -m bot` in HTTP mode (gunicorn in-process, WEB_CONCURRENCY workers, default 1) and the Procfile's `web:`
line (gunicorn with the same configuration, WEB_CONCURRENCY=2 as a platform sets it: 2 workers x 8 threads), with
the end-to-end tests' environment. The clock starts just before the process is spawned; an unsigned POST
/slack/events is sent every 10 ms until the port is bound (then it waits in the listen queue until a worker takes
it), and the clock stops at its answer, a 401: the worker is up and verifies signatures. Memory is read 2 s later,
with nothing to do, from /proc: VmRSS summed over the master and its workers (pages a forked
worker shares with its master count twice) and Pss (shared pages split between the processes that share them, so the
sum is the real footprint).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import REGION, Options, Report, Row, progress, proxied_moto
from bench.slackapp import PLATFORM_WORKERS, app_env, app_memory, launch, procfile_argv
from bot.demo.aws_proxy import LatencyModel
from bot.demo.launcher import python_m_bot
from bot.demo.slack_standin import SlackStandIn

TITLE = "Start-up: process start to the first answered request, and memory at idle"
IDLE_SECONDS = 2.0
LATENCY = LatencyModel(default=0.05)  # would show if start-up called AWS


def run(options: Options) -> Report:
    runs = options.runs_or(3)
    report = Report(
        name="startup",
        title=TITLE,
        compared=(
            "`python -m bot` (HTTP mode, gunicorn in-process, 1 worker by default) and the Procfile's `web:` line "
            "(gunicorn bot.slack.wsgi:app, WEB_CONCURRENCY=2: 2 workers x 8 threads): time from spawning the process "
            "to the 401 "
            f"answer of an unsigned POST /slack/events, and resident memory {IDLE_SECONDS:.0f} s later at idle."
        ),
        sizes=f"{runs} start(s) of each, alternating; default profile (dogcat), one region, a fresh state database "
        "each start; AWS through the latency proxy (50 ms a call) and the Slack stand-in, to count what start-up "
        "calls.",
        columns={
            "processes": "processes",
            "rss_mib": "VmRSS sum MiB",
            "pss_mib": "Pss sum MiB",
            "aws_calls": "AWS calls",
            "slack_calls": "Slack calls",
        },
    )
    contenders = {
        "python -m bot (HTTP mode)": "python",
        "Procfile web: (gunicorn, 2 workers)": "procfile",
    }
    measured: dict[str, list[dict[str, Any]]] = {label: [] for label in contenders}
    with proxied_moto([REGION], LATENCY) as aws, SlackStandIn() as standin:
        proxy = aws.proxy
        for number in range(1, runs + 1):
            for label, kind in contenders.items():
                with tempfile.TemporaryDirectory(prefix="dogcat-bench-startup-") as tmp:
                    workers = {"WEB_CONCURRENCY": PLATFORM_WORKERS} if kind == "procfile" else {}
                    env = app_env(Path(tmp), standin, proxy.url, **workers)
                    argv = python_m_bot() if kind == "python" else procfile_argv(int(env["PORT"]))
                    proxy.reset()
                    slack_before = len(standin.calls_to())
                    with launch(argv, env, Path(tmp)) as app:
                        time.sleep(IDLE_SECONDS)
                        memory = app_memory(app)
                        result: dict[str, Any] = {
                            "seconds": app.first_answer_s,
                            **memory,
                            "aws_calls": proxy.total(),
                            "slack_calls": len(standin.calls_to()) - slack_before,
                            "slack_methods": sorted({c.method for c in standin.calls_to()[slack_before:]}),
                        }
                measured[label].append(result)
                progress(
                    f"{label} start {number}/{runs}: answered after {result['seconds']:.2f} s; "
                    f"{result['processes']} processes, VmRSS {result['rss_kb'] / 1024:.0f} MiB, "
                    f"Pss {result['pss_kb'] / 1024:.0f} MiB"
                )
    for label, results in measured.items():
        report.rows.append(
            Row(
                "start to first answer",
                label,
                [float(r["seconds"]) for r in results],
                {
                    "processes": results[-1]["processes"],
                    "rss_mib": round(statistics.median(r["rss_kb"] for r in results) / 1024, 1),
                    "pss_mib": round(statistics.median(r["pss_kb"] for r in results) / 1024, 1),
                    "aws_calls": max(r["aws_calls"] for r in results),
                    "slack_calls": max(r["slack_calls"] for r in results),
                },
                note="Slack methods called: " + (", ".join(results[-1]["slack_methods"]) or "none"),
            )
        )
    report.notes += [
        "Medians of the starts. VmRSS and Pss are read from /proc/<pid>/status and /proc/<pid>/smaps_rollup of "
        "the master and every worker; no request has been served except the one unsigned POST.",
        "AWS and Slack calls made during start-up (and the 2 idle seconds) are counted by the proxy and the "
        "stand-in, which answers at once: against slack.com each worker's start-up call adds a real round trip. "
        "No target is set for start-up.",
    ]
    return report
