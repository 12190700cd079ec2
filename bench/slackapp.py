"""The Slack app under benchmark: started as production starts it, fed signed requests, watched through the stand-in.

Started by bot/demo/launcher.py, two ways: the Procfile's `web:` line (gunicorn with bot.slack.wsgi:app and
bot/serve_config.py, the
configuration `python -m bot` uses too) and `python -m bot` (HTTP mode: gunicorn in-process). Both bind the
environment's HOST (127.0.0.1) and PORT. The environment is the end-to-end tests' (tests/e2e/harness.py app_env):
fake Slack credentials, the Slack stand-in as the Web API, AWS through the latency proxy, a fresh state database.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from bench.common import FAKE_KEY, REGION, ROOT, WorkerError, process_status_kb, process_tree
from bot.demo import launcher
from bot.demo.launcher import AppDidNotStart, LocalApp, local_app_env
from bot.demo.slack_standin import SlackStandIn

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-bench-not-a-real-token"
CHANNEL = "CWORKSHOP"
# WEB_CONCURRENCY for the Procfile's web: line, as a platform sets it per dyno (the app's own default is 1 worker)
PLATFORM_WORKERS = "2"
REQUESTER, TEAMMATE = "UREQUEST1", "UTEAMMAT1"
START_TIMEOUT = 60.0


def app_env(workdir: Path, standin: SlackStandIn, aws_url: str, **overrides: str) -> dict[str, str]:
    """The app's environment, as the demo and the end-to-end tests set it (bot.demo.launcher.local_app_env)."""
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


def app_memory(app: LocalApp) -> dict[str, int]:
    """Resident memory now, summed over the process and its descendants (gunicorn master + workers), KiB:
    VmRSS (pages shared by a forked worker and its master count twice) and Pss (shared pages split)."""
    if app.proc is None:
        return {}
    pids = process_tree(app.proc.pid)
    return {
        "processes": len(pids),
        "rss_kb": sum(process_status_kb(pid, "VmRSS") for pid in pids),
        "pss_kb": sum(_pss_kb(pid) for pid in pids),
    }


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def launch(argv: list[str], env: Mapping[str, str], workdir: Path, name: str = "app") -> LocalApp:
    """A started app (bot.demo.launcher.launch): its first answer received; stop() it, or use it as a context
    manager. A start that fails is the benchmark's WorkerError, which `python -m bench` reports and goes on."""
    try:
        return launcher.launch(argv, env, workdir, name, START_TIMEOUT)
    except AppDidNotStart as e:
        raise WorkerError(str(e)) from e
