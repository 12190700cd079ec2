"""The background runner and the service, in process, with a fake executor and the Slack stand-in."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from slack_sdk import WebClient

from bot.aws.clients import Aws
from bot.config import Settings
from bot.core.plan import RUN_REFUSED, Plan, ProgressEvent, ResourceResult
from bot.core.state import StateStore
from bot.demo.slack_standin import SlackStandIn
from bot.slack import blocks
from bot.slack.runner import Runner
from bot.slack.service import CleanupService
from bot.slack.web import Persistence
from tests.slack.factories import approved_plan, make_plan, new_runner

CHANNEL = "CTEST0001"


def fake_execute(fail: str = "", raise_: bool = False, gate: threading.Event | None = None) -> Any:
    def execute(
        aws: Aws, plan: Plan, on_event: Any, options: Any, previous: dict[str, ResourceResult]
    ) -> list[ResourceResult]:
        if raise_:
            raise RuntimeError("AWS fell over")
        results = []
        for r in plan.to_delete:
            if r.key in previous:
                results.append(previous[r.key])
                continue
            on_event(ProgressEvent("started", r.key, r.label, r.name, r.region))
            if gate is not None:
                gate.wait(10)
            status = "failed" if r.name == fail else "deleted"
            code = "AccessDenied" if status == "failed" else ""
            on_event(ProgressEvent(status, r.key, r.label, r.name, r.region, "denied" if code else "", code))  # type: ignore[arg-type]
            results.append(ResourceResult(r.key, r.label, r.name, r.region, status, "", code, 0.1))  # type: ignore[arg-type]
        return results

    return execute


def refusing_execute(reason: str) -> Any:
    """The executor's answer when the account check fails: every resource skipped as RUN_REFUSED, nothing deleted."""

    def execute(
        aws: Aws, plan: Plan, on_event: Any, options: Any, previous: dict[str, ResourceResult]
    ) -> list[ResourceResult]:
        out = []
        for r in plan.to_delete:
            on_event(ProgressEvent("skipped", r.key, r.label, r.name, r.region, reason, RUN_REFUSED))
            out.append(ResourceResult(r.key, r.label, r.name, r.region, "skipped", reason, RUN_REFUSED))
        return out

    return execute


def setup(
    standin: SlackStandIn, store: StateStore, execute: Any, persistence: Persistence | None = None, **opts: Any
) -> tuple[Runner, str, str, Plan]:
    runner = new_runner(standin, store, execute, persistence, **opts)
    plan = make_plan(30, kept=2)
    plan_id, ts = approved_plan(standin, store, plan, CHANNEL)
    return runner, plan_id, ts, plan


def text(m: Any) -> str:
    return json.dumps(m.blocks)


def test_run_reports_progress_once_and_summary(standin: SlackStandIn, store: StateStore) -> None:
    runner, plan_id, ts, _plan = setup(standin, store, fake_execute(fail="dogcat-endpoint-00003"))
    runner._run_new(plan_id)  # synchronously, for the test
    rec = store.get(plan_id)
    assert rec is not None and rec.status == "failed" and rec.progress_ts
    assert len(store.results(plan_id)) == 30
    audited = [e.detail.split(":")[0] for e in store.audit_log(plan_id) if e.action == "result"]
    assert sorted(audited) == sorted(r.key for r in _plan.to_delete)  # each result audited exactly once
    thread = standin.thread(CHANNEL, ts)
    progress = [m for m in thread if m.ts == rec.progress_ts]
    assert len(progress) == 1 and "Deletion finished" in text(progress[0])
    summary = "".join(text(m) for m in thread if m.ts != rec.progress_ts)
    assert "AccessDenied" in summary and "29 deleted" in summary
    top = standin.messages[(CHANNEL, ts)]
    assert "Cleanup finished" in text(top) and "<@UAPP>" in text(top)
    # a second start does nothing
    runner._run_new(plan_id)
    assert len(standin.thread(CHANNEL, ts)) == len(thread)


def test_refused_run_says_so_once_and_the_plan_message_says_nothing_was_deleted(
    standin: SlackStandIn, store: StateStore
) -> None:
    reason = "could not confirm the AWS account (NoCredentialsError: Unable to locate credentials); nothing deleted"
    runner, plan_id, ts, plan = setup(standin, store, refusing_execute(reason))
    runner._run_new(plan_id)
    rec = store.get(plan_id)
    assert rec is not None and rec.status == "failed" and rec.progress_ts  # not done: nothing approved was
    assert rec.outcome == f"refused, nothing deleted: {reason}"  # the store says why once, too
    thread = standin.thread(CHANNEL, ts)
    progress = next(m for m in thread if m.ts == rec.progress_ts)
    assert text(progress).count(reason) == 1, text(progress)
    summary = "".join(text(m) for m in thread if m.ts != rec.progress_ts)
    assert summary.count(reason) == 1, summary  # 30 resources, the reason once
    assert "refused as a whole, nothing was deleted" in summary
    assert all(r.name in summary for r in plan.to_delete)
    top = text(standin.messages[(CHANNEL, ts)])
    assert ":no_entry: *Cleanup refused*" in top and reason in top
    assert ":white_check_mark:" not in top and "Cleanup finished" not in top
    assert standin.messages[(CHANNEL, ts)].text.startswith("Cleanup refused")


def test_run_error_marks_failed(standin: SlackStandIn, store: StateStore) -> None:
    runner, plan_id, ts, _ = setup(standin, store, fake_execute(raise_=True))
    runner._run_new(plan_id)
    rec = store.get(plan_id)
    assert rec is not None and rec.status == "failed" and "AWS fell over" in rec.outcome
    assert "Cleanup failed" in text(standin.messages[(CHANNEL, ts)])


def test_taken_over_run_does_not_report(standin: SlackStandIn, store: StateStore) -> None:
    gate = threading.Event()
    runner, plan_id, ts, _ = setup(standin, store, fake_execute(gate=gate), lease_seconds=1.0)
    worker = threading.Thread(target=runner._run_new, args=(plan_id,))
    worker.start()
    standin.wait_for(lambda s: len(s.thread(CHANNEL, ts)) >= 1)
    # another process decides this runner is gone and takes the run over
    assert store.claim_stale_run(plan_id, "other-runner", lease_seconds=0.0, now=time.time() + 0.01)
    time.sleep(0.6)  # the first runner's heartbeat learns it lost
    gate.set()
    worker.join(15)
    rec = store.get(plan_id)
    assert rec is not None and rec.status == "running" and rec.runner == "other-runner"
    assert not any("finished" in text(m) and "Cleanup of" in text(m) for m in standin.thread(CHANNEL, ts))


def test_sweep_expires_and_resumes(standin: SlackStandIn, store: StateStore) -> None:
    runner, plan_id, ts, plan = setup(standin, store, fake_execute(), lease_seconds=1.0)
    old = store.create_plan(plan, CHANNEL, "UREQ", ttl_seconds=0.01)
    old_ts = str(WebClient(base_url=standin.api_url).chat_postMessage(channel=CHANNEL, text="p")["ts"])
    store.set_message(old.id, old_ts)
    assert store.start_run(plan_id, "dead-runner", now=time.time() - 10)
    time.sleep(0.05)
    runner.sweep()
    runner._pool.shutdown(wait=True)
    expired = store.get(old.id)
    assert expired is not None and expired.status == "expired"
    assert "expired" in text(standin.messages[(CHANNEL, old_ts)])
    resumed = store.get(plan_id)
    assert resumed is not None and resumed.status == "done"
    assert any("restarted during this cleanup" in text(m) for m in standin.thread(CHANNEL, ts))


def test_eligibility_rules(standin: SlackStandIn, store: StateStore) -> None:
    runner, plan_id, _, _ = setup(standin, store, fake_execute())
    rec = store.get(plan_id)
    assert rec is not None

    def service(**kw: Any) -> CleanupService:
        return CleanupService(Settings(**kw), store, runner.aws, runner.slack, {}, runner)

    assert "two-person" in service().ineligible("UREQ", rec)
    assert service().ineligible("UOTHER", rec) == ""
    assert service(allow_self_approval=True).ineligible("UREQ", rec) == ""
    assert "approvers" in service(approvers=frozenset({"UBOSS"})).ineligible("UOTHER", rec)
    assert service(approvers=frozenset({"UBOSS"})).ineligible("UBOSS", rec) == ""
    assert "two-person" in service(approvers=frozenset({"UREQ"})).ineligible("UREQ", rec)


def test_command_parsing_is_local(standin: SlackStandIn, store: StateStore) -> None:
    from bot.profiles import load_profiles

    runner, _, _, _ = setup(standin, store, fake_execute())
    service = CleanupService(Settings(regions=("us-east-1",)), store, runner.aws, runner.slack, load_profiles(), runner)
    assert service.parse_command("").scan is None
    assert service.parse_command("history").scan is None
    reply = service.parse_command("dogcat eu-west-1, us-east-1")
    assert reply.scan is not None and reply.scan[1] == ("eu-west-1", "us-east-1")
    assert service.parse_command("dogcat").scan is not None
    assert service.parse_command("dogcat xx-nowhere-1").scan is None
    assert service.parse_command("nope").scan is None
    errors = service.submit("not-a-plan-id", "UOTHER", "confirm")
    assert list(errors) == [blocks.CONFIRM_BLOCK]
