"""One gunicorn configuration: `python -m bot` in HTTP mode and the Procfile's `web:` line read the same options."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import dotenv
import pytest

from bot.config import Settings
from bot.serve import gunicorn_options

ROOT = Path(__file__).resolve().parent.parent


def _serve_config(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    """bot.serve_config's module-level names (what gunicorn's --config reads), loaded with `env`, without .env."""
    for name in ("HOST", "PORT", "WEB_CONCURRENCY", "CLEANUP_PROFILES", "CLEANUP_REMINDERS"):
        monkeypatch.delenv(name, raising=False)
    # the master checks every setting a worker needs, the Slack credentials too
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test-secret", **env}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(dotenv, "load_dotenv", lambda *a, **k: False)
    sys.modules.pop("bot.serve_config", None)
    module = importlib.import_module("bot.serve_config")
    sys.modules.pop("bot.serve_config", None)
    return vars(module)


def test_options_come_from_settings() -> None:
    options = gunicorn_options(Settings(host="127.0.0.1", port=4001, web_concurrency=3))
    assert options["bind"] == "127.0.0.1:4001" and options["workers"] == 3
    assert options["worker_class"] == "gthread" and options["preload_app"] is False
    defaults = gunicorn_options(Settings.from_env({}))
    assert defaults["bind"] == "0.0.0.0:3000" and defaults["workers"] == 1


def test_procfile_web_reads_the_same_options(monkeypatch: pytest.MonkeyPatch) -> None:
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8")
    assert "web: gunicorn --config python:bot.serve_config bot.slack.wsgi:app" in procfile.splitlines()
    config = _serve_config(monkeypatch, HOST="127.0.0.2", PORT="4002", WEB_CONCURRENCY="4")
    expected = gunicorn_options(Settings(host="127.0.0.2", port=4002, web_concurrency=4))
    assert {k: config[k] for k in expected} == expected


def test_a_bad_setting_stops_gunicorn_with_the_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        _serve_config(monkeypatch, WEB_CONCURRENCY="many")
    assert stopped.value.code == 2
    assert "WEB_CONCURRENCY must be a whole number, got 'many'" in capsys.readouterr().err
