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

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.base import Approval, Found, KeptError, ResourceType, error_code, error_message, is_not_found
from bot.aws.clients import Aws
from bot.core.keeps import KeepUntil, keep_verdict
from bot.core.plan import GONE, Plan, PlannedResource, ProgressEvent, ResourceResult
from bot.core.scanner import default_types, users_outside
from bot.core.usage import Surveyor, bucket_listings, bucket_use, judge_role, role_listings
from bot.logs import carry_context

PROVEN_UNUSED_TYPES = frozenset({"iam.role", "s3.bucket", "s3.objects"})  # listed account-wide before deletion

EventSink = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class ExecutorOptions:
    max_workers: int = 8
    wait_timeout: float = 1800.0  # an endpoint can take ~10 minutes to delete; never wait forever
    # When set, replaces each type's min_delete_interval (AWS: one DeleteRestApi per 30 s per account); for
    # emulators and tests, which do not enforce it. Only deletions of that type wait for it.
    delete_interval: float | None = None
    # The owners' stored "keep until" answers, read right before each deletion (one may come from another
    # message while this run goes); None where there is no state store (the tests' bare executor).
    stored_keeps: Callable[[], list[KeepUntil]] | None = None


class IntervalGate:
    """Lets one caller through per interval; the others sleep in their own thread, nobody else waits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0

    def pass_through(self, interval: float) -> float:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + interval
        delay = start - now
        if delay > 0:
            time.sleep(delay)
        return delay


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


class _Run:
    def __init__(
        self, aws: Aws, plan: Plan, emit: EventSink, options: ExecutorOptions, types: Mapping[str, ResourceType]
    ) -> None:
        self.aws, self.plan, self.emit, self.options, self.types = aws, plan, emit, options, types
        self.todo = {r.key: r for r in plan.to_delete}
        self.results: dict[str, ResourceResult] = {}
        self._emit_lock = threading.Lock()  # sinks see one event at a time, in order
        self.surveyor = Surveyor(aws)

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
                    self._finish(r, "skipped", refusal)
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

    def _walk_graph(self) -> None:
        deps = {k: [d for d in r.depends_on if d in self.todo] for k, r in self.todo.items()}
        waiting = {k for k in self.todo if k not in self.results}
        running: dict[Future[None], str] = {}
        with ThreadPoolExecutor(max_workers=self.options.max_workers, thread_name_prefix="delete") as pool:
            while waiting or running:
                for key in sorted(waiting):
                    if any(d not in self.results for d in deps[key]):
                        continue
                    waiting.discard(key)
                    blocker = next((d for d in deps[key] if self.results[d].status not in GONE), None)
                    if blocker is not None:
                        b = self.todo[blocker]
                        self._finish(
                            self.todo[key],
                            "skipped",
                            f"kept because {b.label} {b.name} was not deleted ({self.results[blocker].status})",
                        )
                    else:
                        running[pool.submit(carry_context(self._delete_one), self.todo[key], time.monotonic())] = key
                if not running:
                    if waiting:  # a dependency cycle cannot be ordered: keep, never guess
                        for key in sorted(waiting):
                            self._finish(self.todo[key], "skipped", "dependency cycle in the plan")
                        waiting.clear()
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    key = running.pop(future)
                    exc = future.exception()
                    if exc is not None and key not in self.results:  # a bug of ours: report, don't hang
                        self._finish(self.todo[key], "failed", str(exc), type(exc).__name__)

    def _delete_one(self, r: PlannedResource, ready_at: float) -> None:
        rtype = self.types[r.type]
        started = time.monotonic()
        self._event("started", r)
        try:
            current = rtype.get(self.aws, r.region, r.id)
            if current is None:
                self._finish(r, "already_gone", "", started=started)
                return
            change = (
                _changed_since_scan(r, current) or self._kept_by_an_owner(r) or self._still_used(r, current, ready_at)
            )
            if change:
                self._finish(r, "skipped", change, started=started)
                return
            interval = (
                rtype.min_delete_interval if self.options.delete_interval is None else self.options.delete_interval
            )
            if rtype.min_delete_interval > 0:
                delay = _gate(self.plan.account_id, r.type).pass_through(interval)
                if delay > 1:
                    self._event(
                        "waiting", r, f"waited {delay:.0f} s: AWS allows one such deletion per {interval:.0f} s"
                    )
            approval = Approval(
                written_before=_float_or_none(r.details.get("written_before")), recheck=self._recheck(r)
            )
            try:
                rtype.delete(self.aws, current, approval)
            except KeptError as e:
                self._finish(r, "skipped", str(e), started=started)
                return
            except ClientError as e:
                if is_not_found(e):
                    self._finish(r, "already_gone", "", started=started)
                    return
                raise
            if rtype.deletes_asynchronously:
                self._event("waiting", r, "deletion started, waiting until AWS has finished")
                rtype.wait_gone(self.aws, current, self.options.wait_timeout)
            self._finish(r, "deleted", "", started=started)
        except ClientError as e:
            self._finish(r, "failed", error_message(e), error_code(e), started=started)
        except TimeoutError as e:
            self._finish(r, "failed", str(e) or "timed out waiting for AWS", "Timeout", started=started)
        except (BotoCoreError, RuntimeError, OSError) as e:
            self._finish(r, "failed", str(e), type(e).__name__, started=started)

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
