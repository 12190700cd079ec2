"""Plans of any size for the Slack tests, and the app's parts wired to the Slack stand-in and a real state store."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient

from bot.aws.clients import Aws, new_session
from bot.config import Settings
from bot.core.plan import Plan, PlannedResource, ScanProblem
from bot.core.state import StateStore
from bot.demo.slack_standin import SlackStandIn
from bot.profiles import Profile, load_profiles
from bot.slack.feed import Feed
from bot.slack.reminders import ReminderScheduler, ScanFn
from bot.slack.runner import Runner, RunnerOptions
from bot.slack.service import CleanupService
from bot.slack.web import Persistence, SlackWeb

TYPES = [
    ("sagemaker.endpoint", "SageMaker endpoint", "SageMaker", 150.0),
    ("sagemaker.endpoint-config", "SageMaker endpoint config", "SageMaker", 0.0),
    ("sagemaker.model", "SageMaker model", "SageMaker", 0.0),
    ("lambda.function", "Lambda function", "Lambda", 0.0),
    ("dynamodb.table", "DynamoDB table", "DynamoDB", 1.25),
    ("apigateway.rest-api", "API Gateway REST API", "API Gateway", 0.0),
    ("logs.log-group", "CloudWatch Logs log group", "CloudWatch Logs", None),
    ("iam.role", "IAM role", "IAM", 0.0),
    ("s3.bucket", "S3 bucket", "S3", 0.5),
]


def bucket_contents(prefixes: int = 200, long: bool = False) -> dict[str, object]:
    """A bucket summary as the S3 module reports it, with many top-level prefixes (the worst case to show)."""
    now = time.time()
    tail = "-" + "p" * 150 if long else ""
    return {
        "versions": 123_456,
        "delete_markers": 789,
        "bytes": 5 * 1024**4,
        "newest": now,
        "uploads": 3,
        "complete": False,
        "prefixes": {
            f"team-{p:03d}{tail}/": {"versions": p, "markers": 1, "bytes": p * 1024**2, "latest": now - p}
            for p in range(prefixes)
        },
        "prefixes_complete": False,
    }


def resource(i: int, kind: int = 0, kept: bool = False, long: bool = False) -> PlannedResource:
    type_, label, service, cost = TYPES[kind % len(TYPES)]
    name = f"dogcat-endpoint-{i:05d}" + ("-" + "x" * 200 if long else "")
    details = {"contents": bucket_contents(long=long)} if type_ == "s3.bucket" else {}
    return PlannedResource(
        type=type_,
        label=label,
        service=service,
        region="us-east-1" if type_ not in ("iam.role", "s3.bucket") else "global",
        id=name,
        name=name,
        arn=f"arn:aws:{type_}:us-east-1:123456789012:{name}",
        identity="2026-11-25T00:00:00Z",
        reason="name starts with dogcat-endpoint-" + (" <because> & more " * 30 if long else ""),
        monthly_cost=cost,
        cost_basis="test" if cost is not None else "no price model",
        keep="protected" if kept else None,
        keep_reason="tagged cleanup:protect=true" if kept else "",
        details=details,
    )


def make_plan(n: int = 12, kept: int = 1, problems: int = 0, long: bool = False, kinds: int = len(TYPES)) -> Plan:
    resources = [resource(i, i % kinds, long=long) for i in range(n)]
    resources += [resource(n + i, i % kinds, kept=True, long=long) for i in range(kept)]
    return Plan(
        profile="dogcat",
        account_id="123456789012",
        regions=["us-east-1", "eu-west-1"],
        created_at=time.time(),
        resources=resources,
        problems=[ScanProblem("Lambda", "eu-west-1", "AccessDenied", "not allowed " * 5) for _ in range(problems)],
    )


# -- the app's parts on the Slack stand-in ----------------------------------------------------------------------


def web_client(standin: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-x", base_url=standin.api_url)


def slack_web(standin: SlackStandIn, persistence: Persistence | None = None) -> SlackWeb:
    return SlackWeb(web_client(standin), persistence)


def local_aws() -> Aws:
    """A session in us-east-1; the tests' fake executors and scans never call AWS with it."""
    return Aws(new_session(region_name="us-east-1"))


def new_runner(
    standin: SlackStandIn,
    store: StateStore,
    execute: Any,
    persistence: Persistence | None = None,
    feed_channel: str = "",
    **opts: Any,
) -> Runner:
    """A runner reporting every 0.05 s (`opts`: more RunnerOptions), posting a feed notice when given a channel."""
    slack = slack_web(standin, persistence)
    on_finished = Feed(store, slack, feed_channel).run_finished if feed_channel else None
    options = RunnerOptions(progress_interval=0.05, **opts)
    return Runner(store, local_aws(), slack, options, execute, on_finished)


def new_service(
    standin: SlackStandIn,
    store: StateStore,
    profiles: Mapping[str, Profile] | None = None,
    clock: Callable[[], float] | None = None,
    **settings: Any,
) -> CleanupService:
    """The service with its own runner (the real executor, never started by these tests), `Settings(**settings)`."""
    slack, aws = slack_web(standin), local_aws()
    service = CleanupService(Settings(**settings), store, aws, slack, profiles or {}, Runner(store, aws, slack))
    if clock is not None:
        service.clock = clock
    return service


def new_scheduler(standin: SlackStandIn, store: StateStore, settings: Settings, scan: ScanFn) -> ReminderScheduler:
    """A reminder scheduler for the built-in profiles, scanning with `scan`."""
    return ReminderScheduler(settings, store, local_aws(), slack_web(standin), load_profiles(), scan_fn=scan)


def approved_plan(
    standin: SlackStandIn, store: StateStore, plan: Plan, channel: str, requester: str = "UREQ"
) -> tuple[str, str]:
    """`plan` stored, posted to `channel` (an empty message) and approved by UAPP: its id and message ts."""
    record = store.create_plan(plan, channel, requester, 600)
    ts = str(web_client(standin).chat_postMessage(channel=channel, text="plan", blocks=[])["ts"])
    store.set_message(record.id, ts)
    assert store.approve(record.id, "UAPP")
    return record.id, ts
