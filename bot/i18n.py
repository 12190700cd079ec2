"""The languages people read: English and Vietnamese message catalogs, and locale-aware numbers, money and times.

Catalogs are gettext's (`bot/locales/<lang>/LC_MESSAGES/messages.po`, compiled to `.mo` with Babel: `make
i18n-extract i18n-update i18n-compile`). The English text is the message id, so English needs no translation and
a missing one falls back to it. Builders take the language explicitly and ask `translator(lang)` for their words:

    t = translator(lang)
    t._("Cleanup plan: {profile}", profile=plan.profile)  # placeholders filled only when parameters are given
    t.n_("{n} resource", "{n} resources", n)  # {n} is the count, written the locale's way

`N_` and `NP_` mark texts that are translated later (tables of words); Babel extracts all four. Money and numbers
are written per locale by Babel (`86,80 US$` in Vietnamese); times are Slack date tokens, so that each reader sees
their own time zone.
"""

from __future__ import annotations

import functools
import gettext
import time
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import format_currency, format_decimal

LANGUAGES = ("en", "vi")
DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
_BABEL_LOCALES = {"en": "en_US", "vi": "vi_VN"}
# What Babel extracts (the Makefile's i18n-extract passes the same): _ and N_ one text, n_ and NP_ two.
EXTRACT_KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "N_": None, "n_": (1, 2), "NP_": (1, 2)}


def N_(message: str) -> str:
    """Marks a text for extraction; it is translated where it is shown (`t._(TABLE[key])`)."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a singular/plural pair for extraction; `t.n_(*pair, n)` translates it."""
    return singular, plural


def language_of(locale: object, fallback: str = DEFAULT_LANGUAGE) -> str:
    """The supported language of a Slack locale ("vi-VN") or a POSIX LANG ("vi_VN.UTF-8"); `fallback` otherwise."""
    if not isinstance(locale, str):
        return fallback
    code = locale.strip().split(".", 1)[0].replace("_", "-").split("-", 1)[0].lower()
    return code if code in LANGUAGES else fallback


# Resource type labels (bot/aws modules' `label`), as people read them in each language.
LABELS: dict[str, tuple[str, str]] = {
    "SageMaker endpoint": NP_("SageMaker endpoint", "SageMaker endpoints"),
    "SageMaker endpoint config": NP_("SageMaker endpoint config", "SageMaker endpoint configs"),
    "SageMaker model": NP_("SageMaker model", "SageMaker models"),
    "Lambda function": NP_("Lambda function", "Lambda functions"),
    "DynamoDB table": NP_("DynamoDB table", "DynamoDB tables"),
    "API Gateway REST API": NP_("API Gateway REST API", "API Gateway REST APIs"),
    "API Gateway HTTP/WebSocket API": NP_("API Gateway HTTP/WebSocket API", "API Gateway HTTP/WebSocket APIs"),
    "IAM role": NP_("IAM role", "IAM roles"),
    "S3 bucket": NP_("S3 bucket", "S3 buckets"),
    "S3 objects": NP_("S3 objects", "S3 objects"),
    "CloudWatch log group": NP_("CloudWatch log group", "CloudWatch log groups"),
    "problem": NP_("problem", "problems"),
    "heading": NP_("heading", "headings"),
}


def _english_plural(label: str, n: int) -> str:
    if n == 1:
        return label
    return label[:-1] + "ies" if label.endswith("y") and not label.endswith("ey") else label + "s"


class Translator:
    """One language's words and formats."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self.locale = Locale.parse(_BABEL_LOCALES[self.lang])
        self._catalog = gettext.translation(DOMAIN, LOCALES_DIR, [self.lang], fallback=True)

    def _(self, message: str, **params: Any) -> str:
        text = self._catalog.gettext(message)
        return text.format(**params) if params else text

    def n_(self, singular: str, plural: str, n: int, **params: Any) -> str:
        return self._catalog.ngettext(singular, plural, n).format(n=self.number(n), **params)

    # -- numbers, money, times ---------------------------------------------------------------------------------

    def number(self, value: float) -> str:
        return str(format_decimal(value, locale=self.locale))

    def usd(self, cost: float) -> str:
        """An amount in US dollars: "$86.80", "86,80 US$"; zero without decimals, tiny amounts as "< $0.01"."""
        if cost == 0:
            pattern = self.locale.currency_formats["standard"].pattern.replace(".00", "")
            return str(format_currency(0, "USD", format=pattern, locale=self.locale, currency_digits=False))
        if cost < 0.01:
            return "< " + str(format_currency(0.01, "USD", locale=self.locale))
        return str(format_currency(cost, "USD", locale=self.locale))

    def monthly(self, cost: float | None) -> str:
        """A monthly price: "$86.80/month", "86,80 US$/tháng"; "unknown" without a price."""
        if cost is None:
            return self._("unknown")
        return self._("{amount}/month", amount=self.usd(cost))

    def date(self, epoch: float) -> str:
        """A time every reader sees in their own time zone (Slack's date token), with a UTC fallback."""
        fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))
        shown = self._("{date} at {time}", date="{date_short_pretty}", time="{time}")
        return f"<!date^{int(epoch)}^{shown}|{fallback}>"

    def duration(self, seconds: float) -> str:
        seconds = max(0.0, seconds)
        if seconds < 60:
            return self._("{s} s", s=f"{seconds:.0f}")
        minutes, secs = divmod(round(seconds), 60)
        if minutes < 60:
            return self._("{m} min {s} s", m=minutes, s=secs)
        return self._("{h} h {m} min", h=minutes // 60, m=minutes % 60)

    def age(self, seconds: float) -> str:
        """How old, roughly: "40 minutes", "26 hours", "3 days"."""
        minutes = max(0.0, seconds) / 60
        if minutes < 120:
            return self.n_("{n} minute", "{n} minutes", round(minutes))
        if minutes < 48 * 60:
            return self.n_("{n} hour", "{n} hours", round(minutes / 60))
        return self.n_("{n} day", "{n} days", round(minutes / 1440))

    # -- resource labels ---------------------------------------------------------------------------------------

    def label(self, label: str, n: int = 1) -> str:
        """A resource type's label in this language ("DynamoDB table" -> "bảng DynamoDB"); for n of them when n is
        not 1. A label no catalog knows (a custom resource type) keeps its English, pluralised."""
        pair = LABELS.get(label)
        if pair is None:
            return _english_plural(label, n)
        return self._catalog.ngettext(pair[0], pair[1], n)


@functools.cache
def translator(lang: str = DEFAULT_LANGUAGE) -> Translator:
    return Translator(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
