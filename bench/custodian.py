"""Benchmark: what a user would pick instead. Cloud Custodian (`custodian run`, c7n from PyPI) with policies that
delete the workshop's resources, against `python -m bot delete dogcat`, on the same stack behind the same proxy.

The stack is the workshop stack with its look-alikes (bot.demo.stack), plus one situation that any account in use
has: a team's own SageMaker model `pytorch-inference-2025-07-01-team` (not the workshop's) on its execution role
`AmazonSageMaker-ExecutionRole-team`. The chapter names the workshop's things by prefix (endpoint, roles) and gives
the model no fixed name, so the policies a careful user writes from it (`POLICIES` below: exact names where the
chapter has them, its prefixes where it has those, the model by the name SageMaker generated) select the team's
model and role too. Custodian does what its policies say; the app follows references and proves non-use.

c7n pins an older boto3 than the app, so it runs from its own virtual environment (`.venv-custodian`, created from
bench/requirements-custodian.txt on first use); both contenders run as subprocesses with the same environment and
every AWS call delayed 50 ms. After each run, what is left of the workshop and what is gone that should not be
are read from moto.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from bench.common import (
    REGION,
    ROOT,
    Options,
    Report,
    Row,
    Target,
    WorkerError,
    aws_endpoint,
    progress,
    proxied_moto,
    ratio,
)
from bot.demo.aws_proxy import NO_LATENCY, LatencyModel

TITLE = "What a user would pick instead: Cloud Custodian against `python -m bot delete dogcat` (50 ms per AWS call)"
LATENCY = LatencyModel(default=0.05)
VENV = ROOT / ".venv-custodian"
REQUIREMENTS = ROOT / "bench" / "requirements-custodian.txt"
TEAM_MODEL = "pytorch-inference-2025-07-01-team"
TEAM_ROLE = "AmazonSageMaker-ExecutionRole-team"


def _policy(name: str, resource: str, key: str, op: str, value: Any, action: Any = "delete") -> dict[str, Any]:
    """A Custodian policy: the resources of one type whose `key` matches (`op`, `value`), and an action on them."""
    return {
        "name": name,
        "resource": resource,
        "filters": [{"type": "value", "key": key, "op": op, "value": value}],
        "actions": [action],
    }


ROLE_PREFIXES = "^(InvokeModelLambda-role-|SavePredictionHistory-role-|AmazonSageMaker-ExecutionRole-).*"
LOG_GROUPS = "^(/aws/lambda/(InvokeModelLambda|SaveHistoryLambda)|/aws/sagemaker/Endpoints/dogcat-endpoint-.*)$"
# What the chapter's clean-up steps say, as Custodian policies (each resource type's own delete action).
POLICIES: dict[str, Any] = {
    "policies": [
        _policy("dogcat-endpoints", "aws.sagemaker-endpoint", "EndpointName", "glob", "dogcat-endpoint-*"),
        _policy(
            "dogcat-endpoint-configs",
            "aws.sagemaker-endpoint-config",
            "EndpointConfigName",
            "glob",
            "dogcat-endpoint-*",
        ),
        # the chapter gives the model no name; SageMaker's generated one starts like this
        _policy("dogcat-models", "aws.sagemaker-model", "ModelName", "glob", "pytorch-inference-*"),
        _policy("dogcat-functions", "aws.lambda", "FunctionName", "in", ["InvokeModelLambda", "SaveHistoryLambda"]),
        _policy("dogcat-table", "aws.dynamodb-table", "TableName", "eq", "PredictionHistory"),
        _policy("dogcat-api", "aws.rest-api", "name", "eq", "MLInferenceAPI"),
        _policy("dogcat-roles", "aws.iam-role", "RoleName", "regex", ROLE_PREFIXES, {"type": "delete", "force": True}),
        _policy(
            "dogcat-bucket", "aws.s3", "Name", "glob", "sagemaker-*-*", {"type": "delete", "remove-contents": True}
        ),
        _policy("dogcat-log-groups", "aws.log-group", "logGroupName", "regex", LOG_GROUPS),
    ]
}


def ensure_venv() -> Path:
    custodian = VENV / "bin" / "custodian"
    if not custodian.exists():
        progress(f"creating {VENV.name} for c7n ({REQUIREMENTS.name})")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            check=True,
        )
    return custodian


def seed() -> dict[str, Any]:
    from bot.demo.stack import SAGEMAKER_TRUST, seed_workshop

    session = boto3.session.Session(region_name=REGION)
    stack = seed_workshop(session, REGION)
    iam, sm = session.client("iam"), session.client("sagemaker")
    arn = iam.create_role(RoleName=TEAM_ROLE, AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST))["Role"]["Arn"]
    sm.create_model(
        ModelName=TEAM_MODEL,
        ExecutionRoleArn=arn,
        PrimaryContainer={"Image": "team/pytorch:2", "ModelDataUrl": "s3://team-ml-artifacts/model.tar.gz"},
    )
    survivors = [*stack.survivors, f"sagemaker.model:{TEAM_MODEL}", f"iam.role:{TEAM_ROLE}"]
    return {"workshop": stack.workshop, "survivors": survivors}


def inventory() -> set[str]:
    from bot.demo.inventory import existing

    session = boto3.session.Session(region_name=REGION)
    found = existing(session)
    s3 = session.client("s3")
    for bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        versions = s3.list_object_versions(Bucket=bucket)
        count = len(versions.get("Versions", [])) + len(versions.get("DeleteMarkers", []))
        if count:
            found.add(f"s3.objects:{bucket}:{count}")
    return found


def _contenders(custodian: Path, folder: Path) -> list[tuple[str, list[str], str]]:
    policy = folder / "dogcat.yml"
    policy.write_text(json.dumps(POLICIES, indent=2))  # JSON is YAML
    return [
        ("app: python -m bot delete dogcat", [sys.executable, "-m", "bot", "delete", "dogcat"], "confirm\n"),
        (
            "Cloud Custodian: custodian run (9 policies)",
            [str(custodian), "run", "--region", REGION, "-s", str(folder / "out"), str(policy)],
            "",
        ),
    ]


def run(options: Options) -> Report:
    runs = options.runs_or(3)
    custodian = ensure_venv()
    version = subprocess.run([str(custodian), "version"], capture_output=True, text=True, check=False).stdout.strip()
    report = Report(
        name="custodian",
        title=TITLE,
        compared=(
            f"`python -m bot delete dogcat` (piped `confirm`) against `custodian run` (c7n {version}) with the "
            "policies of bench/custodian.py (one per resource type, each type's own delete action: roles with "
            "force, the bucket with remove-contents), both as subprocesses on the same freshly seeded stack, "
            "every AWS call delayed 50 ms by the latency proxy; wall time of the whole command (start-up, scan, "
            "deletion)."
        ),
        sizes="the workshop stack in us-east-1 (14 resources: endpoint, config, model, 2 functions, table, REST API, "
        "3 roles, versioned bucket with 21 objects and a delete marker, 3 log groups) with its look-alikes "
        "(PredictionHistoryArchive, InvokeModelLambdaV2 and its role, MLInferenceAPI-prod), plus a team's own "
        f"SageMaker model {TEAM_MODEL} on the role {TEAM_ROLE}.",
        columns={
            "calls": "AWS calls",
            "deletes": "delete calls",
            "left": "workshop left behind",
            "wrong": "wrongly deleted",
        },
    )
    outcomes: dict[str, dict[str, Any]] = {}
    with (
        proxied_moto([REGION], NO_LATENCY) as aws,
        tempfile.TemporaryDirectory(prefix="dogcat-bench-custodian-") as tmp,
    ):
        proxy = aws.proxy
        env = dict(aws.env, CLEANUP_STATE_DB=str(Path(tmp) / "state.sqlite3"), CLEANUP_REST_API_DELETE_INTERVAL="0")
        for label, command, stdin in _contenders(custodian, Path(tmp)):
            seconds: list[float] = []
            for number in range(runs):
                seeded = aws.reseed(seed, LATENCY)
                proxy.reset()
                started = time.perf_counter()
                done = subprocess.run(
                    command, input=stdin, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
                )
                seconds.append(time.perf_counter() - started)
                counts = proxy.counts()
                proxy.model = NO_LATENCY
                with aws_endpoint(proxy.url):
                    after = inventory()
                left = sorted(w for w in seeded["workshop"] if w in after)
                left += sorted(x for x in after if x.startswith("s3.objects:"))
                wrong = sorted(s for s in seeded["survivors"] if s not in after)
                outcomes[label] = {
                    "exit": done.returncode,
                    "calls": sum(counts.values()),
                    "deletes": sum(n for op, n in counts.items() if op.split(":", 1)[-1].startswith("Delete")),
                    "left": left,
                    "wrong": wrong,
                    "stderr": done.stderr[-600:],
                }
                progress(
                    f"{label} run {number + 1}/{runs}: {seconds[-1]:.2f} s exit {done.returncode}, "
                    f"left {len(left)}, wrongly deleted {len(wrong)}"
                )
            o = outcomes[label]
            note = f"exit {o['exit']}"
            if o["left"]:
                note += "; left: " + ", ".join(o["left"])
            if o["wrong"]:
                note += "; wrongly deleted: " + ", ".join(o["wrong"])
            report.rows.append(
                Row(
                    "workshop stack + a team's model",
                    label,
                    seconds,
                    {"calls": o["calls"], "deletes": o["deletes"], "left": len(o["left"]), "wrong": len(o["wrong"])},
                    note=note,
                )
            )
    if len(report.rows) == 2:
        app, c7n = report.rows
        c7n.ratio, c7n.ratio_label = ratio(c7n.median, app.median), "the app's time"
        a = outcomes[app.contender]
        report.targets.append(
            Target(
                "the app deletes the whole workshop and nothing else",
                f"left {len(a['left'])}, wrongly deleted {len(a['wrong'])}",
                not a["left"] and not a["wrong"] and a["exit"] == 0,
            )
        )
        if not outcomes[app.contender]["exit"] == 0:
            raise WorkerError(f"the app failed: {a['stderr']}")
    report.notes += [
        "Custodian has no notion of 'the workshop': each policy selects by name and deletes, with no reference "
        "following (the model has no fixed name, so a name pattern is the only way to pick it) and no check of who "
        "still uses a role or a bucket. The app picks the model because the workshop's endpoint config uses it, and "
        "keeps the team's role because the team's model uses it.",
        "s3 remove-contents: Custodian suspends versioning before deleting versions, which on moto removes every "
        "version of a key and answers HTTP 500 when one is a delete marker (MOTO-NOTES 2); on AWS the same policy "
        "would empty the bucket. Its exit status says nothing about what was left.",
        "Policies (bench/custodian.py POLICIES): endpoints and configs by the prefix dogcat-endpoint-, models by "
        "pytorch-inference-*, functions, table and API by exact name, roles by the chapter's three prefixes (delete "
        "with force: detach and delete their policies), buckets sagemaker-*-* (delete with remove-contents), log "
        "groups by the functions' and endpoints' names.",
    ]
    return report
