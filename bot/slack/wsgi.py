"""WSGI entry for production servers: `gunicorn --config python:bot.serve_config bot.slack.wsgi:app` (the
Procfile's `web:` line) serves POST /slack/events.

Built when a worker imports it (do not use gunicorn's --preload: the background runner threads belong in the
worker process). With the Procfile's --config, the settings were checked in gunicorn's master already; started
without it, a bad setting is reported here in one line and the worker exits with gunicorn's "App failed to load"
code, which stops the master instead of booting workers again and again.
"""

from __future__ import annotations

import sys

from dotenv import load_dotenv

from bot.config import ConfigError
from bot.logs import setup_logging
from bot.profiles import ProfileError
from bot.serve import checked_settings
from bot.slack.app import build
from bot.slack.http import wsgi_app

APP_LOAD_ERROR = 4  # gunicorn.arbiter.Arbiter.APP_LOAD_ERROR: the master halts, it does not respawn

load_dotenv()
setup_logging()

try:
    _settings = checked_settings()
except (ConfigError, ProfileError) as e:
    print(f"error: {e}", file=sys.stderr, flush=True)
    raise SystemExit(APP_LOAD_ERROR) from None
assembled = build(_settings)
app = wsgi_app(assembled.app)
