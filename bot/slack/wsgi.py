"""WSGI entry for production servers: `gunicorn bot.slack.wsgi:app` serves POST /slack/events.

Built when a worker imports it (do not use gunicorn's --preload: the background runner threads belong in the
worker process).
"""

from __future__ import annotations

import logging

from dotenv import load_dotenv

from bot.config import Settings
from bot.slack.app import build
from bot.slack.http import wsgi_app

load_dotenv()
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

assembled = build(Settings.from_env())
app = wsgi_app(assembled.app)
