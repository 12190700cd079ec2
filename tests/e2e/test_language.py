"""Languages end to end: the approver's Slack locale (users.info with include_locale) picks the modal's language
and the errors only they see, while the plan in the channel stays in CLEANUP_LANGUAGE for everyone."""

from __future__ import annotations

import json
from typing import Any

import requests

from bot.demo.slack_standin import SlackStandIn
from bot.demo.stack import SeededStack
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, REQUESTER, TEAMMATE
from tests.e2e.test_conversation import plan_id_of, plan_message


def text_of(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _errors(response: requests.Response) -> dict[str, str]:
    body = response.json()
    assert body.get("response_action") == "errors", body
    return dict(body["errors"])


def test_a_vietnamese_approver_gets_a_vietnamese_modal_while_the_channel_plan_stays_english(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack
) -> None:
    standin.locales[TEAMMATE] = "vi-VN"
    app = start_app(CLEANUP_LANGUAGE="en")
    assert app.command("dogcat", user=REQUESTER).status_code == 200
    plan = plan_message(standin)
    plan_id = plan_id_of(plan)
    shown = text_of(plan.blocks)
    assert "Cleanup plan: dogcat" in shown and "to delete in" in shown and "Kế hoạch" not in shown

    assert app.click("cleanup_delete", plan_id, TEAMMATE, plan.ts).status_code == 200
    view = standin.wait_for_call("views.open").args["view"]
    modal = text_of([view["title"], view["submit"], view["close"], *view["blocks"]])
    assert view["title"]["text"] == "Xác nhận dọn dẹp" and view["submit"]["text"] == "Xoá"
    assert "đề nghị xoá" in modal and "tài nguyên" in modal and "US$/tháng" in modal
    [confirm] = [b for b in view["blocks"] if b["type"] == "input"]
    assert confirm["label"]["text"].startswith("Gõ confirm để xoá")  # the word itself stays confirm
    assert "confirm" in confirm["hint"]["text"] and "mọi ngôn ngữ" in confirm["hint"]["text"]
    asked = [c for c in standin.calls_to("users.info") if c.args.get("user") == TEAMMATE]
    assert asked and str(asked[0].args.get("include_locale")).lower() in ("1", "true")

    # the typed word is confirm in every language: the Vietnamese "xác nhận" deletes nothing, and says so in Vietnamese
    [error] = _errors(app.submit(plan_id, TEAMMATE, "xác nhận")).values()
    assert error == "Hãy gõ đúng confirm để xoá; chưa có gì bị xoá."

    # the channel's plan message is untouched by the approver's language
    assert "Kế hoạch" not in text_of(standin.messages[(CHANNEL, plan.ts)].blocks)


def test_the_channel_speaks_cleanup_language(start_app: AppFactory, standin: SlackStandIn, stack: SeededStack) -> None:
    app = start_app(CLEANUP_LANGUAGE="vi")
    assert app.command("dogcat", user=REQUESTER).status_code == 200
    plan = plan_message(standin)
    shown = text_of(plan.blocks)
    assert "Kế hoạch dọn dẹp: dogcat" in shown and "cần xoá" in shown and "US$/tháng" in shown
    [actions] = [b for b in plan.blocks if b["type"] == "actions"]
    assert actions["elements"][0]["text"]["text"].startswith("Xoá ")
    assert "<!date^" in shown and "lúc {time}" in shown  # each reader sees their own time zone
