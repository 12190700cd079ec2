"""Hostile and malformed input, generated with hypothesis and sent correctly signed to the real app over HTTP.

One app process serves the whole module (with a seeded workshop stack and one pending plan). Every request must
be answered within Slack's 3 s, never with a 5xx, with a readable reply where Slack shows one; the app must keep
running; nothing may be deleted (no Delete* call reaches AWS, the account is unchanged, the plan stays pending).
`RELIABILITY_EXAMPLES` scales the number of examples (default 60 per property).
"""

from __future__ import annotations

import copy
import json
import os
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from bot.aws.clients import new_session
from bot.demo.aws_proxy import AwsProxy
from bot.demo.inventory import existing
from bot.demo.slack_standin import SlackStandIn
from bot.demo.stack import seed_workshop
from tests.e2e.harness import CHANNEL, REGION, REQUESTER, TEAMMATE, AppProcess, app_env
from tests.reliability.conftest import record
from tests.reliability.helpers import (
    ACK_LIMIT,
    audit,
    block_actions,
    scan,
    send,
    timed,
    view_submission,
    wait_status,
)
from tests.slack.limits import message_problems

EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same inputs on every CI run; raise RELIABILITY_EXAMPLES to explore further
    database=None,
    # no shrinking: each example is an HTTP round trip to the app, and shrinking one takes minutes
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Target:
    """The app under attack, and what it must still look like afterwards (not a dataclass: hypothesis would
    print every field, the app's environment included, in a failure report)."""

    def __init__(
        self, app: AppProcess, standin: SlackStandIn, proxy: AwsProxy, session: boto3.session.Session, **kw: Any
    ) -> None:
        self.app, self.standin, self.proxy, self.session = app, standin, proxy, session
        self.moto_url: str = kw["moto_url"]
        self.state: Path = kw["state"]
        self.plan_id: str = kw["plan_id"]
        self.before: set[str] = kw["before"]
        self.tried: dict[str, int] = {}
        self.slowest = 0.0
        self.statuses: dict[int, int] = {}

    def __repr__(self) -> str:
        return f"Target(app on port {self.app.port}, plan {self.plan_id})"

    def account(self) -> set[str]:
        """Every resource in the account now (the autouse AWS fixture unsets the endpoint for each test)."""
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AWS_ENDPOINT_URL", self.moto_url)
            return existing(self.session)

    def check(self, kind: str, response: requests.Response, seconds: float) -> None:
        self.tried[kind] = self.tried.get(kind, 0) + 1
        self.slowest = max(self.slowest, seconds)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (response.status_code, response.text[:500], self.app.log()[-3000:])
        assert seconds < ACK_LIMIT, seconds
        assert self.app.proc is not None and self.app.proc.poll() is None, self.app.log()[-3000:]


@pytest.fixture(scope="module")
def target(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL", moto_url)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        requests.post(f"{moto_url}/moto-api/reset", timeout=30)
        session = new_session(region_name=REGION)
        seed_workshop(session, REGION)
        before = existing(session)
        proxy = AwsProxy(moto_url).start()
        with SlackStandIn() as standin:
            env = app_env(tmp, standin, proxy.url)
            app = AppProcess(env, tmp / "app.log", cwd=tmp).start()
            try:
                plan_id, _ts = scan(app, standin)
                yield Target(
                    app,
                    standin,
                    proxy,
                    session,
                    moto_url=moto_url,
                    state=tmp / "state.sqlite3",
                    plan_id=plan_id,
                    before=before,
                )
            finally:
                app.stop()
        proxy.stop()


# -- strategies ---------------------------------------------------------------------------------------------------

CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from("\x7f\u200b\u200e\u202e\ufeff\u2028")
HUGE = st.builds(
    lambda n, s: (s or "x") * (n // max(1, len(s or "x"))), st.integers(3_000, 200_000), st.text(max_size=5)
)
TEXT = st.one_of(st.text(max_size=300), st.text(CONTROL, max_size=50), HUGE)
FULLWIDTH_CONFIRM = "\uff43\uff4f\uff4e\uff46\uff49\uff52\uff4d"
NEAR_MISSES = st.sampled_from(
    ["Confirm", "CONFIRM", "confirm.", "confirm\u200b", FULLWIDTH_CONFIRM, "conf irm", "confirm confirm", "yes", ""]
)
# the one thing no generated input may be: an eligible teammate typing `confirm` for the real plan
TYPED = (TEXT | NEAR_MISSES).filter(lambda t: t.strip() != "confirm")
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    TEXT.filter(lambda t: t.strip() not in ("confirm", "cleanup_cancel")),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
USERS = st.sampled_from([REQUESTER, TEAMMATE, "", "U" + "9" * 5000, "W0GUEST1", "<@U1>"]) | JUNK
CHANNELS = st.sampled_from([CHANNEL, "COTHERCHN", "", "D0DIRECT1"]) | JUNK


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*prefix, key))
            found.extend(paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.append((*prefix, i))
            found.extend(paths(value, (*prefix, i)))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with a few fields dropped or replaced by values of the wrong type, huge or absurd."""
    payload = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 4))):
        where = paths(payload)
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent: Any = payload
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JUNK)
    return payload


REAL = "@@real-plan@@"  # stands for the pending plan's id: replaced just before sending
REAL_UPPER = "@@real-plan-upper@@"
PLAN_IDS = st.one_of(
    st.just(REAL),
    st.text("0123456789abcdef", min_size=16, max_size=16),
    st.sampled_from([REAL_UPPER, f"{REAL} ", f'{{"plan": "{REAL}"}}', "' OR 1=1 --", "../state.sqlite3"]),
    JUNK,
)


# -- properties ---------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    text=st.one_of(
        TEXT,
        st.tuples(st.sampled_from(["dogcat", "DOGCAT", "help", "history", "catdog", "dogcat us-east-1"]), TEXT).map(
            " ".join
        ),
    ),
    user=st.sampled_from([REQUESTER, TEAMMATE]) | st.text(string.ascii_uppercase + string.digits, max_size=30),
    channel=st.sampled_from([CHANNEL, "CUNKNOWN1"]) | st.text(max_size=30),
)
def test_slash_command_text(target: Target, text: str, user: str, channel: str) -> None:
    r, seconds = timed(target.app.command, text, user=user, channel=channel)
    target.check("slash commands", r, seconds)
    assert r.status_code == 200
    body = r.json()
    assert body["response_type"] == "ephemeral"
    assert 0 < len(body["text"]) <= 3000, len(body["text"])  # a readable notification text
    assert body["blocks"] and not message_problems(body["blocks"]), message_problems(body["blocks"])


@SETTINGS
@given(
    payload=st.one_of(
        st.builds(
            block_actions,
            action_id=st.sampled_from(["cleanup_delete", "cleanup_delete", "unknown_action"]) | JUNK,
            value=PLAN_IDS,
            user=USERS,
            channel=CHANNELS,
        ).flatmap(mutated),
        # the cancel button, never for the real plan (cancelling it is allowed and would end the test's plan)
        st.builds(
            block_actions,
            action_id=st.just("cleanup_cancel"),
            value=st.text("0123456789abcdef", min_size=16, max_size=16) | JUNK,
            user=USERS,
            channel=CHANNELS,
        ).flatmap(mutated),
        st.builds(
            view_submission,
            plan_id=PLAN_IDS,
            user=USERS,
            typed=TYPED,
            callback_id=st.sampled_from(["cleanup_confirm", "cleanup_confirm", "other_modal"]) | JUNK,
        ).flatmap(mutated),
        st.fixed_dictionaries(
            {"type": st.sampled_from(["shortcut", "message_action", "view_closed", "block_suggestion"]) | JUNK}
        ).flatmap(mutated),
        st.recursive(JUNK, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner)),
        TEXT,  # a payload that is not JSON at all
    )
)
@example(block_actions("cleanup_delete", REAL, TEAMMATE, CHANNEL))  # opens the modal
@example(block_actions("cleanup_delete", REAL, REQUESTER, CHANNEL))  # self-approval
@example(block_actions("cleanup_delete", REAL, TEAMMATE, "COTHERCHN"))  # from another channel
@example(view_submission(REAL, TEAMMATE, "confirm\u200b"))
@example(view_submission(REAL, TEAMMATE, FULLWIDTH_CONFIRM))
@example(view_submission(REAL, TEAMMATE, {"value": "confirm"}))  # a typed value of the wrong type
@example(view_submission(REAL_UPPER, TEAMMATE, "confirm"))
def test_interaction_payloads(target: Target, payload: Any) -> None:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    raw = raw.replace(REAL_UPPER, target.plan_id.upper()).replace(REAL, target.plan_id)
    r, seconds = timed(send, target.app, raw)
    target.check("interaction payloads", r, seconds)
    if r.status_code == 200 and r.text.strip():
        body = r.json()
        if body.get("response_action") == "errors":
            for message in body["errors"].values():
                assert isinstance(message, str) and 0 < len(message) <= 150, message


@SETTINGS
@given(
    body=st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(str.encode)),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/form-data", ""]
    ),
)
def test_arbitrary_signed_bodies(target: Target, body: bytes, content_type: str) -> None:
    r, seconds = timed(target.app.post, body.decode("latin-1"), content_type=content_type)
    target.check("raw bodies", r, seconds)


def test_nothing_was_deleted_and_the_app_still_serves(target: Target) -> None:
    """Runs last in this module: the account, the plan and the app after every hostile request above."""
    r, seconds = timed(target.app.command, "help")
    assert r.status_code == 200 and "/cleanup <profile>" in r.text and seconds < ACK_LIMIT
    assert not target.proxy.deletes(), target.proxy.deletes()
    assert target.account() == target.before
    assert wait_status(target.state.parent, target.plan_id, "pending") == "pending"
    assert target.standin.calls_to("views.open")  # the real plan was reached, not only made-up ones
    actions = {a for _actor, a, _detail in audit(target.state.parent, target.plan_id)}
    assert {"confirm-opened", "approval-refused", "confirm-mistyped"} <= actions, actions
    for call in target.standin.calls_to("chat.postEphemeral"):  # what people were told is readable
        assert 0 < len(call.args["text"]) <= 3000, call.args
    # Bolt logs these when a listener or a middleware raised: what answers 500
    errors = [line for line in target.app.log().splitlines() if "Failed to run" in line]
    assert not errors, errors
    record(
        "hostile_input",
        inputs_tried=sum(target.tried.values()),
        **{k.replace(" ", "_"): v for k, v in target.tried.items()},
        slowest_answer_s=round(target.slowest, 3),
        statuses=json.dumps(dict(sorted(target.statuses.items()))),
        listener_errors=len(errors),
        deletions=0,
    )
