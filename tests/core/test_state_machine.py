"""The plan lifecycle is one table, and the store refuses any change it does not list."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.plan import GONE, RESULT_STATUSES, ResultStatus
from bot.core.state import ENDED_STATUSES, TRANSITIONS, PlanStatus, StateStore, TransitionError
from tests.slack.factories import make_plan


def test_every_status_has_its_transitions_and_ended_ones_have_none() -> None:
    assert set(TRANSITIONS) == set(PlanStatus)
    assert {"done", "failed", "cancelled", "expired"} == ENDED_STATUSES
    assert TRANSITIONS[PlanStatus.PENDING] == {"approved", "cancelled", "expired"}
    assert {"deleted", "already_gone", "skipped", "failed"} == RESULT_STATUSES
    assert {ResultStatus.DELETED, ResultStatus.ALREADY_GONE} == GONE


def test_store_refuses_a_transition_the_table_does_not_list(tmp_path: Path) -> None:
    store = StateStore(str(tmp_path / "state.sqlite3"))
    try:
        record = store.create_plan(make_plan(2, kept=0), "C1", "UREQ", ttl_seconds=600)
        assert store.cancel(record.id, "UREQ")
        with pytest.raises(TransitionError, match="from cancelled to running"):
            store._cas(record.id, "cancelled", "running", "x", "x")
        assert store.get(record.id).status == "cancelled"  # type: ignore[union-attr]
    finally:
        store.close()
