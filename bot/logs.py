"""The one logging set-up of every entry point (`python -m bot`, the console script, gunicorn's workers).

Every line a run logs carries the run's plan and account: the runner sets them once where a run starts
(`run_logged`), in a context variable, and a filter on the handler reads it into each record, whatever logger
wrote the line:

    2025-01-01 12:00:00,000 WARNING bot.slack.runner [plan 3f2a… account 123456789012]: chat.update ... failed
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

FORMAT = "%(asctime)s %(levelname)s %(name)s%(run)s: %(message)s"
QUIET = ("botocore", "werkzeug", "urllib3")  # their INFO lines are per request: warnings only
HANDLER_NAME = "dogcat-cleanup"

_run: ContextVar[str] = ContextVar("dogcat_cleanup_run", default="")


def set_run(plan_id: str, account_id: str) -> None:
    """From here on, lines logged in this context (this thread, or this copy of a context) name the run."""
    _run.set(f" [plan {plan_id} account {account_id or '?'}]")


@contextmanager
def run_logged(plan_id: str, account_id: str) -> Iterator[None]:
    """Lines logged in this context name the run until the block ends; the caller's context is left as it was."""
    token = _run.set(f" [plan {plan_id} account {account_id or '?'}]")
    try:
        yield
    finally:
        _run.reset(token)


def current_run() -> str:
    """The run's label as it appears in a line (" [plan … account …]"), or "" outside a run."""
    return _run.get()


class RunContext(logging.Filter):
    """Puts `run` on each record: the current run's plan and account, or "" outside a run."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.run = _run.get()
        return True


def setup_logging(level: int = logging.INFO) -> None:
    """INFO and up to stderr, with the run's context; once per process however often it is called."""
    root = logging.getLogger()
    if not any(handler.get_name() == HANDLER_NAME for handler in root.handlers):
        handler = logging.StreamHandler()
        handler.set_name(HANDLER_NAME)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(RunContext())
        root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def carry_context(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn`, to be run once in another thread with this thread's run context (a new thread starts without it):
    `pool.submit(carry_context(work), ...)`, wrapping anew for each submission."""
    context = contextvars.copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.run(fn, *args, **kwargs)

    return run
