"""`python -m bot` with no verb: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on $PORT at POST /slack/events.

HTTP mode runs gunicorn (a production WSGI server) in-process through Bolt's WSGI adapter, the same app the
Procfile's `web:` serves with `gunicorn bot.slack.wsgi:app`, with the same configuration (`gunicorn_options`, which
the Procfile reads through bot/serve_config.py). Bolt's built-in `app.start()` is for development only.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.config import Settings

log = logging.getLogger(__name__)


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
    }


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
    OnceSocketModeHandler(
        assembled.app, settings.slack_app_token, web_client=WebClient(base_url=settings.slack_api_url)
    ).start()


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
