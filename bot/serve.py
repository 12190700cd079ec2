"""`python -m bot` with no verb: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on $PORT at POST /slack/events.

HTTP mode runs gunicorn (a production WSGI server) in-process through Bolt's WSGI adapter, the same app the
Procfile's `web:` serves with `gunicorn bot.slack.wsgi:app`, with the same configuration (`gunicorn_options`, which
the Procfile reads through bot/serve_config.py). Bolt's built-in `app.start()` is for development only.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import Any

from bot.config import ConfigError, Settings

log = logging.getLogger(__name__)


def checked_settings() -> Settings:
    """The settings, checked as serving needs them: every variable, the Slack credentials (set, and the bot token
    accepted by Slack's auth.test), the profiles file and the reminders' profiles. ConfigError or ProfileError,
    with the message people read, when one cannot work.

    `python -m bot`, the gunicorn master (bot/serve_config.py, before any worker boots) and bot/slack/wsgi.py all
    call it, so a bad setting stops each with the same one line."""
    from bot.aws.registry import RESOURCE_TYPES
    from bot.profiles import load_profiles
    from bot.slack.reminders import check_reminders
    from bot.slack.web import check_bot_token

    settings = Settings.from_env()
    settings.require_slack()
    profiles = load_profiles(settings.profiles_file or None, frozenset(RESOURCE_TYPES))  # fail now, not mid-request
    check_reminders(settings.reminders, profiles)  # a reminder for an unknown profile, too
    refused = check_bot_token(settings.slack_bot_token, settings.slack_api_url)  # last: the one call to Slack
    if refused:
        raise ConfigError(
            f"Slack refused SLACK_BOT_TOKEN ({refused}): it is wrong, revoked or not a bot token; set it to the app's "
            "Bot User OAuth Token (xoxb-...) from its OAuth & Permissions page"
        )
    return settings


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn's settings for HTTP mode, however it is started: `python -m bot` or the Procfile's `web:` line."""
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.web_concurrency,
        "worker_class": "gthread",
        "threads": 8,
        "timeout": 60,
        "graceful_timeout": 10,
        "preload_app": False,  # the runner's threads belong in each worker
        "errorlog": "-",
        "worker_exit": hand_over_runs,  # a stopping worker (SIGTERM, as on every deploy) hands its runs over
    }


def hand_over_runs(_arbiter: Any = None, _worker: Any = None) -> None:
    """Stop this process's runners: each run stops at its next safe point and is released for the next process
    (gunicorn's worker_exit hook, and the end of Socket Mode)."""
    from bot.slack.runner import stop_serving

    stop_serving()


def _exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)  # unwinds the main thread's wait, so that the runs are handed over on the way out


def serve(settings: Settings) -> None:
    settings.require_slack()
    if settings.slack_app_token:
        serve_socket_mode(settings)
    else:
        serve_http(settings)


def serve_socket_mode(settings: Settings) -> None:
    from slack_sdk import WebClient

    from bot.slack.app import build
    from bot.slack.socket_mode import OnceSocketModeHandler

    assembled = build(settings)
    log.info("serving Slack in Socket Mode")
    handler = OnceSocketModeHandler(
        assembled.app, settings.slack_app_token, web_client=WebClient(base_url=settings.slack_api_url)
    )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        handler.start()
    finally:
        log.info("stopping: handing the runs over")
        hand_over_runs()
        handler.close()


def serve_http(settings: Settings) -> None:
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from bot.slack.app import build
            from bot.slack.http import wsgi_app

            return wsgi_app(build(settings).app)

    log.info("serving Slack over HTTP on %s:%s at POST /slack/events", settings.host, settings.port)
    _Server().run()
