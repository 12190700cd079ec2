"""Owners' answers and what cleanups saved, in the state store: keep-until and snooze records (append-only,
audited), the reminder lease honouring a snooze, unanswered intervals, and the per-month savings read back.

Every test runs on SQLite and on PostgreSQL (a real server the test run starts: tests/postgres.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy

from bot.core.keeps import KeepUntil
from bot.core.plan import Plan, PlannedResource, ResourceResult
from bot.core.savings import months_back, savings_report
from bot.core.state import StateStore
from tests.core.helpers import state_backend as state_backend  # fixtures: every test on SQLite and PostgreSQL
from tests.core.helpers import store as store

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0
DAY = 86400.0
REMINDER = "scheduled-reminder"


def resource(name: str, cost: float | None, type_: str = "sagemaker.endpoint") -> PlannedResource:
    return PlannedResource(
        type=type_,
        label="SageMaker endpoint",
        service="SageMaker",
        region="us-east-1",
        id=name,
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
        identity="x",
        reason="name starts with dogcat-endpoint-",
        monthly_cost=cost,
    )


def plan(*resources: PlannedResource, at: float = T0) -> Plan:
    return Plan("dogcat", "123456789012", ["us-east-1"], at, list(resources))


def test_keeps_are_recorded_audited_and_read_until_their_date(store: StateStore) -> None:
    record = store.create_plan(plan(resource("dogcat-endpoint-a", 84.0)), "C1", "U1", 60, now=T0)
    kept = [
        KeepUntil("sagemaker.endpoint|us-east-1|dogcat-endpoint-a", "123456789012", date(2026, 12, 15), "UMAI", T0),
        KeepUntil("iam.role|global|AmazonSageMaker-ExecutionRole-x", "123456789012", date(2026, 12, 3), "UMAI", T0),
    ]
    store.add_keeps(record.id, kept, "UMAI", now=T0)
    read = store.keeps(T0)
    assert [(k.key, k.account_id, k.until, k.by, k.plan_id) for k in read] == [
        (k.key, k.account_id, k.until, "UMAI", record.id) for k in kept
    ]
    assert [k.key for k in store.keeps(T0 + 3 * DAY)] == [kept[0].key]  # the role's date has passed
    assert store.keeps(T0 + 15 * DAY) == []
    assert len(store.keeps(plan_id=record.id)) == 2
    audited = [(e.actor, e.action, e.detail) for e in store.audit_log(record.id) if e.action == "kept-until"]
    assert audited == [
        ("UMAI", "kept-until", f"123456789012/{kept[0].key} until 2026-12-15"),
        ("UMAI", "kept-until", f"123456789012/{kept[1].key} until 2026-12-03"),
    ]


APPEND_ONLY_CHECKS = {
    "keeps": ("UPDATE keeps SET actor = 'someone else'", "DELETE FROM keeps"),
    "snoozes": ("UPDATE snoozes SET actor = 'someone else'", "DELETE FROM snoozes"),
}


@pytest.mark.parametrize("table", sorted(APPEND_ONLY_CHECKS))
def test_records_are_append_only(store: StateStore, table: str) -> None:
    store.add_keeps("p" * 16, [KeepUntil("k", "", date(2026, 12, 15), "UMAI")], "UMAI", now=T0)
    store.snooze("dogcat@C1", "p" * 16, "UMAI", T0 + DAY, now=T0)
    for statement in APPEND_ONLY_CHECKS[table]:
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), store.engine.connect() as conn:
            conn.exec_driver_sql(statement)
    assert store.keeps(T0)[0].by == "UMAI" and store.snooze_log()[0].actor == "UMAI"


def test_a_snooze_holds_the_reminder_lease(store: StateStore) -> None:
    claimed = store.claim_reminder("dogcat@C1", HOUR, "p1", T0)
    assert claimed is not None and store.snoozed_until("dogcat@C1") is None
    store.snooze("dogcat@C1", "p" * 16, "UMAI", T0 + HOUR + DAY, now=T0 + 60)
    [snoozed] = store.snooze_log("dogcat@C1")
    assert (snoozed.actor, snoozed.until, snoozed.at, snoozed.plan_id) == ("UMAI", T0 + HOUR + DAY, T0 + 60, "p" * 16)
    assert ("UMAI", "snoozed") in [(e.actor, e.action) for e in store.audit_log("p" * 16)]
    assert store.claim_reminder("dogcat@C1", HOUR, "p1", T0 + HOUR) is None  # due, but snoozed
    assert store.claim_reminder("dogcat@C1", HOUR, "p1", T0 + HOUR + DAY - 1) is None
    assert store.claim_reminder("other@C1", HOUR, "p1", T0 + HOUR) is not None  # another schedule is not snoozed
    again = store.claim_reminder("dogcat@C1", HOUR, "p2", T0 + HOUR + DAY)
    assert again is not None and again.next_due == T0 + HOUR + DAY + HOUR


def test_unanswered_intervals_are_stored(store: StateStore) -> None:
    assert store.claim_reminder("dogcat@C1", HOUR, "p1", T0) is not None
    assert store.reminder("dogcat@C1").unanswered == 0  # type: ignore[union-attr]
    store.finish_reminder("dogcat@C1", "p1", "posted", "a" * 16, unanswered=2)
    assert store.reminder("dogcat@C1").unanswered == 2  # type: ignore[union-attr]
    store.finish_reminder("dogcat@C1", "p1", "nothing to delete")  # not given: unchanged
    state = store.reminder("dogcat@C1")
    assert state is not None and state.unanswered == 2 and state.plan_id == "a" * 16


def _run(store: StateStore, p: Plan, results: dict[str, str], finished: float, requester: str = "U1") -> str:
    record = store.create_plan(p, "C1", requester, DAY, now=p.created_at)
    assert store.approve(record.id, "U2", now=p.created_at + 60)
    assert store.start_run(record.id, "r", now=p.created_at + 61)
    for r in p.resources:
        if r.key in results:
            store.record_result(record.id, ResourceResult(r.key, r.label, r.name, r.region, results[r.key]))
    assert store.finish_run(record.id, "r", "done", "ok", now=finished)
    return record.id


def test_savings_per_month(store: StateStore) -> None:
    nov, dec = datetime(2026, 11, 10, tzinfo=UTC).timestamp(), datetime(2026, 12, 2, tzinfo=UTC).timestamp()
    now = datetime(2026, 12, 20, tzinfo=UTC).timestamp()
    a, b, c = resource("dogcat-endpoint-a", 84.0), resource("dogcat-endpoint-b", 10.5), resource("x", None)
    # November: a reminder found a and b; a cleanup deleted a (b failed) in November
    store.create_plan(plan(a, b, at=nov), "C1", REMINDER, 60, now=nov)
    _run(store, plan(a, b, c, at=nov + HOUR), {a.key: "deleted", b.key: "failed", c.key: "deleted"}, nov + 2 * HOUR)
    # December: reminders found b twice (counted once) and a new a (re-created); nothing deleted yet
    store.create_plan(plan(b, at=dec), "C1", REMINDER, 60, now=dec)
    store.create_plan(plan(a, b, at=dec + DAY), "C1", REMINDER, 60, now=dec + DAY)
    # a manual scan nobody approved counts for nothing
    store.create_plan(plan(a, b, at=dec + DAY), "C1", "U9", 60, now=dec + DAY)
    rows = savings_report(store, now, 6, REMINDER)
    assert (
        [r.month for r in rows]
        == months_back(now, 6)
        == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    )
    by = {r.month: r for r in rows}
    assert (by["2026-11"].stopped, by["2026-11"].runs) == (84.0, 1)  # unknown prices count as nothing
    assert (by["2026-11"].still_running, by["2026-11"].found) == (10.5, 1)  # b was still running at the end
    assert (by["2026-12"].stopped, by["2026-12"].runs) == (0.0, 0)
    assert (by["2026-12"].still_running, by["2026-12"].found) == (94.5, 2)
    # a December cleanup deletes both: December's stop, and nothing found in December is still running
    _run(store, plan(a, b, at=dec + 2 * DAY), {a.key: "deleted", b.key: "deleted"}, dec + 2 * DAY + HOUR)
    december = savings_report(store, now, 1, REMINDER)
    assert [(r.month, r.stopped, r.runs, r.still_running, r.found) for r in december] == [("2026-12", 94.5, 1, 0.0, 0)]
    # November's "still running" is as it was at the end of November
    assert {r.month: r for r in savings_report(store, now, 6, REMINDER)}["2026-11"].still_running == 10.5
