"""Benchmark 3, emptying a versioned bucket: the app's S3 deletion against what people would use instead.

Sizes: 2,000 and 10,000 object versions (two versions per key) plus one delete marker per 20 versions. moto's
listing cost grows with the bucket (every ListObjectVersions walks every version: about 1 s a page at 10,000), so
the sizes stay there. Each run gets a freshly seeded bucket, written straight into
moto's in-process backend (fast, no latency). Contenders run in a fresh process through the latency proxy, whose
model is close to real S3: ListObjectVersions 100 ms, DeleteObjects 1 s per 1000 keys, other calls 50 ms.

Contenders:
- app: `bot.aws.s3.BucketType.delete` (empty in bounded rounds, abort uploads, delete the bucket);
- (a) a correct sequential boto3 loop: list every page, then delete_objects in batches of 1000, then delete_bucket;
- (b) boto3's resource idiom `bucket.object_versions.delete()` + `bucket.delete()` (correct on AWS; on moto the
  listing stops early after the first deleted page);
- (c) `aws s3 rb --force` (awscli v1): deletes current objects only, which on a versioned bucket adds delete markers.

Memory is the contender process's peak resident set (ru_maxrss), the whole Python process included.
"""

from __future__ import annotations

import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from bench.common import (
    ACCOUNT_ID,
    REGION,
    Options,
    Report,
    Row,
    Target,
    child_env,
    measure,
    moto_server,
    progress,
    ratio,
    ratio_target,
    reset_moto,
    rss_kb,
    run_worker,
)
from bot.demo.aws_proxy import AwsProxy, LatencyModel

TITLE = "S3: emptying and deleting a versioned bucket (ListObjectVersions 100 ms, DeleteObjects 1 s/1000 keys)"
LATENCY = LatencyModel(
    default=0.05,
    per_operation={"s3:ListObjectVersions": 0.1, "s3:DeleteObjects": 0.0},
    per_object={"s3:DeleteObjects": 0.001},
)
PAGE = 1000  # keys per listing page and per DeleteObjects (AWS's maxima)
CLI_TIMEOUT = 600.0


def markers_for(versions: int) -> int:
    return versions // 20


# -- seeding and inspecting, straight in moto's backend (this process hosts the server) ----------------------


def _backend() -> Any:
    from moto.backends import get_backend

    return get_backend("s3")[ACCOUNT_ID]["global"]


def seed_bucket(name: str, versions: int) -> int:
    """A versioned bucket with `versions` object versions (two per key) and delete markers; returns entries."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    backend = _backend()
    keys = versions // 2
    for i in range(keys):
        for _ in range(2):
            backend.put_object(name, f"images/{i:06d}.jpg", b"x" * 64)
    step = max(1, keys // max(1, markers_for(versions)))
    for i in range(0, keys, step)[: markers_for(versions)]:
        backend.delete_object(name, f"images/{i:06d}.jpg")  # a delete marker on top of the key's versions
    return versions + markers_for(versions)


def leftover(name: str) -> tuple[bool, int, int]:
    """(bucket still exists, object versions left, delete markers left)."""
    from moto.s3.models import FakeDeleteMarker

    bucket = _backend().buckets.get(name)
    if bucket is None:
        return False, 0, 0
    entries = [entry for _key, listed in bucket.keys.iterlists() for entry in listed]
    markers = sum(isinstance(entry, FakeDeleteMarker) for entry in entries)
    return True, len(entries) - markers, markers


# -- contenders (run in a fresh process by bench.worker) -----------------------------------------------------


def _error(e: ClientError) -> str:
    err = e.response.get("Error", {})
    return f"{err.get('Code', '?')}: {err.get('Message', '')}"[:200]


def app(bucket: str) -> dict[str, Any]:
    """bot.aws.s3.BucketType.delete, as the executor calls it."""
    from bot.aws.base import Found
    from bot.aws.clients import Aws
    from bot.aws.s3 import BucketType

    aws = Aws(boto3.session.Session(region_name=REGION))
    aws.client("s3", REGION)
    found = Found(type="s3.bucket", region=REGION, id=bucket, name=bucket, arn=f"arn:aws:s3:::{bucket}", identity="")
    error = ""
    try:
        _, metrics = measure(lambda: BucketType().delete(aws, found))
    except ClientError as e:
        error, metrics = _error(e), {"seconds": float("nan")}
    aws.close()
    return {**metrics, "error": error}


def sequential(bucket: str) -> dict[str, Any]:
    """(a) The correct sequential loop: list every page, then DeleteObjects in 1000s, then DeleteBucket."""
    s3 = boto3.session.Session(region_name=REGION).client("s3")

    def go() -> None:
        entries = [
            {"Key": entry["Key"], "VersionId": entry["VersionId"]}
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        for start in range(0, len(entries), PAGE):
            batch = entries[start : start + PAGE]
            errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}).get("Errors")
            if errors:
                raise ClientError({"Error": {"Code": errors[0]["Code"], "Message": "per-key errors"}}, "DeleteObjects")
        s3.delete_bucket(Bucket=bucket)

    try:
        _, metrics = measure(go)
        return {**metrics, "error": ""}
    except ClientError as e:
        return {"seconds": float("nan"), "error": _error(e)}


def resource_idiom(bucket: str) -> dict[str, Any]:
    """(b) boto3's resource idiom: bucket.object_versions.delete(), then bucket.delete()."""
    resource_bucket = boto3.session.Session(region_name=REGION).resource("s3").Bucket(bucket)

    def go() -> str:
        resource_bucket.object_versions.delete()
        try:
            resource_bucket.delete()
        except ClientError as e:
            return _error(e)
        return ""

    error, metrics = measure(go)
    return {**metrics, "error": error}


def awscli(bucket: str) -> dict[str, Any]:
    """(c) `aws s3 rb s3://bucket --force`, timed from its start; its own peak memory from wait4."""
    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if aws is None:
        return {"seconds": float("nan"), "error": "awscli not installed", "skipped": True}
    rss_start = rss_kb()
    started = time.perf_counter()
    process = subprocess.Popen(
        [aws, "s3", "rb", f"s3://{bucket}", "--force"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    try:
        _, stderr = process.communicate(timeout=CLI_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    error = ""
    if process.returncode != 0:
        text = stderr.decode("utf-8", "replace")
        found = re.search(r"An error occurred \((\w+)\) when calling the (\w+) operation", text)
        error = f"{found.group(1)} on {found.group(2)}" if found else (text.strip().splitlines() or ["?"])[-1][:200]
        error = f"exit {process.returncode}: {error}"
    # The reported peak is the aws process's (the worker's own is not the contender's).
    return {"seconds": seconds, "error": error, "rss_start_kb": rss_start, "cli_maxrss_kb": usage.ru_maxrss}


CONTENDERS = {
    "app": ("app: BucketType.delete", 3),
    "sequential": ("(a) sequential boto3 loop", 3),
    "resource_idiom": ("(b) boto3 object_versions.delete()", 1),
    "awscli": ("(c) aws s3 rb --force", 1),
}


# -- the benchmark -------------------------------------------------------------------------------------------


def run(options: Options) -> Report:
    sizes = [200, 1000] if options.quick else [2000, 10000]
    report = Report(
        name="s3",
        title=TITLE,
        compared=(
            "`BucketType.delete` against (a) a correct sequential boto3 loop, (b) boto3's "
            "`bucket.object_versions.delete()` + `bucket.delete()`, (c) `aws s3 rb --force` (awscli 1.x); each run "
            "in a fresh process on a freshly seeded bucket, through the latency proxy (ListObjectVersions 100 ms, "
            "DeleteObjects 1 s per 1000 keys, other calls 50 ms)."
        ),
        sizes=", ".join(f"{n:,} versions + {markers_for(n):,} delete markers" for n in sizes)
        + " (two versions per key); moto lists about 1 s a page at 10,000 versions.",
        columns={
            "list_calls": "ListObjectVersions",
            "delete_calls": "DeleteObjects",
            "min_calls": "minimum list+delete",
            "calls": "all calls",
            "peak_mib": "peak RSS MiB",
            "growth_mib": "RSS growth MiB",
            "list_moto_s": "moto's listing s",
            "left": "left behind",
        },
    )
    minimums: dict[int, int] = {}
    with moto_server() as moto, AwsProxy(moto, LATENCY) as proxy:
        env = child_env(proxy.url)
        for versions in sizes:
            entries = versions + markers_for(versions)
            minimums[versions] = 2 * math.ceil(entries / PAGE)
            case = f"{versions:,} versions"
            plan = {key: (label, runs_of(options, default)) for key, (label, default) in CONTENDERS.items()}
            results: dict[str, list[dict[str, Any]]] = {key: [] for key in CONTENDERS}
            # Runs alternate between contenders, so that a noisy moment of the machine does not favour one.
            for number in range(max(runs for _, runs in plan.values())):
                for key, (label, runs) in plan.items():
                    if number >= runs:
                        continue
                    reset_moto(moto)
                    bucket = f"bench-{key.replace('_', '-')}-{versions}-{number}"
                    seed_bucket(bucket, versions)
                    proxy.reset()
                    result = run_worker(f"bench.s3:{key}", env, bucket=bucket)
                    counts = proxy.counts()
                    exists, left_versions, left_markers = leftover(bucket)
                    result.update(
                        list_calls=counts.get("s3:ListObjectVersions", 0),
                        delete_calls=counts.get("s3:DeleteObjects", 0),
                        calls=sum(counts.values()),
                        list_moto_s=proxy.upstream_seconds("s3:ListObjectVersions"),
                        exists=exists,
                        left_versions=left_versions,
                        left_markers=left_markers,
                        counts=counts,
                    )
                    results[key].append(result)
                    progress(
                        f"{case}: {label} run {number + 1}/{runs}: {result['seconds']:.2f} s, "
                        f"{result['calls']} calls, left {left_versions} versions + {left_markers} markers"
                        + (", bucket kept" if exists else "")
                        + (f" ({result['error']})" if result.get("error") else "")
                    )
            for key, (label, _count) in plan.items():
                report.rows.append(_row(case, label, results[key], minimums[versions]))
    _ratios_and_targets(report, sizes, minimums)
    report.notes += [
        "Memory: peak resident set of the contender's own process during the timed part (Linux VmHWM, reset when "
        "the part starts; the Python process and boto3 included), median of the runs; growth = that peak minus "
        "the resident size when the part starts. For (c), the aws process's whole-life ru_maxrss. "
        "One run for (b) and (c): they do not empty the bucket on moto.",
        "app and (a) are checked to leave nothing: no version, no delete marker, no bucket.",
        "The one-pass pipeline what-if of the first results (list the next page while deleting the previous ones, "
        "in the same bucket) is no longer measured: moto's S3 backend is not thread-safe for listing while another "
        "thread deletes (in-process tests crashed inside moto's list_object_versions: 'NoneType' object is not "
        "iterable, from bucket.keys.iterlists()), so its figures could not be trusted. The app lists up to 8 pages "
        "from the start with no deletion in between, then deletes them concurrently.",
    ]
    return report


def runs_of(options: Options, default: int) -> int:
    """Runs of one contender: (b) and (c) once (they fail on moto anyway), the others as asked."""
    return 1 if default == 1 else options.runs_or(default)


def _row(case: str, label: str, results: list[dict[str, Any]], minimum: int) -> Row:
    last = results[-1]
    if last.get("skipped"):
        return Row(case, label, note=str(last.get("error", "skipped")))
    left = (
        "nothing"
        if not last["exists"]
        else f"bucket + {last['left_versions']:,} versions + {last['left_markers']:,} markers"
    )
    peaks = [r.get("cli_maxrss_kb") or r.get("peak_rss_kb") or r["maxrss_kb"] for r in results]
    growths = [r["peak_rss_kb"] - r["rss_start_kb"] for r in results if "peak_rss_kb" in r]
    metrics = {
        "list_calls": last["list_calls"],
        "delete_calls": last["delete_calls"],
        "min_calls": minimum,
        "calls": last["calls"],
        "peak_mib": round(statistics.median(peaks) / 1024, 1),
        "growth_mib": round(statistics.median(growths) / 1024, 1) if growths else None,
        "list_moto_s": round(statistics.median(float(r["list_moto_s"]) for r in results), 2),
        "left": left,
    }
    seconds = [float(r["seconds"]) for r in results if not math.isnan(float(r["seconds"]))]
    note = "; ".join(sorted({str(r["error"]) for r in results if r.get("error")}))
    return Row(case, label, seconds, metrics, note=note)


def _ratios_and_targets(report: Report, sizes: list[int], minimums: dict[int, int]) -> None:
    app_label, seq_label = CONTENDERS["app"][0], CONTENDERS["sequential"][0]
    for row in report.rows:
        app_row = report.row(row.case, app_label)
        if row.contender != app_label and app_row is not None:
            row.ratio, row.ratio_label = ratio(row.median, app_row.median), "the app's time"
    big = f"{sizes[-1]:,} versions"
    app_big, seq_big = report.row(big, app_label), report.row(big, seq_label)
    speedup = ratio(seq_big.median if seq_big else None, app_big.median if app_big else None)
    why = []
    if app_big and seq_big and app_big.median and seq_big.median:
        app_net = app_big.median - float(app_big.metrics["list_moto_s"])
        seq_net = seq_big.median - float(seq_big.metrics["list_moto_s"])
        if speedup is not None and speedup < 2:
            why.append(f"net of moto's listing walk: {ratio(seq_net, app_net) or 0:.2f}x")
    report.targets.append(
        ratio_target(
            f"app >= 2x faster than (a) at {sizes[-1]:,} versions", speedup, at_least=2, why_missed="; ".join(why)
        )
    )
    if app_big and seq_big and app_big.median and seq_big.median:
        report.notes.append(
            f"At {sizes[-1]:,} versions, moto itself took {app_big.metrics['list_moto_s']} s (app) and "
            f"{seq_big.metrics['list_moto_s']} s ((a)) to answer ListObjectVersions: it walks the whole bucket for "
            "every page, which S3 does not (the proxy already adds S3's 100 ms a page). Listing calls never overlap "
            f"other calls in either contender, so net of that walk: app {app_net:.1f} s, (a) {seq_net:.1f} s, "
            f"{ratio(seq_net, app_net) or 0:.2f}x."
        )
    for versions in sizes:
        app_row = report.row(f"{versions:,} versions", app_label)
        if app_row is None:
            continue
        used = int(app_row.metrics["list_calls"]) + int(app_row.metrics["delete_calls"])
        over = used / minimums[versions] - 1
        extra = int(app_row.metrics["list_calls"]) - minimums[versions] // 2
        report.targets.append(
            Target(
                f"app's ListObjectVersions + DeleteObjects within 10% of the minimum ({versions:,} versions)",
                f"{used} vs {minimums[versions]} (+{over:.0%})",
                over <= 0.10,
                f"{extra} listing call(s) beyond one per page: the last, from the start, finds the bucket empty"
                if over > 0.10 and extra > 0
                else "",
            )
        )
    peaks = [report.row(f"{n:,} versions", app_label) for n in sizes]
    if all(peaks):
        small, large = (float(p.metrics["peak_mib"]) for p in peaks if p)
        report.targets.append(
            Target(
                f"app's peak memory the same (within 10%) at {sizes[0]:,} and {sizes[-1]:,} versions",
                f"{small:.1f} vs {large:.1f} MiB ({large / small - 1:+.0%})",
                abs(large / small - 1) <= 0.10,
            )
        )
