"""`python -m bot demo`: the whole conversation on this machine, with no AWS account and no Slack workspace.

An embedded moto server stands in for AWS, seeded with the workshop stack and look-alikes that must survive; a
loopback stand-in plays Slack's Web API; the real app (`python -m bot`, HTTP mode, gunicorn) receives signed
requests from two people: Ana asks for the cleanup, Binh approves it by typing `confirm`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import boto3

from bot.aws.clients import new_session
from bot.demo import moto_server
from bot.demo.inventory import resources
from bot.demo.launcher import LocalApp, local_app_env
from bot.demo.slack_standin import SlackStandIn
from bot.demo.slack_user import SlackWorkspace
from bot.demo.stack import SAGEMAKER_TRUST, seed_workshop
from bot.demo.transcript import render
from bot.slack import blocks as ids

ANA, BINH = "UANA00001", "UBINH0001"
NAMES = {ANA: "ana", BINH: "binh", "UBOTCLEAN": "dogcat-cleanup"}
CHANNEL = "CWORKSHOP"
SIGNING_SECRET = "demo-signing-secret"  # noqa: S105 - the local stand-in's, not a real secret
T = TypeVar("T")


@contextmanager
def pointed_at(url: str, region: str = "us-east-1", key: str = "demo") -> Iterator[str]:
    """boto3 in this process (and its children) pointed at `url`, an emulator that takes any key; restored after."""
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict(zip(names, (url, key, key, region), strict=True)))
    try:
        yield url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def embedded_aws(region: str = "us-east-1", key: str = "demo") -> Iterator[str]:
    """A moto server on loopback; boto3 in this process (and children) is pointed at it."""
    with moto_server.running() as url, pointed_at(url, region, key):
        yield url


# How the demo shows each kind of resource, in AWS's words
LABELS = {
    "sagemaker.endpoint": "sagemaker endpoint",
    "sagemaker.endpoint-config": "sagemaker config",
    "sagemaker.model": "sagemaker model",
    "lambda.function": "lambda function",
    "dynamodb.table": "dynamodb table",
    "apigateway.rest-api": "apigateway rest api",
    "iam.role": "iam role",
    "s3.bucket": "s3 bucket",
    "logs.log-group": "logs log group",
}


def inventory(session: boto3.session.Session, region: str) -> list[str]:
    """Every resource of the kinds the workshop uses, as "kind name" lines."""
    return sorted(f"{LABELS[r.type]:<21}{r.name}" for r in resources(session, region))


class Demo:
    def __init__(self, region: str, workdir: Path) -> None:
        self.region = region
        self.workdir = workdir
        self.slack = SlackStandIn().start()
        env = local_app_env(
            workdir,
            self.slack.api_url,
            os.environ["AWS_ENDPOINT_URL"],  # the embedded emulator's
            SIGNING_SECRET,
            "xoxb-demo",  # accepted by the stand-in only
            region,
        )
        self.app = LocalApp(env, workdir / "app.log")
        self.workspace = SlackWorkspace(self.app.url, SIGNING_SECRET, CHANNEL)

    def stop(self) -> None:
        self.app.stop()
        self.slack.stop()

    def show(self, who: str, text: str) -> None:
        print(f"\n{who}")
        print(text)

    def show_call(self, call: Any, title: str) -> None:
        args = call.args
        view = args.get("view") or {}
        blocks = view.get("blocks") if view else args.get("blocks") or []
        self.show(title, render(blocks or [{"type": "section", "text": {"text": args.get("text", "")}}], NAMES))

    def run(self) -> None:
        started = time.monotonic()
        self.app.start()
        print(f"\nThe app is up (python -m bot, HTTP mode) after {time.monotonic() - started:.1f} s.")

        before = len(self.slack.calls)
        ack = self.workspace.command(ANA, "dogcat")
        print(f"\n@ana in #workshop: /cleanup dogcat   → HTTP {ack.status_code} in {ack.elapsed.total_seconds():.2f} s")
        post = self.slack.wait_for_call("chat.postMessage", lambda c: not c.args.get("thread_ts"), timeout=60)
        self.show_call(post, "dogcat-cleanup (in #workshop):")
        ts = str(post.response["ts"])
        plan_id = next(
            e["value"]
            for b in post.args["blocks"]
            if b.get("type") == "actions"
            for e in b["elements"]
            if e["action_id"] == ids.DELETE_ACTION
        )

        self.workspace.click(ANA, ids.DELETE_ACTION, plan_id, ts)
        refusal = self.slack.wait_for_call("chat.postEphemeral", lambda c: c.args.get("user") == ANA, timeout=15)
        print("\n@ana clicks the red button herself.")
        self.show_call(refusal, "dogcat-cleanup (only visible to @ana):")

        self.workspace.click(BINH, ids.DELETE_ACTION, plan_id, ts)
        modal = self.slack.wait_for_call("views.open", timeout=15)
        print("\n@binh clicks the red button.")
        self.show_call(modal, "Modal opened for @binh:")

        for typed in ("yes", "confirm"):
            answer = self.workspace.submit(BINH, plan_id, typed)
            body = answer.json() if answer.text.strip() else {}
            if body.get("response_action") == "errors":
                print(f"\n@binh types {typed!r} → the modal stays open: {next(iter(body['errors'].values()))}")
            else:
                print(f"\n@binh types {typed!r} → the modal closes; the cleanup starts.")

        wait_until(lambda: self._finished(ts), 120, "the final report in the thread")
        print(f"\n── thread under the plan message ({len(self.slack.thread(CHANNEL, ts))} messages) ──")
        for message in self.slack.thread(CHANNEL, ts):
            self.show("dogcat-cleanup (in thread):", render(message.blocks, NAMES))
        top = next(m for m in self.slack.top_messages(CHANNEL) if m.ts == ts)
        self.show(f"The plan message now (updated {top.updates} times, buttons gone):", render(top.blocks, NAMES))
        calls = [c.method for c in self.slack.calls[before:]]
        print("\nSlack Web API calls made by the app: " + json.dumps({m: calls.count(m) for m in dict.fromkeys(calls)}))

    def _finished(self, ts: str) -> bool:
        # The plan message is updated twice: on approval (buttons removed), then with the outcome.
        top = next((m for m in self.slack.top_messages(CHANNEL) if m.ts == ts), None)
        return bool(top and top.updates >= 2)


def add_a_colleagues_model(session: boto3.session.Session) -> None:
    """A role that matches the profile's prefix but serves a colleague's model: the app must keep it."""
    iam = session.client("iam")
    role = iam.create_role(
        RoleName="AmazonSageMaker-ExecutionRole-fraud-team", AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST)
    )
    session.client("sagemaker").create_model(
        ModelName="fraud-detector-prod",
        ExecutionRoleArn=role["Role"]["Arn"],
        PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1"},
    )


def wait_until(predicate: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot demo")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    with embedded_aws(args.region), tempfile.TemporaryDirectory(prefix="dogcat-demo-") as tmp:
        session = new_session(region_name=args.region)
        seed_workshop(session, args.region)
        add_a_colleagues_model(session)
        print("== AWS before (embedded moto emulator, seeded with the workshop stack and look-alikes) ==")
        print("\n".join("  " + line for line in inventory(session, args.region)))
        demo = Demo(args.region, Path(tmp))
        try:
            demo.run()
        finally:
            demo.stop()
        print("\n== AWS after: only the look-alikes and the colleague's model and role are left ==")
        print("\n".join("  " + line for line in inventory(session, args.region)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
