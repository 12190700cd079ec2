"""Benchmark 4, the whole cleanup end to end: from the `confirm` submission to the final message in the thread.

The app runs as the Procfile's `web:` line (gunicorn, bot.slack.wsgi:app) with the end-to-end tests'
environment; every AWS call is delayed 50 ms by the latency proxy; the workshop stack is seeded afresh (no latency)
before each run. A run is the real conversation in Slack's formats: `/cleanup dogcat`, the plan appears, a
teammate clicks the red button, the modal opens, and the clock starts when the teammate's `confirm`
view_submission is sent. It stops when the final summary ("Cleanup of dogcat finished") is posted in the thread.
Stages come from the stand-in's record of every Web API call and the latency proxy's record of every AWS call
(same clock); each resource's own deletion time (`seconds`) from the state database's results table.

CLEANUP_REST_API_DELETE_INTERVAL=0: AWS allows one DeleteRestApi per 30 s per account, moto does not enforce it,
and the app spaces those deletions itself. The workshop stack has one REST API, whose deletion never waits (the
first deletion passes the gate at once); the interval would only delay a second cleanup within 30 s in the same
process, which is what the back-to-back runs here are, so it is set to 0.
moto deletes endpoints and tables at once (AWS: minutes), so these times are the app's own work plus 50 ms a call,
not AWS's lifecycle times.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import (
    REGION,
    Options,
    Report,
    Row,
    Target,
    WorkerError,
    progress,
    proxied_moto,
    seed_workshop_stack,
)
from bench.slackapp import CHANNEL, REQUESTER, SIGNING_SECRET, TEAMMATE, app_env, launch, procfile_argv
from bot.demo.aws_proxy import NO_LATENCY, AwsProxy, LatencyModel
from bot.demo.launcher import LocalApp
from bot.demo.slack_standin import Call, SlackStandIn
from bot.slack import blocks as ids

TITLE = "Whole cleanup end to end: `confirm` to the final thread message (50 ms per AWS call)"
LATENCY = LatencyModel(default=0.05)
FINISHED = "Cleanup of dogcat finished"
RUN_TIMEOUT = 180.0

TOTAL = "total: confirm sent -> final summary posted"
STAGES = [
    ("ack", "ack of the submission (modal closes)"),
    ("approved_update", "plan message updated: 'deleting'"),
    ("progress_posted", "progress message posted in the thread"),
    ("first_update", "first progress update"),
    ("first_aws", "first AWS call of the run (account check)"),
    ("first_delete", "first Delete call (account check + re-check of users done)"),
    ("last_delete", "last Delete call answered"),
    ("summary", "final summary posted"),
    ("outcome_update", "plan message updated with the outcome"),
]
# The calls that delete, by the resource type they delete (IAM: the role's policies and profiles too).
DELETE_OPS = {
    "sagemaker:DeleteEndpoint": "SageMaker endpoint",
    "sagemaker:DeleteEndpointConfig": "SageMaker endpoint config",
    "sagemaker:DeleteModel": "SageMaker model",
    "lambda:DeleteFunction": "Lambda function",
    "dynamodb:DeleteTable": "DynamoDB table",
    "apigateway:DeleteRestApi": "API Gateway REST API",
    "logs:DeleteLogGroup": "CloudWatch log group",
}
DELETE_PREFIXES = {"iam": "IAM role", "s3": "S3 bucket"}  # any Delete*/Detach*/Remove* call of these services


def deletes(op: str) -> str:
    """The resource type a call deletes (part of), or "" for a call that deletes nothing."""
    if op in DELETE_OPS:
        return DELETE_OPS[op]
    service, _, name = op.partition(":")
    if service in DELETE_PREFIXES and name.startswith(("Delete", "Detach", "Remove")):
        return DELETE_PREFIXES[service]
    return ""


def _text(call: Call) -> str:
    return json.dumps(call.args.get("blocks") or [], ensure_ascii=False) + str(call.args.get("text", ""))


def one_run(app: LocalApp, standin: SlackStandIn, proxy: AwsProxy, db_path: Path) -> dict[str, Any]:
    """One conversation; the times of its stages, in seconds after the `confirm` submission was sent."""
    from bot.demo.slack_user import SlackWorkspace

    workspace = SlackWorkspace(app.url, SIGNING_SECRET, CHANNEL)
    before = len(standin.calls_to())
    workspace.command(REQUESTER, "dogcat")
    plan_call = standin.wait_for(
        lambda s: next(
            (
                c
                for c in s.calls[before:]
                if c.method == "chat.postMessage" and c.args.get("channel") == CHANNEL and not c.args.get("thread_ts")
            ),
            None,
        ),
        timeout=RUN_TIMEOUT,
    )
    ts = str(plan_call.response["ts"])
    plan_id = next(
        (
            element["value"]
            for block in plan_call.args.get("blocks") or []
            if block.get("type") == "actions"
            for element in block["elements"]
            if element.get("action_id") == ids.DELETE_ACTION
        ),
        None,
    )
    if plan_id is None:
        raise WorkerError(f"the plan has no delete button: {_text(plan_call)[:500]}")
    workspace.click(TEAMMATE, ids.DELETE_ACTION, plan_id, ts)
    standin.wait_for(lambda s: any(c.method == "views.open" for c in s.calls[before:]), timeout=30)

    mark = len(standin.calls_to())
    t0 = time.time()
    answer = workspace.submit(TEAMMATE, plan_id, "confirm")
    ack = time.time() - t0
    if answer.status_code != 200 or answer.text.strip():
        raise WorkerError(f"the confirm submission was answered {answer.status_code} {answer.text[:300]}")

    def final(s: SlackStandIn) -> bool:
        done_summary = any(
            c.method == "chat.postMessage" and c.args.get("thread_ts") == ts and FINISHED in _text(c)
            for c in s.calls[mark:]
        )
        outcome = [c for c in s.calls[mark:] if c.method == "chat.update" and c.args.get("ts") == ts]
        return done_summary and len(outcome) >= 2

    standin.wait_for(final, timeout=RUN_TIMEOUT)
    calls = standin.calls_to()[mark:]
    plan_updates = [c.at - t0 for c in calls if c.method == "chat.update" and c.args.get("ts") == ts]
    thread_posts = [c for c in calls if c.method == "chat.postMessage" and c.args.get("thread_ts") == ts]
    progress_ts = str(thread_posts[0].response.get("ts", "")) if thread_posts else ""
    progress_updates = [c.at - t0 for c in calls if c.method == "chat.update" and c.args.get("ts") == progress_ts]
    summary = next(c.at - t0 for c in thread_posts if FINISHED in _text(c))

    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT label, status, seconds FROM results WHERE plan_id = ?", (plan_id,)).fetchall()
    if not rows:
        raise WorkerError("no result recorded in the state database")
    took: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, int] = defaultdict(int)
    for label, status, seconds in rows:
        took[str(label)].append(float(seconds))
        statuses[str(status)] += 1

    timeline = sorted((arrived - t0, answered - t0, op) for op, arrived, answered in proxy.timeline() if arrived >= t0)
    delete_calls = [(arrived, answered, deletes(op)) for arrived, answered, op in timeline if deletes(op)]
    by_type: dict[str, dict[str, float]] = {}
    for arrived, answered, label in delete_calls:
        entry = by_type.setdefault(label, {"first": arrived, "done": answered, "calls": 0})
        entry["first"], entry["done"] = min(entry["first"], arrived), max(entry["done"], answered)
        entry["calls"] += 1
    for label, entry in by_type.items():
        entry["took"] = max(took.get(label, [0.0]))
        entry["count"] = len(took.get(label, []))
    first_delete = delete_calls[0][0] if delete_calls else None
    return {
        "seconds": summary,
        "ack": ack,
        "approved_update": plan_updates[0] if plan_updates else None,
        "progress_posted": thread_posts[0].at - t0 if thread_posts else None,
        "first_update": progress_updates[0] if progress_updates else None,
        "first_aws": timeline[0][0] if timeline else None,
        "first_delete": first_delete,
        "last_delete": max((answered for _, answered, _ in delete_calls), default=None),
        "summary": summary,
        "outcome_update": plan_updates[-1] if len(plan_updates) >= 2 else None,
        "types": by_type,
        "statuses": dict(statuses),
        "progress_updates": len(progress_updates),
        "thread_posts": len(thread_posts),
        "calls_before_delete": sum(1 for arrived, _, _ in timeline if first_delete is None or arrived < first_delete),
        "calls_after_confirm": len(timeline),
    }


def run(options: Options) -> Report:
    report = Report(
        name="cleanup",
        title=TITLE,
        compared=(
            "The app started by the Procfile's `web:` line; the clock starts when the teammate's `confirm` "
            "view_submission is sent and stops when the final summary is posted in the plan's thread (Slack "
            "stand-in timestamps); the deletions by resource type from the latency proxy's record of every AWS call, "
            "each resource's own time from the state database's results table. Every AWS call delayed 50 ms; "
            "CLEANUP_REST_API_DELETE_INTERVAL=0 (see notes)."
        ),
        sizes="the workshop stack in us-east-1 (endpoint, config, model, 2 functions, table, REST API, 3 roles, "
        "versioned bucket with 21 objects and a delete marker, 3 log groups), seeded afresh before each run.",
        columns={
            "first": "first Delete call at s",
            "took": "longest resource took s",
            "count": "resources",
            "calls": "Delete calls",
        },
    )
    runs = options.runs_or(3)
    results: list[dict[str, Any]] = []
    with (
        proxied_moto([REGION], NO_LATENCY) as aws,
        SlackStandIn() as standin,
        tempfile.TemporaryDirectory(prefix="dogcat-bench-cleanup-") as tmp,
    ):
        proxy = aws.proxy
        env = app_env(Path(tmp), standin, proxy.url, CLEANUP_REST_API_DELETE_INTERVAL="0")
        with launch(procfile_argv(int(env["PORT"])), env, Path(tmp)) as app:
            for number in range(1, runs + 1):
                aws.reseed(seed_workshop_stack, LATENCY)
                proxy.reset()
                proxy.keep_timeline()
                result = one_run(app, standin, proxy, Path(env["CLEANUP_STATE_DB"]))
                result["aws_calls"] = proxy.total()
                results.append(result)
                progress(
                    f"run {number}/{runs}: {result['seconds']:.2f} s to the final summary; "
                    f"{dict(result['statuses'])}; {result['aws_calls']} AWS calls in the whole conversation"
                )
    _rows(report, results)
    return report


def _median(values: list[Any]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return statistics.median(present) if present else None


def _rows(report: Report, results: list[dict[str, Any]]) -> None:
    totals = [float(r["seconds"]) for r in results]
    report.rows.append(Row(TOTAL, "app (Procfile web:)", totals, {"count": sum(results[-1]["statuses"].values())}))
    for key, label in STAGES:
        at = [float(r[key]) for r in results if r.get(key) is not None]
        report.rows.append(Row(f"stage: {label}", "at s after confirm", at))
    labels = sorted(
        {label for r in results for label in r["types"]},
        key=lambda label: _median([r["types"].get(label, {}).get("done") for r in results]) or 0.0,
    )
    for label in labels:
        entries = [r["types"][label] for r in results if label in r["types"]]
        first = _median([e["first"] for e in entries])
        took = _median([e["took"] for e in entries])
        report.rows.append(
            Row(
                f"deleted: {label}",
                "last Delete call answered, s after confirm",
                [float(e["done"]) for e in entries],
                {
                    "first": f"{first:.2f}" if first is not None else None,
                    "took": f"{took:.2f}" if took is not None else None,
                    "count": entries[-1]["count"],
                    "calls": int(entries[-1]["calls"]),
                },
            )
        )
    median_total = statistics.median(totals)
    for row in report.rows:
        if row is not report.rows[0] and row.median is not None and median_total:
            row.ratio, row.ratio_label = row.median / median_total, "of the total"
    statuses = results[-1]["statuses"]
    report.targets.append(
        Target(
            "every planned resource deleted (no failure, no skip)",
            ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
            set(statuses) <= {"deleted", "already_gone"},
        )
    )
    report.notes += [
        "Times are seconds after the `confirm` submission was sent, read from the Slack stand-in's record of "
        "each Web API call and the latency proxy's record of each AWS call (same clock). Per resource type: when "
        "its first and last Delete calls (IAM: also Detach/Remove; S3: DeleteObjects too) went out and were "
        "answered; 'longest resource took' is the executor's own time for one resource (read-before-delete to "
        "result, results table). Deletions run concurrently in dependency order (endpoint -> config -> model "
        "-> role...).",
        f"Per run: {results[-1]['thread_posts']} thread messages, {results[-1]['progress_updates']} progress "
        f"updates; {results[-1]['calls_after_confirm']} AWS calls after `confirm`, "
        f"{results[-1]['calls_before_delete']} of them before the first Delete (account check, re-check of "
        f"what uses each planned resource, read-before-delete); {results[-1]['aws_calls']} in the whole "
        "conversation (scan included).",
        "CLEANUP_REST_API_DELETE_INTERVAL=0: the 30 s DeleteRestApi limit is not modelled. With one REST API per "
        "cleanup it costs nothing to a single cleanup (the first deletion passes at once); it would delay a second "
        "cleanup within 30 s in the same app process, which these back-to-back runs are.",
        "moto deletes endpoints and tables at once; on AWS, an endpoint takes minutes to delete and the run "
        "waits for it (with progress updates meanwhile), so real cleanups take longer by AWS's own time.",
    ]
