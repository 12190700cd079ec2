"""People using Slack, simulated: signed HTTP requests in Slack's real formats, sent to the app.

Slash commands are form-encoded; interactions (block_actions, view_submission) are a form field `payload`
holding JSON. Every request carries X-Slack-Request-Timestamp and an X-Slack-Signature made with the signing
secret, exactly as Slack signs them. Used by the demo and the end-to-end tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

TEAM = "T0DOGCAT"
APP_ID = "A0CLEANUP"


def sign(body: str, timestamp: int, secret: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def trigger_id() -> str:
    return f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:20]}"


@dataclass
class SlackWorkspace:
    """Where requests go (the app's /slack/events URL) and how they are signed."""

    url: str
    signing_secret: str
    channel: str = "CWORKSHOP"

    def post(self, body: str, timestamp: int | None = None, signature: str | None = None, **headers: str) -> Any:
        stamp = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": signature or sign(body, stamp, self.signing_secret),
            **headers,
        }
        return requests.post(self.url, data=body.encode(), headers=sent, timeout=30)

    def command(self, user: str, text: str, channel: str = "", response_url: str = "") -> Any:
        channel = channel or self.channel
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM,
                "team_domain": "dogcat",
                "channel_id": channel,
                "channel_name": channel.lower(),
                "user_id": user,
                "user_name": user.lower(),
                "command": "/cleanup",
                "text": text,
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": response_url or "https://hooks.slack.com/commands/T0DOGCAT/1/abc",
                "trigger_id": trigger_id(),
            }
        )
        return self.post(body)

    def click(self, user: str, action_id: str, value: str, message_ts: str, channel: str = "") -> Any:
        channel = channel or self.channel
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
            "trigger_id": trigger_id(),
            "team": {"id": TEAM, "domain": "dogcat"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": channel.lower()},
            "message": {"type": "message", "ts": message_ts, "text": "plan", "bot_id": "BBOTCLEAN"},
            "state": {"values": {}},
            "response_url": "https://hooks.slack.com/actions/T0DOGCAT/1/abc",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "cleanup_actions",
                    "text": {"type": "plain_text", "text": "button", "emoji": True},
                    "value": value,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return self.post(urlencode({"payload": json.dumps(payload)}))

    def submit(
        self, user: str, private_metadata: str, typed: str | None, block_id: str, action_id: str, callback_id: str
    ) -> Any:
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "dogcat"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "trigger_id": trigger_id(),
            "view": {
                "id": f"V{uuid.uuid4().hex[:10].upper()}",
                "team_id": TEAM,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "title": {"type": "plain_text", "text": "Confirm cleanup"},
                "blocks": [],
                "state": {"values": {block_id: {action_id: {"type": "plain_text_input", "value": typed}}}},
                "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
                "app_id": APP_ID,
                "bot_id": "BBOTCLEAN",
            },
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.post(urlencode({"payload": json.dumps(payload)}))
