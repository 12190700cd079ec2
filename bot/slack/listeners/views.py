"""The confirmation modal's submission: only `confirm` approves; anything else is an error in the modal."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack.blocks import CONFIRM_BLOCK, CONFIRM_CALLBACK, CONFIRM_INPUT
from bot.slack.listeners.actions import user_team
from bot.slack.service import CleanupService


def _get(node: Any, key: str) -> Any:
    return node.get(key) if isinstance(node, dict) else None


def typed_text(view: dict[str, Any]) -> str:
    """What was typed in the modal's input; "" when the state is missing or not shaped as Slack sends it."""
    value = _get(_get(_get(_get(view, "state"), "values"), CONFIRM_BLOCK), CONFIRM_INPUT)
    typed = _get(value, "value")
    return typed if isinstance(typed, str) else ""


def register(app: App, service: CleanupService) -> None:
    @app.view(CONFIRM_CALLBACK)
    def confirm_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        service.begin_request()
        plan_id, user = str(view.get("private_metadata", "")), str(body["user"]["id"])
        errors = service.submit(plan_id, user, typed_text(view), team=user_team(body))
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()  # closes the modal
        service.confirmed(plan_id, user)
