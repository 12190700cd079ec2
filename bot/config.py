"""Settings from the environment (and .env), validated once at start. Names are SPEC section 3's contract."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_REMINDER_RE = re.compile(r"^(?P<profile>[^@\s,:]+)@(?P<channel>[^@\s,:]+):(?P<number>\d+)(?P<unit>[mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
_UNIT_WORDS = {"m": "minute", "h": "hour", "d": "day"}
MIN_REMINDER_SECONDS = 5 * 60
MAX_REMINDER_SECONDS = 365 * 86400
_STATE_DB_SCHEMES = frozenset({"postgresql", "postgres", "postgresql+psycopg", "sqlite", "sqlite+pysqlite"})


class ConfigError(ValueError):
    """A setting that cannot work; the message names the variable and what is wrong."""


@dataclass(frozen=True)
class Reminder:
    """One CLEANUP_REMINDERS entry: every `interval` seconds, scan `profile` and remind `channel` of what is old."""

    profile: str
    channel: str
    interval: float  # seconds
    text: str  # the entry as written, e.g. "dogcat@C0123ABCD:24h"

    @property
    def key(self) -> str:
        """What the schedule is stored under: one schedule per profile and channel, whatever the interval."""
        return f"{self.profile}@{self.channel}"

    @property
    def every(self) -> str:
        """The interval for people: "24 hours", "90 minutes", "7 days"."""
        unit = self.text.rsplit(":", 1)[-1][-1]
        number = int(self.interval // _UNIT_SECONDS[unit])
        return f"{number} {_UNIT_WORDS[unit]}{'' if number == 1 else 's'}"


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = ""
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    host: str = "0.0.0.0"  # noqa: S104 (HOST: a server listens on every interface unless told otherwise)
    port: int = 3000
    web_concurrency: int = 1  # WEB_CONCURRENCY: gunicorn worker processes in HTTP mode (Procfile platforms set it)
    regions: tuple[str, ...] = ()
    approvers: frozenset[str] = frozenset()
    allow_self_approval: bool = False
    plan_ttl_minutes: float = 30.0
    state_db: str = "cleanup.sqlite3"
    profiles_file: str = ""
    # CLEANUP_ACCOUNTS: 12-digit account IDs, role ARNs and/or "organization"; empty: the credentials' own account
    accounts: tuple[str, ...] = ()
    assume_role: str = "DogcatCleanupRole"  # CLEANUP_ASSUME_ROLE: the role name assumed in a bare account ID
    notify_channel: str = ""  # CLEANUP_NOTIFY_CHANNEL: a channel ID that hears about every finished run
    reminders: tuple[Reminder, ...] = ()  # CLEANUP_REMINDERS, parsed
    # Tuning, rarely set. None: each resource type's own spacing (AWS: one DeleteRestApi per 30 s per account).
    rest_api_delete_interval: float | None = None  # CLEANUP_REST_API_DELETE_INTERVAL
    wait_timeout_seconds: float = 1800.0  # CLEANUP_WAIT_TIMEOUT_SECONDS: longest wait for an endpoint or table
    run_lease_seconds: float = 60.0  # CLEANUP_RUN_LEASE_SECONDS: a silent run's owner is replaced after this
    reminder_poll_seconds: float = 30.0  # CLEANUP_REMINDER_POLL_SECONDS: how often reminders are checked
    test_clock_offset_seconds: float = 0.0  # CLEANUP_TEST_CLOCK_OFFSET_SECONDS: shifts the reminder clock (tests)

    def __repr__(self) -> str:  # never print tokens, nor the state database's password
        return (
            f"Settings(regions={self.regions}, state_db={self.state_db_for_logs!r}, "
            f"slack_api_url={self.slack_api_url!r})"
        )

    @property
    def state_db_for_logs(self) -> str:
        from bot.core.state.database import mask_url

        return mask_url(self.state_db)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, default_region: str | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return env.get(name, default).strip()

        default_region = default_region or get("AWS_DEFAULT_REGION") or get("AWS_REGION") or "us-east-1"
        regions = parse_regions(get("CLEANUP_REGIONS")) or (default_region,)
        approvers = frozenset(a.strip() for a in get("CLEANUP_APPROVERS").split(",") if a.strip())
        for user in approvers:
            if not _USER_ID_RE.match(user):
                raise ConfigError(f"CLEANUP_APPROVERS: {user!r} is not a Slack user ID (like U012AB3CD)")
        return cls(
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=_api_url(get("SLACK_API_URL", DEFAULT_SLACK_API_URL)),
            host=get("HOST") or "0.0.0.0",  # noqa: S104
            port=_int("PORT", get("PORT", "3000"), 1, 65535),
            web_concurrency=_int("WEB_CONCURRENCY", get("WEB_CONCURRENCY") or "1", 1, 64),
            regions=regions,
            approvers=approvers,
            allow_self_approval=_bool("CLEANUP_ALLOW_SELF_APPROVAL", get("CLEANUP_ALLOW_SELF_APPROVAL", "false")),
            plan_ttl_minutes=_float("CLEANUP_PLAN_TTL_MINUTES", get("CLEANUP_PLAN_TTL_MINUTES", "30")),
            state_db=parse_state_db(get("CLEANUP_STATE_DB"), get("DATABASE_URL")),
            profiles_file=get("CLEANUP_PROFILES"),
            accounts=parse_accounts(get("CLEANUP_ACCOUNTS")),
            assume_role=parse_role_name(get("CLEANUP_ASSUME_ROLE") or "DogcatCleanupRole"),
            notify_channel=parse_channel("CLEANUP_NOTIFY_CHANNEL", get("CLEANUP_NOTIFY_CHANNEL")),
            reminders=parse_reminders(get("CLEANUP_REMINDERS")),
            rest_api_delete_interval=(
                _seconds("CLEANUP_REST_API_DELETE_INTERVAL", get("CLEANUP_REST_API_DELETE_INTERVAL"), 0.0)
                if get("CLEANUP_REST_API_DELETE_INTERVAL")
                else None
            ),
            wait_timeout_seconds=_seconds("CLEANUP_WAIT_TIMEOUT_SECONDS", get("CLEANUP_WAIT_TIMEOUT_SECONDS"), 1800.0),
            run_lease_seconds=max(1.0, _seconds("CLEANUP_RUN_LEASE_SECONDS", get("CLEANUP_RUN_LEASE_SECONDS"), 60.0)),
            reminder_poll_seconds=max(
                0.05, _seconds("CLEANUP_REMINDER_POLL_SECONDS", get("CLEANUP_REMINDER_POLL_SECONDS"), 30.0)
            ),
            test_clock_offset_seconds=_seconds(
                "CLEANUP_TEST_CLOCK_OFFSET_SECONDS", get("CLEANUP_TEST_CLOCK_OFFSET_SECONDS"), 0.0, negative=True
            ),
        )

    def require_slack(self) -> None:
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", self.slack_bot_token),
                ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} must be set to serve Slack (see .env.example)")


def parse_regions(text: str) -> tuple[str, ...]:
    regions = tuple(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    for region in regions:
        if not _REGION_RE.match(region):
            raise ConfigError(f"CLEANUP_REGIONS: {region!r} is not an AWS region name (like us-east-1)")
    return regions


ORGANIZATION = "organization"
_ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")


def parse_accounts(text: str) -> tuple[str, ...]:
    """CLEANUP_ACCOUNTS: comma-separated 12-digit account IDs, role ARNs (arn:aws:iam::<ID>:role/<name>) and/or
    `organization` (every active account of the AWS Organization). Order kept, duplicates dropped."""
    entries = tuple(dict.fromkeys(e.strip() for e in text.split(",") if e.strip()))
    for entry in entries:
        if entry.lower() == ORGANIZATION or _ACCOUNT_ID_RE.match(entry) or _ROLE_ARN_RE.match(entry):
            continue
        raise ConfigError(
            f"CLEANUP_ACCOUNTS: {entry!r} is not a 12-digit account ID, a role ARN (arn:aws:iam::<ID>:role/<name>) "
            "or organization"
        )
    return tuple(ORGANIZATION if e.lower() == ORGANIZATION else e for e in entries)


def parse_role_name(text: str) -> str:
    if not _ROLE_NAME_RE.match(text):
        raise ConfigError(f"CLEANUP_ASSUME_ROLE: {text!r} is not an IAM role name (letters, digits, +=,.@_-)")
    return text


def parse_state_db(state_db: str, database_url: str) -> str:
    """CLEANUP_STATE_DB (a SQLite file path or a postgresql:// URL); unset, DATABASE_URL (a Procfile platform's
    PostgreSQL add-on, often postgres://); neither, the SQLite file cleanup.sqlite3."""
    name, value = ("CLEANUP_STATE_DB", state_db) if state_db else ("DATABASE_URL", database_url)
    if not value:
        return "cleanup.sqlite3"
    scheme, sep, _ = value.partition("://")
    if sep and scheme.lower() not in _STATE_DB_SCHEMES:
        raise ConfigError(
            f"{name}: a SQLite file path or a postgresql:// URL, not a {scheme}:// URL"
            " (the state store runs on SQLite or PostgreSQL)"
        )
    if sep:
        from bot.core.state.database import StateDbError, state_url

        try:
            state_url(value)
        except StateDbError as e:
            raise ConfigError(f"{name}: {e}") from None
    return value


def parse_channel(name: str, text: str) -> str:
    if text and not _CHANNEL_ID_RE.match(text):
        raise ConfigError(f"{name}: {text!r} is not a Slack channel ID (like C0123ABCD; not a #name)")
    return text


def parse_reminders(text: str) -> tuple[Reminder, ...]:
    """`profile@CHANNEL:interval` entries, comma-separated; interval units m, h, d (e.g. dogcat@C0123ABCD:24h).

    Raises ConfigError naming the first bad entry. Whether the profile exists is checked where profiles load.
    """
    reminders: list[Reminder] = []
    seen: dict[str, str] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        match = _REMINDER_RE.match(entry)
        if match is None:
            raise ConfigError(
                f"CLEANUP_REMINDERS: {entry!r} is not profile@CHANNEL_ID:interval "
                "(like dogcat@C0123ABCD:24h; interval units m, h or d)"
            )
        channel = match["channel"]
        if not _CHANNEL_ID_RE.match(channel):
            raise ConfigError(f"CLEANUP_REMINDERS: {entry!r}: {channel!r} is not a Slack channel ID (like C0123ABCD)")
        interval = int(match["number"]) * _UNIT_SECONDS[match["unit"]]
        if not MIN_REMINDER_SECONDS <= interval <= MAX_REMINDER_SECONDS:
            raise ConfigError(f"CLEANUP_REMINDERS: {entry!r}: the interval must be between 5m and 365d")
        reminder = Reminder(match["profile"], channel, float(interval), entry)
        if reminder.key in seen:
            raise ConfigError(
                f"CLEANUP_REMINDERS: {entry!r}: {reminder.key} is already scheduled by {seen[reminder.key]!r}"
            )
        seen[reminder.key] = entry
        reminders.append(reminder)
    return tuple(reminders)


def is_region_name(text: str) -> bool:
    return bool(_REGION_RE.match(text))


def _api_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"SLACK_API_URL must be an http(s) URL, got {url!r}")
    return url if url.endswith("/") else url + "/"


def _bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _int(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _seconds(name: str, value: str, default: float, negative: bool = False) -> float:
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
    if number != number or (number < 0 and not negative):  # NaN, or a negative duration
        raise ConfigError(f"{name} must be a non-negative number of seconds, got {value!r}")
    return number


def _float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of minutes, got {value!r}") from None
    if not 0 < number <= 7 * 24 * 60:
        raise ConfigError(f"{name} must be more than 0 and at most a week of minutes, got {value!r}")
    return number
