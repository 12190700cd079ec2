"""Each person's language: their Slack locale (`users.info` with `include_locale`, scope `users:read`), cached.

What only one person sees (the confirmation modal, its errors, ephemeral replies, the answer to a slash command)
is written in that person's language when the app has catalogs for it; otherwise, and whenever Slack cannot say,
in CLEANUP_LANGUAGE. Channel messages never use this: everyone in the channel reads them.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient

from bot.i18n import language_of
from bot.slack.web import SlackWeb

log = logging.getLogger(__name__)

CACHE_SECONDS = 6 * 3600.0  # a person rarely changes their Slack language; a day-old answer is still right
RETRY_SECONDS = 60.0  # after Slack could not answer, the fallback is used this long before asking again
LOOKUP_TIMEOUT_SECONDS = 2  # leaves a click's trigger_id (3 s) time to open the modal


class People:
    """users.info for a person's locale, once per person per CACHE_SECONDS; errors are logged, never raised."""

    def __init__(self, client: WebClient, default_language: str) -> None:
        # its own client: the same token and API, a short timeout, so a slow answer never costs a modal
        short = WebClient(token=client.token, base_url=client.base_url, timeout=LOOKUP_TIMEOUT_SECONDS)
        self._slack = SlackWeb(short, sdk_retries=False)
        self.default_language = default_language
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str, float]] = {}  # user -> (language, valid until)

    def language(self, user: str) -> str:
        """The language `user` reads: their Slack locale's, or CLEANUP_LANGUAGE."""
        if not user:
            return self.default_language
        now = time.monotonic()
        with self._lock:
            known = self._known.get(user)
        if known is not None and known[1] > now:
            return known[0]
        lang, good = self._ask(user)
        with self._lock:
            self._known[user] = (lang, now + (CACHE_SECONDS if good else RETRY_SECONDS))
        return lang

    def cached(self, user: str) -> str:
        """`user`'s language when already known (no Slack call), else "" (for work that cannot wait for Slack)."""
        with self._lock:
            known = self._known.get(user)
        return known[0] if known is not None and known[1] > time.monotonic() else ""

    def _ask(self, user: str) -> tuple[str, bool]:
        info = self._slack.user_info(user)
        if info is None:
            return self.default_language, False
        locale = info.get("locale") if isinstance(info, dict) else None
        return language_of(locale, self.default_language), True
