"""Runs: one approved plan carried out, owned by one runner at a time. Used by the Slack runner and the CLI alike.

The lifecycle lives here, not in any front end:
- claiming: approved -> running, a compare-and-set with exactly one winner (`claim`), or taking over a run whose
  runner stopped renewing its lease (`claim_stale`);
- the lease: a heartbeat thread renews it while the executor works; a runner whose heartbeat finds the run owned
  by another (fenced off) stops reporting, and the new owner reports instead;
- results: every final progress event is recorded in the store as it happens, before anyone is told, so the
  store is the one source of results; a resumed run is given the recorded ones and does not redo them;
- finishing: running -> done | failed, with the counts as the outcome.

What people see is the caller's: `carry_out` forwards each progress event with its recorded result.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from bot.aws.clients import Aws
from bot.core.accounts import Fleet, execute_fleet
from bot.core.executor import EventSink, ExecutorOptions, execute
from bot.core.plan import RESULT_STATUSES, Plan, ProgressEvent, ResourceResult, ResultStatus
from bot.core.state import PlanRecord, StateStore
from bot.logs import set_run

log = logging.getLogger(__name__)

ExecuteFn = Callable[..., list[ResourceResult]]
# (event, its result once recorded, or None for an event that is not a result)
ProgressSink = Callable[[ProgressEvent, ResourceResult | None], None]
_COUNT_WORDS = {
    ResultStatus.DELETED: "deleted",
    ResultStatus.ALREADY_GONE: "already gone",
    ResultStatus.SKIPPED: "skipped",
    ResultStatus.FAILED: "failed",
}


CLI_ACTOR_PREFIX = "cli-"  # who asked and approved a cleanup run from the command line: "cli-<OS user>"


def is_cli_actor(actor: str) -> bool:
    return actor == "cli" or actor.startswith(CLI_ACTOR_PREFIX)


def new_runner_id() -> str:
    return f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def outcome_text(results: list[ResourceResult]) -> str:
    """ "3 deleted, 0 already gone, 1 skipped, 0 failed": what a finished run records as its outcome."""
    return ", ".join(f"{sum(1 for r in results if r.status == s)} {word}" for s, word in _COUNT_WORDS.items())


@dataclass
class RunOutcome:
    status: str  # "done", "failed", or "lost" (another runner took the run over; it reports)
    error: str = ""  # why the run stopped early (an exception), "" when it ran to the end
    results: list[ResourceResult] = field(default_factory=list)  # as recorded, in plan order
    started_at: float = 0.0

    @property
    def outcome(self) -> str:
        return self.error or outcome_text(self.results)


class RunOwner:
    """Carries out runs for one runner identity (a process, or one CLI invocation)."""

    def __init__(
        self,
        store: StateStore,
        aws: Aws,
        fleet: Fleet | None = None,
        lease_seconds: float = 60.0,
        executor: ExecutorOptions | None = None,
        execute_fn: ExecuteFn = execute,
        runner_id: str = "",
    ) -> None:
        self.store, self.aws = store, aws
        self.fleet = fleet or Fleet(aws)
        self.lease_seconds = lease_seconds
        self.executor = executor or ExecutorOptions()
        self.execute_fn = execute_fn
        self.id = runner_id or new_runner_id()

    def claim(self, plan_id: str) -> bool:
        """approved -> running for this runner; True for exactly one caller."""
        return self.store.start_run(plan_id, self.id)

    def claim_stale(self, plan_id: str) -> bool:
        return self.store.claim_stale_run(plan_id, self.id, self.lease_seconds)

    def recorded(self, plan_id: str) -> dict[str, ResourceResult]:
        """The results already recorded for the plan (a resumed run does not redo them)."""
        return {k: r for k, r in self.store.results(plan_id).items() if r.status in RESULT_STATUSES}

    def carry_out(self, record: PlanRecord, forward: ProgressSink | None = None) -> RunOutcome:
        """Delete the approved plan of a run this runner owns; record every result as it happens."""
        plan_id, plan = record.id, record.plan
        set_run(plan_id, plan.account_id)  # every line logged from here on names the plan and account
        tell = forward or (lambda _event, _result: None)
        previous = self.recorded(plan_id)
        lost = threading.Event()
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(self.lease_seconds / 3):
                try:
                    if not self.store.heartbeat(plan_id, self.id):
                        lost.set()  # fenced off: another runner owns the run now
                        return
                except Exception:
                    log.warning("heartbeat of plan %s failed", plan_id, exc_info=True)

        def on_event(event: ProgressEvent) -> None:
            if event.kind not in RESULT_STATUSES:
                tell(event, None)
                return
            result = ResourceResult(
                event.key, event.label, event.name, event.region, event.kind, event.message, event.error_code,
                event.seconds,
            )  # fmt: skip
            self.store.record_result(plan_id, result)
            tell(event, result)

        beat = threading.Thread(target=heartbeat, name=f"heartbeat-{plan_id}", daemon=True)
        beat.start()
        error = ""
        results: list[ResourceResult] = []
        # Keeps answered on any message since the scan are honoured right before each deletion.
        options = replace(self.executor, stored_keeps=lambda: self.store.keeps(time.time()))
        try:
            results = self._execute(plan, record.approver, on_event, options, previous)
        except Exception as e:
            log.exception("run of plan %s failed", plan_id)
            error = f"{type(e).__name__}: {e}"
        finally:
            stop.set()
            beat.join(timeout=5)
        started = record.started_at or time.time()
        if lost.is_set():
            log.warning("plan %s was taken over by another runner; leaving the report to it", plan_id)
            return RunOutcome("lost", error, [], started)
        recorded = self.store.results(plan_id)
        for result in results:  # normally recorded already, event by event; never twice
            if result.key not in recorded:
                self.store.record_result(plan_id, result)
        stored = self.store.results(plan_id)
        ordered = [stored[r.key] for r in plan.to_delete if r.key in stored]
        failed = bool(error) or any(r.status == ResultStatus.FAILED for r in ordered)
        return RunOutcome("failed" if failed else "done", error, ordered, started)

    def finish(self, plan_id: str, outcome: RunOutcome) -> bool:
        """running -> done | failed; False when this runner no longer owns the run."""
        if outcome.status == "lost":
            return False
        return self.store.finish_run(plan_id, self.id, outcome.status, outcome.outcome)

    def _execute(
        self,
        plan: Plan,
        approver: str,
        on_event: EventSink,
        options: ExecutorOptions,
        previous: Mapping[str, ResourceResult],
    ) -> list[ResourceResult]:
        if plan.is_fleet:  # each account in parallel, under its own checks; role sessions name the approver
            return execute_fleet(self.fleet, plan, approver, on_event, options, previous, self.execute_fn)
        return self.execute_fn(self.aws, plan, on_event, options, previous)
