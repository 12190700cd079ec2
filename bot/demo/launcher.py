"""The app started on this machine against local stand-ins, as production starts it, and waited for until it
answers. Shared by the demo, the end-to-end and reliability tests and the benchmarks; not product code."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0  # seconds from the process's start to its first answer
POLL = 0.01  # seconds between attempts while the app is not listening yet: short, start-up time is measured


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def local_app_env(
    state_dir: Path,
    slack_api_url: str,
    aws_url: str,
    signing_secret: str,
    bot_token: str,
    region: str = "us-east-1",
    aws_key: str = "demo",
    **overrides: str,
) -> dict[str, str]:
    """The environment of the app run against local stand-ins (the demo, the end-to-end tests, the benchmarks).

    Nothing of the caller's Slack, cleanup or AWS settings leaks in, and every setting a developer's `.env` could
    hold is set explicitly (python-dotenv never overrides a variable that is set, even to "").
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CLEANUP_", "AWS_", "PYTEST"))}
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        PORT=str(free_port()),
        HOST="127.0.0.1",
        SLACK_BOT_TOKEN=bot_token,
        SLACK_SIGNING_SECRET=signing_secret,
        SLACK_APP_TOKEN="",  # set (empty) so that no .env turns Socket Mode on
        SLACK_API_URL=slack_api_url,
        AWS_ENDPOINT_URL=aws_url,
        AWS_ACCESS_KEY_ID=aws_key,
        AWS_SECRET_ACCESS_KEY=aws_key,
        AWS_DEFAULT_REGION=region,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        CLEANUP_REGIONS=region,
        CLEANUP_APPROVERS="",
        CLEANUP_ALLOW_SELF_APPROVAL="false",
        CLEANUP_PLAN_TTL_MINUTES="30",
        CLEANUP_STATE_DB=str(state_dir / "state.sqlite3"),
        CLEANUP_PROFILES="",
    )
    env.update(overrides)
    return env


def python_m_bot() -> list[str]:
    return [sys.executable, "-m", "bot"]


class AppDidNotStart(RuntimeError):
    """The app exited, did not answer in time, or answered an unsigned request with something else than 401."""


@dataclass
class LocalApp:
    """The app as a subprocess in its own process group (stopped whole, gunicorn workers included); its output
    goes to `log_path`. The environment's PORT is the one it serves HTTP on."""

    env: dict[str, str]
    log_path: Path
    argv: list[str] = field(default_factory=python_m_bot)
    cwd: Path | None = None  # default: the log's folder
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0  # perf_counter at Popen
    first_answer_s: float = 0.0  # from Popen to the first answered request

    @property
    def port(self) -> int:
        return int(self.env["PORT"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start_process(self) -> subprocess.Popen[bytes]:
        """Start it without waiting (a Socket Mode worker serves no HTTP to wait for)."""
        with self.log_path.open("ab") as log:
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd or self.log_path.parent,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self.proc

    def start(self, timeout: float = START_TIMEOUT) -> Self:
        """Start it and wait for its first answer: the 401 of an unsigned request (a worker is up and checks
        signatures). Records the time from process start to that answer."""
        proc = self.start_process()
        deadline = self.started_at + timeout
        while (left := deadline - time.perf_counter()) > 0:
            if proc.poll() is not None:
                raise AppDidNotStart(f"the app exited with {proc.returncode}:\n{self.log()[-3000:]}")
            try:
                # Once the port is bound the request waits in the listen queue until a worker takes it.
                status = requests.post(self.url, data="x", timeout=left).status_code
            except requests.ConnectionError:
                time.sleep(POLL)
                continue
            except requests.Timeout:
                break
            if status != 401:
                raise AppDidNotStart(f"the app answered an unsigned request with {status}, not 401")
            self.first_answer_s = time.perf_counter() - self.started_at
            return self
        raise AppDidNotStart(f"the app did not answer in {timeout:.0f} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to the whole process group (gunicorn stops gracefully), SIGKILL after `grace` seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, nothing is cleaned up."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def launch(
    argv: list[str], env: Mapping[str, str], workdir: Path, name: str = "app", timeout: float = START_TIMEOUT
) -> LocalApp:
    """A started app (its first answer received), logging to workdir/<name>.log; stop() it, or use it as a
    context manager. Stopped again if it does not start."""
    app = LocalApp(dict(env), workdir / f"{name}.log", list(argv))
    try:
        return app.start(timeout)
    except BaseException:
        app.stop()
        raise
