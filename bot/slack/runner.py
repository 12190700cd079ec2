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
from bot.core.runs import RunOutcome, RunOwner, new_runner_id
from bot.core.state import Lease, PlanRecord, StateStore
from bot.i18n import DEFAULT_LANGUAGE, translator
from bot.slack import blocks
from bot.slack.web import SlackWeb

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 60.0

# The runners of served apps, stopped (their runs handed over) when the process stops: see `stop_serving`.
_SERVING: set[Runner] = set()
_SERVING_LOCK = threading.Lock()


def stop_serving(timeout: float | None = None) -> None:
    """Stop every serving runner of this process, handing their runs over (SIGTERM, gunicorn's worker exit)."""
    with _SERVING_LOCK:
        runners = list(_SERVING)
    for runner in runners:
        try:
            runner.stop(timeout)
        except Exception:
            log.exception("stopping the runner failed")


@dataclass(frozen=True)
class RunnerOptions:
    lease_seconds: float = DEFAULT_LEASE_SECONDS  # a run whose owner is silent this long is taken over
    progress_interval: float = 1.0  # at most one chat.update of the progress message per interval
    executor: ExecutorOptions = field(default_factory=ExecutorOptions)
    # On stop, how long active runs get to reach their next safe point before their leases are released anyway
    # (within gunicorn's graceful_timeout, after which the worker is killed).
    stop_timeout: float = 5.0
    language: str = DEFAULT_LANGUAGE  # the channel's (CLEANUP_LANGUAGE): everyone in the thread reads it
    # A finished run's report not delivered this long after its runner's redelivery time ran out is overdue: the
    # next janitor pass of any copy takes it over.
    report_margin: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerOptions:
        executor = ExecutorOptions(
            delete_interval=settings.rest_api_delete_interval, wait_timeout=settings.wait_timeout_seconds
        )
        return cls(lease_seconds=settings.run_lease_seconds, executor=executor, language=settings.language)

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
        self.lang = self.options.language
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
            with _SERVING_LOCK:
                _SERVING.add(self)
            self._janitor = threading.Thread(target=self._janitor_loop, name="cleanup-janitor", daemon=True)
            self._janitor.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop for good, handing the runs over: no new run starts, each active run stops at its next safe point
        (its executor makes no further AWS call), and its lease is released so that the next process claims it
        at once. A run still busy after `timeout` (a call in flight) is released too: it is fenced off."""
        with _SERVING_LOCK:
            _SERVING.discard(self)
        self._stop.set()
        self.owner.stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + (self.options.stop_timeout if timeout is None else timeout)
        while self._busy() and time.monotonic() < deadline:
            time.sleep(0.05)
        released = self.owner.release_all()
        if released:
            log.info("stopping: %d run(s) still busy were released for another process", released)

    def _busy(self) -> bool:
        with self._active_lock:
            return bool(self._active)

    def sweep(self) -> None:
        """One pass: expire plans past their time, resume runs whose owner went silent."""
        for record in self.store.overdue_pending():
            self.expire(record)
        lease = self.options.lease_seconds
        for record in self.store.runs_on_host(self.owner.host):  # a dead owner here: no need to wait for its lease
            if not self._is_active(record.id) and self.owner.claim_orphaned(record):
                log.info("resuming run of plan %s at once: its process %s is gone", record.id, record.runner_pid)
                self._resume(record.id)
        for record in self.store.stale_runs(lease):
            if not self._is_active(record.id) and self.owner.claim_stale(record.id):
                log.info("resuming run of plan %s left by %s", record.id, record.runner or "a stopped process")
                self._resume(record.id)
        for record in self.store.approved_unstarted(older_than=lease):
            self._pool.submit(self._reporting_crashes, self._run_new, record.id)
        for record in self.store.reports_owed():  # its runner died or gave up while Slack was down
            if not self._is_active(record.id) and self.store.claim_report(record.id, self.id, self._report_window()):
                self._pool.submit(self._reporting_crashes, self._report_again, record.id)

    def _is_active(self, plan_id: str) -> bool:
        with self._active_lock:
            return plan_id in self._active

    def _resume(self, plan_id: str) -> None:
        try:
            self._pool.submit(self._reporting_crashes, self._run, plan_id, True)
        except RuntimeError:  # stopping: the claim goes back, for the next process
            record = self.store.get(plan_id)
            if record is not None and record.runner == self.id:
                self.owner.release(Lease(plan_id, record.runner, record.lease_token))

    def expire(self, record: PlanRecord) -> bool:
        if not self.store.expire(record.id):
            return False
        plan, lang = record.plan, self.lang
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        self.slack.update(
            record.channel,
            record.message_ts,
            translator(lang)._("This plan expired"),
            blocks.plan_blocks(plan, ctx, blocks.status_expired(lang), lang=lang),
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
        elif self.owner.lapse(plan_id):
            self._tell_lapsed(plan_id)

    def _tell_lapsed(self, plan_id: str) -> None:
        """On the plan message: the approval lapsed, nothing was deleted, a new approval is needed."""
        record = self.store.get(plan_id)
        if record is None:
            return
        log.warning("plan %s: approved, but its run could not start before the plan expired; not run", plan_id)
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        lang = self.lang
        top = blocks.plan_blocks(record.plan, ctx, blocks.status_approval_lapsed(record.approver, lang), lang=lang)
        self.slack.update(record.channel, record.message_ts, blocks.approval_lapsed_text(lang), top)

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
        plan, lang = record.plan, self.lang
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        channel, thread = record.channel, record.message_ts
        self.slack.update(
            channel,
            thread,
            translator(lang)._("Approved by {user}, deleting", user=record.approver),
            blocks.plan_blocks(plan, ctx, blocks.status_running(record.approver, lang), lang=lang),
        )
        previous = self.owner.recorded(plan_id)
        if resumed:
            self._tell_resumed(channel, thread, len(previous))

        def remember_progress_message(ts: str) -> None:
            self.store.set_progress_message(plan_id, ts)

        progress = _Progress(
            self.slack, plan, channel, thread, record.progress_ts, previous, self.options, remember_progress_message
        )
        if not record.progress_ts:
            progress.post_first()
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
        # The store first: whatever Slack does next (down for minutes, rate limiting), the run is finished and no
        # janitor takes it for abandoned. Telling people comes after, and keeps trying for a while.
        # A run from the command line, resumed here, has no Slack thread: it owes no report.
        owed = self._report_window() if channel else None
        if not self.owner.finish(plan_id, outcome, report_within=owed):
            progress.stop()
            log.warning("plan %s is no longer this runner's to finish; its owner reports", plan_id)
            return
        self._report(record, outcome, progress)

    def _report(
        self, record: PlanRecord, outcome: RunOutcome, progress: _Progress, finished_at: float | None = None
    ) -> None:
        """The end of the run in the thread and the feed; the store learns once the thread has all of it, and
        until then the report stays owed (another process takes it over if this one dies or gives up)."""
        if self._report_end(record, outcome, progress, finished_at):
            self.store.report_delivered(record.id)
        elif self._stop.is_set():  # handing over: the next process delivers it at its first janitor pass
            self.store.report_due_now(record.id)
            log.info("plan %s: stopping with its report undelivered; handed over", record.id)
        else:
            log.warning("plan %s: the report did not reach Slack; it stays owed and is tried again later", record.id)
        if self.on_finished is not None:
            try:
                self.on_finished(record.id, outcome.error)
            except Exception:
                log.exception("reporting the end of plan %s failed", record.id)

    def _report_window(self) -> float:
        """How long a finishing runner has to deliver its report before it counts as overdue: its own redelivery
        time, and a margin."""
        return self.slack.persistence.seconds + self.options.report_margin

    def _report_again(self, plan_id: str) -> None:
        """Deliver the overdue report of a finished run, from the store: the progress message, the plan message's
        outcome and the summary, as its runner would have."""
        record = self.store.get(plan_id)
        if record is None:
            return
        outcome = self.owner.finished_outcome(record)
        log.info("plan %s: delivering its overdue report", plan_id)
        previous = {r.key: r for r in outcome.results}
        progress = _Progress(
            self.slack, record.plan, record.channel, record.message_ts, record.progress_ts, previous, self.options
        )
        self._report(record, outcome, progress, record.finished_at)

    def _tell_resumed(self, channel: str, thread: str, handled: int) -> None:
        t = translator(self.lang)
        body = t.n_(
            ":arrows_counterclockwise: The app restarted during this cleanup; resuming it now. "
            "{n} resource already handled will not be redone.",
            ":arrows_counterclockwise: The app restarted during this cleanup; resuming it now. "
            "{n} resources already handled will not be redone.",
            handled,
        )
        self.slack.post(channel, t._("Resuming the cleanup after a restart"), [blocks.section(body)], thread)

    def _report_end(
        self, record: PlanRecord, outcome: RunOutcome, progress: _Progress, finished_at: float | None = None
    ) -> bool:
        """The end of a run in Slack, each message tried again through an outage until one shared deadline: the
        progress message, the plan message's outcome, then the summary last (whoever sees it sees the rest).
        The run's time is up to `finished_at` (default: now). True when every message got through."""
        plan, channel, thread, approver = record.plan, record.channel, record.message_ts, record.approver
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        deadline = self.slack.deadline()
        delivered = progress.finish(self.store.results(record.id), deadline, self._stop)
        seconds = (finished_at or time.time()) - outcome.started_at
        ordered, planned, lang = outcome.results, len(plan.to_delete), self.lang
        t = translator(lang)
        if outcome.error:  # the error itself is an English fact from the core or AWS: shown as it is
            shown = blocks.esc(blocks.clip(outcome.error, 2000))
            text = t._("The cleanup stopped with an error")
            messages = [[blocks.section(t._(":x: The cleanup stopped with an error: `{error}`", error=shown))]]
            top = blocks.status_failed(approver, outcome.error, lang)
        else:
            stopped = blocks.cost_stopped(plan, ordered)
            text = blocks.summary_text(ordered, planned, lang)
            messages = blocks.summary_messages(plan, ordered, seconds, approver, stopped, lang)
            top = blocks.status_finished(approver, ordered, seconds, stopped, lang, planned=planned)
        top_text = text if outcome.error else blocks.status_text(ordered, planned, lang)
        top_blocks = blocks.plan_blocks(plan, ctx, top, lang=lang)
        delivered = self.slack.update_until(deadline, channel, thread, top_text, top_blocks, self._stop) and delivered
        for message in messages:
            delivered = bool(self.slack.post_until(deadline, channel, text, message, thread, self._stop)) and delivered
        return delivered


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
        on_posted: Callable[[str], None] | None = None,
    ) -> None:
        self.slack, self.plan, self.channel, self.thread_ts, self.ts = slack, plan, channel, thread_ts, ts
        self.on_posted = on_posted  # told the ts of the progress message once it exists (a resumed run reuses it)
        self.results = dict(previous)
        self.current = ""
        self.interval = options.progress_interval
        self.lang = options.language
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def post_first(self) -> str:
        self._posted(
            self.slack.post(
                self.channel,
                blocks.progress_text(self.plan, self.results, lang=self.lang),
                blocks.progress_blocks(self.plan, self.results, translator(self.lang)._("Starting…"), lang=self.lang),
                self.thread_ts,
            )
        )
        return self.ts

    def _posted(self, ts: str) -> None:
        self.ts = ts
        if ts and self.on_posted is not None:
            try:
                self.on_posted(ts)
            except Exception:  # the message exists; a resumed run would post another, no worse
                log.warning("could not record the progress message", exc_info=True)

    def start(self) -> None:
        self._dirty.set()
        self._thread.start()

    def result(self, result: ResourceResult) -> None:
        with self._lock:
            self.results[result.key] = result
        self._dirty.set()

    def note(self, event: ProgressEvent) -> None:
        t = translator(self.lang)
        # the event's message is the core's English fact (what AWS is doing): shown as it is
        params = {"thing": t.label(event.label), "name": event.name, "region": event.region}
        if event.kind == "waiting":
            doing = t._("Waiting for {thing} {name} ({region})", **params)
        else:
            doing = t._("Deleting {thing} {name} ({region})", **params)
        with self._lock:
            self.current = f"{doing} {event.message}".strip()
        self._dirty.set()

    def _push(self, finished: bool = False, deadline: float | None = None, stop: threading.Event | None = None) -> bool:
        """Show the results so far; with a deadline, keep trying through a Slack outage until then. True when
        Slack shows them."""
        with self._lock:
            results, current = dict(self.results), self.current
        text = blocks.progress_text(self.plan, results, finished, self.lang)
        body = blocks.progress_blocks(self.plan, results, current, finished, self.lang)
        if not self.ts:  # Slack failed when the run began: the progress message starts now
            if deadline is None:
                self._posted(self.slack.post(self.channel, text, body, self.thread_ts))
            else:
                self._posted(self.slack.post_until(deadline, self.channel, text, body, self.thread_ts, stop))
            return bool(self.ts)
        if deadline is None:
            return self.slack.update(self.channel, self.ts, text, body)
        return self.slack.update_until(deadline, self.channel, self.ts, text, body, stop)

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

    def finish(self, results: dict[str, ResourceResult], deadline: float, stop: threading.Event) -> bool:
        self.stop()
        with self._lock:
            self.results = dict(results)
            self.current = ""
        return self._push(True, deadline, stop)
