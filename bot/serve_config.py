"""gunicorn's configuration file for the Procfile's `web:` line (`gunicorn --config python:bot.serve_config
bot.slack.wsgi:app`): the options of `python -m bot` in HTTP mode (bot.serve.gunicorn_options), from the same
settings (HOST, PORT, WEB_CONCURRENCY, read after .env). Options given on gunicorn's command line still win.

gunicorn reads this file in its master, before it binds or boots a worker, so every setting is checked here
(bot.serve.checked_settings, as `python -m bot` checks them): a bad one stops the master at once with one line and
exit code 2. Left to a worker, it would print a boot traceback per worker and gunicorn would exit 3 ("Worker
failed to boot") or, for other exit codes, boot workers again and again.
"""

from __future__ import annotations

import sys

from dotenv import load_dotenv

from bot.config import ConfigError
from bot.profiles import ProfileError
from bot.serve import checked_settings, gunicorn_options

load_dotenv()
try:
    _settings = checked_settings()
except (ConfigError, ProfileError) as e:
    print(f"error: {e}", file=sys.stderr)
    raise SystemExit(2) from None
globals().update(gunicorn_options(_settings))
