"""Where the state lives: a SQLite file or a PostgreSQL server, as an SQLAlchemy engine with one pool per process.

`CLEANUP_STATE_DB` is a file path (SQLite, embedded: one machine) or a ``postgresql://`` URL (``postgres://``,
which Procfile platforms put in ``DATABASE_URL``, means the same). Both go through psycopg 3 or the standard
library's sqlite3 under SQLAlchemy Core.

Every connection is in autocommit mode at the driver: a read is one statement, and a write opens its transaction
explicitly (`begin_statement`): ``BEGIN IMMEDIATE`` on SQLite, so that writers queue on the file lock (within
``busy_timeout``) instead of failing when a read transaction would have to be upgraded; plain ``BEGIN`` (read
committed) on PostgreSQL, where a compare-and-set UPDATE waits for a concurrent one on the same row and then
re-checks its WHERE clause against the committed row.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import time
import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import QueuePool

SQLITE_DRIVER = "sqlite+pysqlite"
POSTGRES_DRIVER = "postgresql+psycopg"
_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "postgresql+psycopg"})
_SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+pysqlite"})
_PASSWORD_RE = re.compile(r"(?P<head>://[^/@:]*:)[^/]*@")  # to the last @ before the path: raw @ too

# Pool sizes per process. SQLite: a connection per concurrently working thread, as many as there are (each opens
# in microseconds; those beyond the pool's size are closed when returned). PostgreSQL: a bounded pool, as servers
# and platform add-ons limit connections (Heroku's smallest plans: 20 per database, for every process).
SQLITE_POOL_SIZE = 16
POSTGRES_POOL_SIZE = 5
POSTGRES_MAX_OVERFLOW = 10


class StateDbError(ValueError):
    """CLEANUP_STATE_DB (or DATABASE_URL) names something the state store cannot use."""


def state_url(target: str) -> URL:
    """The SQLAlchemy URL of `target`: a SQLite file path, ``sqlite:///path``, or a PostgreSQL URL."""
    text = target.strip()
    if not text:
        raise StateDbError("the state database is empty: give a SQLite file path or a postgresql:// URL")
    scheme, sep, rest = text.partition("://")
    if not sep:
        return URL.create(SQLITE_DRIVER, database=text)
    scheme = scheme.lower()
    if scheme in _POSTGRES_SCHEMES:
        driver = POSTGRES_DRIVER
    elif scheme in _SQLITE_SCHEMES:
        driver = SQLITE_DRIVER
    else:
        raise StateDbError(
            f"{mask_url(text)!r} is neither a SQLite file path nor a postgresql:// URL (scheme {scheme!r})"
        )
    try:
        return make_url(f"{driver}://{rest}")
    except Exception as e:  # sqlalchemy.exc.ArgumentError, ValueError: the URL is malformed
        raise StateDbError(f"{mask_url(text)!r} is not a valid database URL: {type(e).__name__}") from None


def mask_url(text: str) -> str:
    """`text` with any password replaced by ``***``: what logs and error messages may show."""
    return _PASSWORD_RE.sub(r"\g<head>***@", text)


def describe(url: URL) -> str:
    """The URL for people: the SQLite file, or the PostgreSQL URL without its password."""
    if url.get_backend_name() == "sqlite":
        return url.database or ""
    return url.render_as_string(hide_password=True)


def begin_statement(engine: Engine) -> str:
    return "BEGIN IMMEDIATE" if engine.dialect.name == "sqlite" else "BEGIN"


def _use_wal(cursor: Any, timeout: float) -> None:
    """Switch a SQLite file to WAL (it stays so). Several processes opening a new file at once may each hold a
    shared lock while wanting the exclusive one the switch needs; SQLite then answers "database is locked" at once
    rather than wait (a deadlock otherwise), so the switch is retried within the busy timeout."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            attempt += 1
            time.sleep(min(0.5, 0.01 * 2**attempt) * random.uniform(0.5, 1.0))  # apart, not in step


def make_engine(url: URL, busy_timeout_ms: int, pool_size: int | None = None) -> Engine:
    """An engine for `url` with its own connection pool (QueuePool on both backends)."""
    engine: Engine
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            isolation_level="AUTOCOMMIT",
            poolclass=QueuePool,
            pool_size=pool_size or SQLITE_POOL_SIZE,
            max_overflow=-1,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        )
        pragmas = (
            f"PRAGMA busy_timeout = {int(busy_timeout_ms)}",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in pragmas:
                cursor.execute(pragma)
            _use_wal(cursor, busy_timeout_ms / 1000)
            cursor.close()

    elif url.get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            isolation_level="AUTOCOMMIT",
            poolclass=QueuePool,
            pool_size=pool_size or POSTGRES_POOL_SIZE,
            max_overflow=POSTGRES_MAX_OVERFLOW if pool_size is None else 0,
            pool_timeout=30,
            pool_pre_ping=True,  # a connection the server or a proxy closed meanwhile is replaced, not failed
            pool_recycle=1800,
            connect_args={"connect_timeout": 10, "application_name": "dogcat-cleanup"},
        )

        @event.listens_for(engine, "connect")
        def _postgres_session(dbapi_connection: Any, _record: Any) -> None:
            # a lock held by a crashed or stuck peer is reported instead of waited for forever
            dbapi_connection.execute(f"SET lock_timeout = {int(busy_timeout_ms)}")
            dbapi_connection.commit()  # a session setting; a no-op commit when the driver is in autocommit already

    else:
        raise StateDbError(f"unsupported state database {describe(url)!r}")
    _ENGINES.add(engine)
    return engine


# A forked child (gunicorn with --preload, multiprocessing's fork) must not use its parent's pooled connections:
# they share one socket or file lock state with the parent. The child starts with empty pools.
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_pools_after_fork() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_pools_after_fork)
