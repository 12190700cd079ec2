"""Settings from the environment (and .env), validated once at start.

Every variable is declared once, in SETTINGS: its default, how it is read and what it is for. Settings' defaults,
`Settings.from_env` and `.env.example` (`python -m bot.config > .env.example`; a test keeps it in step) all come
from that table.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_STATE_DB = "cleanup.sqlite3"
_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_LIST_SEPARATORS = re.compile(r"[\s,]+")
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


def split_list(text: str) -> list[str]:
    """A list as people type it: items separated by commas, white space, or both ("a,b", "a b", "a, b")."""
    return [item for item in _LIST_SEPARATORS.split(text) if item]


def parse_regions(text: str, name: str = "CLEANUP_REGIONS") -> tuple[str, ...]:
    regions = tuple(dict.fromkeys(split_list(text)))
    for region in regions:
        if not _REGION_RE.match(region):
            raise ConfigError(f"{name}: {region!r} is not an AWS region name (like us-east-1)")
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
        return DEFAULT_STATE_DB
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


def parse_approvers(text: str) -> frozenset[str]:
    approvers = frozenset(a.strip() for a in text.split(",") if a.strip())
    for user in approvers:
        if not _USER_ID_RE.match(user):
            raise ConfigError(f"CLEANUP_APPROVERS: {user!r} is not a Slack user ID (like U012AB3CD)")
    return approvers


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


def parse_language(name: str, text: str) -> str:
    """CLEANUP_LANGUAGE: a language the app has catalogs for (bot/i18n.py)."""
    from bot.i18n import LANGUAGES

    lang = text.strip().lower()
    if lang not in LANGUAGES:
        raise ConfigError(f"{name}: {text!r} is not a supported language ({' or '.join(LANGUAGES)})")
    return lang


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


def _seconds(name: str, value: str, negative: bool = False) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
    if number != number or (number < 0 and not negative):  # NaN, or a negative duration
        raise ConfigError(f"{name} must be a non-negative number of seconds, got {value!r}")
    return number


def _minutes(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of minutes, got {value!r}") from None
    if not 0 < number <= 7 * 24 * 60:
        raise ConfigError(f"{name} must be more than 0 and at most a week of minutes, got {value!r}")
    return number


# -- the table -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One environment variable, declared once: its default as written in .env.example, how it is read, and the
    comment .env.example gives it. `field` is the Settings attribute it fills ("" for one read by boto3 or folded
    into another setting)."""

    env: str
    default: str
    parse: Callable[[str, str], Any]  # (variable name, text; empty means `default`) -> value
    help: str
    section: str
    field: str = ""


def _text(_name: str, text: str) -> str:
    return text


def _no_value(_name: str, text: str) -> None:
    return None


SLACK, AWS, APPROVAL, STATE, NOTIFY, HTTP, TUNING = (
    "Slack",
    "AWS (boto3's own chain: env keys, ~/.aws, instance role...)",
    "Approval",
    "State and profiles",
    "Notifications",
    "HTTP serving (when SLACK_APP_TOKEN is empty)",
    "Tuning (rarely needed)",
)

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SLACK_BOT_TOKEN",
        "",
        _text,
        'Bot User OAuth Token (xoxb-...), from the app\'s "OAuth & Permissions" page.',
        SLACK,
        "slack_bot_token",
    ),
    Setting(
        "SLACK_SIGNING_SECRET",
        "",
        _text,
        'Signing secret from "Basic Information"; every HTTP request from Slack is verified with it.',
        SLACK,
        "slack_signing_secret",
    ),
    Setting(
        "SLACK_APP_TOKEN",
        "",
        _text,
        "App-level token (xapp-..., scope connections:write): when set, the app runs in Socket Mode instead of HTTP.",
        SLACK,
        "slack_app_token",
    ),
    Setting(
        "SLACK_API_URL",
        DEFAULT_SLACK_API_URL,
        lambda name, url: _api_url(url),
        "Web API base URL: Slack's own unless tests point it at a local stand-in.",
        SLACK,
        "slack_api_url",
    ),
    Setting(
        "AWS_DEFAULT_REGION",
        "us-east-1",
        _text,
        "Region used when CLEANUP_REGIONS is empty (AWS_REGION works too).",
        AWS,
    ),
    Setting("AWS_ENDPOINT_URL", "", _text, "Only for emulators such as moto; leave unset against real AWS.", AWS),
    Setting(
        "CLEANUP_REGIONS",
        "",
        lambda name, text: parse_regions(text),
        "Regions to scan, comma-separated (default: AWS_DEFAULT_REGION).",
        AWS,
        "regions",
    ),
    Setting(
        "CLEANUP_ACCOUNTS",
        "",
        lambda name, text: parse_accounts(text),
        "Accounts to clean, comma-separated: 12-digit IDs, role ARNs (arn:aws:iam::<ID>:role/<name>), and/or "
        "organization (every active account of the AWS Organization). Empty: the credentials' own account only. "
        "The credentials' own account is used directly; others through sts:AssumeRole (deploy/member-role.yaml).",
        AWS,
        "accounts",
    ),
    Setting(
        "CLEANUP_ASSUME_ROLE",
        "DogcatCleanupRole",
        lambda name, text: parse_role_name(text),
        "Role assumed in an account given by its bare ID (arn:aws:iam::<ID>:role/<this>).",
        AWS,
        "assume_role",
    ),
    Setting(
        "CLEANUP_APPROVERS",
        "",
        lambda name, text: parse_approvers(text),
        "Slack user IDs allowed to approve, comma-separated; empty: any member except the requester.",
        APPROVAL,
        "approvers",
    ),
    Setting(
        "CLEANUP_ALLOW_SELF_APPROVAL",
        "false",
        lambda name, text: _bool(name, text),
        "true lets the requester approve their own cleanup (two-person rule off).",
        APPROVAL,
        "allow_self_approval",
    ),
    Setting(
        "CLEANUP_PLAN_TTL_MINUTES",
        "30",
        lambda name, text: _minutes(name, text),
        "Minutes a plan can be approved before it expires.",
        APPROVAL,
        "plan_ttl_minutes",
    ),
    Setting(
        "CLEANUP_LANGUAGE",
        "en",
        parse_language,
        "Language of channel messages: en or vi. Modals and replies only one person sees follow that person's Slack "
        "locale when it is en or vi; the command line follows LANG. Either way, the word to type stays confirm.",
        APPROVAL,
        "language",
    ),
    Setting(
        "CLEANUP_STATE_DB",
        "",
        lambda name, text: parse_state_db(text, ""),
        "Where plans, runs, results and the audit log are kept: a SQLite file (one machine), or a PostgreSQL URL "
        "(postgresql://user:password@host:5432/dbname, for several app processes or hosts). Empty: DATABASE_URL if "
        f"set, else the file {DEFAULT_STATE_DB}. The password is never logged.",
        STATE,
        "state_db",
    ),
    Setting(
        "DATABASE_URL",
        "",
        _no_value,
        "Set by a Procfile platform's PostgreSQL add-on (postgres:// accepted); used when CLEANUP_STATE_DB is empty.",
        STATE,
    ),
    Setting(
        "CLEANUP_PROFILES",
        "",
        _text,
        "Path to a TOML file that adds or overrides profiles (default: only the built-in dogcat).",
        STATE,
        "profiles_file",
    ),
    Setting(
        "CLEANUP_NOTIFY_CHANNEL",
        "",
        parse_channel,
        "Channel ID (C..., not #name) that gets one short notice per finished cleanup, done or failed; empty: none.",
        NOTIFY,
        "notify_channel",
    ),
    Setting(
        "CLEANUP_REMINDERS",
        "",
        lambda name, text: parse_reminders(text),
        "Reminders, comma-separated profile@CHANNEL_ID:interval (m/h/d, 5m-365d), e.g. dogcat@C0123ABCD:24h.",
        NOTIFY,
        "reminders",
    ),
    Setting(
        "HOST",
        "0.0.0.0",  # noqa: S104 (a server listens on every interface unless told otherwise)
        _text,
        "Interface the HTTP server binds.",
        HTTP,
        "host",
    ),
    Setting(
        "PORT",
        "3000",
        lambda name, text: _int(name, text, 1, 65535),
        "HTTP port (requests arrive at POST /slack/events).",
        HTTP,
        "port",
    ),
    Setting(
        "WEB_CONCURRENCY",
        "1",
        lambda name, text: _int(name, text, 1, 64),
        "gunicorn worker processes, for `python -m bot` and the Procfile's web: line alike (platforms often set it).",
        HTTP,
        "web_concurrency",
    ),
    Setting(
        "CLEANUP_REST_API_DELETE_INTERVAL",
        "",
        lambda name, text: _seconds(name, text) if text else None,
        "Seconds between two REST API deletions; AWS allows one DeleteRestApi per 30 s per account (the default).",
        TUNING,
        "rest_api_delete_interval",
    ),
    Setting(
        "CLEANUP_RUN_LEASE_SECONDS",
        "60",
        lambda name, text: max(1.0, _seconds(name, text)),
        "Seconds a running cleanup's lease lasts without a heartbeat before another app process resumes it.",
        TUNING,
        "run_lease_seconds",
    ),
    Setting(
        "CLEANUP_WAIT_TIMEOUT_SECONDS",
        "1800",
        _seconds,
        "Longest wait, in seconds, for AWS to finish deleting an endpoint or a table before it is reported as failed.",
        TUNING,
        "wait_timeout_seconds",
    ),
    Setting(
        "CLEANUP_REMINDER_POLL_SECONDS",
        "30",
        lambda name, text: max(0.05, _seconds(name, text)),
        "How often, in seconds, the app checks whether a reminder is due.",
        TUNING,
        "reminder_poll_seconds",
    ),
    Setting(
        "CLEANUP_TEST_CLOCK_OFFSET_SECONDS",
        "",
        lambda name, text: _seconds(name, text or "0", negative=True),
        "Tests only: seconds added to the reminder scheduler's clock (logged when set). Leave empty.",
        TUNING,
        "test_clock_offset_seconds",
    ),
)
_BY_FIELD = {s.field: s for s in SETTINGS if s.field}


def _default(field_name: str) -> Any:
    """A Settings field's default: its variable's default text, read as the variable would be."""
    setting = _BY_FIELD[field_name]
    return setting.parse(setting.env, setting.default)


@dataclass(frozen=True)
class Settings:
    """Every setting, read once at start (from_env). Defaults come from SETTINGS, so they are written once."""

    slack_bot_token: str = field(default=_default("slack_bot_token"), repr=False)
    slack_signing_secret: str = field(default=_default("slack_signing_secret"), repr=False)
    slack_app_token: str = field(default=_default("slack_app_token"), repr=False)
    slack_api_url: str = _default("slack_api_url")
    host: str = _default("host")
    port: int = _default("port")
    web_concurrency: int = _default("web_concurrency")
    regions: tuple[str, ...] = _default("regions")  # from_env: empty means (AWS_DEFAULT_REGION,)
    accounts: tuple[str, ...] = _default("accounts")
    assume_role: str = _default("assume_role")
    approvers: frozenset[str] = _default("approvers")
    allow_self_approval: bool = _default("allow_self_approval")
    plan_ttl_minutes: float = _default("plan_ttl_minutes")
    language: str = _default("language")  # channel messages; people's own replies follow their locale
    state_db: str = _default("state_db")  # from_env: CLEANUP_STATE_DB, else DATABASE_URL, else the SQLite file
    profiles_file: str = _default("profiles_file")
    notify_channel: str = _default("notify_channel")
    reminders: tuple[Reminder, ...] = _default("reminders")
    rest_api_delete_interval: float | None = _default("rest_api_delete_interval")  # None: each type's own spacing
    wait_timeout_seconds: float = _default("wait_timeout_seconds")
    run_lease_seconds: float = _default("run_lease_seconds")
    reminder_poll_seconds: float = _default("reminder_poll_seconds")
    test_clock_offset_seconds: float = _default("test_clock_offset_seconds")

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
        """Each variable of SETTINGS, stripped; unset or empty, its default. Raises ConfigError naming the first
        variable that cannot work."""
        env = os.environ if env is None else env

        def get(name: str) -> str:
            return env.get(name, "").strip()

        values = {s.field: s.parse(s.env, get(s.env) or s.default) for s in SETTINGS if s.field}
        region = default_region or get("AWS_DEFAULT_REGION") or get("AWS_REGION") or _env_default("AWS_DEFAULT_REGION")
        values["regions"] = values["regions"] or (region,)
        values["state_db"] = parse_state_db(get("CLEANUP_STATE_DB"), get("DATABASE_URL"))
        return cls(**values)

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


def _env_default(name: str) -> str:
    return next(s.default for s in SETTINGS if s.env == name)


ENV_EXAMPLE_HEADER = """\
# Copy to .env and fill in; `python -m bot` reads it at start (python-dotenv). Real environment variables win.
# Generated from bot/config.py's SETTINGS: `python -m bot.config > .env.example`.
"""


def render_env_example() -> str:
    """`.env.example`: every variable of SETTINGS under its section, each with its comment and default."""
    lines = [ENV_EXAMPLE_HEADER.rstrip("\n")]
    section = ""
    for setting in SETTINGS:
        if setting.section != section:
            section = setting.section
            lines += ["", f"# --- {section} ---"]
        lines += textwrap.wrap(setting.help, width=118, initial_indent="# ", subsequent_indent="# ")
        lines.append(f"{setting.env}={setting.default}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_env_example(), end="")
