"""Runs approved plans in the background and reports to the plan's thread; resumes runs a crash left behind.

One run = one progress message in the thread, updated in place (at most every `progress_interval` seconds, from
its own thread so that Slack never slows the deletions), then the final results in the thread and the outcome on
the scan message. Every final per-resource result is stored as it happens, so a run interrupted by a crash or a
restart is resumed by whichever process claims it first (compare-and-set on a lease) and nothing final is redone.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.aws.clients import Aws
from bot.config import Settings
from bot.core.accounts import Fleet
from bot.core.executor import ExecutorOptions, execute
from bot.core.plan import Plan, ProgressEvent, ResourceResult
from bot.core.runs import RunOwner, new_runner_id
from bot.core.state import PlanRecord, StateStore
from bot.slack import blocks
from bot.slack.web import SlackWeb

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 60.0


@dataclass(frozen=True)
class RunnerOptions:
    lease_seconds: float = DEFAULT_LEASE_SECONDS  # a run whose owner is silent this long is taken over
    progress_interval: float = 1.0  # at most one chat.update of the progress message per interval
    executor: ExecutorOptions = field(default_factory=ExecutorOptions)

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerOptions:
        executor = ExecutorOptions(
            delete_interval=settings.rest_api_delete_interval, wait_timeout=settings.wait_timeout_seconds
        )
        return cls(lease_seconds=settings.run_lease_seconds, executor=executor)

    @property
    def janitor_interval(self) -> float:
        return max(0.25, min(10.0, self.lease_seconds / 4))


class Runner:
    def __init__(
        self,
        store: StateStore,
        aws: Aws,
        slack: SlackWeb,
        options: RunnerOptions | None = None,
        execute_fn: Callable[..., list[ResourceResult]] = execute,
        on_finished: Callable[[str, str], None] | None = None,
        fleet: Fleet | None = None,
    ) -> None:
        self.store, self.aws, self.slack = store, aws, slack
        self.fleet = fleet or Fleet(aws)  # the way into each account of a plan of several (CLEANUP_ACCOUNTS)
        self.options = options or RunnerOptions()
        self.owner = RunOwner(
            store, aws, self.fleet, self.options.lease_seconds, self.options.executor, execute_fn, new_runner_id()
        )
        self.id = self.owner.id
        # called once per finished run (done or failed) with (plan id, error or ""), e.g. the channel feed
        self.on_finished = on_finished
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="run")
        self._stop = threading.Event()
        self._janitor: threading.Thread | None = None
        self._active: set[str] = set()
        self._active_lock = threading.Lock()

    # -- entry points ------------------------------------------------------------------------------------------

    def start(self, plan_id: str) -> None:
        """Start the run of an approved plan in the background (only one caller ever wins the start)."""
        self._pool.submit(self._reporting_crashes, self._run_new, plan_id)

    def start_janitor(self) -> None:
        """Resume abandoned runs now, then keep expiring old plans and resuming abandoned runs."""
        if self._janitor is None:
            self._janitor = threading.Thread(target=self._janitor_loop, name="cleanup-janitor", daemon=True)
            self._janitor.start()

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def sweep(self) -> None:
        """One pass: expire plans past their time, resume runs whose owner went silent."""
        for record in self.store.overdue_pending():
            self.expire(record)
        lease = self.options.lease_seconds
        for record in self.store.stale_runs(lease):
            if self.owner.claim_stale(record.id):
                log.info("resuming run of plan %s left by %s", record.id, record.runner or "a stopped process")
                self._pool.submit(self._reporting_crashes, self._run, record.id, True)
        for record in self.store.approved_unstarted(older_than=lease):
            self._pool.submit(self._reporting_crashes, self._run_new, record.id)

    def expire(self, record: PlanRecord) -> bool:
        if not self.store.expire(record.id):
            return False
        plan = record.plan
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        self.slack.update(
            record.channel,
            record.message_ts,
            "This plan expired",
            blocks.plan_blocks(plan, ctx, blocks.status_expired()),
        )
        return True

    # -- internals ---------------------------------------------------------------------------------------------

    def _janitor_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except Exception:
                log.exception("janitor pass failed")
            self._stop.wait(self.options.janitor_interval)

    def _reporting_crashes(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("background run failed")

    def _run_new(self, plan_id: str) -> None:
        if self.owner.claim(plan_id):
            self._run(plan_id, False)

    def _run(self, plan_id: str, resumed: bool) -> None:
        with self._active_lock:
            if plan_id in self._active:
                return
            self._active.add(plan_id)
        try:
            contextvars.copy_context().run(self._run_owned, plan_id, resumed)  # the run's log context ends with it
        finally:
            with self._active_lock:
                self._active.discard(plan_id)

    def _run_owned(self, plan_id: str, resumed: bool) -> None:
        """Report a run this runner owns in the plan's thread; the lifecycle itself is the core's (RunOwner)."""
        record = self.store.get(plan_id)
        if record is None:
            return
        plan = record.plan
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        channel, thread = record.channel, record.message_ts
        self.slack.update(
            channel,
            thread,
            f"Approved by {record.approver}, deleting",
            blocks.plan_blocks(plan, ctx, blocks.status_running(record.approver)),
        )
        previous = self.owner.recorded(plan_id)
        if resumed:
            self.slack.post(
                channel,
                "Resuming the cleanup after a restart",
                [
                    blocks.section(
                        ":arrows_counterclockwise: The app restarted during this cleanup; resuming it now. "
                        f"{blocks.plural(len(previous), 'resource')} already handled will not be redone."
                    )
                ],
                thread,
            )
        progress = _Progress(self.slack, plan, channel, thread, record.progress_ts, previous, self.options)
        if not record.progress_ts:
            ts = progress.post_first()
            if ts:
                self.store.set_progress_message(plan_id, ts)
        progress.start()

        def on_progress(event: ProgressEvent, result: ResourceResult | None) -> None:
            if result is not None:
                progress.result(result)
            else:
                progress.note(event)

        outcome = self.owner.carry_out(record, on_progress)
        if outcome.status == "lost":
            progress.stop()
            return
        stored = self.store.results(plan_id)
        ordered = outcome.results
        progress.finish(stored)
        seconds = time.time() - outcome.started_at
        approver = record.approver
        if outcome.error:
            self.slack.post(
                channel,
                "The cleanup stopped with an error",
                [
                    blocks.section(
                        f":x: The cleanup stopped with an error: `{blocks.esc(blocks.clip(outcome.error, 2000))}`"
                    )
                ],
                thread,
            )
            top = blocks.status_failed(approver, outcome.error)
        else:
            stopped = blocks.cost_stopped(plan, ordered)
            for message in blocks.summary_messages(plan, ordered, seconds, approver, stopped):
                self.slack.post(channel, blocks.summary_text(ordered), message, thread)
            top = blocks.status_finished(approver, ordered, seconds, stopped)
        self.slack.update(channel, thread, f"Cleanup {outcome.status}", blocks.plan_blocks(plan, ctx, top))
        if self.owner.finish(plan_id, outcome) and self.on_finished is not None:
            try:
                self.on_finished(plan_id, outcome.error)
            except Exception:
                log.exception("reporting the end of plan %s failed", plan_id)


class _Progress:
    """The one progress message of a run: results are pushed in, a thread updates Slack at a bounded rate."""

    def __init__(
        self,
        slack: SlackWeb,
        plan: Plan,
        channel: str,
        thread_ts: str,
        ts: str,
        previous: dict[str, ResourceResult],
        options: RunnerOptions,
    ) -> None:
        self.slack, self.plan, self.channel, self.thread_ts, self.ts = slack, plan, channel, thread_ts, ts
        self.results = dict(previous)
        self.current = ""
        self.interval = options.progress_interval
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def post_first(self) -> str:
        self.ts = self.slack.post(
            self.channel,
            blocks.progress_text(self.plan, self.results),
            blocks.progress_blocks(self.plan, self.results, "Starting…"),
            self.thread_ts,
        )
        return self.ts

    def start(self) -> None:
        self._dirty.set()
        self._thread.start()

    def result(self, result: ResourceResult) -> None:
        with self._lock:
            self.results[result.key] = result
        self._dirty.set()

    def note(self, event: ProgressEvent) -> None:
        with self._lock:
            verb = "Waiting for" if event.kind == "waiting" else "Deleting"
            self.current = f"{verb} {event.label} {event.name} ({event.region}) {event.message}".strip()
        self._dirty.set()

    def _push(self, finished: bool = False) -> None:
        with self._lock:
            results, current = dict(self.results), self.current
        self.slack.update(
            self.channel,
            self.ts,
            blocks.progress_text(self.plan, results, finished),
            blocks.progress_blocks(self.plan, results, current, finished),
        )

    def _loop(self) -> None:
        while not self._stopped.is_set():
            if self._dirty.wait(0.2):
                self._dirty.clear()
                self._push()
                self._stopped.wait(self.interval)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def finish(self, results: dict[str, ResourceResult]) -> None:
        self.stop()
        with self._lock:
            self.results = dict(results)
            self.current = ""
        self._push(finished=True)
