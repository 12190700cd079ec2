"""gunicorn's configuration file for the Procfile's `web:` line (`gunicorn --config python:bot.serve_config
bot.slack.wsgi:app`): the options of `python -m bot` in HTTP mode (bot.serve.gunicorn_options), from the same
settings (HOST, PORT, WEB_CONCURRENCY, read after .env). Options given on gunicorn's command line still win.
"""

from __future__ import annotations

import sys

from dotenv import load_dotenv

from bot.config import ConfigError, Settings
from bot.serve import gunicorn_options

load_dotenv()
try:
    _settings = Settings.from_env()
except ConfigError as e:
    print(f"error: {e}", file=sys.stderr)
    raise SystemExit(2) from None
globals().update(gunicorn_options(_settings))
