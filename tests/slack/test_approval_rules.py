"""Approval rules in process: how a form body is read, who belongs to the installing workspace, and a scheduled
reminder's plan confirmed by people racing each other (the real state store, the Slack stand-in)."""

from __future__ import annotations

import json
import threading
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient

from bot.core.state import StateStore
from bot.demo.slack_standin import TEAM, SlackStandIn
from bot.demo.slack_user import block_actions, slash_command
from bot.slack import blocks
from bot.slack.http import SlackHttpRequest
from bot.slack.installation import Installation, Workspace
from bot.slack.service import REMINDER_REQUESTED, CleanupService
from bot.slack.web import SlackWeb
from tests.slack.factories import make_plan, new_service

CHANNEL = "CTEST0001"
FORM = {"content-type": "application/x-www-form-urlencoded"}


# -- form bodies: an interaction only with a `payload` field -------------------------------------------------


@pytest.mark.parametrize(
    "changed",
    [
        {"channel_name": "payload-lab"},
        {"text": "dogcat payload"},
        {"user_name": "payload"},
        {"team_domain": "payloads-inc"},
        {"text": "payload={}"},  # typed, so url-encoded: still text, never a field
    ],
)
def test_a_slash_command_mentioning_payload_is_a_slash_command(changed: dict[str, str]) -> None:
    fields = {**slash_command("UREQ", "dogcat", CHANNEL), **changed}
    request = SlackHttpRequest(body=urlencode(fields), headers=FORM)
    assert request.body == fields
    assert request.context.team_id == TEAM and request.context.user_id == "UREQ"
    assert request.context.channel_id == CHANNEL
    assert request.to_copyable().body == fields  # Bolt's copy for lazy listeners parses the same way


def test_an_interaction_and_json_are_read_as_before() -> None:
    payload = block_actions("cleanup_delete", "0123456789abcdef", "UAPP", CHANNEL)
    request = SlackHttpRequest(body=urlencode({"payload": json.dumps(payload)}), headers=FORM)
    assert request.body == payload and request.context.user_id == "UAPP"
    event = {"type": "url_verification", "challenge": "payload"}
    request = SlackHttpRequest(body=json.dumps(event), headers={"content-type": "application/json"})
    assert request.body == event


# -- the installing workspace --------------------------------------------------------------------------------


def test_who_belongs_to_the_workspace() -> None:
    plain = Workspace("T0HOME")
    assert plain.has_team("T0HOME") and not plain.has_team("T0PARTNER") and not plain.has_team("")
    assert plain.has_command_from("T0HOME", "") and not plain.has_command_from("T0PARTNER", "")
    grid = Workspace("T0HOME", "E0ORG")
    assert grid.has_team("E0ORG") and grid.has_team("T0HOME") and not grid.has_team("E0OTHER")
    assert grid.has_command_from("T0SISTER", "E0ORG") and not grid.has_command_from("T0HOME", "E0OTHER")
    org_install = Workspace("", "E0ORG")
    assert not org_install.has_team("") and org_install.has_team("E0ORG")


def test_auth_test_is_asked_once_and_a_failure_refuses() -> None:
    with SlackStandIn() as standin:
        standin.enterprise_id = "E0ORG"
        installation = Installation(SlackWeb(WebClient(token="xoxb-x", base_url=standin.api_url)))
        assert installation.workspace() == Workspace(TEAM, "E0ORG")
        assert installation.workspace() == Workspace(TEAM, "E0ORG")
        assert len(standin.calls_to("auth.test")) == 1

        standin.failures["auth.test"] = "invalid_auth"
        failing = Installation(SlackWeb(WebClient(token="xoxb-x", base_url=standin.api_url)))
        assert failing.workspace() is None


# -- a reminder's plan: never one person alone ---------------------------------------------------------------


def reminder_plan(store: StateStore) -> str:
    return store.create_plan(make_plan(3), CHANNEL, blocks.REMINDER_REQUESTER, 600).id


def confirm_together(service: CleanupService, plan_id: str, users: list[str]) -> list[dict[str, str]]:
    start = threading.Barrier(len(users))
    answers: list[dict[str, str]] = [{} for _ in users]

    def confirm(i: int) -> None:
        start.wait()
        answers[i] = service.submit(plan_id, users[i], "confirm", team=TEAM)

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(len(users))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


def test_one_person_confirming_a_reminder_plan_again_and_again_never_approves_it(
    standin: SlackStandIn, store: StateStore
) -> None:
    service = new_service(standin, store)
    for _ in range(5):
        plan_id = reminder_plan(store)
        confirm_together(service, plan_id, ["UANA"] * 4)
        record = store.get(plan_id)
        assert record is not None and record.status == "pending" and not record.approver
        assert service.asked(record) == ["UANA"]
        assert "two-person" in service.submit(plan_id, "UANA", "confirm", team=TEAM)[blocks.CONFIRM_BLOCK]


def test_two_people_confirming_a_reminder_plan_at_once_approve_it_once(
    standin: SlackStandIn, store: StateStore
) -> None:
    service = new_service(standin, store)
    for _ in range(5):
        plan_id = reminder_plan(store)
        confirm_together(service, plan_id, ["UANA", "UBINH", "UANA", "UBINH"])
        record = store.get(plan_id)
        assert record is not None
        approvals = [e for e in store.audit_log(plan_id) if e.action == "approved"]
        if record.status == "approved":  # both asked at once: each was the other's second person
            assert len(approvals) == 1 and any(a != record.approver for a in service.asked(record))
        else:  # one asked first; the other's confirm was refused or is still to come
            assert record.status == "pending" and not approvals
        second = next(u for u in ("UANA", "UBINH") if u != service.requester_of(record))
        service.submit(plan_id, second, "confirm", team=TEAM)  # refused when already approved
        record = store.get(plan_id)
        assert record is not None and record.status == "approved"
        assert any(a != record.approver for a in service.asked(record))  # someone else asked: two people


def test_a_reminder_plan_with_self_approval_allowed_is_approved_by_the_first_confirm(
    standin: SlackStandIn, store: StateStore
) -> None:
    service = new_service(standin, store, allow_self_approval=True)
    plan_id = reminder_plan(store)
    assert service.submit(plan_id, "UANA", "confirm", team=TEAM) == {}
    record = store.get(plan_id)
    assert record is not None and record.status == "approved" and record.approver == "UANA"
    assert not [e for e in store.audit_log(plan_id) if e.action == REMINDER_REQUESTED]


def test_a_guest_cannot_be_the_first_to_ask_for_a_reminder_plan(standin: SlackStandIn, store: StateStore) -> None:
    service = new_service(standin, store)
    plan_id = reminder_plan(store)
    errors = service.submit(plan_id, "UGUEST", "confirm", team="T0PARTNER")
    assert "Only members of this workspace" in errors[blocks.CONFIRM_BLOCK]
    record = store.get(plan_id)
    assert record is not None and service.asked(record) == [] and record.status == "pending"
