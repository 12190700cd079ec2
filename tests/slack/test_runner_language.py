"""The runner and the feed speak the channel's language (CLEANUP_LANGUAGE): a run's progress, its summary, the plan
message's final status, a resumed run's notice, an expired plan; and a plan's state in the service's refusals."""

from __future__ import annotations

import contextvars
import json
import threading
import time
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.core.state import StateStore
from bot.demo.slack_standin import SlackStandIn
from bot.slack.feed import Feed
from bot.slack.runner import RunnerOptions
from bot.slack.service import CleanupService
from tests.slack.test_runner import CHANNEL, fake_execute, setup


def shown(m: Any) -> str:
    return json.dumps(m.blocks, ensure_ascii=False) + " " + str(m.text)


def test_from_settings_carries_cleanup_language() -> None:
    assert RunnerOptions.from_settings(Settings(language="vi")).language == "vi"
    assert RunnerOptions.from_settings(Settings()).language == "en"


def test_a_vietnamese_channel_reads_the_run_in_vietnamese(standin: SlackStandIn, store: StateStore) -> None:
    gate = threading.Event()
    execute = fake_execute(fail="dogcat-endpoint-00003", gate=gate)
    runner, plan_id, ts, _plan = setup(standin, store, execute, language="vi")
    worker = threading.Thread(target=runner._run_new, args=(plan_id,))
    worker.start()
    # while the first deletion waits: the plan message says who approved, the progress message what is happening
    first = _plan.to_delete[0]
    doing = f"Đang xoá endpoint SageMaker {first.name} ({first.region})"  # the label in Vietnamese too
    standin.wait_for(lambda s: any(doing in shown(m) for m in s.thread(CHANNEL, ts)))
    running = shown(standin.messages[(CHANNEL, ts)])
    assert "đã duyệt" in running and "Approved by" not in running
    progress_now = [shown(m) for m in standin.thread(CHANNEL, ts)]
    assert not any("Deleting" in text or "Starting" in text or "handled" in text for text in progress_now)
    gate.set()
    worker.join(30)
    record = store.get(plan_id)
    assert record is not None and record.status == "failed" and record.progress_ts

    thread = standin.thread(CHANNEL, ts)
    [progress] = [shown(m) for m in thread if m.ts == record.progress_ts]
    assert "Đã xoá xong" in progress and "đã xử lý 30/30" in progress and "Deletion finished" not in progress
    summary = " ".join(shown(m) for m in thread if m.ts != record.progress_ts)
    assert "Đã dọn dẹp xong dogcat" in summary and "Kết quả" in summary
    assert "AccessDenied" in summary  # the AWS error stays the AWS error
    assert "Cleanup of" not in summary and "finished" not in summary
    top = shown(standin.messages[(CHANNEL, ts)])
    assert "Dọn dẹp xong nhưng có lỗi" in top and "Chi tiết nằm trong thread." in top and "<@UAPP>" in top
    assert "Cleanup finished" not in top and "Details are in the thread" not in top


def test_a_vietnamese_channel_reads_errors_resumes_and_expiries_in_vietnamese(
    standin: SlackStandIn, store: StateStore
) -> None:
    failing, plan_id, ts, plan = setup(standin, store, fake_execute(raise_=True), language="vi")
    failing._run_new(plan_id)
    top = shown(standin.messages[(CHANNEL, ts)])
    assert "Dọn dẹp thất bại" in top and "AWS fell over" in top and "Cleanup failed" not in top
    stopped = " ".join(shown(m) for m in standin.thread(CHANNEL, ts))
    assert "Việc dọn dẹp đã dừng vì lỗi" in stopped and "stopped with an error" not in stopped

    runner, resumed_id, resumed_ts, _ = setup(standin, store, fake_execute(), language="vi", lease_seconds=1.0)
    old = store.create_plan(plan, CHANNEL, "UREQ", ttl_seconds=0.01)
    old_ts = str(WebClient(base_url=standin.api_url).chat_postMessage(channel=CHANNEL, text="p")["ts"])
    store.set_message(old.id, old_ts)
    assert store.start_run(resumed_id, "dead-runner", now=time.time() - 10)
    time.sleep(0.05)
    runner.sweep()
    runner._pool.shutdown(wait=True)
    expired = shown(standin.messages[(CHANNEL, old_ts)])
    assert "Kế hoạch này đã hết hạn" in expired and "expired" not in expired
    notices = " ".join(shown(m) for m in standin.thread(CHANNEL, resumed_ts))
    assert "Ứng dụng đã khởi động lại" in notices and "Tiếp tục dọn dẹp" in notices
    assert "restarted" not in notices and "Resuming" not in notices

    # approving it again is refused in the channel's words, its state included
    record = store.get(resumed_id)
    assert record is not None and record.status == "done"
    service = CleanupService(Settings(language="vi"), store, runner.aws, runner.slack, {}, runner)
    # a fresh context: no person's language left over from an earlier request (test) on this thread
    problem = contextvars.Context().run(service.state_problem, record)
    assert "đã được <@UAPP> duyệt" in problem and "hoàn tất" in problem and "done" not in problem


def test_the_feed_speaks_the_channel_language(standin: SlackStandIn, store: StateStore) -> None:
    runner, plan_id, _ts, _ = setup(standin, store, fake_execute())
    runner._run_new(plan_id)
    Feed(store, runner.slack, "CFEED", "vi").run_finished(plan_id)
    [notice] = [m for (channel, _), m in standin.messages.items() if channel == "CFEED"]
    assert "Đã dọn dẹp xong dogcat" in shown(notice) and "Cleanup of" not in shown(notice)
