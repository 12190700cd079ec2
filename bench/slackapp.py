"""The Slack app under benchmark: started as production starts it, fed signed requests, watched through the stand-in.

Two ways to start it: the Procfile's `web:` line (gunicorn with bot.slack.wsgi:app and bot/serve_config.py, the
configuration `python -m bot` uses too) and `python -m bot` (HTTP mode: gunicorn in-process). Both bind the
environment's HOST (127.0.0.1) and PORT. The environment is the end-to-end tests' (tests/e2e/harness.py app_env):
fake Slack credentials, the Slack stand-in as the Web API, AWS through the latency proxy, a fresh state database.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.common import FAKE_KEY, REGION, ROOT, WorkerError, process_status_kb, process_tree
from bot.demo.run import local_app_env
from bot.demo.slack_standin import SlackStandIn

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-bench-not-a-real-token"
CHANNEL = "CWORKSHOP"
# WEB_CONCURRENCY for the Procfile's web: line, as a platform sets it per dyno (the app's own default is 1 worker)
PLATFORM_WORKERS = "2"
REQUESTER, TEAMMATE = "UREQUEST1", "UTEAMMAT1"
START_TIMEOUT = 60.0
POLL = 0.01  # seconds between attempts while the app is not listening yet


def app_env(workdir: Path, standin: SlackStandIn, aws_url: str, **overrides: str) -> dict[str, str]:
    """The app's environment, as the demo and the end-to-end tests set it (bot.demo.run.local_app_env)."""
    return local_app_env(workdir, standin.api_url, aws_url, SIGNING_SECRET, BOT_TOKEN, REGION, FAKE_KEY, **overrides)


def procfile_argv(port: int) -> list[str]:
    """The Procfile's `web:` command with $PORT filled in (if it names it), on loopback, gunicorn from this venv."""
    line = next(
        (line for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines() if line.startswith("web:")),
        None,
    )
    if line is None:
        raise WorkerError("the Procfile has no web: line")
    command = re.sub(r"\$\{PORT(:-[^}]*)?\}|\$PORT", str(port), line.removeprefix("web:").strip())
    argv = [arg.replace("0.0.0.0", "127.0.0.1") for arg in shlex.split(command)]  # noqa: S104 (replaced, not bound)
    tool = Path(sys.executable).parent / argv[0]
    if tool.exists():
        argv[0] = str(tool)
    return argv


def python_m_bot_argv() -> list[str]:
    return [sys.executable, "-m", "bot"]


@dataclass
class RunningApp:
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0  # perf_counter at Popen
    first_answer_s: float = 0.0  # from Popen to the first answered request
    pids_seen: list[int] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.env["PORT"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self, timeout: float = START_TIMEOUT) -> RunningApp:
        """Start it and wait for its first answer: the 401 of an unsigned request (the worker is up and checks
        signatures). Records the time from process start to that answer."""
        log = self.log_path.open("ab")
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.log_path.parent,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped whole, workers included
        )
        log.close()
        deadline = self.started_at + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise WorkerError(f"the app exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                # Once the port is bound the request waits in the listen queue until a worker takes it.
                status = requests.post(self.url, data="x", timeout=timeout).status_code
            except requests.ConnectionError:
                time.sleep(POLL)
                continue
            if status == 401:
                self.first_answer_s = time.perf_counter() - self.started_at
                return self
            raise WorkerError(f"the app answered an unsigned request with {status}, not 401")
        raise WorkerError(f"the app did not answer in {timeout:.0f} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def memory(self) -> dict[str, int]:
        """Resident memory now, summed over the process and its descendants (gunicorn master + workers), KiB:
        VmRSS (pages shared by a forked worker and its master count twice) and Pss (shared pages split)."""
        if self.proc is None:
            return {}
        pids = process_tree(self.proc.pid)
        return {
            "processes": len(pids),
            "rss_kb": sum(process_status_kb(pid, "VmRSS") for pid in pids),
            "pss_kb": sum(_pss_kb(pid) for pid in pids),
        }

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to the whole process group (gunicorn stops gracefully), SIGKILL after `grace` seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL the whole process group at once: for when what it was doing no longer matters."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def __enter__(self) -> RunningApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def launch(argv: list[str], env: Mapping[str, str], workdir: Path, name: str = "app") -> RunningApp:
    """A started app (its first answer received); stop() it, or use it as a context manager."""
    app = RunningApp(list(argv), dict(env), workdir / f"{name}.log")
    try:
        return app.start()
    except BaseException:
        app.stop()
        raise
