"""The state database an app under test uses, SQLite or PostgreSQL, and plain SQL on it for the tests' checks.

The `state_db` fixture (tests/conftest.py) registers the database of each test's `tmp_path`; `connect(tmp_path)`
then reads it with the DB-API, like the tests always have on SQLite (`?` placeholders on both).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

BACKENDS = ("sqlite", "postgresql")

_DATABASES: dict[Path, str] = {}
_OPEN: dict[str, Any] = {}
_LOCK = threading.Lock()


class PostgresConnection:
    """psycopg in autocommit mode (each check sees what the app committed), taking sqlite3's `?` placeholders."""

    def __init__(self, url: str) -> None:
        import psycopg

        self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        self._lock = threading.Lock()

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute(sql.replace("?", "%s"), tuple(params))  # type: ignore[arg-type]
            return cursor

    def close(self) -> None:
        """Kept open for the test's next check (one connection per test, closed by `forget`)."""

    def really_close(self) -> None:
        self._conn.close()


def register(tmp_path: Path, target: str) -> None:
    with _LOCK:
        _DATABASES[tmp_path] = target


def forget(tmp_path: Path) -> None:
    with _LOCK:
        target = _DATABASES.pop(tmp_path, None)
        conn = _OPEN.pop(target, None) if target else None
    if conn is not None:
        conn.really_close()


def target_of(tmp_path: Path) -> str:
    """The test's CLEANUP_STATE_DB: its registered database, else the SQLite file the app env defaults to."""
    with _LOCK:
        return _DATABASES.get(tmp_path, str(tmp_path / "state.sqlite3"))


def connect(tmp_path: Path) -> Any:
    """A connection to the test's state database with sqlite3's `execute(sql, params)`."""
    target = target_of(tmp_path)
    if "://" not in target:
        return sqlite3.connect(target)
    with _LOCK:
        conn = _OPEN.get(target)
        if conn is None:
            conn = _OPEN[target] = PostgresConnection(target)
        return conn
