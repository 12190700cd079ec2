"""One logging set-up; a run's lines carry its plan and account, whatever logger or thread of the run wrote them."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.core.plan import Plan, ResourceResult
from bot.core.state import StateStore
from bot.demo.slack_standin import SlackStandIn
from bot.logs import FORMAT, HANDLER_NAME, RunContext, carry_context, current_run, set_run, setup_logging
from tests.slack.test_runner import fake_execute, setup


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the app's handler would print, from every logger."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RunContext())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


def test_setup_logging_installs_one_handler_however_often_called() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        setup_logging()
        setup_logging()
        ours = [h for h in root.handlers if h.get_name() == HANDLER_NAME]
        assert len(ours) == 1 and any(isinstance(f, RunContext) for f in ours[0].filters)
        assert logging.getLogger("botocore").level == logging.WARNING
    finally:
        root.handlers[:] = before


def test_lines_outside_a_run_have_no_label(lines: io.StringIO) -> None:
    logging.getLogger("bot.test").info("hello")
    assert lines.getvalue().rstrip().endswith("INFO bot.test: hello")


def test_the_context_reaches_a_pool_thread_only_when_carried(lines: io.StringIO) -> None:
    def work() -> str:
        logging.getLogger("bot.test").warning("in the pool")
        return current_run()

    def run() -> tuple[str, str]:
        set_run("plan1", "123456789012")
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(carry_context(work)).result(), pool.submit(work).result()

    holder: list[tuple[str, str]] = []
    thread = threading.Thread(target=lambda: holder.append(run()))
    thread.start()
    thread.join(10)
    carried, bare = holder[0]
    assert carried == " [plan plan1 account 123456789012]" and bare == ""
    assert "WARNING bot.test [plan plan1 account 123456789012]: in the pool" in lines.getvalue()
    assert current_run() == ""  # this thread never was in the run


def test_every_line_of_a_run_names_its_plan_and_account(lines: io.StringIO, tmp_path: Path) -> None:
    inner = fake_execute()

    def execute(aws: Any, plan: Plan, *args: Any) -> list[ResourceResult]:
        logging.getLogger("bot.core.executor").info("deleting %d resources", len(plan.to_delete))
        return inner(aws, plan, *args)  # type: ignore[no-any-return]

    store = StateStore(str(tmp_path / "state.sqlite3"))
    with SlackStandIn() as standin:
        runner, plan_id, _ts, plan = setup(standin, store, execute)
        try:
            runner.start(plan_id)
            standin.wait_for(lambda _s: (r := store.get(plan_id)) is not None and r.status in {"done", "failed"})
        finally:
            runner.stop()
            store.close()
    label = f"[plan {plan_id} account {plan.account_id}]"
    assert f"INFO bot.core.executor {label}: deleting 30 resources" in lines.getvalue()
    assert current_run() == ""
