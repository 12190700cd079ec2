"""A global middleware that turns away signed requests not shaped like what Slack sends.

Bolt's listener matchers and our listeners index into the payload (`actions[0]["action_id"]`,
`view["callback_id"]`, `user["id"]`); a payload that lacks those or has them of the wrong type would raise inside
Bolt, which answers 500 and logs a traceback. It runs after Bolt's signature check, so only a correctly signed
request ever gets here; a malformed one gets a plain 400 and touches nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

log = logging.getLogger(__name__)

_WITH_USER = frozenset({"block_actions", "view_submission", "view_closed", "block_suggestion", "shortcut"})
_WITH_CALLBACK = frozenset(
    {"shortcut", "message_action", "interactive_message", "dialog_submission", "dialog_cancellation"}
)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _optional_dict(body: dict[str, Any], key: str) -> bool:
    return body.get(key) is None or isinstance(body[key], dict)


def malformed(body: Any) -> str:
    """What makes `body` unlike any request Slack sends to this app, or "" when it is well-formed."""
    if not isinstance(body, dict):
        return "the body is not an object"
    kind = body.get("type")
    if kind is None:
        if "command" in body and not all(_is_str(body.get(k, "")) for k in ("command", "text", "user_id")):
            return "a slash command with non-text fields"
        return ""
    if not _is_str(kind):
        return "type is not text"
    if kind in _WITH_USER:
        user = body.get("user")
        if not isinstance(user, dict) or not _is_str(user.get("id")):
            return f"{kind} without a user id"
    if kind in _WITH_CALLBACK and not _is_str(body.get("callback_id", "")):
        return f"{kind} with a callback_id that is not text"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        if not all(isinstance(a, dict) and _is_str(a.get("action_id")) for a in actions):
            return "block_actions with an action that has no action_id"
        if not (_optional_dict(body, "channel") and _optional_dict(body, "container")):
            return "block_actions whose channel or container is not an object"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not _is_str(view.get("callback_id")):
            return f"{kind} without a view callback_id"
    if kind == "block_suggestion" and not _is_str(body.get("action_id")):
        return "block_suggestion without an action_id"
    return ""


class RejectMalformed(Middleware):
    """A class, not a function: Bolt builds a function middleware's arguments (the action, the view...) from the
    payload before calling it, which is exactly what raises on a malformed one."""

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        problem = malformed(req.body)
        if problem:
            log.info("rejected a signed request: %s", problem)
            return BoltResponse(status=400, body="Bad Request")
        return next()
