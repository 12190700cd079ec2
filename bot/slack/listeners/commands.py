"""/cleanup: answer at once (usage, history, errors, or "scanning…"), then scan in the background."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack.service import CleanupService

COMMAND = "/cleanup"


def register(app: App, service: CleanupService) -> None:
    @app.command(COMMAND)
    def cleanup(ack: Ack, command: dict[str, Any]) -> None:
        service.begin_request()
        foreign = service.foreign_command(str(command.get("team_id", "")), str(command.get("enterprise_id", "")))
        if foreign:
            ack(text=foreign, response_type="ephemeral")
            return
        reply = service.parse_command(str(command.get("text", "")), str(command.get("user_id", "")))
        ack(text=reply.text, blocks=reply.blocks, response_type="ephemeral")
        if reply.scan is not None:  # after the ack, never before it
            profile, regions = reply.scan
            service.submit_scan(
                profile,
                regions,
                str(command["user_id"]),
                str(command["channel_id"]),
                str(command.get("response_url", "")),
                accounts=reply.accounts,
            )
