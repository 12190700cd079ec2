"""The request guard in front of the listeners: what Slack sends passes, what would crash Bolt is turned away."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.listeners.payload_shape import malformed
from tests.reliability.helpers import block_actions, view_submission

GOOD = [
    block_actions("cleanup_delete", "0123456789abcdef", "U1", "C1"),
    view_submission("0123456789abcdef", "U1", "confirm"),
    view_submission("0123456789abcdef", "U1", None),
    {"command": "/cleanup", "text": "dogcat", "user_id": "U1", "channel_id": "C1"},
    {"type": "url_verification", "challenge": "x"},
    {"type": "event_callback", "event": {"type": "app_mention"}},
    {"type": "something_new"},  # not ours: Bolt answers 404
]


def _with(payload: dict[str, Any], *path: Any, value: Any = None, drop: bool = False) -> dict[str, Any]:
    node = payload
    for step in path[:-1]:
        node = node[step]
    if drop:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return payload


BAD = [
    [],
    "payload",
    {"type": 7},
    _with(block_actions("cleanup_delete", "x", "U1", "C1"), "actions", value=10856),
    _with(block_actions("cleanup_delete", "x", "U1", "C1"), "actions", value=[]),
    _with(block_actions("cleanup_delete", "x", "U1", "C1"), "actions", 0, "action_id", drop=True),
    _with(block_actions("cleanup_delete", "x", "U1", "C1"), "actions", 0, "action_id", value=["a"]),
    _with(block_actions("cleanup_delete", "x", "U1", "C1"), "user", drop=True),
    _with(block_actions("cleanup_delete", "x", "U1", "C1"), "user", value="U1"),
    _with(block_actions("cleanup_delete", "x", "U1", "C1"), "channel", value="C1"),
    _with(view_submission("x", "U1", "confirm"), "view", value="view"),
    _with(view_submission("x", "U1", "confirm"), "view", "callback_id", value=None),
    _with(view_submission("x", "U1", "confirm"), "user", "id", value=12),
    {"type": "block_suggestion", "user": {"id": "U1"}},
    {"type": "shortcut", "user": {"id": "U1"}, "callback_id": {}},
    {"command": "/cleanup", "text": ["dogcat"], "user_id": "U1"},
]


@pytest.mark.parametrize("body", GOOD)
def test_well_formed_requests_pass(body: Any) -> None:
    assert malformed(body) == ""


@pytest.mark.parametrize("body", BAD)
def test_malformed_requests_are_named(body: Any) -> None:
    assert malformed(body)
