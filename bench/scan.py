"""Benchmark 2, scan: the app's scan against a naive sequential boto3 scan of the same resources.

Cases: the workshop stack, and a large variant (the stack plus 200 SageMaker endpoints with their configs and
models, 50 Lambda functions and 50 IAM roles per account), each deployed in 1 and in 4 regions and scanned in
those regions. AWS regions are independent endpoints, so each region is served by its own moto server process
(bench.moto_process), behind the latency proxy, which routes each call by the region of its SigV4 credential scope
(IAM, STS and S3 to the us-east-1 process: see bot.demo.aws_proxy); the 4-region cases are run a second time on
one shared moto process, for comparison. Seeding goes through the same routing with no latency; every scan gets
50 ms added to every AWS call. Each contender runs in a fresh process with its boto3 clients already built (as in
the running Slack app after its first scan, and as a script builds them before it starts); the timed part is the
scan alone.

The naive scan is what a straightforward script does to produce the same list: for each region, list and
describe every endpoint, endpoint config and model (with tags), list the functions (with tags), tables, APIs and
log groups; then list the roles and buckets; one call after the other. Both contenders must find the same
resources, and the benchmark checks that they do.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from bench.common import (
    ACCOUNT_ID,
    Options,
    ProxiedMoto,
    Report,
    Row,
    child_env,
    measure,
    moto_processes,
    progress,
    ratio,
    ratio_target,
    run_repeated,
    run_worker,
)
from bot.demo.aws_proxy import NO_LATENCY, AwsProxy, LatencyModel

TITLE = "Scan: the app against a naive sequential boto3 scan (50 ms per AWS call)"
LATENCY = LatencyModel(default=0.05)
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"]
GLOBAL_TYPES = frozenset({"iam.role", "s3.bucket"})  # compared without their region

# What the dogcat profile picks by name (bot/profiles/dogcat.toml), spelled out for the naive scan.
ENDPOINT_PREFIX = "dogcat-endpoint-"
FUNCTIONS = frozenset({"InvokeModelLambda", "SaveHistoryLambda"})
TABLE = "PredictionHistory"
API = "MLInferenceAPI"
ROLE_PREFIXES = ("InvokeModelLambda-role-", "SavePredictionHistory-role-", "AmazonSageMaker-ExecutionRole-")

SCAN_SERVICES = ("sagemaker", "lambda", "dynamodb", "apigateway", "apigatewayv2", "logs", "s3")


@dataclass(frozen=True)
class Variant:
    name: str
    endpoints: int = 0  # each with its own config and model; half of them a participant's dogcat endpoint
    functions: int = 0
    roles: int = 0  # account-wide; half are SageMaker execution roles of the participants' models

    def describe(self) -> str:
        if not self.endpoints:
            return "workshop stack (endpoint, config, model, 2 functions, table, API, 3 roles, bucket, log groups)"
        return (
            f"workshop stack + {self.endpoints} endpoints with configs and models (half named dogcat-endpoint-*), "
            f"{self.functions} functions, {self.roles} roles"
        )


WORKSHOP = Variant("workshop")
LARGE = Variant("large", endpoints=200, functions=50, roles=50)
LARGE_QUICK = Variant("large", endpoints=20, functions=5, roles=6)


def normal_key(type_: str, region: str, id_: str) -> str:
    return f"{type_}|{'*' if type_ in GLOBAL_TYPES else region}|{id_}"


# -- seeding (straight to moto, no latency) ------------------------------------------------------------------


def seed(variant: Variant, regions: list[str]) -> None:
    from bot.demo.stack import LAMBDA_TRUST, SAGEMAKER_TRUST, lambda_zip, seed_workshop

    session = boto3.session.Session(region_name=regions[0])
    for number, region in enumerate(regions):
        seed_workshop(session, region, suffix=f"r{number:07d}", objects=5)
    if not variant.endpoints:
        return
    iam = session.client("iam")
    half = max(1, variant.roles // 2)
    sm_roles = [f"AmazonSageMaker-ExecutionRole-bench{i:02d}" for i in range(half)]
    team_roles = [f"team-ml-role-{i:02d}" for i in range(variant.roles - half)] or sm_roles

    def role(name: str, trust: dict[str, Any]) -> str:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])

    arns = {name: role(name, SAGEMAKER_TRUST) for name in sm_roles}
    arns.update({name: role(name, LAMBDA_TRUST) for name in team_roles if name not in arns})
    code = {"ZipFile": lambda_zip()}

    for region in regions:
        sm = session.client("sagemaker", region_name=region)
        lam = session.client("lambda", region_name=region)
        logs = session.client("logs", region_name=region)
        s3 = session.client("s3", region_name=region)
        artifacts = f"ml-artifacts-{region}-{ACCOUNT_ID}"
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=artifacts, **location)  # type: ignore[arg-type, unused-ignore]

        def endpoint(i: int, region: str = region, sm: Any = sm, logs: Any = logs, artifacts: str = artifacts) -> None:
            participant = i % 2 == 0
            name = f"{ENDPOINT_PREFIX}p{i:03d}" if participant else f"churn-endpoint-{i:03d}"
            model = f"model-{i:03d}-{region}"
            role_arn = arns[sm_roles[i % len(sm_roles)] if participant else team_roles[i % len(team_roles)]]
            bucket = f"sagemaker-{region}-{ACCOUNT_ID}" if participant else artifacts
            sm.create_model(
                ModelName=model,
                ExecutionRoleArn=role_arn,
                PrimaryContainer={"Image": "bench/image:1", "ModelDataUrl": f"s3://{bucket}/{model}/model.tar.gz"},
            )
            variant_spec = {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
            sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant_spec])
            sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
            logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{name}")

        def function(i: int, lam: Any = lam, logs: Any = logs) -> None:
            name = f"batch-fn-{i:02d}"
            role_arn = arns[team_roles[i % len(team_roles)]]
            lam.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="x.h", Code=code)
            logs.create_log_group(logGroupName=f"/aws/lambda/{name}")

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(endpoint, range(variant.endpoints)))
            list(pool.map(function, range(variant.functions)))


# -- contenders (run in a fresh process by bench.worker) -----------------------------------------------------


def app(regions: list[str]) -> dict[str, Any]:
    """The app's scan (bot.core.scanner.scan) with the dogcat profile, clients built beforehand, and the Aws
    pool sized for the regions as the app builds it (bot.slack.app: scan_workers)."""
    from bot.aws.base import GLOBAL
    from bot.aws.clients import Aws
    from bot.aws.registry import RESOURCE_TYPES
    from bot.core.scanner import scan, scan_workers
    from bot.profiles import load_profiles

    session = boto3.session.Session(region_name=regions[0])
    aws = Aws(session, max_workers=scan_workers(regions))
    for service in SCAN_SERVICES:
        for region in regions:
            aws.client(service, region)
    for service in ("iam", "s3", "sts"):
        aws.client(service, GLOBAL)
    profile = load_profiles(None, frozenset(RESOURCE_TYPES))["dogcat"]
    plan, metrics = measure(lambda: scan(aws, profile, regions))
    aws.close()
    keys = sorted({normal_key(r.type, r.region, r.id) for r in plan.resources})
    return {**metrics, "resources": keys, "problems": [str(p) for p in plan.problems]}


def naive(regions: list[str]) -> dict[str, Any]:
    """A straightforward sequential boto3 scan that finds the same resources, clients built beforehand."""
    session = boto3.session.Session(region_name=regions[0])
    clients = {(s, r): session.client(s, region_name=r) for s in SCAN_SERVICES for r in regions}  # type: ignore[call-overload, unused-ignore]
    for service in ("iam", "s3", "sts"):
        clients[(service, "global")] = session.client(service)  # type: ignore[call-overload, unused-ignore]
    keys, metrics = measure(lambda: sorted(_naive_scan(clients, regions)))
    return {**metrics, "resources": keys}


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]


def _naive_scan(clients: dict[tuple[str, str], Any], regions: list[str]) -> set[str]:
    found: set[str] = set()
    roles_used: set[str] = set()
    buckets_used: set[str] = set()
    account = clients[("sts", "global")].get_caller_identity()["Account"]
    for region in regions:
        sm = clients[("sagemaker", region)]
        endpoints = [
            sm.describe_endpoint(EndpointName=e["EndpointName"]) for e in _pages(sm, "list_endpoints", "Endpoints")
        ]
        configs = [
            sm.describe_endpoint_config(EndpointConfigName=c["EndpointConfigName"])
            for c in _pages(sm, "list_endpoint_configs", "EndpointConfigs")
        ]
        models = [sm.describe_model(ModelName=m["ModelName"]) for m in _pages(sm, "list_models", "Models")]
        for item, arn_key in [*((e, "EndpointArn") for e in endpoints), *((c, "EndpointConfigArn") for c in configs)]:
            item["Tags"] = sm.list_tags(ResourceArn=item[arn_key]).get("Tags", [])
        for model in models:
            model["Tags"] = sm.list_tags(ResourceArn=model["ModelArn"]).get("Tags", [])

        picked_endpoints = [e for e in endpoints if e["EndpointName"].startswith(ENDPOINT_PREFIX)]
        config_names = {e["EndpointConfigName"] for e in picked_endpoints}
        config_names |= {
            c["EndpointConfigName"] for c in configs if c["EndpointConfigName"].startswith(ENDPOINT_PREFIX)
        }
        model_names = {
            v["ModelName"]
            for c in configs
            if c["EndpointConfigName"] in config_names
            for v in c.get("ProductionVariants", [])
        }
        found |= {normal_key("sagemaker.endpoint", region, e["EndpointName"]) for e in picked_endpoints}
        found |= {normal_key("sagemaker.endpoint-config", region, name) for name in config_names}
        for model in models:
            if model["ModelName"] in model_names:
                found.add(normal_key("sagemaker.model", region, model["ModelName"]))
                roles_used.add(model["ExecutionRoleArn"].rsplit("/", 1)[-1])
                url = model.get("PrimaryContainer", {}).get("ModelDataUrl", "")
                if url.startswith("s3://"):
                    buckets_used.add(url[5:].split("/", 1)[0])

        lam = clients[("lambda", region)]
        functions = _pages(lam, "list_functions", "Functions")
        for fn in functions:
            fn["Tags"] = lam.list_tags(Resource=fn["FunctionArn"]).get("Tags", {})
        picked_functions = [fn for fn in functions if fn["FunctionName"] in FUNCTIONS]
        for fn in picked_functions:
            found.add(normal_key("lambda.function", region, fn["FunctionName"]))
            roles_used.add(fn["Role"].rsplit("/", 1)[-1])

        ddb = clients[("dynamodb", region)]
        for table in _pages(ddb, "list_tables", "TableNames"):
            if table == TABLE:
                arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
                ddb.list_tags_of_resource(ResourceArn=arn)
                found.add(normal_key("dynamodb.table", region, table))
        for api in _pages(clients[("apigateway", region)], "get_rest_apis", "items"):
            if api.get("name") == API:
                found.add(normal_key("apigateway.rest-api", region, api["id"]))
        for api in _pages(clients[("apigatewayv2", region)], "get_apis", "Items"):
            if api.get("Name") == API:
                found.add(normal_key("apigatewayv2.api", region, api["ApiId"]))

        logs = clients[("logs", region)]
        wanted_groups = {f"/aws/lambda/{fn['FunctionName']}" for fn in picked_functions}
        wanted_groups |= {f"/aws/sagemaker/Endpoints/{e['EndpointName']}" for e in picked_endpoints}
        for group in _pages(logs, "describe_log_groups", "logGroups"):
            if group["logGroupName"] in wanted_groups:
                logs.list_tags_for_resource(resourceArn=group["arn"].removesuffix(":*"))
                found.add(normal_key("logs.log-group", region, group["logGroupName"]))

    iam = clients[("iam", "global")]
    for role in _pages(iam, "list_roles", "Roles"):
        name = role["RoleName"]
        if name.startswith(ROLE_PREFIXES) or name in roles_used:
            iam.get_role(RoleName=name)  # ListRoles leaves the tags out
            found.add(normal_key("iam.role", "global", name))

    s3 = clients[("s3", "global")]
    wanted_buckets = {f"sagemaker-{region}-{account}" for region in regions} | buckets_used
    for bucket in s3.list_buckets().get("Buckets", []):
        if bucket["Name"] in wanted_buckets:
            try:
                s3.get_bucket_tagging(Bucket=bucket["Name"])
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") != "NoSuchTagSet":
                    raise
            found.add(normal_key("s3.bucket", "global", bucket["Name"]))
    return found


# -- the benchmark -------------------------------------------------------------------------------------------


PER_REGION, SHARED = "per-region", "shared"


@dataclass
class _Case:
    variant: Variant
    regions: list[str]
    backends: str = PER_REGION  # one moto process per region, or one for all (same thing for one region)

    @property
    def label(self) -> str:
        if len(self.regions) == 1:
            return f"{self.variant.name}, 1 region"
        return f"{self.variant.name}, {len(self.regions)} regions" + (
            ", shared moto" if self.backends == SHARED else ""
        )


@dataclass(frozen=True)
class _Contender:
    label: str
    function: str  # in this module
    runs: int  # 0: skipped
    kwargs: tuple[tuple[str, Any], ...] = ()
    latency: LatencyModel = LATENCY
    skip_note: str = ""


APP = "app scan"
NAIVE = "naive sequential scan"
FLOOR = "app, no added latency (moto's floor)"


def _contenders(case: _Case, options: Options) -> list[_Contender]:
    large, several = case.variant.endpoints > 0, len(case.regions) > 1
    if case.backends == SHARED:  # the app only: how much one shared moto process slows it
        return [
            _Contender(APP, "app", options.runs_or(1 if large else 3)),
            _Contender(FLOOR, "app", 1 if large else options.runs_or(3), latency=NO_LATENCY),
        ]
    naive_runs = 1 if large else options.runs_or(3)
    if large and several and not (options.full or options.quick):
        naive_runs = 0
    contenders = [
        _Contender(APP, "app", options.runs_or(3 if large else 5)),
        _Contender(NAIVE, "naive", naive_runs, skip_note="skipped (4 x the 1-region time: ~5 min); --full runs it"),
    ]
    if several or large:
        contenders.append(_Contender(FLOOR, "app", 1 if large else options.runs_or(3), latency=NO_LATENCY))
    return contenders


def run(options: Options) -> Report:
    large = LARGE_QUICK if options.quick else LARGE
    cases = [
        _Case(WORKSHOP, REGIONS[:1]),
        _Case(WORKSHOP, REGIONS),
        _Case(WORKSHOP, REGIONS, SHARED),
        _Case(large, REGIONS[:1]),
        _Case(large, REGIONS),
        _Case(large, REGIONS, SHARED),
    ]
    report = Report(
        name="scan",
        title=TITLE,
        compared=(
            "`bot.core.scanner.scan` (dogcat profile) against a naive sequential boto3 scan that finds the same "
            "resources; every AWS call delayed 50 ms by the latency proxy; each run in a fresh process with its "
            "clients built, timing the scan alone. AWS regions are independent endpoints, so by default each region "
            "is served by its own moto server process (the proxy routes each call by the region of its SigV4 "
            "credential scope; IAM, STS and S3 go to the us-east-1 process, see the notes); the rows marked "
            "'shared moto' put all 4 regions on one moto process, as the first results did. An extra row explains the "
            "app's time: the app with no added latency (what moto, the proxy and the client alone cost here)."
        ),
        sizes=f"workshop: {WORKSHOP.describe()}; large: {large.describe()}; regions: 1 ({REGIONS[0]}) or 4 "
        f"({', '.join(REGIONS)}), the whole stack in each.",
        columns={
            "calls": "AWS calls",
            "per_backend": "calls per moto process",
            "peak": "most calls in flight",
            "cpu": "client CPU s",
            "proxy_cpu": "proxy CPU s",
            "moto_cpu": "moto CPU s",
            "found": "resources found",
        },
    )
    with (
        moto_processes(REGIONS) as moto,
        AwsProxy(moto.urls[REGIONS[0]], LATENCY, routes=moto.urls) as routed,
        AwsProxy(moto.urls[REGIONS[0]], LATENCY) as shared,
    ):
        per_region, one_moto = (ProxiedMoto(moto, proxy, child_env(proxy.url)) for proxy in (routed, shared))
        for case in cases:
            _run_case(report, case, one_moto if case.backends == SHARED else per_region, options)
    _ratios_and_targets(report, large)
    report.notes += [
        "Backends: 4 moto server processes (one per region) on a 2-core machine: they compete for the same 2 "
        "cores with the proxy and the client, which AWS's regions do not. S3 stays in the us-east-1 process: "
        "moto cannot model S3 per region (ListBuckets is account-wide on AWS, and a bucket is reachable through "
        "any region's endpoint). IAM and STS go there too: they are global, and botocore signs them with the "
        "client's own region when an endpoint URL is set, so the credential scope alone would misroute them; IAM "
        "writes made while seeding are mirrored to every process (moto's Lambda checks the role in its own "
        "process).",
    ]
    return report


def _run_case(report: Report, case: _Case, aws: ProxiedMoto, options: Options) -> None:
    progress(f"seeding {case.label}")
    aws.reseed(lambda: seed(case.variant, case.regions), LATENCY)
    proxy, moto = aws.proxy, aws.moto
    found: dict[str, list[str]] = {}
    for contender in _contenders(case, options):
        if not contender.runs:
            report.rows.append(Row(case.label, contender.label, note=contender.skip_note))
            continue
        traffic: list[tuple[int, int, dict[str, int]]] = []

        def once(c: _Contender = contender, traffic: list[tuple[int, int, dict[str, int]]] = traffic) -> dict[str, Any]:
            proxy.reset()
            proxy.model = c.latency
            # CPU used meanwhile by this process (the proxy's threads; moto is elsewhere) and by moto's processes
            cpu_here, cpu_moto = time.process_time(), moto.cpu_seconds()
            try:
                result = run_worker(f"bench.scan:{c.function}", aws.env, regions=case.regions, **dict(c.kwargs))
            finally:
                proxy.model = LATENCY
            result["proxy_cpu"] = time.process_time() - cpu_here
            result["moto_cpu"] = moto.cpu_seconds() - cpu_moto
            traffic.append((proxy.total(), proxy.peak_concurrency(), proxy.per_upstream()))
            return result

        seconds, results = run_repeated(f"{case.label}: {contender.label}", contender.runs, once)
        found[contender.label] = results[-1]["resources"]
        note = "; ".join(results[-1].get("problems", []))
        per_backend = traffic[-1][2]
        metrics = {
            "calls": max(calls for calls, _, _ in traffic),
            "per_backend": " / ".join(str(per_backend[r]) for r in REGIONS if r in per_backend)
            if len(case.regions) > 1 and case.backends == PER_REGION
            else "all in one",
            "peak": max(peak for _, peak, _ in traffic),
            "found": len(results[-1]["resources"]),
            "cpu": round(statistics.median(float(r["cpu_seconds"]) for r in results), 2),
            "proxy_cpu": round(statistics.median(float(r["proxy_cpu"]) for r in results), 2),
            "moto_cpu": round(statistics.median(float(r["moto_cpu"]) for r in results), 2),
        }
        report.rows.append(Row(case.label, contender.label, seconds, metrics, note=note))
    differing = [label for label, keys in found.items() if keys != found[APP]]
    if differing:
        diff = sorted(set(found[APP]) ^ set(found[differing[0]]))
        report.notes.append(f"{case.label}: {differing[0]} found other resources than the app: {diff[:10]}")
    else:
        report.notes.append(f"{case.label}: every contender found the same {len(found[APP])} resources.")


def _ratios_and_targets(report: Report, large: Variant) -> None:
    def median(case: str, contender: str) -> float | None:
        row = report.row(case, contender)
        return row.median if row else None

    for row in report.rows:
        if row.contender == NAIVE:
            row.ratio, row.ratio_label = ratio(row.median, median(row.case, APP)), "the app's time"
        elif "4 regions" in row.case:
            one = row.case.split(", ")[0] + ", 1 region"
            row.ratio, row.ratio_label = ratio(row.median, median(one, APP)), "the app's 1-region time"
        elif row.contender == FLOOR:
            row.ratio, row.ratio_label = ratio(row.median, median(row.case, APP)), "the app's time"
    for variant in ("workshop", large.name):
        one = f"{variant}, 1 region"
        for four, backends in (
            (f"{variant}, 4 regions", "a moto process per region"),
            (f"{variant}, 4 regions, shared moto", "one moto process for all regions"),
        ):
            value = ratio(median(four, APP), median(one, APP))
            floor = ratio(median(four, FLOOR), median(one, APP))
            why = []
            if value is not None and value >= 1.5:
                app_row, one_app = report.row(four, APP), median(one, APP)
                if app_row is not None and one_app:
                    client, proxy_cpu, moto_cpu = (float(app_row.metrics[k]) for k in ("cpu", "proxy_cpu", "moto_cpu"))
                    total, cores = client + proxy_cpu + moto_cpu, os.cpu_count() or 1
                    why.append(
                        f"CPU needed: app {client:.1f} + proxy {proxy_cpu:.1f} + moto {moto_cpu:.1f} = {total:.1f} "
                        f"CPU-s on {cores} cores, at least {total / cores:.1f} s = {total / cores / one_app:.2f}x "
                        f"the 1-region time whatever the app does; the app's own CPU alone (one process, one GIL) "
                        f"is {client / one_app:.2f}x"
                    )
                floor_row = report.row(four, FLOOR)
                if floor is not None and floor_row is not None and floor_row.median:
                    rate = float(floor_row.metrics["calls"]) / floor_row.median
                    why.append(
                        f"with no added latency at all, 4 regions take {floor:.2f}x the 1-region time: "
                        f"{floor_row.metrics['calls']} calls at {rate:.0f}/s, what moto and the proxy answer here"
                    )
            report.targets.append(
                ratio_target(
                    f"app: 4 regions < 1.5 x 1 region ({variant}, {backends})",
                    value,
                    below=1.5,
                    why_missed="; ".join(why),
                )
            )
    for variant in ("workshop", large.name):
        split, shared = report.row(f"{variant}, 4 regions", APP), report.row(f"{variant}, 4 regions, shared moto", APP)
        if split and shared and split.median and shared.median:
            report.notes.append(
                f"{variant}, 4 regions: a moto process per region {split.median:.2f} s (moto CPU "
                f"{split.metrics['moto_cpu']} s), one shared moto process {shared.median:.2f} s (moto CPU "
                f"{shared.metrics['moto_cpu']} s). Per-region processes model AWS better (independent endpoints, "
                "no lock or GIL shared between regions), but on 2 cores they add no capacity: moto needs the same "
                "CPU either way."
            )
    for regions in ("1 region", "4 regions"):
        case = f"{large.name}, {regions}"
        value = ratio(median(case, NAIVE), median(case, APP))
        if value is None and regions == "4 regions":
            continue
        report.targets.append(ratio_target(f"app >= 4x faster than sequential ({case})", value, at_least=4, digits=1))
