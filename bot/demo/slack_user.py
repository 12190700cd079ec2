"""People using Slack, simulated: signed HTTP requests in Slack's real formats, sent to the app.

Slash commands are form-encoded; interactions (block_actions, view_submission) are a form field `payload`
holding JSON. Every request carries X-Slack-Request-Timestamp and an X-Slack-Signature made with the signing
secret, exactly as Slack signs them. The payload builders are pure, and take any value where a test wants to
send a malformed one. Used by the demo, the end-to-end tests, the reliability tests and the benchmarks.
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

from bot.slack.blocks import CONFIRM_BLOCK, CONFIRM_CALLBACK, CONFIRM_INPUT

TEAM = "T0DOGCAT"
APP_ID = "A0CLEANUP"


def sign(body: str, timestamp: int, secret: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def trigger_id() -> str:
    return f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:20]}"


def _user(user: Any) -> dict[str, Any]:
    name = user.lower() if isinstance(user, str) else "someone"
    return {"id": user, "username": name, "name": name, "team_id": TEAM}


def slash_command(user: str, text: str, channel: str, response_url: str = "") -> dict[str, str]:
    """The form fields of a `/cleanup` slash command."""
    return {
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


def block_actions(action_id: Any, value: Any, user: Any, channel: Any, message_ts: str = "1.000001") -> dict[str, Any]:
    """A button click on a message."""
    return {
        "type": "block_actions",
        "user": _user(user),
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": trigger_id(),
        "team": {"id": TEAM, "domain": "dogcat"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower() if isinstance(channel, str) else "workshop"},
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


def date_picked(
    action_id: Any, block_id: Any, selected_date: Any, user: Any, channel: Any, message_ts: str = "1.000001"
) -> dict[str, Any]:
    """A date picked in a message's datepicker: a block_actions whose action carries `selected_date` (YYYY-MM-DD)
    and no value; the message's state holds the same date under its block and action ids."""
    payload = block_actions(action_id, None, user, channel, message_ts)
    payload["state"] = {"values": {block_id: {action_id: {"type": "datepicker", "selected_date": selected_date}}}}
    payload["actions"] = [
        {
            "type": "datepicker",
            "action_id": action_id,
            "block_id": block_id,
            "selected_date": selected_date,
            "action_ts": f"{time.time():.6f}",
        }
    ]
    return payload


def view_submission(plan_id: Any, user: Any, typed: Any, callback_id: str = CONFIRM_CALLBACK) -> dict[str, Any]:
    """The confirm modal submitted with `typed` in its one text input; the plan id rides in private_metadata."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "dogcat"},
        "user": _user(user),
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": trigger_id(),
        "view": {
            "id": f"V{uuid.uuid4().hex[:10].upper()}",
            "team_id": TEAM,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": plan_id,
            "title": {"type": "plain_text", "text": "Confirm cleanup"},
            "blocks": [],
            "state": {"values": {CONFIRM_BLOCK: {CONFIRM_INPUT: {"type": "plain_text_input", "value": typed}}}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "app_id": APP_ID,
            "bot_id": "BBOTCLEAN",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def interaction_body(payload: Any) -> str:
    """The form body of an interaction; `payload` is JSON-encoded unless it already is a string."""
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


@dataclass
class SlackWorkspace:
    """Where requests go (the app's /slack/events URL) and how they are signed."""

    url: str
    signing_secret: str
    channel: str = "CWORKSHOP"

    def post(
        self,
        body: str,
        timestamp: int | None = None,
        signature: str | None = None,
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> requests.Response:
        stamp = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": signature or sign(body, stamp, self.signing_secret),
            **(headers or {}),
        }
        return requests.post(self.url, data=body.encode(), headers=sent, timeout=timeout)

    def command(self, user: str, text: str, channel: str = "", response_url: str = "") -> requests.Response:
        return self.post(urlencode(slash_command(user, text, channel or self.channel, response_url)))

    def click(self, user: str, action_id: str, value: str, message_ts: str, channel: str = "") -> requests.Response:
        return self.interact(block_actions(action_id, value, user, channel or self.channel, message_ts))

    def pick_date(
        self, user: str, action_id: str, block_id: str, selected_date: str, message_ts: str, channel: str = ""
    ) -> requests.Response:
        return self.interact(date_picked(action_id, block_id, selected_date, user, channel or self.channel, message_ts))

    def submit(self, user: str, plan_id: str, typed: str | None) -> requests.Response:
        return self.interact(view_submission(plan_id, user, typed))

    def interact(self, payload: Any, headers: dict[str, str] | None = None) -> requests.Response:
        return self.post(interaction_body(payload), headers=headers)
