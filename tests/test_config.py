"""Each setting is declared once (bot.config.SETTINGS): Settings' defaults, from_env and .env.example agree."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bot.config import SETTINGS, ConfigError, Settings, parse_regions, render_env_example

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_is_generated_from_the_table() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert text == render_env_example(), "regenerate it: .venv/bin/python -m bot.config > .env.example"


def test_env_example_lists_every_setting_once_with_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    names = [line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_]+=", line)]
    assert names == [s.env for s in SETTINGS] and len(set(names)) == len(names)
    for number, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            assert lines[number - 1].startswith("# ") and not lines[number - 1].startswith("# ---"), line


def test_every_settings_field_has_one_row_and_every_row_says_what_it_is() -> None:
    fields = [f.name for f in dataclasses.fields(Settings)]
    rows = [s.field for s in SETTINGS if s.field]
    assert sorted(fields) == sorted(rows) and len(set(rows)) == len(rows)
    assert all(s.help.strip() and s.section for s in SETTINGS)
    assert {"HOST", "WEB_CONCURRENCY", "PORT"} <= {s.env for s in SETTINGS}


def test_defaults_are_the_same_whether_constructed_or_read_from_an_empty_environment() -> None:
    assert Settings.from_env({}) == dataclasses.replace(Settings(), regions=("us-east-1",))
    assert Settings.from_env({"AWS_DEFAULT_REGION": "eu-west-1"}).regions == ("eu-west-1",)
    defaults = Settings()
    assert (defaults.host, defaults.port, defaults.web_concurrency) == ("0.0.0.0", 3000, 1)  # noqa: S104
    assert defaults.slack_api_url == "https://slack.com/api/" and defaults.state_db == "cleanup.sqlite3"


def test_an_empty_variable_means_its_default() -> None:
    """A copied .env.example leaves many variables set to "": each then reads as its default."""
    empty = {s.env: "" for s in SETTINGS}
    assert Settings.from_env(empty) == Settings.from_env({})
    example = {}
    for line in render_env_example().splitlines():
        if re.match(r"^[A-Z_]+=", line):
            name, value = line.split("=", 1)
            example[name] = value
    assert Settings.from_env(example) == Settings.from_env({})


def test_http_settings_are_read_and_checked() -> None:
    settings = Settings.from_env({"HOST": "127.0.0.1", "PORT": "8080", "WEB_CONCURRENCY": "3"})
    assert (settings.host, settings.port, settings.web_concurrency) == ("127.0.0.1", 8080, 3)
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY must be between 1 and 64, got 0"):
        Settings.from_env({"WEB_CONCURRENCY": "0"})
    with pytest.raises(ConfigError, match="PORT must be a whole number"):
        Settings.from_env({"PORT": "http"})


@pytest.mark.parametrize(
    "typed", ["us-east-1,us-west-2", "us-east-1 us-west-2", " us-east-1 ,  us-west-2,", "us-east-1,\tus-west-2"]
)
def test_regions_are_separated_by_commas_spaces_or_both(typed: str) -> None:
    assert Settings.from_env({"CLEANUP_REGIONS": typed}).regions == ("us-east-1", "us-west-2")
    assert parse_regions(typed) == ("us-east-1", "us-west-2")


def test_an_unknown_region_is_named_with_where_it_was_typed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="CLEANUP_REGIONS: 'moon-1' is not an AWS region name"):
        Settings.from_env({"CLEANUP_REGIONS": "us-east-1, moon-1"})
    from bot.cli import main

    assert main(["scan", "dogcat", "--region", "us-east-1,moon-1"]) == 2  # refused before any AWS call
    assert "--region: 'moon-1' is not an AWS region name" in capsys.readouterr().err
