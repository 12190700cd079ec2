"""A bad setting stops the server at once with one clear line, however it is started: the Procfile's `web:`
(gunicorn, checked in its master before any worker boots), gunicorn on the WSGI module alone, and `python -m bot`.
Real subprocesses, in an empty directory (no .env), against nothing: none of them gets as far as calling Slack."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.demo.launcher import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")

BAD_SETTINGS = [
    ({"CLEANUP_PLAN_TTL_MINUTES": "soon"}, "CLEANUP_PLAN_TTL_MINUTES must be a number of minutes, got 'soon'"),
    ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN must be set to serve Slack"),
    ({"CLEANUP_PROFILES": "/nonexistent/profiles.toml"}, "cannot read the profiles file"),
    ({"CLEANUP_REMINDERS": "mlops@C0123ABCD:24h"}, "there is no profile 'mlops'"),
]


def procfile_web() -> list[str]:
    line = next(s for s in (ROOT / "Procfile").read_text().splitlines() if s.startswith("web:"))
    argv = shlex.split(line.removeprefix("web:"))
    assert argv[0] == "gunicorn"
    return [GUNICORN, *argv[1:]]


def env_with(bad: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CLEANUP_", "AWS_", "PYTEST"))}
    env.update(
        PYTHONPATH=str(ROOT),
        HOST="127.0.0.1",
        PORT=str(free_port()),
        SLACK_BOT_TOKEN="xoxb-not-a-real-token",
        SLACK_SIGNING_SECRET="not-a-real-secret",
        SLACK_APP_TOKEN="",
        SLACK_API_URL="http://127.0.0.1:9/api/",  # nothing listens: a start that gets this far would show it
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    env.update(bad)
    return env


def run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, float]:
    start = time.monotonic()
    try:
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as e:  # gunicorn booting workers again and again
        pytest.fail(f"{argv[0]} still running after 30 s: {e.stderr!r}")
    return done.returncode, done.stdout + done.stderr, time.monotonic() - start


@pytest.mark.parametrize(("bad", "message"), BAD_SETTINGS, ids=[next(iter(b)) for b, _ in BAD_SETTINGS])
def test_the_procfile_web_line_stops_with_the_message(bad: dict[str, str], message: str, tmp_path: Path) -> None:
    code, output, seconds = run(procfile_web(), env_with(bad), tmp_path)
    assert code != 0, output
    assert output.count(message) == 1 and "error: " in output, output
    assert "Traceback" not in output and "Booting worker" not in output, output
    assert seconds < 15, (seconds, output)


def test_gunicorn_on_the_wsgi_module_alone_stops_with_the_message(tmp_path: Path) -> None:
    bad, message = BAD_SETTINGS[2]
    code, output, seconds = run([GUNICORN, "-b", "127.0.0.1:0", "bot.slack.wsgi:app"], env_with(bad), tmp_path)
    assert code != 0, output
    assert output.count(message) == 1 and "Traceback" not in output, output
    assert output.count("Booting worker") == 1 and "App failed to load" in output, output  # no restart loop
    assert seconds < 15, (seconds, output)


@pytest.mark.parametrize(("bad", "message"), BAD_SETTINGS, ids=[next(iter(b)) for b, _ in BAD_SETTINGS])
def test_python_m_bot_stops_with_the_same_message(bad: dict[str, str], message: str, tmp_path: Path) -> None:
    code, output, _ = run([sys.executable, "-m", "bot"], env_with(bad), tmp_path)
    assert code == 2 and output.count(message) == 1 and "Traceback" not in output, output


@pytest.mark.parametrize("start", ["procfile", "python -m bot"])
def test_a_token_slack_refuses_stops_the_app_with_one_line(start: str, tmp_path: Path) -> None:
    """A wrong or revoked SLACK_BOT_TOKEN: Slack answers auth.test with invalid_auth, and the app stops before any
    worker boots, with one line naming the setting (not Bolt's traceback in every worker)."""
    from bot.demo.slack_standin import SlackStandIn

    with SlackStandIn() as slack:
        slack.failures["auth.test"] = "invalid_auth"
        env = env_with({"SLACK_API_URL": slack.api_url})
        argv = procfile_web() if start == "procfile" else [sys.executable, "-m", "bot"]
        code, output, seconds = run(argv, env, tmp_path)
        asked = slack.calls_to("auth.test")

    assert code == 2, output
    assert output.count("Slack refused SLACK_BOT_TOKEN (invalid_auth)") == 1 and "Traceback" not in output, output
    assert "Booting worker" not in output and "xoxb-not-a-real-token" not in output, output
    assert len(asked) == 1 and seconds < 15, (asked, seconds)
