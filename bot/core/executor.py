"""Execute a plan: delete what was approved, in dependency order, concurrently where nothing depends.

A graph, not a queue: each deletion starts as soon as everything that uses it is gone (a config after its
endpoint, a role after every function and model using it, a bucket after the models reading it). A deletion
whose dependency was not deleted is skipped, because what still exists may still need it.

Before touching anything it checks that the credentials point at the scanned account, then, per resource, that
the resource is the one that was approved (same ARN and identity, not re-created since) and not protected now.
Roles and buckets are proven unused again right before their own deletion, not once per run: their users are
listed anew in every enabled region (listings started after the resource became ready may be shared), because a
colleague may deploy on the role while the endpoint is still deleting.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.base import Approval, Found, KeptError, NotYet, ResourceType, error_code, error_message, is_not_found
from bot.aws.clients import Aws
from bot.core.keeps import KeepUntil, keep_verdict
from bot.core.plan import GONE, RUN_REFUSED, Plan, PlannedResource, ProgressEvent, ResourceResult
from bot.core.scanner import default_types, users_outside
from bot.core.usage import Surveyor, bucket_listings, bucket_use, judge_role, role_listings
from bot.logs import carry_context

PROVEN_UNUSED_TYPES = frozenset({"iam.role", "s3.bucket", "s3.objects"})  # listed account-wide before deletion

EventSink = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class ExecutorOptions:
    max_workers: int = 8
    # How long one resource may wait in all (an endpoint still Creating, then ~10 minutes deleting); never forever.
    wait_timeout: float = 1800.0
    # When set, replaces each type's min_delete_interval (AWS: one DeleteRestApi per 30 s per account); for
    # emulators and tests, which do not enforce it. Only deletions of that type wait for it.
    delete_interval: float | None = None
    # The owners' stored "keep until" answers, read right before each deletion (one may come from another
    # message while this run goes); None where there is no state store (the tests' bare executor).
    stored_keeps: Callable[[], list[KeepUntil]] | None = None
    # Fencing: asked right before every AWS mutation; once it returns False (this runner lost its lease, or the
    # process is stopping) nothing more is changed in AWS and what is left is reported as not done.
    still_owner: Callable[[], bool] | None = None


class IntervalGate:
    """One call per interval, measured between the calls themselves. Nobody sleeps here: a caller that may not
    go yet learns how long to wait, and waits holding no worker.

    A pass is held from `try_pass` until `passed`: the caller re-reads and re-checks the resource in between,
    and the next pass is one interval after the call was really made (or free at once if it was not made).
    """

    HOLD_LIMIT = 120.0  # a pass not given back by then is taken back: a bug of ours must not stop every deletion

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0
        self._held_since: float | None = None

    def try_pass(self) -> float:
        """0 when the caller holds the pass now, else the seconds to wait before asking again."""
        with self._lock:
            now = time.monotonic()
            if self._held_since is not None and now - self._held_since < self.HOLD_LIMIT:
                return 0.05  # the holder is checking its resource; its call (or not) comes within moments
            if now < self._next:
                return self._next - now
            self._held_since = now
            return 0.0

    def passed(self, interval: float, called: bool) -> None:
        """Give the pass back; `called`: the call was made just now, so the next one waits `interval`."""
        with self._lock:
            self._held_since = None
            if called:
                self._next = time.monotonic() + interval


_GATES: dict[tuple[str, str], IntervalGate] = {}  # (account, resource type): shared by every run in the process
_GATES_LOCK = threading.Lock()


def _gate(account_id: str, type_key: str) -> IntervalGate:
    with _GATES_LOCK:
        return _GATES.setdefault((account_id, type_key), IntervalGate())


def execute(
    aws: Aws,
    plan: Plan,
    on_event: EventSink | None = None,
    options: ExecutorOptions | None = None,
    previous: Mapping[str, ResourceResult] | None = None,
    types: Mapping[str, ResourceType] | None = None,
) -> list[ResourceResult]:
    """Delete plan.to_delete; return one result per resource, in plan order.

    `previous` holds results recorded by an interrupted run of the same plan: final ones are reported as they
    were, not redone; the rest are done now (every step is idempotent).
    """
    run = _Run(aws, plan, on_event or (lambda _e: None), options or ExecutorOptions(), types or default_types())
    return run.go(dict(previous or {}))


@dataclass
class _Deletion:
    """One resource's deletion across its attempts. Between attempts it holds no thread, only this record."""

    r: PlannedResource
    ready_at: float  # when everything it depends on was gone: listings started after this may be reused
    started: float | None = None
    waiting_since: float | None = None  # the first time AWS said "not yet": the wait budget runs from here
    deleting: Found | None = None  # set once the delete call was made: from then on only polled until gone
    told: str = ""  # the last waiting message posted, so that the thread hears each state once
    called: bool = False  # the delete call of this attempt was made (it may have reached AWS)


_LOST_LEASE = "not deleted: this run was handed to another runner, which carries on"


class _Run:
    def __init__(
        self, aws: Aws, plan: Plan, emit: EventSink, options: ExecutorOptions, types: Mapping[str, ResourceType]
    ) -> None:
        self.aws, self.plan, self.emit, self.options, self.types = aws, plan, emit, options, types
        self.todo = {r.key: r for r in plan.to_delete}
        self.results: dict[str, ResourceResult] = {}
        self._emit_lock = threading.Lock()  # sinks see one event at a time, in order
        self.surveyor = Surveyor(aws)
        self._fenced = False

    def go(self, previous: dict[str, ResourceResult]) -> list[ResourceResult]:
        try:
            return self._go(previous)
        finally:
            self.surveyor.close()

    def _go(self, previous: dict[str, ResourceResult]) -> list[ResourceResult]:
        for key, result in previous.items():
            if key in self.todo and result.status in GONE:
                self.results[key] = result
        refusal = self._account_refusal()
        if refusal:
            for r in self.todo.values():
                if r.key not in self.results:
                    self._finish(r, "skipped", refusal, RUN_REFUSED)
        else:
            for key, reason in users_outside(self.aws, self.plan, self.types).items():
                if key not in self.results:
                    self._finish(self.todo[key], "skipped", reason)
            self._walk_graph()
        return [self.results[k] for k in self.todo if k in self.results]

    def _account_refusal(self) -> str:
        try:
            account = self.aws.account_id()
        except (ClientError, BotoCoreError) as e:
            return f"could not confirm the AWS account ({error_code(e)}: {error_message(e)}); nothing deleted"
        if account != self.plan.account_id:
            return (
                f"credentials now point at account {account}, the plan is for {self.plan.account_id}; nothing deleted"
            )
        return ""

    def _owner(self) -> bool:
        """Whether this run may still change AWS (fencing); once False it stays False."""
        if not self._fenced and self.options.still_owner is not None:
            try:
                self._fenced = not self.options.still_owner()
            except Exception:  # the store cannot say who owns the run: act as if fenced off, never guess
                self._fenced = True
        return not self._fenced

    def _walk_graph(self) -> None:
        """Start each deletion once its dependencies are done; park those AWS asks to wait, without a thread.

        Workers only ever run an attempt (a few AWS calls) and return. A deletion that must wait (a quota slot,
        an endpoint still Creating or Deleting) comes back as "after N s" and is parked on a timer heap, so
        twenty REST APIs waiting for DeleteRestApi's 30-second quota hold no worker and delay nothing else.
        """
        deps = {k: [d for d in r.depends_on if d in self.todo] for k, r in self.todo.items()}
        waiting = {k for k in self.todo if k not in self.results}
        parked: list[tuple[float, str]] = []  # (monotonic due time, key): a heap
        deletions: dict[str, _Deletion] = {}
        running: dict[Future[float | None], str] = {}
        with ThreadPoolExecutor(max_workers=self.options.max_workers, thread_name_prefix="delete") as pool:

            def submit(key: str) -> None:
                running[pool.submit(carry_context(self._attempt), deletions[key])] = key

            while waiting or running or parked:
                self._start_ready(waiting, deps, deletions, submit)
                now = time.monotonic()
                while parked and parked[0][0] <= now:
                    submit(heapq.heappop(parked)[1])
                if not running and not parked:
                    if waiting:  # a dependency cycle cannot be ordered: keep, never guess
                        for key in sorted(waiting):
                            self._finish(self.todo[key], "skipped", "dependency cycle in the plan")
                        waiting.clear()
                    break
                timeout = max(0.0, parked[0][0] - time.monotonic()) if parked else None
                if not running:
                    time.sleep(timeout or 0.0)
                    continue
                done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    key = running.pop(future)
                    exc = future.exception()
                    if exc is not None:
                        if key not in self.results:  # a bug of ours: report, don't hang
                            self._finish(self.todo[key], "failed", str(exc), type(exc).__name__)
                        continue
                    after = future.result()
                    if after is not None and key not in self.results:
                        heapq.heappush(parked, (time.monotonic() + after, key))

    def _start_ready(
        self,
        waiting: set[str],
        deps: Mapping[str, list[str]],
        deletions: dict[str, _Deletion],
        submit: Callable[[str], None],
    ) -> None:
        """Start (or keep, when a dependency was not deleted) every deletion whose dependencies are done. Keeping
        one may settle others in turn, so it repeats until nothing changes."""
        settled = True
        while settled:
            settled = False
            for key in sorted(waiting):
                if any(d not in self.results for d in deps[key]):
                    continue
                waiting.discard(key)
                settled = True
                blocker = next((d for d in deps[key] if self.results[d].status not in GONE), None)
                if blocker is not None:
                    b = self.todo[blocker]
                    reason = f"kept because {b.label} {b.name} was not deleted ({self.results[blocker].status})"
                    self._finish(self.todo[key], "skipped", reason)
                else:
                    deletions[key] = _Deletion(self.todo[key], time.monotonic())
                    submit(key)

    def _attempt(self, d: _Deletion) -> float | None:
        """One attempt at one deletion: None once it has a result, or the seconds after which to come back."""
        r = d.r
        if d.started is None:
            d.started = time.monotonic()
            self._event("started", r)
        try:
            if d.deleting is not None:
                return self._poll(d, d.deleting)
            if not self._owner():
                self._finish(r, "skipped", _LOST_LEASE, started=d.started)
                return None
            return self._try_delete(d)
        except NotYet as e:
            return self._not_yet(d, e)
        except ClientError as e:
            self._finish(r, "failed", error_message(e), error_code(e), started=d.started)
        except TimeoutError as e:
            self._finish(r, "failed", str(e) or "timed out waiting for AWS", "Timeout", started=d.started)
        except (BotoCoreError, RuntimeError, OSError) as e:
            self._finish(r, "failed", str(e), type(e).__name__, started=d.started)
        return None

    def _try_delete(self, d: _Deletion) -> float | None:
        """Read the resource again, check it is still the approved one and unused, then make its delete call."""
        r, rtype = d.r, self.types[d.r.type]
        if rtype.min_delete_interval <= 0:
            return self._check_and_delete(d)
        # AWS's spacing (DeleteRestApi): wait for the pass holding no worker, then check and call while holding it.
        interval = rtype.min_delete_interval if self.options.delete_interval is None else self.options.delete_interval
        gate = _gate(self.plan.account_id, r.type)
        after = gate.try_pass()
        if after > 0:
            self._tell(d, f"waiting for its turn: AWS allows one such deletion per {interval:.0f} s per account")
            return after
        d.called = False
        try:
            return self._check_and_delete(d)
        finally:
            gate.passed(interval, d.called)

    def _check_and_delete(self, d: _Deletion) -> float | None:
        r, rtype = d.r, self.types[d.r.type]
        current = rtype.get(self.aws, r.region, r.id)
        if current is None:
            self._finish(r, "already_gone", "", started=d.started)
            return None
        change = (
            _changed_since_scan(r, current) or self._kept_by_an_owner(r) or self._still_used(r, current, d.ready_at)
        )
        if change:
            self._finish(r, "skipped", change, started=d.started)
            return None
        if not self._owner():  # the checks took time: fence again right before the mutation
            self._finish(r, "skipped", _LOST_LEASE, started=d.started)
            return None
        approval = Approval(written_before=_float_or_none(r.details.get("written_before")), recheck=self._recheck(r))
        d.called = True
        try:
            rtype.delete(self.aws, current, approval)
        except KeptError as e:
            self._finish(r, "skipped", str(e), started=d.started)
            return None
        except ClientError as e:
            if is_not_found(e):
                self._finish(r, "already_gone", "", started=d.started)
                return None
            if error_code(e) == "TooManyRequestsException" and rtype.min_delete_interval > 0:
                # Someone else in the account used the quota (a colleague, another tool): wait for the next pass.
                raise NotYet(f"AWS asked to wait: {error_message(e)}", 1.0, "TooManyRequests") from e
            raise
        if not rtype.deletes_asynchronously:
            self._finish(r, "deleted", "", started=d.started)
            return None
        d.deleting, d.waiting_since = current, time.monotonic()  # the wait for "gone" has a budget of its own
        self._event("waiting", r, "deletion started, waiting until AWS has finished")
        return self._poll(d, current)

    def _poll(self, d: _Deletion, current: Found) -> float | None:
        pending = self.types[d.r.type].poll_gone(self.aws, current)
        if pending is None:
            self._finish(d.r, "deleted", "", started=d.started)
            return None
        waited = time.monotonic() - (d.waiting_since or time.monotonic())
        left = self.options.wait_timeout - waited
        if left <= 0:
            raise TimeoutError(f"still exists after {waited:.0f} s (status {pending.status or 'unknown'})")
        self._tell(d, f"AWS is deleting it (status {pending.status})" if pending.status else "")
        return min(pending.retry_in, left)  # the last look comes at the end of the budget, not past it

    def _not_yet(self, d: _Deletion, e: NotYet) -> float | None:
        """AWS cannot take the step now: come back later within the wait budget, or keep it and say why."""
        now = time.monotonic()
        if d.waiting_since is None:
            d.waiting_since = now
        waited = now - d.waiting_since
        left = self.options.wait_timeout - waited
        if left <= 0:
            self._finish(d.r, "skipped", f"{e}; kept after waiting {waited:.0f} s", started=d.started)
            return None
        self._tell(d, str(e))
        return min(e.retry_in, left)

    def _tell(self, d: _Deletion, message: str) -> None:
        if message and message != d.told:
            d.told = message
            self._event("waiting", d.r, message)

    def _still_used(self, r: PlannedResource, current: Found, since: float) -> str:
        """Just in time: why something outside the plan may use this role or bucket now, or "" when nothing does."""
        if r.type not in PROVEN_UNUSED_TYPES:
            return ""
        # Planned users that were skipped or failed still exist, and still use it.
        planned = {
            k: p.identity for k, p in self.todo.items() if k not in self.results or self.results[k].status in GONE
        }
        if r.type == "iam.role":
            survey = self.surveyor.survey(role_listings(current.details)[0], since)
            return judge_role(current.id, current.details, survey, planned).reason
        bucket = str(r.details.get("bucket", r.id))
        use = bucket_use(bucket, self.surveyor.survey(bucket_listings(), since), planned)
        if use.unchecked:
            return f"{use.unchecked}; kept because its readers there are unknown"
        return use.outside_reason(None if r.type == "s3.bucket" else str(r.details.get("prefix", "")))

    def _kept_by_an_owner(self, r: PlannedResource) -> str:
        """An owner answered "keep until" (on any message) since the scan: why to keep it, or ""."""
        if self.options.stored_keeps is None:
            return ""
        try:
            stored = self.options.stored_keeps()
        except Exception as e:  # the store is down: what an owner asked cannot be known, so nothing is deleted
            return f"could not read the owners' keep-until answers ({type(e).__name__}); kept"
        now = time.time()
        for keep in stored:
            if keep.key == r.key and keep.account_id in ("", self.plan.account_id):
                verdict = keep_verdict({}, keep, now)
                if verdict is not None:
                    return f"{verdict.reason} since the scan"
        return ""

    def _recheck(self, r: PlannedResource) -> Callable[[], str]:
        """Between rounds of a long deletion (emptying a big bucket): same resource, no protect tag, no guard."""

        def recheck() -> str:
            if not self._owner():  # fenced off between two rounds: the rest is the new owner's to do
                return _LOST_LEASE
            current = self.types[r.type].peek(self.aws, r.region, r.id)
            return "it is gone" if current is None else _changed_since_scan(r, current)

        return recheck

    def _finish(
        self, r: PlannedResource, status: str, reason: str, code: str = "", started: float | None = None
    ) -> None:
        seconds = time.monotonic() - started if started is not None else 0.0
        result = ResourceResult(r.key, r.label, r.name, r.region, status, reason, code, round(seconds, 3))  # type: ignore[arg-type]
        self.results[r.key] = result
        self._event(status, r, reason, code, result.seconds)

    def _event(self, kind: str, r: PlannedResource, message: str = "", code: str = "", seconds: float = 0.0) -> None:
        event = ProgressEvent(kind, r.key, r.label, r.name, r.region, message, code, seconds)  # type: ignore[arg-type]
        with self._emit_lock:
            self.emit(event)


def _changed_since_scan(planned: PlannedResource, current: Found) -> str:
    """Why the resource now is not the one approved, or "" when it is."""
    if current.arn != planned.arn or current.identity != planned.identity:
        return "re-created or changed since the scan (identity differs); not the resource that was approved"
    if current.protected:
        return "tagged cleanup:protect=true since the scan"
    kept = keep_verdict(current.tags, None, time.time())  # an owner tagged cleanup:keep-until meanwhile
    if kept is not None:
        return f"{kept.reason} since the scan"
    if current.guard:
        return f"{current.guard} since the scan; the app never switches AWS's guards off"
    return ""


def _float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
