"""Which database CLEANUP_STATE_DB and DATABASE_URL name, and that its password never shows."""

from __future__ import annotations

import logging

import pytest

from bot.config import ConfigError, Settings
from bot.core.state import StateStore, mask_url, state_url


def test_a_path_is_a_sqlite_file_and_urls_take_psycopg() -> None:
    assert state_url("cleanup.sqlite3").render_as_string() == "sqlite+pysqlite:///cleanup.sqlite3"
    assert state_url("/var/lib/x y.db").database == "/var/lib/x y.db"
    assert state_url("sqlite:////tmp/a.db").database == "/tmp/a.db"
    for scheme in ("postgres", "postgresql", "POSTGRESQL", "postgresql+psycopg"):
        url = state_url(f"{scheme}://u:p%40ss@db.example.com:6543/cleanup?sslmode=require")
        assert url.drivername == "postgresql+psycopg"
        assert (url.username, url.password, url.host, url.port, url.database) == (
            "u",
            "p@ss",
            "db.example.com",
            6543,
            "cleanup",
        )
        assert url.query == {"sslmode": "require"}


def test_state_db_setting_falls_back_to_database_url() -> None:
    assert Settings.from_env({}).state_db == "cleanup.sqlite3"
    assert Settings.from_env({"CLEANUP_STATE_DB": "/data/s.db"}).state_db == "/data/s.db"
    heroku = "postgres://u:secret@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8abc"
    assert Settings.from_env({"DATABASE_URL": heroku}).state_db == heroku
    assert Settings.from_env({"DATABASE_URL": heroku, "CLEANUP_STATE_DB": "x.db"}).state_db == "x.db"
    assert Settings.from_env({"DATABASE_URL": heroku, "CLEANUP_STATE_DB": " "}).state_db == heroku
    with pytest.raises(ConfigError, match="DATABASE_URL: a SQLite file path or a postgresql:// URL, not a mysql://"):
        Settings.from_env({"DATABASE_URL": "mysql://u:secret@h/d"})
    with pytest.raises(ConfigError, match="CLEANUP_STATE_DB") as caught:
        Settings.from_env({"CLEANUP_STATE_DB": "postgresql://u:secret@h:notaport/d"})
    assert "secret" not in str(caught.value)


def test_the_password_is_masked() -> None:
    text = "postgresql://cleanup:hunter2@db:5432/state"
    assert mask_url(text) == "postgresql://cleanup:***@db:5432/state"
    assert mask_url("postgres://u:a:b@c@h/d") == "postgres://u:***@h/d"
    assert mask_url("/a/file.sqlite3") == "/a/file.sqlite3"
    settings = Settings.from_env({"DATABASE_URL": text})
    assert "hunter2" not in repr(settings) and "cleanup:***@db" in repr(settings)


def test_the_store_never_shows_its_password(postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    password = state_url(postgres_url).password
    assert password
    with caplog.at_level(logging.DEBUG):
        store = StateStore(postgres_url.replace("postgresql://", "postgres://"))  # as DATABASE_URL gives it
    assert store.dialect == "postgresql"
    assert password not in repr(store) and password not in store.describe() and "***" in store.describe()
    assert password not in caplog.text and "schema migrated to version" in caplog.text
    store.close()
