"""The one wrapper of Slack's Web API calls the app makes. Every caller goes through it, so every call handles
Slack's errors the same way: logged with Slack's error code, never raised into AWS work or a listener, and told
to the caller as an empty answer (or, where the caller words its own reply, as the error code).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class SlackWeb:
    """The few Web API calls the app makes; errors are logged, never raised."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, text: str, blocks_: list[dict[str, Any]], thread_ts: str = "") -> str:
        """chat.postMessage; the message's ts, or "" when Slack refused it."""
        return self.post_checked(channel, text, blocks_, thread_ts)[0]

    def post_checked(
        self, channel: str, text: str, blocks_: list[dict[str, Any]], thread_ts: str = ""
    ) -> tuple[str, str]:
        """chat.postMessage: (ts, "") when posted, ("", Slack's error code) when not."""
        if not channel:  # a run started from the command line, resumed here: it has no Slack thread
            return "", "no_channel"
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks_}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            return str(self.client.chat_postMessage(**kwargs)["ts"]), ""
        except SlackApiError as e:
            error = str(e.response.get("error", "") or "unknown")
            hint = " (invite the app to the channel)" if error in ("not_in_channel", "channel_not_found") else ""
            log.warning("chat.postMessage to %s failed: %s%s", channel, error, hint)
            return "", error

    def update(self, channel: str, ts: str, text: str, blocks_: list[dict[str, Any]]) -> bool:
        if not ts:
            return False
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks_)
            return True
        except SlackApiError as e:
            log.warning("chat.update of %s in %s failed: %s", ts, channel, e.response.get("error"))
            return False

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> bool:
        """views.open with a click's trigger_id (valid for 3 seconds); False when Slack refused it."""
        try:
            self.client.views_open(trigger_id=trigger_id, view=view)
            return True
        except SlackApiError as e:
            log.warning("views.open failed: %s", e.response.get("error"))
            return False

    def permalink(self, channel: str, ts: str) -> str:
        """The link to a message, or "" when Slack cannot give one."""
        if not ts:
            return ""
        try:
            response = self.client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as e:
            log.warning("chat.getPermalink in %s failed: %s", channel, e.response.get("error"))
            return ""
        return str(response.get("permalink") or "")

    def ephemeral(self, channel: str, user: str, text: str, response_url: str = "") -> None:
        """Tell one person; through chat.postEphemeral, or the command's response_url when that fails."""
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as e:
            log.info("chat.postEphemeral in %s failed: %s", channel, e.response.get("error"))
        if response_url:
            from slack_sdk.webhook import WebhookClient

            try:
                WebhookClient(response_url).send(text=text, response_type="ephemeral")
            except Exception:  # the requester just does not get the note
                log.warning("response_url post failed", exc_info=True)
