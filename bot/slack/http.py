"""The WSGI entry to the Bolt app: Bolt's own handler, hardened against bodies it cannot parse or misreads.

Bolt parses a request's body before it checks the signature, and a body that is not what Slack sends (a
`payload=` that is not JSON, or JSON that is not an object) raises inside Bolt: the server then answers 500 and
logs a traceback, for anyone who can reach the port. Those requests get a plain 400 here instead.

Bolt (slack_bolt.request.internals.parse_body, 1.30) also reads any form body that merely *contains* the text
"payload" as an interaction: a slash command from the channel #payload-lab, with "payload" in its text, or from a
user or workspace named so, parses as {} and matches no listener, so Bolt answers 404 and Slack shows the user
`dispatch_failed`. `SlackHttpRequest` reads a form body as an interaction only when it has a `payload` field.
Socket Mode is not affected: its envelopes reach Bolt already decoded, never as a form body.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context

log = logging.getLogger(__name__)

PATH = "/slack/events"
INTERACTION_FIELD = "payload"  # interactivity posts its JSON in this form field; slash commands have none


def form_fields(raw_body: str, content_type: str | None) -> dict[str, str] | None:
    """A form-encoded body's fields (the last value of a repeated one, as Bolt keeps), or None for JSON."""
    if not raw_body or content_type == "application/json" or raw_body.startswith("{"):
        return None
    return dict(parse_qsl(raw_body, keep_blank_values=True))


class SlackHttpRequest(BoltRequest):
    """A BoltRequest whose form body is an interaction only when it has a `payload` field."""

    def __init__(
        self,
        *,
        body: str,
        query: str | dict[str, Sequence[str]] | None = None,
        headers: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        mode: str = "http",
    ) -> None:
        super().__init__(body=body, query=query, headers=headers, context=context, mode=mode)
        fields = form_fields(self.raw_body, self.content_type)
        if fields is not None and INTERACTION_FIELD not in fields:  # a slash command, whatever its text says
            self.body = fields
            self.context = build_context(BoltContext(dict(context) if context else {}), self.body)

    def to_copyable(self) -> BoltRequest:
        """Bolt's copy (for lazy listeners) parses the raw body again: with our parsing, not Bolt's."""
        return SlackHttpRequest(
            body=self.raw_body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
            mode=self.mode,
        )


class SafeRequestHandler(SlackRequestHandler):
    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        try:
            bolt_request = SlackHttpRequest(
                body=request.get_body(), query=request.query_string, headers=request.get_headers()
            )
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as e:
            log.info("rejected a request whose body is not a Slack request (%s)", type(e).__name__)
            return BoltResponse(status=400, body="Bad Request")
        return self.app.dispatch(bolt_request)


def wsgi_app(app: App) -> SafeRequestHandler:
    return SafeRequestHandler(app, path=PATH)
