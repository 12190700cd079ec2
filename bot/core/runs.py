"""Runs: one approved plan carried out, owned by one runner at a time. Used by the Slack runner and the CLI alike.

The lifecycle lives here, not in any front end:
- claiming: approved -> running, a compare-and-set with exactly one winner (`claim`), or taking over a run whose
  runner stopped renewing its lease (`claim_stale`);
- the lease: a heartbeat thread renews it (by the database's clock) while the executor works. Every claim hands out
  a new fencing token: results and the finish are written only with the current one, and the executor asks
  `still_owner` right before every AWS mutation, so a runner that was taken over stops before its next AWS call
  and the new owner reports instead;
- handing over: a process that stops releases its runs at the executor's next safe point (claimable at once), and
  a run whose owner was a process of this host that no longer exists is claimed at once, not after its lease;
- results: every final progress event is recorded in the store as it happens, before anyone is told, so the
  store is the one source of results; a resumed run is given the recorded ones and does not redo them;
- finishing: running -> done | failed, with the counts as the outcome.

What people see is the caller's: `carry_out` forwards each progress event with its recorded result.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.aws.clients import Aws
from bot.core.accounts import Fleet, execute_fleet
from bot.core.executor import EventSink, ExecutorOptions, execute
from bot.core.plan import (
    RESULT_STATUSES,
    Plan,
    ProgressEvent,
    ResourceResult,
    ResultStatus,
    RunVerdict,
    is_refused,
    refusals,
    run_verdict,
)
from bot.core.state import Lease, PlanRecord, StateStore
from bot.logs import run_logged

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


def this_host() -> str:
    """Where a pid means something: the host name, its current boot and the pid namespace (containers on one kernel
    have their own pids), so that a pid recorded here is only ever looked up here."""
    parts = [socket.gethostname()]
    try:
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8])
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    except OSError:
        pass
    return "/".join(parts)


def process_gone(pid: int) -> bool:
    """True only when no process `pid` runs on this host; a killed process not yet reaped (a zombie) is gone."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists, as another user's
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[:1]
    except OSError:
        return False
    return state == ["Z"]


def outcome_text(results: list[ResourceResult]) -> str:
    """ "3 deleted, 0 already gone, 1 skipped, 0 failed": what a finished run records as its outcome."""
    return ", ".join(f"{sum(1 for r in results if r.status == s)} {word}" for s, word in _COUNT_WORDS.items())


@dataclass
class RunOutcome:
    # "done", "failed", or "lost": this runner no longer holds the run (taken over, or handed over because the
    # process stops, or its lease could not be confirmed); whoever claims it next reports
    status: str
    error: str = ""  # why the run stopped early (an exception, or why it was lost), "" when it ran to the end
    results: list[ResourceResult] = field(default_factory=list)  # as recorded, in plan order
    started_at: float = 0.0
    lease: Lease | None = None  # the claim the run was carried out under

    @property
    def outcome(self) -> str:
        """What the store records: the error, the refusal (said once), or the counts."""
        if self.error:
            return self.error
        if self.results and all(is_refused(r) for r in self.results):
            return "refused, nothing deleted: " + "; ".join(dict.fromkeys(refusals(self.results).values()))
        return outcome_text(self.results)


class _Ownership:
    """The executor's `still_owner`: False, for good, once the run is fenced off (another runner holds its token),
    the process is stopping, or the lease went unconfirmed for half its time. The store is asked at most once a
    `check_interval`; in between, the heartbeat thread's verdict stands."""

    def __init__(
        self, store: StateStore, lease: Lease, stopping: threading.Event, lease_seconds: float, check_interval: float
    ) -> None:
        self.store, self.lease, self.stopping = store, lease, stopping
        self.lease_seconds, self.check_interval = lease_seconds, check_interval
        self.lost = threading.Event()  # another runner holds the run now
        self.denied = threading.Event()  # said False once: the executor changes nothing more in AWS
        self._lock = threading.Lock()
        self._confirmed = self._checked = time.monotonic()

    def confirmed(self) -> None:
        self._confirmed = time.monotonic()

    def __call__(self) -> bool:
        if self.denied.is_set():
            return False
        if self.lost.is_set() or self.stopping.is_set():
            return self._deny()
        now = time.monotonic()
        with self._lock:
            due = now - self._checked >= self.check_interval
            if due:
                self._checked = now
        if due:
            try:
                if not self.store.owns(self.lease):
                    self.lost.set()
                    return self._deny()
                self._confirmed = now
            except Exception:
                log.warning("could not check the lease of plan %s", self.lease.plan_id, exc_info=True)
        # no store has confirmed the lease for half its time: another runner may claim it soon, stop while it is ours
        if now - self._confirmed > self.lease_seconds / 2:
            return self._deny()
        return True

    def _deny(self) -> bool:
        self.denied.set()
        return False

    def why(self) -> str:
        if self.lost.is_set():
            return "another runner took the run over"
        if self.stopping.is_set():
            return "the process is stopping; the run was handed over"
        return "the lease could not be confirmed with the state store"


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
        check_interval: float = 1.0,
    ) -> None:
        self.store, self.aws = store, aws
        self.fleet = fleet or Fleet(aws)
        self.lease_seconds = lease_seconds
        self.check_interval = check_interval  # at most one store check of the token per interval and run
        self.executor = executor or ExecutorOptions()
        self.execute_fn = execute_fn
        self.id = runner_id or new_runner_id()
        self.host, self.pid = this_host(), os.getpid()
        self.stopping = threading.Event()
        self._held: dict[str, Lease] = {}  # runs being carried out, by plan id
        self._held_lock = threading.Lock()

    def claim(self, plan_id: str) -> Lease | None:
        """approved -> running for this runner; the lease for exactly one caller."""
        return self.store.start_run(plan_id, self.id, host=self.host, pid=self.pid)

    def claim_stale(self, plan_id: str) -> Lease | None:
        return self.store.claim_stale_run(plan_id, self.id, self.lease_seconds, host=self.host, pid=self.pid)

    def claim_orphaned(self, record: PlanRecord) -> Lease | None:
        """Claim at once a run whose owner was a process of this host that no longer exists."""
        if record.runner_host != self.host or record.runner_pid in (0, self.pid) or not process_gone(record.runner_pid):
            return None
        seen = Lease(record.id, record.runner, record.lease_token)
        return self.store.claim_orphaned_run(record.id, self.id, seen, record.runner_pid, self.host, self.pid)

    def lapse(self, plan_id: str) -> bool:
        """An approved run that could not start within the plan's lifetime: expired, audited; True once."""
        return self.store.lapse_approval(plan_id)

    def release(self, lease: Lease) -> bool:
        """Hand the run over: any runner may claim it at once; this claim can write nothing more."""
        with self._held_lock:
            self._held.pop(lease.plan_id, None)
        try:
            return self.store.release_run(lease)
        except Exception:  # the lease lapses instead
            log.warning("could not release the run of plan %s", lease.plan_id, exc_info=True)
            return False

    def release_all(self) -> int:
        """Release every run still being carried out (their threads are fenced off); how many were released."""
        with self._held_lock:
            held = list(self._held.values())
        return sum(1 for lease in held if self.release(lease))

    def recorded(self, plan_id: str) -> dict[str, ResourceResult]:
        """The results already recorded for the plan (a resumed run does not redo them)."""
        return {k: r for k, r in self.store.results(plan_id).items() if r.status in RESULT_STATUSES}

    def carry_out(self, record: PlanRecord, forward: ProgressSink | None = None) -> RunOutcome:
        """Delete the approved plan of a run this runner owns; record every result as it happens."""
        with run_logged(record.id, record.plan.account_id):  # every line logged meanwhile names the plan and account
            return self._carry_out(record, forward)

    def _carry_out(self, record: PlanRecord, forward: ProgressSink | None) -> RunOutcome:
        plan_id, plan = record.id, record.plan
        started = record.started_at or time.time()
        lease = Lease(plan_id, record.runner, record.lease_token)
        if record.status != "running" or record.runner != self.id:
            return RunOutcome("lost", "this runner does not hold the run", [], started)
        tell = forward or (lambda _event, _result: None)
        previous = self.recorded(plan_id)
        owner = _Ownership(self.store, lease, self.stopping, self.lease_seconds, self.check_interval)
        with self._held_lock:
            self._held[plan_id] = lease
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(self.lease_seconds / 3):
                try:
                    if not self.store.heartbeat(plan_id, self.id, token=lease.token):
                        owner.lost.set()  # fenced off: another runner owns the run now
                        return
                    owner.confirmed()
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
            if self._record(lease, owner, result):
                tell(event, result)

        beat = threading.Thread(target=heartbeat, name=f"heartbeat-{plan_id}", daemon=True)
        beat.start()
        error = ""
        results: list[ResourceResult] = []
        # Keeps answered on any message since the scan are honoured right before each deletion; the lease is
        # checked right before each AWS mutation.
        options = replace(self.executor, stored_keeps=lambda: self.store.keeps(time.time()), still_owner=owner)
        try:
            results = self._execute(plan, record.approver, on_event, options, previous)
        except Exception as e:
            log.exception("run of plan %s failed", plan_id)
            error = f"{type(e).__name__}: {e}"
        finally:
            stop.set()
            beat.join(timeout=5)
        recorded = self.store.results(plan_id)
        for result in results:  # normally recorded already, event by event; never twice
            if result.key not in recorded and not owner.lost.is_set():
                self._record(lease, owner, result)
        if owner.lost.is_set() or owner.denied.is_set():
            return self._lost(lease, owner, started)
        stored = self.store.results(plan_id)
        ordered = [stored[r.key] for r in plan.to_delete if r.key in stored]
        # A run refused as a whole did not do what was approved: it ends failed, as one with a failed deletion.
        verdict = run_verdict(ordered, len(plan.to_delete))
        failed = bool(error) or verdict in (RunVerdict.SOME_FAILED, RunVerdict.REFUSED)
        return RunOutcome("failed" if failed else "done", error, ordered, started, lease)

    def _record(self, lease: Lease, owner: _Ownership, result: ResourceResult) -> bool:
        """Record a result under the run's lease; False when it is not this runner's to record."""
        if owner.denied.is_set() and result.status == ResultStatus.SKIPPED:
            return False  # not done because the run stopped here: the next owner decides it
        if self.store.record_result(lease.plan_id, result, lease=lease):
            return True
        owner.lost.set()
        return False

    def _lost(self, lease: Lease, owner: _Ownership, started: float) -> RunOutcome:
        why = owner.why()
        if owner.lost.is_set():
            with self._held_lock:
                self._held.pop(lease.plan_id, None)
            log.warning("plan %s: %s; leaving the report to it", lease.plan_id, why)
        elif self.release(lease):
            log.info("plan %s: %s", lease.plan_id, why)
        return RunOutcome("lost", why, [], started, lease)

    def finish(self, plan_id: str, outcome: RunOutcome, report_within: float | None = None) -> bool:
        """running -> done | failed; False when this runner no longer owns the run. With `report_within`, its
        report is owed until `store.report_delivered` (or taken over by another process once overdue)."""
        with self._held_lock:
            self._held.pop(plan_id, None)
        if outcome.status == "lost":
            return False
        token = outcome.lease.token if outcome.lease is not None else None
        return self.store.finish_run(
            plan_id, self.id, outcome.status, outcome.outcome, token=token, report_within=report_within
        )

    def finished_outcome(self, record: PlanRecord) -> RunOutcome:
        """A finished run's outcome as the store has it (the one source of results), to report it again: its
        results in plan order, and the error it stopped with when the stored outcome is not its results'."""
        stored = self.recorded(record.id)
        ordered = [stored[r.key] for r in record.plan.to_delete if r.key in stored]
        ran_to_the_end = RunOutcome(record.status, "", ordered, record.started_at or 0.0)
        error = "" if record.outcome == ran_to_the_end.outcome else record.outcome
        return replace(ran_to_the_end, error=error)

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
