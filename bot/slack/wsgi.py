"""WSGI entry for production servers: `gunicorn --config python:bot.serve_config bot.slack.wsgi:app` (the
Procfile's `web:` line) serves POST /slack/events.

Built when a worker imports it (do not use gunicorn's --preload: the background runner threads belong in the
worker process).
"""

from __future__ import annotations

from dotenv import load_dotenv

from bot.config import Settings
from bot.logs import setup_logging
from bot.slack.app import build
from bot.slack.http import wsgi_app

load_dotenv()
setup_logging()

assembled = build(Settings.from_env())
app = wsgi_app(assembled.app)
