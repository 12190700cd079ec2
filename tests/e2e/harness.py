"""End-to-end harness: a moto server (behind a loopback proxy that can add latency), the Slack stand-in, the real
app as a subprocess (`python -m bot`, HTTP mode), and correctly signed Slack requests in Slack's real formats."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

from bot.demo import slack_user
from bot.demo.run import local_app_env
from bot.demo.slack_standin import SlackStandIn
from bot.demo.slack_user import SlackWorkspace

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-e2e-not-a-real-token"
TEAM = "T0DOGCAT"
REGION = "us-east-1"
REQUESTER = "UREQUEST1"
TEAMMATE = "UTEAMMAT1"
OTHER = "UOTHERMA1"
BOSS = "UBOSS0001"
CHANNEL = "CWORKSHOP"


def aws_session(endpoint: str) -> boto3.session.Session:
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return boto3.session.Session(region_name=REGION)


def existing(session: boto3.session.Session) -> set[str]:
    """Every resource of the kinds the stack uses, as "type:name" (REST APIs by id), like SeededStack lists."""
    sm = session.client("sagemaker")
    found = {f"sagemaker.endpoint:{e['EndpointName']}" for e in sm.list_endpoints()["Endpoints"]}
    found |= {
        f"sagemaker.endpoint-config:{c['EndpointConfigName']}" for c in sm.list_endpoint_configs()["EndpointConfigs"]
    }
    found |= {f"sagemaker.model:{m['ModelName']}" for m in sm.list_models()["Models"]}
    found |= {f"lambda.function:{f['FunctionName']}" for f in session.client("lambda").list_functions()["Functions"]}
    found |= {f"dynamodb.table:{t}" for t in session.client("dynamodb").list_tables()["TableNames"]}
    found |= {f"apigateway.rest-api:{a['id']}" for a in session.client("apigateway").get_rest_apis()["items"]}
    found |= {f"iam.role:{r['RoleName']}" for r in session.client("iam").list_roles()["Roles"]}
    found |= {f"s3.bucket:{b['Name']}" for b in session.client("s3").list_buckets()["Buckets"]}
    found |= {f"logs.log-group:{g['logGroupName']}" for g in session.client("logs").describe_log_groups()["logGroups"]}
    return found


# -- signed Slack requests --------------------------------------------------------------------------------------


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    return slack_user.sign(body, timestamp, secret)


@dataclass
class AppProcess:
    port: int
    env: dict[str, str]
    log_path: Path
    cwd: Path
    argv: list[str] = field(default_factory=lambda: [sys.executable, "-m", "bot"])
    proc: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start_process(self) -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole, gunicorn workers included
        )
        return self.proc

    def start(self, timeout: float = 30.0) -> AppProcess:
        """Start and wait until the HTTP server answers (401 to an unsigned request)."""
        self.proc = self.start_process()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status = requests.post(self.url, data="x", timeout=5).status_code
                if status == 401:  # the worker is up, and it verifies signatures
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the app did not start in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, nothing is cleaned up."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    # -- Slack's request formats ---------------------------------------------------------------------------------

    def post(self, body: str, content_type: str = "application/x-www-form-urlencoded", **kw: Any) -> requests.Response:
        return self.workspace.post(body, content_type=content_type, **kw)

    def command(
        self, text: str, user: str = REQUESTER, channel: str = CHANNEL, response_url: str = ""
    ) -> requests.Response:
        return self.workspace.command(user, text, channel, response_url)

    def click(
        self, action_id: str, plan_id: str, user: str, message_ts: str, channel: str = CHANNEL
    ) -> requests.Response:
        return self.workspace.click(user, action_id, plan_id, message_ts, channel)

    def pick_date(
        self, action_id: str, block_id: str, selected_date: str, user: str, message_ts: str, channel: str = CHANNEL
    ) -> requests.Response:
        return self.workspace.pick_date(user, action_id, block_id, selected_date, message_ts, channel)

    def submit(self, plan_id: str, user: str, typed: str | None) -> requests.Response:
        return self.workspace.submit(user, plan_id, typed)

    @property
    def workspace(self) -> SlackWorkspace:
        return SlackWorkspace(self.url, self.env.get("SLACK_SIGNING_SECRET", SIGNING_SECRET), CHANNEL)


def app_env(tmp: Path, standin: SlackStandIn, aws_url: str, **overrides: str) -> dict[str, str]:
    settings = {"CLEANUP_REST_API_DELETE_INTERVAL": "0", "CLEANUP_RUN_LEASE_SECONDS": "2", **overrides}
    return local_app_env(tmp, standin.api_url, aws_url, SIGNING_SECRET, BOT_TOKEN, REGION, "testing", **settings)
