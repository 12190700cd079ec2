"""A run's lifecycle (core/runs.py) with the real executor on moto in-process and a real store: a runner that lost
its lease stops before its next AWS mutation and writes nothing more; a runner told to stop hands the run over at
its next safe point, and another one claims it at once and finishes it, each resource deleted once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.aws.clients import Aws, new_session
from bot.core.executor import ExecutorOptions
from bot.core.plan import Plan
from bot.core.runs import RunOwner, process_gone, this_host
from bot.core.scanner import scan
from bot.core.state import PlanRecord, StateStore
from bot.demo.stack import SeededStack, seed_workshop
from tests.core.helpers import REGION, dogcat, faulty_aws
from tests.faults import Faults
from tests.reliability.helpers import DELETE_OPERATION

ONE_AT_A_TIME = ExecutorOptions(delete_interval=0.0, max_workers=1)  # one AWS mutation in flight at a time
HOUR = 3600.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = StateStore(str(tmp_path / "state.sqlite3"))
    yield s
    s.close()


@pytest.fixture
def world(mocked: None) -> tuple[Aws, Faults, SeededStack]:
    aws, faults = faulty_aws()
    return aws, faults, seed_workshop(new_session(region_name=REGION), REGION)


def deletes(faults: Faults) -> int:
    return sum(n for op, n in faults.calls.items() if op.split(".", 1)[1].startswith("Delete"))


def approved(store: StateStore, plan: Plan) -> str:
    record = store.create_plan(plan, "C1", "UREQ", ttl_seconds=600)
    assert store.approve(record.id, "UAPP")
    return record.id


def claimed(store: StateStore, owner: RunOwner, plan_id: str) -> PlanRecord:
    assert owner.claim(plan_id)
    record = store.get(plan_id)
    assert record is not None
    return record


def on_first(faults: Faults, prefix: str, action: object) -> None:
    """Run `action` once, when the first AWS call whose operation starts with `prefix` is about to be sent."""
    fired: list[bool] = []

    def rule(_service: str, operation: str) -> None:
        if operation.startswith(prefix) and not fired:
            fired.append(True)
            action()  # type: ignore[operator]

    faults._rules.append(rule)  # type: ignore[arg-type]


def test_a_runner_taken_over_before_a_deletion_makes_no_aws_mutation(
    world: tuple[Aws, Faults, SeededStack], store: StateStore
) -> None:
    aws, faults, _stack = world
    plan_id = approved(store, scan(aws, dogcat(), [REGION]))
    # checking the token before every mutation (no rate limit), so the very next one is refused
    old = RunOwner(store, aws, executor=ONE_AT_A_TIME, runner_id="old", check_interval=0.0)
    record = claimed(store, old, plan_id)
    # while the old runner re-reads the endpoint before deleting it, another runner takes the run over
    on_first(faults, "Describe", lambda: store.claim_stale_run(plan_id, "new", 0.0, now=time.time() + 1))
    outcome = old.carry_out(record)
    assert outcome.status == "lost" and "another runner" in outcome.error
    assert deletes(faults) == 0
    assert store.results(plan_id) == {}  # and nothing recorded for the new owner to trust
    rec = store.get(plan_id)
    assert rec is not None and rec.status == "running" and rec.runner == "new"
    assert not old.finish(plan_id, outcome)


def test_a_runner_taken_over_mid_run_records_nothing_and_stops_at_once(
    world: tuple[Aws, Faults, SeededStack], store: StateStore
) -> None:
    aws, faults, stack = world
    plan_id = approved(store, scan(aws, dogcat(), [REGION]))
    old = RunOwner(store, aws, executor=ONE_AT_A_TIME, runner_id="old")  # rate-limited checks, as served
    record = claimed(store, old, plan_id)
    on_first(faults, "Delete", lambda: store.claim_stale_run(plan_id, "new", 0.0, now=time.time() + 1))
    outcome = old.carry_out(record)
    assert outcome.status == "lost"
    # the delete call in flight when the run was taken over, and not one more: its result was refused, which
    # fences the executor off before its next mutation
    assert deletes(faults) == 1, faults.calls
    assert store.results(plan_id) == {}
    assert len(stack.workshop) > 1


def test_a_stopping_runner_hands_over_and_the_next_finishes_each_resource_once(
    world: tuple[Aws, Faults, SeededStack], store: StateStore
) -> None:
    aws, faults, stack = world
    plan_id = approved(store, scan(aws, dogcat(), [REGION]))
    first = RunOwner(store, aws, executor=ONE_AT_A_TIME, runner_id="first")
    record = claimed(store, first, plan_id)
    on_first(faults, "Delete", first.stopping.set)  # SIGTERM while the first deletion is in flight
    outcome = first.carry_out(record)
    assert outcome.status == "lost" and "stopping" in outcome.error
    assert deletes(faults) == 1
    done = store.results(plan_id)
    assert [r.status for r in done.values()] == ["deleted"]  # what it did is recorded; what it left, not "skipped"
    rec = store.get(plan_id)
    assert rec is not None and rec.status == "running" and rec.runner == "" and rec.heartbeat_at is None
    assert "run-released" in [e.action for e in store.audit_log(plan_id)]

    # the next process claims it at once, however long the lease
    second = RunOwner(store, aws, lease_seconds=HOUR, executor=ONE_AT_A_TIME, runner_id="second")
    assert second.claim_stale(plan_id)
    resumed = store.get(plan_id)
    assert resumed is not None
    final = second.carry_out(resumed)
    assert final.status == "done" and second.finish(plan_id, final)
    assert len(final.results) == len(stack.workshop)
    assert {r.status for r in final.results} == {"deleted"}
    wanted = Counter(DELETE_OPERATION[item.split(":", 1)[0]] for item in stack.workshop)
    assert Counter({op: faults.calls[op] for op in wanted}) == wanted  # one delete call per resource, in all


def test_an_owner_process_on_this_host_that_is_gone_is_seen_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_gone(child.pid)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # exited, not reaped yet
    time.sleep(0.5)
    assert process_gone(zombie.pid)
    zombie.wait()
    assert not process_gone(os.getpid()) and not process_gone(0)
    assert this_host() == this_host() and this_host().startswith(socket.gethostname())
