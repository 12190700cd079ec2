"""`python -m bot` picks Socket Mode when SLACK_APP_TOKEN is set (SPEC §3), and HTTP otherwise."""

from __future__ import annotations

import requests

from bot.slack.standin import SlackStandIn
from tests.e2e.conftest import AppFactory


def test_app_token_selects_socket_mode(start_app: AppFactory, standin: SlackStandIn) -> None:
    app = start_app(start=False, SLACK_APP_TOKEN="xapp-1-A0CLEANUP-0000-not-a-real-token")
    app.start_process()
    try:
        # Socket Mode asks the Web API (SLACK_API_URL) for a WebSocket URL with the app-level token.
        standin.wait_for_call("apps.connections.open", timeout=30)
        try:
            requests.post(app.url, data="x", timeout=2)
            served_http = True
        except requests.ConnectionError:
            served_http = False
        assert not served_http, "Socket Mode must not also open the HTTP port"
    finally:
        app.stop()
    assert "xapp-1-A0CLEANUP" not in app.log()
