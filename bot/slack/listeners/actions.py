"""The plan message's buttons: delete (opens the confirmation modal) and cancel."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack.blocks import CANCEL_ACTION, DELETE_ACTION
from bot.slack.service import CleanupService


def _ids(body: dict[str, Any], action: dict[str, Any]) -> tuple[str, str, str]:
    channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
    return str(action.get("value", "")), str(body["user"]["id"]), channel


def register(app: App, service: CleanupService) -> None:
    @app.action(DELETE_ACTION)
    def delete_clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        plan_id, user, channel = _ids(body, action)
        service.click_delete(plan_id, user, str(body.get("trigger_id", "")), channel)

    @app.action(CANCEL_ACTION)
    def cancel_clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        plan_id, user, channel = _ids(body, action)
        service.click_cancel(plan_id, user, channel)
