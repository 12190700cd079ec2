"""Listeners grouped by kind, each registered on the app, each thin: ack, then one call into the service."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, views
from bot.slack.listeners.payload_shape import RejectMalformed
from bot.slack.service import CleanupService


def register_listeners(app: App, service: CleanupService) -> None:
    app.use(RejectMalformed())  # after Bolt's signature check, before any listener is matched
    commands.register(app, service)
    actions.register(app, service)
    views.register(app, service)
