"""The whole conversation against the real app (`python -m bot`, HTTP mode, a subprocess), a moto server and the
Slack stand-in, with correctly signed requests in Slack's formats."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from bot.demo.aws_proxy import AwsProxy
from bot.demo.inventory import existing
from bot.demo.slack_standin import Call, Message, SlackStandIn
from bot.demo.stack import SeededStack
from tests import state_db
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import (
    BOSS,
    CHANNEL,
    OTHER,
    REQUESTER,
    TEAMMATE,
    AppProcess,
    sign,
)


def plan_message(standin: SlackStandIn, timeout: float = 60) -> Message:
    call = standin.wait_for_call(
        "chat.postMessage", lambda c: c.args.get("channel") == CHANNEL and not c.args.get("thread_ts"), timeout
    )
    ts = call.response["ts"]
    return standin.messages[(CHANNEL, ts)]


def plan_id_of(message: Message) -> str:
    actions = [b for b in message.blocks if b["type"] == "actions"]
    assert actions, message.blocks
    delete = actions[0]["elements"][0]
    assert delete["style"] == "danger"
    return str(delete["value"])


def scan(app: AppProcess, standin: SlackStandIn, user: str = REQUESTER) -> tuple[str, str]:
    r = app.command("dogcat", user=user)
    assert r.status_code == 200, app.log()
    message = plan_message(standin)
    return plan_id_of(message), message.ts


def text_of(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def final_summary(standin: SlackStandIn, ts: str, timeout: float = 90) -> Message:
    def find(s: SlackStandIn) -> Message | None:
        return next((m for m in s.thread(CHANNEL, ts) if "Cleanup of dogcat finished" in text_of(m.blocks)), None)

    result: Message = standin.wait_for(find, timeout)
    return result


def db(tmp_path: Path) -> Any:
    """The app's state database (SQLite, or PostgreSQL when the test's `state_backend` says so)."""
    return state_db.connect(tmp_path)


def status(tmp_path: Path, plan_id: str) -> str:
    row = db(tmp_path).execute("SELECT status FROM plans WHERE id = ?", (plan_id,)).fetchone()
    return str(row[0])


def wait_status(tmp_path: Path, plan_id: str, *wanted: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        now = status(tmp_path, plan_id)
        if now in wanted or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


def errors_of(r: requests.Response) -> dict[str, str]:
    assert r.status_code == 200
    body = r.json() if r.text else {}
    assert body.get("response_action") == "errors", body
    return dict(body["errors"])


def test_happy_path(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, session: boto3.session.Session, tmp_path: Path
) -> None:
    before = existing(session)
    assert set(stack.workshop) <= before and set(stack.survivors) <= before
    app = start_app()

    plan_id, ts = scan(app, standin)
    plan = standin.messages[(CHANNEL, ts)]
    shown = text_of(plan.blocks)
    for name in ("InvokeModelLambda", "SaveHistoryLambda", "PredictionHistory", stack.endpoint, stack.bucket):
        assert name in shown
    for look_alike in ("PredictionHistoryArchive", "InvokeModelLambdaV2", "MLInferenceAPI-prod"):
        assert look_alike not in shown
    assert f"<@{REQUESTER}>" in shown

    r = app.click("cleanup_delete", plan_id, TEAMMATE, ts)
    assert r.status_code == 200
    opened = standin.wait_for_call("views.open")
    view = opened.args["view"]
    assert opened.args["trigger_id"]
    assert view["private_metadata"] == plan_id
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert len(inputs) == 1 and inputs[0]["element"]["type"] == "plain_text_input"

    r = app.submit(plan_id, TEAMMATE, "  confirm \n")
    assert r.status_code == 200 and not r.text.strip(), r.text  # an empty 200 closes the modal

    summary = final_summary(standin, ts)
    assert f"approved by <@{TEAMMATE}>" in text_of(summary.blocks)
    assert wait_status(tmp_path, plan_id, "done") == "done"

    after = existing(session)
    assert not (set(stack.workshop) & after), set(stack.workshop) & after
    assert set(stack.survivors) <= after

    # the scan message was updated: outcome, approver, no buttons
    top = standin.messages[(CHANNEL, ts)]
    assert not any(b["type"] == "actions" for b in top.blocks)
    assert "Cleanup finished" in text_of(top.blocks) and f"<@{TEAMMATE}>" in text_of(top.blocks)
    # progress: one message in the thread, updated in place
    thread = standin.thread(CHANNEL, ts)
    progress = [m for m in thread if "handled" in text_of(m.blocks) and "Deleti" in text_of(m.blocks)]
    assert len(progress) == 1 and progress[0].updates >= 1
    assert "Deletion finished" in text_of(progress[0].blocks)
    thread_posts = [c for c in standin.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]
    assert len(thread_posts) <= 3  # progress + summary (+ nothing per resource)

    audit = [row[0] for row in db(tmp_path).execute("SELECT action FROM audit WHERE plan_id = ?", (plan_id,))]
    assert audit[0] == "requested" and "approved" in audit and audit.count("run-started") == 1
    assert audit[-1] == "run-done"
    assert "xoxb" not in app.log() and "e2e-signing-secret" not in app.log()


def test_ack_comes_before_the_scan(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, aws_proxy: AwsProxy
) -> None:
    app = start_app()
    aws_proxy.delay = 0.4  # every AWS call now takes 0.4 s: a scan takes many seconds
    started = time.monotonic()
    r = app.command("dogcat")
    acked = time.monotonic() - started
    assert r.status_code == 200 and "Scanning" in r.text
    assert acked < 3.0
    assert not standin.calls_to("chat.postMessage")  # the scan has not finished
    message = plan_message(standin, timeout=120)
    assert time.monotonic() - started > acked
    assert plan_id_of(message)


def test_small_talk(start_app: AppFactory, standin: SlackStandIn, aws_proxy: AwsProxy, tmp_path: Path) -> None:
    app = start_app()
    for text in ("", "help", "  HELP "):
        r = app.command(text)
        assert r.status_code == 200 and "/cleanup <profile>" in r.text and r.json()["response_type"] == "ephemeral"
    r = app.command("catdog")
    assert "no profile `catdog`" in r.text and "`dogcat`" in r.text
    r = app.command("dogcat mars-north-9")
    assert "mars-north-9" in r.text and "eu-west-1" in r.text
    r = app.command("dogcat notaregion")
    assert "notaregion" in r.text and "us-east-1" in r.text
    r = app.command("history")
    assert "No cleanup has been requested yet" in r.text
    assert not standin.calls_to("chat.postMessage")

    # nothing in the account: a friendly message, no buttons
    app.command("dogcat")
    message = plan_message(standin)
    assert "Nothing to clean" in text_of(message.blocks)
    assert not any(b["type"] == "actions" for b in message.blocks)
    r = app.command("history")
    assert "nothing to clean" in r.text


def test_not_in_channel(start_app: AppFactory, standin: SlackStandIn, stack: SeededStack) -> None:
    standin.not_in_channel.add("CPRIVATE1")
    app = start_app()
    app.command("dogcat", channel="CPRIVATE1", response_url=standin.response_url("cmd1"))
    note = standin.wait_for(
        lambda s: next((c for c in s.calls if c.method in ("chat.postEphemeral", "response_url")), None)
    )
    assert "/invite" in note.args["text"]
    assert note.args.get("user", REQUESTER) == REQUESTER


def test_wrong_texts_are_refused(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, session: boto3.session.Session, tmp_path: Path
) -> None:
    app = start_app()
    plan_id, ts = scan(app, standin)
    for typed in ("", "Confirm", "CONFIRM", "confirm please", "yes", "confirmed", "con firm", None):
        errors = errors_of(app.submit(plan_id, TEAMMATE, typed))
        assert list(errors) == ["confirm_block"] and "confirm" in errors["confirm_block"]
    assert status(tmp_path, plan_id) == "pending"
    assert set(stack.workshop) <= existing(session)
    assert not standin.thread(CHANNEL, ts)


def test_self_approval_refused(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, session: boto3.session.Session, tmp_path: Path
) -> None:
    app = start_app()
    plan_id, ts = scan(app, standin)
    app.click("cleanup_delete", plan_id, REQUESTER, ts)
    note = standin.wait_for_call("chat.postEphemeral")
    assert note.args["user"] == REQUESTER and "teammate" in note.args["text"]
    assert not standin.calls_to("views.open")
    # a forged submission by the requester (no modal was ever opened for them)
    errors = errors_of(app.submit(plan_id, REQUESTER, "confirm"))
    assert "teammate" in errors["confirm_block"]
    # a forged plan id
    errors = errors_of(app.submit("0123456789abcdef", TEAMMATE, "confirm"))
    assert "does not match" in errors["confirm_block"]
    errors = errors_of(app.submit("'; DROP TABLE plans; --", TEAMMATE, "confirm"))
    assert status(tmp_path, plan_id) == "pending"
    assert set(stack.workshop) <= existing(session)


def test_self_approval_allowed_when_configured(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack
) -> None:
    app = start_app(CLEANUP_ALLOW_SELF_APPROVAL="true")
    plan_id, ts = scan(app, standin)
    app.click("cleanup_delete", plan_id, REQUESTER, ts)
    standin.wait_for_call("views.open")
    r = app.submit(plan_id, REQUESTER, "confirm")
    assert not r.text.strip()
    final_summary(standin, ts)


def test_approvers_list(start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path) -> None:
    app = start_app(CLEANUP_APPROVERS=f"{BOSS}")
    plan_id, ts = scan(app, standin)
    app.click("cleanup_delete", plan_id, TEAMMATE, ts)
    note = standin.wait_for_call("chat.postEphemeral")
    assert note.args["user"] == TEAMMATE and f"<@{BOSS}>" in note.args["text"]
    assert not standin.calls_to("views.open")
    assert "approvers" in errors_of(app.submit(plan_id, TEAMMATE, "confirm"))["confirm_block"]
    app.click("cleanup_delete", plan_id, BOSS, ts)
    standin.wait_for_call("views.open")
    assert not app.submit(plan_id, BOSS, "confirm").text.strip()
    final_summary(standin, ts)
    assert wait_status(tmp_path, plan_id, "done") == "done"


def test_expiry(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, session: boto3.session.Session, tmp_path: Path
) -> None:
    app = start_app(CLEANUP_PLAN_TTL_MINUTES="0.02")  # 1.2 s
    plan_id, ts = scan(app, standin)
    time.sleep(1.5)
    app.click("cleanup_delete", plan_id, TEAMMATE, ts)
    note = standin.wait_for_call("chat.postEphemeral")
    assert "expired" in note.args["text"]
    assert not standin.calls_to("views.open")
    assert "expired" in errors_of(app.submit(plan_id, TEAMMATE, "confirm"))["confirm_block"]
    assert status(tmp_path, plan_id) == "expired"
    standin.wait_for(lambda s: "expired" in text_of(s.messages[(CHANNEL, ts)].blocks))
    assert not any(b["type"] == "actions" for b in standin.messages[(CHANNEL, ts)].blocks)
    assert set(stack.workshop) <= existing(session)


def test_modal_open_then_expired_before_submit(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack
) -> None:
    app = start_app(CLEANUP_PLAN_TTL_MINUTES="0.05")  # 3 s
    plan_id, ts = scan(app, standin)
    app.click("cleanup_delete", plan_id, TEAMMATE, ts)
    standin.wait_for_call("views.open")
    time.sleep(3.2)
    assert "expired" in errors_of(app.submit(plan_id, TEAMMATE, "confirm"))["confirm_block"]


def test_cancel(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, session: boto3.session.Session, tmp_path: Path
) -> None:
    app = start_app(CLEANUP_APPROVERS=BOSS)
    plan_id, ts = scan(app, standin)
    app.click("cleanup_cancel", plan_id, OTHER, ts)  # neither requester nor approver
    note = standin.wait_for_call("chat.postEphemeral")
    assert "requester or an approver" in note.args["text"]
    assert status(tmp_path, plan_id) == "pending"
    app.click("cleanup_cancel", plan_id, REQUESTER, ts)
    standin.wait_for(lambda s: "Cancelled by" in text_of(s.messages[(CHANNEL, ts)].blocks))
    assert not any(b["type"] == "actions" for b in standin.messages[(CHANNEL, ts)].blocks)
    assert status(tmp_path, plan_id) == "cancelled"
    assert "cancelled" in errors_of(app.submit(plan_id, BOSS, "confirm"))["confirm_block"]
    app.click("cleanup_delete", plan_id, BOSS, ts)
    standin.wait_for_call("chat.postEphemeral", lambda c: "cancelled" in c.args["text"])
    assert not standin.calls_to("views.open")
    assert set(stack.workshop) <= existing(session)


def test_double_submission_runs_once(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, session: boto3.session.Session, tmp_path: Path
) -> None:
    # two copies of the app on one state store, as with several workers or hosts
    first = start_app()
    second = start_app()
    plan_id, ts = scan(first, standin)
    submissions = [
        (first, TEAMMATE),
        (second, OTHER),
        (first, TEAMMATE),  # a double click
        (second, TEAMMATE),  # a retry landing on another copy
        (first, OTHER),
        (second, OTHER),
    ]
    barrier = threading.Barrier(len(submissions))
    responses: list[requests.Response] = []
    lock = threading.Lock()

    def go(app: AppProcess, user: str) -> None:
        barrier.wait()
        r = app.submit(plan_id, user, "confirm")
        with lock:
            responses.append(r)

    threads = [threading.Thread(target=go, args=s) for s in submissions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [r for r in responses if r.status_code == 200 and not r.text.strip()]
    refused = [r for r in responses if r.text.strip()]
    assert len(accepted) == 1, [r.text for r in responses]
    assert len(refused) == len(submissions) - 1
    for r in refused:
        assert "already approved" in errors_of(r)["confirm_block"]
    final_summary(standin, ts)
    wait_status(tmp_path, plan_id, "done")
    time.sleep(1.0)
    rows = db(tmp_path).execute("SELECT action FROM audit WHERE plan_id = ?", (plan_id,)).fetchall()
    actions = [row[0] for row in rows]
    assert actions.count("approved") == 1 and actions.count("run-started") == 1
    summaries = [m for m in standin.thread(CHANNEL, ts) if "Cleanup of dogcat finished" in text_of(m.blocks)]
    assert len(summaries) == 1
    assert not (set(stack.workshop) & existing(session))


@pytest.mark.parametrize("state_backend", state_db.BACKENDS, indirect=True)
def test_restart_resumes_a_run(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
) -> None:
    app = start_app()
    plan_id, ts = scan(app, standin)
    aws_proxy.delay = 0.5  # slow enough to interrupt the run in the middle
    app.click("cleanup_delete", plan_id, TEAMMATE, ts)
    standin.wait_for_call("views.open")
    assert not app.submit(plan_id, TEAMMATE, "confirm").text.strip()

    def progress_updated(s: SlackStandIn) -> Call | None:
        thread_ts = {m.ts for m in s.thread(CHANNEL, ts)}
        return next(
            (
                c
                for c in s.calls
                if c.method == "chat.update" and c.args.get("ts") in thread_ts and "Latest:" in json.dumps(c.args)
            ),
            None,
        )

    standin.wait_for(progress_updated, timeout=120)  # at least one resource handled
    app.kill()  # a crash in the middle of the run
    assert status(tmp_path, plan_id) == "running"
    done_before = db(tmp_path).execute("SELECT COUNT(*) FROM results WHERE plan_id = ?", (plan_id,)).fetchone()[0]
    assert 0 < done_before < len(stack.workshop)
    assert not [m for m in standin.thread(CHANNEL, ts) if "Cleanup of dogcat finished" in text_of(m.blocks)]

    aws_proxy.delay = 0.0
    start_app()  # a new process on the same state store resumes the run
    summary = final_summary(standin, ts, timeout=120)
    assert "Cleanup of dogcat finished" in text_of(summary.blocks)
    assert any("restarted during this cleanup" in text_of(m.blocks) for m in standin.thread(CHANNEL, ts))
    assert wait_status(tmp_path, plan_id, "done", "failed") in ("done", "failed")
    rows = db(tmp_path).execute("SELECT action FROM audit WHERE plan_id = ?", (plan_id,)).fetchall()
    assert [r[0] for r in rows].count("run-resumed") == 1
    after = existing(session)
    assert not (set(stack.workshop) & after), set(stack.workshop) & after
    assert set(stack.survivors) <= after
    # still one progress message, updated again by the resumed run
    progress = [m for m in standin.thread(CHANNEL, ts) if "Deleti" in text_of(m.blocks)]
    assert len(progress) == 1 and "Deletion finished" in text_of(progress[0].blocks)
    resumed_note = next(m for m in standin.thread(CHANNEL, ts) if "restarted during" in text_of(m.blocks))
    assert f"{done_before} resource" in text_of(resumed_note.blocks)


@pytest.mark.parametrize(
    "case",
    ["missing", "wrong-secret", "tampered", "stale", "future"],
)
def test_bad_signatures_rejected(
    case: str, start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, tmp_path: Path
) -> None:
    app = start_app()
    body = "command=%2Fcleanup&text=dogcat&user_id=UREQUEST1&channel_id=CWORKSHOP&team_id=T0DOGCAT&trigger_id=1.2"
    now = int(time.time())
    if case == "missing":
        r = requests.post(app.url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    elif case == "wrong-secret":
        r = app.post(body, signature=sign(body, now, "not-the-secret"))
    elif case == "tampered":
        r = app.post(body.replace("dogcat", "help"), signature=sign(body, now))
    elif case == "stale":
        r = app.post(body, timestamp=now - 6 * 60)
    else:
        r = app.post(body, timestamp=now + 6 * 60)
    assert r.status_code == 401
    time.sleep(0.5)
    assert not standin.calls_to("chat.postMessage")
    assert db(tmp_path).execute("SELECT COUNT(*) FROM plans").fetchone()[0] == 0


def test_procfile_web_serves_the_same_app(start_app: AppFactory, standin: SlackStandIn, stack: SeededStack) -> None:
    """The Procfile's web process: gunicorn with bot.slack.wsgi:app (two workers, one state store)."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    argv = [gunicorn, "--bind", "127.0.0.1:{PORT}", "--workers", "2", "--threads", "4", "bot.slack.wsgi:app"]
    app = start_app(argv=argv)
    r = app.command("help")
    assert r.status_code == 200 and "/cleanup <profile>" in r.text
    assert app.post("command=%2Fcleanup&text=help", signature="v0=bad").status_code == 401
    plan_id, ts = scan(app, standin)
    app.click("cleanup_delete", plan_id, TEAMMATE, ts)
    standin.wait_for_call("views.open")
    assert not app.submit(plan_id, TEAMMATE, "confirm").text.strip()
    final_summary(standin, ts)
