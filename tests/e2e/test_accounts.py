"""The real app (`python -m bot`, a subprocess) with CLEANUP_ACCOUNTS: three member accounts on one moto server
(MOTO-NOTES 13), one of which refuses the app's AssumeRole. One /cleanup, one plan grouped by account, one
approval; each reachable account's stack is deleted, its look-alikes kept, and the results are per account."""

from __future__ import annotations

from urllib.parse import parse_qs

import boto3

from bot.aws.accounts import assumed_session
from bot.demo.aws_proxy import AwsProxy, Request
from bot.demo.inventory import existing
from bot.demo.slack_standin import SlackStandIn
from bot.demo.stack import seed_workshop
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, REGION, TEAMMATE
from tests.e2e.test_conversation import final_summary, plan_id_of, plan_message, text_of

ALICE, BOB, CAROL = "111111111111", "222222222222", "333333333333"


def member(session: boto3.session.Session, account: str) -> boto3.session.Session:
    return assumed_session(session, f"arn:aws:iam::{account}:role/DogcatCleanupRole", "seeding")


def test_one_approval_cleans_every_account(
    start_app: AppFactory, standin: SlackStandIn, session: boto3.session.Session, aws_proxy: AwsProxy
) -> None:
    stacks = {account: seed_workshop(member(session, account), REGION) for account in (ALICE, BOB)}
    assumed: list[tuple[str, str]] = []

    def record(request: Request) -> None:
        if request.operation == "AssumeRole":
            fields = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            assumed.append((fields.get("RoleArn", ""), fields.get("RoleSessionName", "")))

    aws_proxy.rules.append(record)  # type: ignore[arg-type, func-returns-value]
    aws_proxy.deny(lambda r: r.operation == "AssumeRole" and CAROL in r.body.decode(), code="AccessDenied")
    app = start_app(CLEANUP_ACCOUNTS=f"{ALICE},{BOB},{CAROL}")

    refused = app.command("dogcat 444444444444")  # not configured: refused in the ack itself
    assert refused.status_code == 200
    assert "444444444444" in refused.text and "is not configured" in refused.text
    assert ALICE in refused.text and CAROL in refused.text

    assert app.command("dogcat").status_code == 200
    message = plan_message(standin)
    shown = text_of(message.blocks)
    assert "Total: 28 resources" in shown and "2 accounts x 1 region" in shown
    assert f"`{ALICE}` · 14 resources to delete" in shown and f"`{BOB}` · 14 resources to delete" in shown
    assert f"`{CAROL}` · :x: *not scanned*: could not assume arn:aws:iam::{CAROL}:role/DogcatCleanupRole" in shown
    assert "AccessDenied" in shown
    detail = standin.wait_for(
        lambda s: "".join(text_of(m.blocks) for m in s.thread(CHANNEL, message.ts)) or None, timeout=30
    )
    assert f"*Account `{ALICE}`*" in detail and "PredictionHistory" in detail
    plan_id = plan_id_of(message)

    assert app.click("cleanup_delete", plan_id, TEAMMATE, message.ts).status_code == 200
    modal = standin.wait_for_call("views.open").args["view"]
    assert "in 2 accounts" in text_of(modal["blocks"])
    assert app.submit(plan_id, TEAMMATE, "confirm").status_code == 200

    final_summary(standin, message.ts)  # waits for "Cleanup of dogcat finished"
    results = "".join(text_of(m.blocks) for m in standin.thread(CHANNEL, message.ts))
    assert "Results per account" in results and "28 deleted" in results
    assert f"*Account `{ALICE}`*: 14 deleted" in results and f"*Account `{BOB}`*: 14 deleted" in results
    for account, stack in stacks.items():
        after = existing(member(session, account))
        assert not set(stack.workshop) & after, (account, set(stack.workshop) & after)
        assert set(stack.survivors) <= after
    # CloudTrail in each member account names who asked (scan) and who approved (deletion)
    names = {name for arn, name in assumed if ALICE in arn}
    assert names == {"dogcat-cleanup-scan-UREQUEST1", f"dogcat-cleanup-{TEAMMATE}"}
