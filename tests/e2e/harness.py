"""End-to-end harness: a moto server (behind the loopback AWS proxy, bot/demo/aws_proxy.py), the Slack stand-in, the
real app as a subprocess (`python -m bot`, HTTP mode, started by bot/demo/launcher.py), and correctly signed Slack
requests in Slack's real formats. What exists in AWS: bot/demo/inventory.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from bot.demo import slack_user
from bot.demo.launcher import LocalApp, local_app_env
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


# -- signed Slack requests --------------------------------------------------------------------------------------


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    return slack_user.sign(body, timestamp, secret)


class AppProcess(LocalApp):
    """The app under test (bot.demo.launcher), spoken to in Slack's request formats as the e2e users."""

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
