"""Issue 13 against the real app (`python -m bot`, HTTP mode, a subprocess), a moto server and the Slack stand-in,
with requests signed and shaped as Slack sends them: who may approve (members of the installing workspace; a
reminder's plan by two people), a slash command from #payload-lab, and regions typed with commas."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3

from bot.demo.inventory import existing
from bot.demo.slack_standin import Message, SlackStandIn
from bot.demo.slack_user import block_actions, trigger_id, view_submission
from bot.demo.stack import SeededStack
from bot.slack.blocks import DELETE_ACTION
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, OTHER, REQUESTER, TEAM, TEAMMATE, AppProcess
from tests.e2e.test_conversation import db, errors_of, final_summary, plan_message, scan, status, text_of, wait_status
from tests.e2e.test_notifications import HOUR, REMIND, plan_id_in, reminder_env

GUEST = "UGUEST001"  # a member of a partner organization, in our shared (Slack Connect) channel
PARTNER_TEAM = "T0PARTNER"
GRID = "E0DOGGRID"


def command_fields(text: str, **changed: str) -> dict[str, str]:
    """Every field of a slash command's form body, in the order Slack sends them."""
    fields = {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": TEAM,
        "team_domain": "dogcat",
        "channel_id": CHANNEL,
        "channel_name": "workshop",
        "user_id": REQUESTER,
        "user_name": "ana",
        "command": "/cleanup",
        "text": text,
        "api_app_id": "A0CLEANUP",
        "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T0DOGCAT/1234/abcd",
        "trigger_id": trigger_id(),
    }
    return {**fields, **changed}


def as_member_of(payload: dict[str, Any], team: str) -> dict[str, Any]:
    payload["user"]["team_id"] = team
    return payload


def click_as(app: AppProcess, user: str, team: str, plan_id: str, ts: str, channel: str = CHANNEL) -> None:
    r = app.workspace.interact(as_member_of(block_actions(DELETE_ACTION, plan_id, user, channel, ts), team))
    assert r.status_code == 200, r.text


def ephemeral_to(standin: SlackStandIn, user: str) -> str:
    return str(standin.wait_for_call("chat.postEphemeral", lambda c: c.args.get("user") == user).args["text"])


def approve_as(app: AppProcess, standin: SlackStandIn, user: str, plan_id: str, ts: str, channel: str) -> None:
    opened = len(standin.calls_to("views.open"))
    assert app.click(DELETE_ACTION, plan_id, user, ts, channel=channel).status_code == 200
    standin.wait_for(lambda s: len(s.calls_to("views.open")) > opened)
    r = app.submit(plan_id, user, "confirm")
    assert r.status_code == 200 and not r.text.strip(), r.text


# -- "In #payload-lab, /cleanup dogcat fails with dispatch_failed" ---------------------------------------------


def test_a_slash_command_from_payload_lab_posts_the_plan(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack
) -> None:
    app = start_app()
    r = app.post(urlencode(command_fields("dogcat", channel_name="payload-lab")))
    # Bolt alone reads the body as an interaction without a payload: {} -> 404 -> Slack shows dispatch_failed
    assert r.status_code == 200, (r.status_code, r.text, app.log()[-2000:])
    assert r.json()["text"].startswith("Scanning AWS for dogcat in us-east-1")
    posted = plan_message(standin)
    assert stack.endpoint in text_of(posted.blocks) and f"<@{REQUESTER}>" in text_of(posted.blocks)

    # the same word in the text or the user's name: the command is answered (here: a word that is not a region)
    for changed in ({"text": "dogcat payload"}, {"user_name": "payload", "team_domain": "payloads", "text": "help"}):
        r = app.post(urlencode(command_fields(changed.pop("text"), **changed)))
        assert r.status_code == 200, (changed, r.status_code, r.text)
        assert r.json()["text"] in ("Unknown region", "How to use /cleanup"), r.text


# -- regions typed with commas ----------------------------------------------------------------------------------


def test_regions_typed_with_commas_are_scanned(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack
) -> None:
    app = start_app()
    r = app.command("dogcat us-east-1,us-west-2")
    assert r.status_code == 200 and r.json()["text"] == "Scanning AWS for dogcat in us-east-1, us-west-2…", r.text
    posted = plan_message(standin)
    shown = text_of(posted.blocks)
    assert "us-west-2" in shown and stack.endpoint in shown

    r = app.command("dogcat us-east-1,moon-1")
    assert r.status_code == 200 and r.json()["text"] == "Unknown region"
    assert "moon-1" in text_of(r.json()["blocks"]) and "us-west-2" in text_of(r.json()["blocks"])


# -- only members of the installing workspace approve ---------------------------------------------------------


def test_a_guest_from_another_organization_may_not_approve(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, session: boto3.session.Session, tmp_path: Path
) -> None:
    app = start_app()
    plan_id, ts = scan(app, standin)

    click_as(app, GUEST, PARTNER_TEAM, plan_id, ts)
    assert "Only members of this workspace" in ephemeral_to(standin, GUEST)
    assert not standin.calls_to("views.open")
    guest_confirm = as_member_of(view_submission(plan_id, GUEST, "confirm"), PARTNER_TEAM)
    assert "Only members of this workspace" in errors_of(app.workspace.interact(guest_confirm))["confirm_block"]
    assert status(tmp_path, plan_id) == "pending"
    assert set(stack.workshop) <= existing(session)

    # nor may they ask, from their own workspace
    posts = len(standin.calls_to("chat.postMessage"))
    r = app.post(urlencode(command_fields("dogcat", team_id=PARTNER_TEAM, user_id=GUEST, team_domain="partner")))
    assert r.status_code == 200 and "own workspace only" in r.json()["text"]
    assert len(standin.calls_to("chat.postMessage")) == posts

    # a member still approves, and the run deletes the stack
    approve_as(app, standin, TEAMMATE, plan_id, ts, CHANNEL)
    final_summary(standin, ts)
    assert wait_status(tmp_path, plan_id, "done") == "done"
    actions = [tuple(r) for r in db(tmp_path).execute("SELECT actor, action FROM audit WHERE plan_id = ?", (plan_id,))]
    assert (GUEST, "approval-refused") in actions and (TEAMMATE, "approved") in actions


def test_a_guest_listed_in_cleanup_approvers_may_approve(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path
) -> None:
    app = start_app(CLEANUP_APPROVERS=f"{GUEST},{TEAMMATE}")
    plan_id, ts = scan(app, standin)
    click_as(app, GUEST, PARTNER_TEAM, plan_id, ts)
    standin.wait_for_call("views.open")
    guest_confirm = as_member_of(view_submission(plan_id, GUEST, "confirm"), PARTNER_TEAM)
    r = app.workspace.interact(guest_confirm)
    assert r.status_code == 200 and not r.text.strip(), r.text
    assert wait_status(tmp_path, plan_id, "done", timeout=90) == "done"


def test_in_enterprise_grid_members_of_the_organization_approve(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack
) -> None:
    standin.enterprise_id = GRID  # auth.test: a workspace of this Enterprise Grid organization
    app = start_app()
    r = app.post(urlencode(command_fields("dogcat", enterprise_id=GRID, enterprise_name="Dogcat Inc")))
    assert r.status_code == 200 and r.json()["text"].startswith("Scanning"), r.text
    posted = plan_message(standin)
    plan_id = plan_id_in(posted)

    click_as(app, OTHER, "E0ELSEWHERE", plan_id, posted.ts)  # another organization's grid
    assert "Only members of this workspace" in ephemeral_to(standin, OTHER)
    click_as(app, TEAMMATE, GRID, plan_id, posted.ts)  # Slack reports the organization's E... ID in Grid
    standin.wait_for_call("views.open")


# -- a reminder's plan is approved by two people --------------------------------------------------------------


def test_a_reminder_plan_needs_two_people(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, session: boto3.session.Session, tmp_path: Path
) -> None:
    app = start_app(**reminder_env(2 * HOUR))
    message: Message = standin.wait_for(lambda s: next(iter(s.top_messages(REMIND)), None), timeout=90)
    plan_id = plan_id_in(message)

    assert app.click(DELETE_ACTION, plan_id, TEAMMATE, message.ts, channel=REMIND).status_code == 200
    modal = standin.wait_for_call("views.open")
    assert "records *you* as the one asking" in text_of(modal.args["view"]["blocks"])
    r = app.submit(plan_id, TEAMMATE, "confirm")
    assert r.status_code == 200 and not r.text.strip(), r.text  # the modal closes: the request is recorded
    standin.wait_for(lambda s: "asked to delete these" in text_of(s.messages[(REMIND, message.ts)].blocks))
    assert f"<@{TEAMMATE}>" in text_of(standin.messages[(REMIND, message.ts)].blocks)
    assert status(tmp_path, plan_id) == "pending"
    assert set(stack.workshop) <= existing(session)

    # the one who asked cannot also approve
    assert "two-person" in errors_of(app.submit(plan_id, TEAMMATE, "confirm"))["confirm_block"]
    opened = len(standin.calls_to("views.open"))
    assert app.click(DELETE_ACTION, plan_id, TEAMMATE, message.ts, channel=REMIND).status_code == 200
    assert "two-person" in ephemeral_to(standin, TEAMMATE)
    assert len(standin.calls_to("views.open")) == opened
    assert status(tmp_path, plan_id) == "pending"

    approve_as(app, standin, OTHER, plan_id, message.ts, REMIND)
    assert wait_status(tmp_path, plan_id, "done", timeout=90) == "done"
    assert not (set(stack.workshop) & existing(session))
    actions = [tuple(r) for r in db(tmp_path).execute("SELECT actor, action FROM audit WHERE plan_id = ?", (plan_id,))]
    assert (TEAMMATE, "reminder-requested") in actions and (OTHER, "approved") in actions
    approver = db(tmp_path).execute("SELECT approver FROM plans WHERE id = ?", (plan_id,)).fetchone()[0]
    assert approver == OTHER
