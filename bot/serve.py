"""`python -m bot` with no verb: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on $PORT at POST /slack/events.

HTTP mode runs gunicorn (a production WSGI server) in-process through Bolt's WSGI adapter, the same app the
Procfile's `web:` serves with `gunicorn bot.slack.wsgi:app`. Bolt's built-in `app.start()` is for development only.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from bot.config import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    settings.require_slack()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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


def serve_http(settings: Settings, host: str | None = None) -> None:
    from gunicorn.app.base import BaseApplication

    bind_host = host or os.environ.get("HOST", "0.0.0.0")  # noqa: S104 (a server listens on all interfaces)

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{bind_host}:{settings.port}",
                "workers": int(os.environ.get("WEB_CONCURRENCY", "1")),
                "worker_class": "gthread",
                "threads": 8,
                "timeout": 60,
                "graceful_timeout": 10,
                "preload_app": False,  # the runner's threads belong in each worker
                "errorlog": "-",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from bot.slack.app import build
            from bot.slack.http import wsgi_app

            return wsgi_app(build(settings).app)

    log.info("serving Slack over HTTP on port %s at POST /slack/events", settings.port)
    _Server().run()
