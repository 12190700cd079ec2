"""`python bench/proof_contender.py '{"what": "scan"|"cleanup", "regions": [...]}'`: one run of the app's own scan
or cleanup, in whatever checkout is the working directory (the current one, or the baseline's worktree).

Uses only what both versions share (`scan(aws, profile, regions)`, `execute(aws, plan, None, options)`), so the same
script times the app before and after a change. Prints one BENCH-RESULT line as bench.worker does.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any


def main(argv: list[str]) -> int:
    import boto3

    from bot.aws.clients import Aws
    from bot.aws.registry import RESOURCE_TYPES
    from bot.core.executor import ExecutorOptions, execute
    from bot.core.scanner import scan, scan_workers
    from bot.profiles import load_profiles

    args: dict[str, Any] = json.loads(argv[0])
    regions: list[str] = args["regions"]
    session = boto3.session.Session(region_name=regions[0])
    aws = Aws(session, max_workers=scan_workers(regions))
    for service in ("sagemaker", "lambda", "dynamodb", "apigateway", "apigatewayv2", "logs", "s3", "ec2"):
        for region in regions:
            aws.client(service, region)
    for service in ("iam", "s3", "sts"):
        aws.client(service, "global")
    profile = load_profiles(None, frozenset(RESOURCE_TYPES))["dogcat"]
    started = time.perf_counter()
    plan = scan(aws, profile, regions)
    scanned = time.perf_counter()
    result: dict[str, Any] = {"scan_seconds": scanned - started, "planned": len(plan.to_delete)}
    if args["what"] == "cleanup":
        results = execute(aws, plan, None, ExecutorOptions(delete_interval=0.0))
        result["cleanup_seconds"] = time.perf_counter() - scanned
        result["statuses"] = sorted({r.status for r in results})
    result["seconds"] = result.get("cleanup_seconds", result["scan_seconds"])
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    aws.close()
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
