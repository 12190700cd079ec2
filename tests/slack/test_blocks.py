"""The Block Kit builders: pure, and inside Slack's limits however large the plan."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.plan import ResourceResult
from bot.i18n import translator
from bot.slack import blocks
from tests.slack.factories import make_plan
from tests.slack.limits import message_problems, modal_problems

CTX = blocks.PlanContext("0123456789abcdef", "UREQ", 1_800_000_000.0)
SIZES = [0, 1, 12, 120, 600, 2500]
# Block Kit's limits hold in every language (Vietnamese texts are longer than English ones)
LANGS = ["en", "vi"]


def all_text(bs: list[dict]) -> str:  # type: ignore[type-arg]
    return json.dumps(bs, ensure_ascii=False)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("long", [False, True])
def test_plan_message_within_limits(n: int, long: bool, lang: str) -> None:
    plan = make_plan(n, kept=n // 10 + 1, problems=3 if n else 0, long=long)
    bs = blocks.plan_blocks(plan, CTX, lang=lang)
    assert message_problems(bs) == []
    if n:
        actions = [b for b in bs if b["type"] == "actions"]
        assert len(actions) == 1
        delete, cancel, snooze, keep = actions[0]["elements"]
        assert delete["style"] == "danger" and delete["value"] == CTX.plan_id
        assert delete["action_id"] == blocks.DELETE_ACTION and cancel["action_id"] == blocks.CANCEL_ACTION
        assert snooze["action_id"] == blocks.SNOOZE_ACTION and snooze["value"] == CTX.plan_id
        assert keep["type"] == "datepicker" and keep["action_id"] == blocks.KEEP_UNTIL_ACTION
        assert blocks.plan_id_of_block(actions[0]["block_id"]) == CTX.plan_id
        count = translator(lang).number(n)  # 2,500 in English, 2.500 in Vietnamese
        assert (f"Delete {count} resource" if lang == "en" else f"Xoá {count} tài nguyên") in delete["text"]["text"]


@pytest.mark.parametrize("lang", LANGS)
def test_large_plan_is_summarised_and_full_list_covers_everything(lang: str) -> None:
    plan = make_plan(600, kept=40)
    bs = blocks.plan_blocks(plan, CTX, lang=lang)
    text = all_text(bs)
    if lang == "en":
        assert "more SageMaker endpoints" in text and "full list is in the thread" in text
    else:
        assert "endpoint SageMaker" in text and "danh sách đầy đủ nằm trong thread" in text
    assert blocks.needs_full_list(plan)
    messages = blocks.full_list_messages(plan, lang=lang)
    joined = "".join(all_text(m) for m in messages)
    for r in plan.resources:
        assert r.name in joined
    for m in messages:
        assert message_problems(m) == []


def test_small_plan_shows_everything() -> None:
    plan = make_plan(12, kept=2)
    text = all_text(blocks.plan_blocks(plan, CTX))
    assert not blocks.needs_full_list(plan)
    for r in plan.resources:
        assert r.name in text
    assert "protected" in text and "tagged cleanup:protect=true" in text
    assert "<@UREQ>" in text and "<!date^1800000000^" in text
    assert "12 resources* to delete in 2 regions" in text


def test_nothing_found_has_no_buttons() -> None:
    plan = make_plan(0, kept=0)
    bs = blocks.plan_blocks(plan, CTX)
    assert "Nothing to clean" in all_text(bs)
    assert not any(b["type"] == "actions" for b in bs)


def test_only_kept_resources_has_no_buttons() -> None:
    plan = make_plan(0, kept=3)
    bs = blocks.plan_blocks(plan, CTX)
    assert not any(b["type"] == "actions" for b in bs)
    assert "Nothing will be deleted" in all_text(bs)


def test_status_replaces_buttons() -> None:
    plan = make_plan(5)
    bs = blocks.plan_blocks(plan, CTX, blocks.status_cancelled("UX"))
    assert not any(b["type"] == "actions" for b in bs)
    assert "Cancelled by <@UX>" in all_text(bs)


def test_mrkdwn_is_escaped() -> None:
    plan = make_plan(1, kept=0, long=True)
    text = all_text(blocks.plan_blocks(plan, CTX))
    assert "<because>" not in text and "&lt;because&gt; &amp; more" in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("n", SIZES[1:])
def test_modal_within_limits(n: int, lang: str) -> None:
    plan = make_plan(n, kept=3, long=n > 500)
    view = blocks.confirm_modal(plan, CTX, lang)
    assert modal_problems(view) == []
    assert view["private_metadata"] == CTX.plan_id
    assert view["callback_id"] == blocks.CONFIRM_CALLBACK
    if n > 500:
        assert ("more " if lang == "en" else "thêm ") in all_text(view["blocks"])


def results_for(n: int, long: bool = False) -> list[ResourceResult]:
    plan = make_plan(n, kept=0, long=long)
    statuses = ["deleted", "already_gone", "skipped", "failed"]
    return [
        ResourceResult(
            r.key,
            r.label,
            r.name,
            r.region,
            statuses[i % 4],  # type: ignore[arg-type]
            "AccessDenied: not allowed " * (20 if long else 1) if i % 4 == 3 else "",
            "AccessDenied" if i % 4 == 3 else "",
        )
        for i, r in enumerate(plan.to_delete)
    ]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("n", SIZES[1:])
def test_progress_and_summary_within_limits(n: int, lang: str) -> None:
    plan = make_plan(n, kept=0, long=n > 500)
    results = results_for(n, long=n > 500)
    progress = {r.key: r for r in results[: n // 2]}
    bs = blocks.progress_blocks(plan, progress, "Waiting for SageMaker endpoint x", lang=lang)
    assert message_problems(bs) == []
    messages = blocks.summary_messages(plan, results, 42.0, "UAPP", 123.4, lang=lang)
    for m in messages:
        assert message_problems(m) == []
    joined = "".join(all_text(m) for m in messages)
    for r in results:
        assert r.name in joined
    assert n < 4 or "AccessDenied" in joined
    if lang == "en":
        assert "approved by <@UAPP>" in joined and "$123.40/month" in joined
    else:
        assert "do <@UAPP> duyệt" in joined and "123,40\u00a0US$/tháng" in joined


def test_summary_lists_unhandled_resources() -> None:
    plan = make_plan(4, kept=0)
    messages = blocks.summary_messages(plan, results_for(4)[:2], 1.0, "U", 0.0)
    assert "Not handled* (2)" in all_text(messages[0])


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=400),
    kept=st.integers(min_value=0, max_value=60),
    problems=st.integers(min_value=0, max_value=40),
    kinds=st.integers(min_value=1, max_value=9),
    long=st.booleans(),
    lang=st.sampled_from(LANGS),
)
def test_any_plan_fits(n: int, kept: int, problems: int, kinds: int, long: bool, lang: str) -> None:
    plan = make_plan(n, kept=kept, problems=problems, long=long, kinds=kinds)
    assert message_problems(blocks.plan_blocks(plan, CTX, lang=lang)) == []
    for m in blocks.full_list_messages(plan, lang=lang):
        assert message_problems(m) == []
    if plan.to_delete:
        assert modal_problems(blocks.confirm_modal(plan, CTX, lang)) == []


def test_usage_and_history_within_limits() -> None:
    assert message_problems(blocks.usage_blocks({"dogcat": "Dog/cat workshop"}, ["us-east-1"])) == []
    assert message_problems(blocks.history_blocks([])) == []


def test_plan_and_modal_show_what_each_bucket_holds() -> None:
    plan = make_plan(n=9, kept=0)  # one of each type, the bucket last
    message = all_text(blocks.plan_blocks(plan, CTX))
    modal = all_text(blocks.confirm_modal(plan, CTX)["blocks"])
    for text in (message, modal):
        assert "holds at least 123456 object versions + 789 delete markers, 5.0 TB" in text
        assert "3 unfinished uploads" in text and "by prefix: team-199/ 199 v" in text
