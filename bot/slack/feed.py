"""The channel feed: one short notice in CLEANUP_NOTIFY_CHANNEL for every finished run, done or failed.

The runner calls `run_finished` once per run, after its compare-and-set to done/failed won, so a retried,
resumed or concurrent run never posts twice. Cancelled and expired plans never finish a run: they post nothing.
A failed notice lists what is still alive and what it still costs. Every notice adds the month's running total
of cost stopped (bot.core.savings). Slack errors are logged, never raised.
"""

from __future__ import annotations

import logging
import time

from bot.core.savings import savings_report
from bot.core.state import PlanRecord, StateStore
from bot.i18n import DEFAULT_LANGUAGE
from bot.slack import blocks
from bot.slack.web import SlackWeb

log = logging.getLogger(__name__)


class Feed:
    def __init__(self, store: StateStore, slack: SlackWeb, channel: str, language: str = DEFAULT_LANGUAGE) -> None:
        self.store, self.slack, self.channel = store, slack, channel
        self.lang = language  # the feed channel's readers: CLEANUP_LANGUAGE, like every channel message

    def run_finished(self, plan_id: str, error: str = "") -> None:
        record = self.store.get(plan_id)
        if record is None or record.status not in ("done", "failed"):
            return
        plan = record.plan
        stored = self.store.results(plan_id)
        ordered = [stored[r.key] for r in plan.to_delete if r.key in stored]
        notice = blocks.feed_blocks(
            plan,
            ordered,
            record.status,
            record.requester,
            record.approver,
            record.channel,
            self.permalink(record),
            record.id,
            error,
            self.month_total(record),
            lang=self.lang,
        )
        if self.slack.post(self.channel, blocks.feed_text(plan, ordered, record.status, self.lang), notice):
            self.store.audit(plan_id, "system", "feed-posted", self.channel)

    def month_total(self, record: PlanRecord) -> blocks.MonthTotal | None:
        """The running total of the month this run finished in (this run included), from the state store."""
        try:
            [month] = savings_report(self.store, record.finished_at or time.time(), 1, blocks.REMINDER_REQUESTER)
        except Exception:  # the notice goes out without it
            log.warning("the month's savings could not be read", exc_info=True)
            return None
        return blocks.MonthTotal(month.month, month.stopped, month.runs)

    def permalink(self, record: PlanRecord) -> str:
        """The link to the plan message (its thread holds the run), or "" when Slack cannot give one."""
        return self.slack.permalink(record.channel, record.message_ts)
