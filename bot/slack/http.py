"""The WSGI entry to the Bolt app: Bolt's own handler, hardened against bodies it cannot parse.

Bolt parses a request's body before it checks the signature, and a body that is not what Slack sends (a
`payload=` that is not JSON, or JSON that is not an object) raises inside Bolt: the server then answers 500 and
logs a traceback, for anyone who can reach the port. Those requests get a plain 400 here instead.
"""

from __future__ import annotations

import logging

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request import BoltRequest

log = logging.getLogger(__name__)

PATH = "/slack/events"


class SafeRequestHandler(SlackRequestHandler):
    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        try:
            bolt_request = BoltRequest(
                body=request.get_body(), query=request.query_string, headers=request.get_headers()
            )
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as e:
            log.info("rejected a request whose body is not a Slack request (%s)", type(e).__name__)
            return BoltResponse(status=400, body="Bad Request")
        return self.app.dispatch(bolt_request)


def wsgi_app(app: App) -> SafeRequestHandler:
    return SafeRequestHandler(app, path=PATH)
