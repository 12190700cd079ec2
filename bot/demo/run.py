"""`python -m bot demo`: the whole conversation on this machine, with no AWS account and no Slack workspace.

An embedded moto server stands in for AWS, seeded with the workshop stack and look-alikes that must survive; a
loopback stand-in plays Slack's Web API; the real app (`python -m bot`, HTTP mode, gunicorn) receives signed
requests from two people: Ana asks for the cleanup, Binh approves it by typing `confirm`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import boto3
import requests

from bot.demo.slack_standin import SlackStandIn
from bot.demo.slack_user import SlackWorkspace
from bot.demo.stack import SAGEMAKER_TRUST, seed_workshop
from bot.demo.transcript import render
from bot.slack import blocks as ids

ROOT = Path(__file__).resolve().parents[2]
ANA, BINH = "UANA00001", "UBINH0001"
NAMES = {ANA: "ana", BINH: "binh", "UBOTCLEAN": "dogcat-cleanup"}
CHANNEL = "CWORKSHOP"
SIGNING_SECRET = "demo-signing-secret"  # noqa: S105 - the local stand-in's, not a real secret
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def local_app_env(
    state_dir: Path,
    slack_api_url: str,
    aws_url: str,
    signing_secret: str,
    bot_token: str,
    region: str = "us-east-1",
    aws_key: str = "demo",
    **overrides: str,
) -> dict[str, str]:
    """The environment of the app run against local stand-ins (the demo, the end-to-end tests, the benchmarks).

    Nothing of the caller's Slack, cleanup or AWS settings leaks in, and every setting a developer's `.env` could
    hold is set explicitly (python-dotenv never overrides a variable that is set, even to "").
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CLEANUP_", "AWS_", "PYTEST"))}
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        PORT=str(free_port()),
        HOST="127.0.0.1",
        SLACK_BOT_TOKEN=bot_token,
        SLACK_SIGNING_SECRET=signing_secret,
        SLACK_APP_TOKEN="",  # set (empty) so that no .env turns Socket Mode on
        SLACK_API_URL=slack_api_url,
        AWS_ENDPOINT_URL=aws_url,
        AWS_ACCESS_KEY_ID=aws_key,
        AWS_SECRET_ACCESS_KEY=aws_key,
        AWS_DEFAULT_REGION=region,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        CLEANUP_REGIONS=region,
        CLEANUP_APPROVERS="",
        CLEANUP_ALLOW_SELF_APPROVAL="false",
        CLEANUP_PLAN_TTL_MINUTES="30",
        CLEANUP_STATE_DB=str(state_dir / "state.sqlite3"),
        CLEANUP_PROFILES="",
    )
    env.update(overrides)
    return env


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
    from moto.server import ThreadedMotoServer

    from bot.demo import moto_gaps

    moto_gaps.apply()

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with pointed_at(f"http://127.0.0.1:{port}", region, key) as url:
            yield url
    finally:
        server.stop()


def inventory(session: boto3.session.Session, region: str) -> list[str]:
    """Every resource of the kinds the workshop uses, as "kind name" lines."""
    sm = session.client("sagemaker", region_name=region)
    lines = [f"sagemaker endpoint   {e['EndpointName']}" for e in sm.list_endpoints()["Endpoints"]]
    lines += [f"sagemaker config     {c['EndpointConfigName']}" for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    lines += [f"sagemaker model      {m['ModelName']}" for m in sm.list_models()["Models"]]
    functions = session.client("lambda", region_name=region).list_functions()["Functions"]
    lines += [f"lambda function      {f['FunctionName']}" for f in functions]
    tables = session.client("dynamodb", region_name=region).list_tables()["TableNames"]
    lines += [f"dynamodb table       {t}" for t in tables]
    apis = session.client("apigateway", region_name=region).get_rest_apis()["items"]
    lines += [f"apigateway rest api  {a['name']}" for a in apis]
    lines += [f"iam role             {r['RoleName']}" for r in session.client("iam").list_roles()["Roles"]]
    lines += [f"s3 bucket            {b['Name']}" for b in session.client("s3").list_buckets()["Buckets"]]
    groups = session.client("logs", region_name=region).describe_log_groups()["logGroups"]
    lines += [f"logs log group       {g['logGroupName']}" for g in groups]
    return sorted(lines)


class Demo:
    def __init__(self, region: str, workdir: Path) -> None:
        self.region = region
        self.workdir = workdir
        self.slack = SlackStandIn().start()
        self.app: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.workspace = SlackWorkspace(f"http://127.0.0.1:{self.port}/slack/events", SIGNING_SECRET, CHANNEL)

    def start_app(self) -> None:
        env = local_app_env(
            self.workdir,
            self.slack.api_url,
            os.environ["AWS_ENDPOINT_URL"],  # the embedded emulator's
            SIGNING_SECRET,
            "xoxb-demo",  # accepted by the stand-in only
            self.region,
            PORT=str(self.port),
        )
        log = (self.workdir / "app.log").open("wb")
        self.app = subprocess.Popen(
            [sys.executable, "-m", "bot"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_until(lambda: self._answers(), 30, "the app to start")

    def _answers(self) -> bool:
        if self.app is not None and self.app.poll() is not None:
            raise RuntimeError(f"the app exited:\n{(self.workdir / 'app.log').read_text(errors='replace')}")
        try:
            return requests.post(self.workspace.url, data="x", timeout=2).status_code == 401
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.app is not None and self.app.poll() is None:
            os.killpg(self.app.pid, signal.SIGTERM)
            try:
                self.app.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.app.pid, signal.SIGKILL)
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
        self.start_app()
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
        session = boto3.session.Session(region_name=args.region)
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
