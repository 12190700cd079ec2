"""Secrets never reach logs or messages: a full run with recognisable fake secrets, every log line searched.

The app runs with a bot token, signing secret, app token, AWS secret key and session token that all contain
`LEAKCANARY`, through a scan, a refused self-approval (whose note Slack fails to deliver), a bad signature, a
malformed payload, an approval, a run with one AccessDenied and the thread report. Then everything it wrote is
searched: stdout and stderr of the process (gunicorn's too), every Slack call the stand-in recorded, the state
database. Socket Mode (where the app token is used) is started too, and its log searched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from bot.demo.aws_proxy import AwsProxy, Request
from bot.demo.slack_standin import SlackStandIn
from bot.demo.stack import SeededStack
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import REQUESTER, TEAMMATE, app_env
from tests.reliability.conftest import record
from tests.reliability.helpers import approve, final_summary, scan, send, thread_text, wait_status

CANARY = "LEAKCANARY"
SECRETS = {
    "SLACK_BOT_TOKEN": f"xoxb-1111111111-2222222222-{CANARY}botToken01",
    "SLACK_SIGNING_SECRET": f"{CANARY}signingSecret0123456789ab",
    "SLACK_APP_TOKEN": f"xapp-1-A0CLEANUP-3333333333-{CANARY}appToken01",
    "AWS_SECRET_ACCESS_KEY": f"{CANARY}awsSecretKey/0123456789+abcdefghij",
    "AWS_SESSION_TOKEN": f"IQoJb3JpZ2luX2VjE{CANARY}sessionToken0123456789",
}


def leaks(text: str) -> list[str]:
    """Each secret, or a recognisable part of one, found in `text`."""
    found = [name for name, value in SECRETS.items() if value in text]
    if CANARY in text:
        at = text.index(CANARY)
        found.append(f"a fragment: ...{text[max(0, at - 40) : at + 40]!r}...")
    return found


def test_no_secret_in_logs_or_messages(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def delete_table(request: Request) -> bool:
        return request.name == "dynamodb.DeleteTable"

    aws_proxy.deny(delete_table)  # an AWS error, with its message, on the way to the thread and the log
    # HTTP mode as the Procfile's web process runs it: the app token may well be in the same environment
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    app = start_app(argv=[gunicorn, "--bind", "127.0.0.1:{PORT}", "bot.slack.wsgi:app"], **SECRETS)

    plan_id, ts = scan(app, standin)
    standin.failures["chat.postEphemeral"] = "channel_not_found"  # a Slack error path, logged
    app.click("cleanup_delete", plan_id, REQUESTER, ts)  # self-approval: refused with an ephemeral note
    standin.wait_for_call("chat.postEphemeral")
    del standin.failures["chat.postEphemeral"]
    assert app.post("command=%2Fcleanup&text=dogcat", signature="v0=0000").status_code == 401
    assert send(app, {"type": "block_actions", "actions": "nonsense"}).status_code == 400
    approve(app, plan_id, TEAMMATE, ts)
    final_summary(standin, ts)
    assert wait_status(tmp_path, plan_id, "failed") == "failed"  # the AccessDenied one
    time.sleep(0.5)
    app.stop()  # the log is complete, shutdown included

    # Socket Mode, where the app token is used (the stand-in answers apps.connections.open without a socket URL,
    # so it keeps reconnecting: its error and retry paths are logged too)
    env = app_env(tmp_path, standin, aws_proxy.url, **SECRETS)
    socket_log = tmp_path / "socket-mode.log"
    with socket_log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        standin.wait_for(lambda s: len(s.calls_to("apps.connections.open")) >= 2, timeout=30)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    logs = {"HTTP app (gunicorn)": app.log(), "Socket Mode app": socket_log.read_text(errors="replace")}
    assert "AccessDeniedException" in thread_text(standin, ts)  # the AWS error path was exercised
    assert "Socket Mode" in logs["Socket Mode app"], logs["Socket Mode app"][-2000:]
    for name, text in logs.items():
        assert not leaks(text), (name, leaks(text))
    slack_calls = json.dumps([(c.method, c.args, c.response) for c in standin.calls], ensure_ascii=False)
    assert not leaks(slack_calls), leaks(slack_calls)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.sqlite3*"))
    assert CANARY.encode() not in stored
    assert os.environ.get("SLACK_BOT_TOKEN") != SECRETS["SLACK_BOT_TOKEN"]  # the test process never had them
    record(
        "secrets",
        secrets_planted=len(SECRETS),
        log_lines_searched=sum(len(t.splitlines()) for t in logs.values()),
        slack_calls_searched=len(standin.calls),
        leaks=0,
    )
