"""The plan message's buttons: delete (opens the confirmation modal), cancel, snooze 1 day, and the keep-until
datepicker (its block_actions carry `selected_date`; the plan id rides in the block_id)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.slack.blocks import CANCEL_ACTION, DELETE_ACTION, KEEP_UNTIL_ACTION, SNOOZE_ACTION, plan_id_of_block
from bot.slack.service import CleanupService


def _ids(body: dict[str, Any], action: dict[str, Any]) -> tuple[str, str, str]:
    channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
    return str(action.get("value", "")), str(body["user"]["id"]), channel


def user_team(body: dict[str, Any]) -> str:
    """The clicking user's own team (`user.team_id`: their workspace, or their org's E... ID in Enterprise Grid);
    "" when the payload has none, which no member's click lacks."""
    user = body.get("user")
    team = user.get("team_id") if isinstance(user, dict) else None
    return team if isinstance(team, str) else ""


def _clicked_ts(body: dict[str, Any]) -> str:
    """The ts of the message whose button was clicked (a click can reach us before the scan stored that ts)."""
    return str((body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts") or "")


def register(app: App, service: CleanupService) -> None:
    @app.action(DELETE_ACTION)
    def delete_clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        service.begin_request()
        ack()
        plan_id, user, channel = _ids(body, action)
        service.click_delete(plan_id, user, str(body.get("trigger_id", "")), channel, team=user_team(body))

    def answered_on_the_message(answer: Callable[..., None]) -> Callable[..., None]:
        """Cancel and Snooze: buttons that need only the plan, who clicked and the message they clicked on."""

        def clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
            service.begin_request()
            ack()
            plan_id, user, channel = _ids(body, action)
            answer(plan_id, user, channel, message_ts=_clicked_ts(body), team=user_team(body))

        return clicked

    app.action(CANCEL_ACTION)(answered_on_the_message(service.click_cancel))
    app.action(SNOOZE_ACTION)(answered_on_the_message(service.click_snooze))

    @app.action(KEEP_UNTIL_ACTION)
    def keep_until_picked(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        service.begin_request()
        ack()
        _value, user, channel = _ids(body, action)
        plan_id = plan_id_of_block(str(action.get("block_id", "")))
        selected = action.get("selected_date")
        service.pick_keep_until(
            plan_id,
            user,
            channel,
            selected if isinstance(selected, str) else "",
            message_ts=_clicked_ts(body),
            team=user_team(body),
        )
