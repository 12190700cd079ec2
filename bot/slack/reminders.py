"""Scheduled reminders (CLEANUP_REMINDERS): every interval, scan a profile and remind a channel of an old stack.

For each entry `profile@CHANNEL:interval`, once per interval: scan the profile in CLEANUP_REGIONS; when anything
to delete was created longer than the interval ago, post the normal plan message to the channel (same buttons,
same teammate `confirm` approval, same state machine), with a banner saying it is a scheduled reminder and what
the stack has cost since it was created. Nothing old found: nothing is posted. When the previous reminder's plan
for the entry is still pending, that message is updated with the new plan instead of posting again (the old plan
is cancelled as superseded, compare-and-set, so it can never be approved afterwards).

Owners answer on the message: "Snooze 1 day" (the schedule's next reminder comes a day later than it would have:
a snooze record the lease honours) or "Keep until…" (what the plan offered is kept until that date: the scan
keeps it, so reminders do not offer it before the date, and do again after). A reminder nobody has answered for
3 intervals in a row (still pending, or expired, when the next one is due) mentions CLEANUP_APPROVERS once, in
its thread.

One run per interval, however many processes share the state store: each run is claimed through a lease row in
the store (compare-and-set on its due time); the stored last run survives restarts, so the schedule continues.

`ReminderScheduler.tick(now)` does one pass at the time `now`; tests call it directly with any clock. In the
app, `start()` runs a daemon thread that ticks every CLEANUP_REMINDER_POLL_SECONDS (default 30) with
`clock()`, which is the real time plus CLEANUP_TEST_CLOCK_OFFSET_SECONDS: a test-only hook (default 0) that
lets the end-to-end tests run the real app "hours later" without waiting. It shifts only this scheduler's clock
(due times, resource ages, cost since created), never plan expiry or anything else, and is logged when set.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.aws.clients import Aws
from bot.config import ConfigError, Reminder, Settings
from bot.core.keeps import UNANSWERED_INTERVALS
from bot.core.plan import Plan
from bot.core.scanner import ScanError, scan
from bot.core.state import PlanRecord, ReminderState, StateStore
from bot.i18n import translator
from bot.profiles import Profile
from bot.slack import blocks
from bot.slack.web import SlackWeb

log = logging.getLogger(__name__)

ACTOR = "reminder"

ScanFn = Callable[[Aws, Profile, tuple[str, ...], float], Plan]


def check_reminders(reminders: tuple[Reminder, ...], profiles: Mapping[str, Profile]) -> None:
    """Fail the start when an entry names a profile that does not exist."""
    for reminder in reminders:
        if reminder.profile not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(
                f"CLEANUP_REMINDERS: {reminder.text!r}: there is no profile {reminder.profile!r} (profiles: {known})"
            )


@dataclass(frozen=True)
class SchedulerOptions:
    poll_seconds: float = 30.0  # how often the background thread checks whether a reminder is due
    clock_offset: float = 0.0  # test hook: added to the real time by clock()
    retry_seconds: float = 15 * 60.0  # after a failed run (AWS unreachable...), try again this soon

    @classmethod
    def from_settings(cls, settings: Settings) -> SchedulerOptions:
        return cls(poll_seconds=settings.reminder_poll_seconds, clock_offset=settings.test_clock_offset_seconds)


class ReminderScheduler:
    def __init__(
        self,
        settings: Settings,
        store: StateStore,
        aws: Aws,
        slack: SlackWeb,
        profiles: Mapping[str, Profile],
        options: SchedulerOptions | None = None,
        scan_fn: ScanFn | None = None,
    ) -> None:
        self.settings, self.store, self.aws, self.slack = settings, store, aws, slack
        self.profiles = dict(profiles)
        self.options = options or SchedulerOptions()
        self.id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._scan = scan_fn or self._scan_with_keeps
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        check_reminders(settings.reminders, self.profiles)

    # -- life cycle --------------------------------------------------------------------------------------------

    def _scan_with_keeps(self, aws: Aws, profile: Profile, regions: tuple[str, ...], now: float) -> Plan:
        return scan(aws, profile, regions, now=now, keeps=self.store.keeps(now))

    def clock(self) -> float:
        return time.time() + self.options.clock_offset

    def start(self) -> None:
        if self._thread is not None or not self.settings.reminders:
            return
        if self.options.clock_offset:
            log.warning(
                "CLEANUP_TEST_CLOCK_OFFSET_SECONDS=%s: the reminder clock is shifted (a test setting)",
                self.options.clock_offset,
            )
        log.info("reminders: %s", ", ".join(r.text for r in self.settings.reminders))
        self._thread = threading.Thread(target=self._loop, name="cleanup-reminders", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick(self.clock())
            except Exception:
                log.exception("reminder pass failed")
            self._stop.wait(self.options.poll_seconds)

    # -- one pass ----------------------------------------------------------------------------------------------

    def tick(self, now: float) -> dict[str, str]:
        """Run every reminder due at `now` that this process wins; returns entry -> what the run did."""
        done: dict[str, str] = {}
        for reminder in self.settings.reminders:
            claimed = self.store.claim_reminder(reminder.key, reminder.interval, self.id, now)
            if claimed is None:
                continue
            unanswered: int | None = None
            try:
                outcome, plan_id, unanswered = self._run(reminder, claimed, now)
            except Exception as e:
                if isinstance(e, ScanError):  # AWS unreachable, no credentials: said plainly, no traceback
                    log.warning("reminder %s: the scan could not run: %s", reminder.text, e)
                else:
                    log.exception("reminder %s failed", reminder.text)
                outcome = f"failed: {type(e).__name__}: {e}"
                retry = now + min(reminder.interval, self.options.retry_seconds)
                self.store.retry_reminder(reminder.key, self.id, claimed, retry, blocks.clip(outcome, 500))
            else:
                self.store.finish_reminder(reminder.key, self.id, outcome, plan_id, unanswered)
            log.info("reminder %s: %s", reminder.text, outcome)
            done[reminder.text] = outcome
        return done

    def _run(self, reminder: Reminder, claimed: ReminderState, now: float) -> tuple[str, str | None, int]:
        """(what happened, the plan now offered or None, intervals in a row the offered reminder went unanswered)."""
        previous = self.store.get(claimed.plan_id) if claimed.plan_id else None
        if previous is not None and previous.status in ("approved", "running"):
            return f"the cleanup of the previous reminder's plan {previous.id} is {previous.status}", None, 0
        profile = self.profiles[reminder.profile]
        plan = self._scan(self.aws, profile, self.settings.regions, now)
        if not plan.to_delete:
            return "nothing to delete", None, 0
        old = [r for r in plan.to_delete if r.created_at is not None and r.created_at <= now - reminder.interval]
        if not old:
            return f"nothing older than {reminder.every}", None, 0
        # nobody answered the previous reminder (no delete, cancel, snooze or keep): one more interval unanswered
        ignored = previous is not None and previous.status in ("pending", "expired")
        unanswered = claimed.unanswered + 1 if ignored else 0
        outcome, plan_id = self._offer(reminder, plan, previous, len(old), unanswered)
        return outcome, plan_id, unanswered if plan_id else claimed.unanswered

    def _offer(
        self, reminder: Reminder, plan: Plan, previous: PlanRecord | None, old: int, unanswered: int = 0
    ) -> tuple[str, str | None]:
        ttl = self.settings.plan_ttl_minutes * 60
        record = self.store.create_plan(plan, reminder.channel, blocks.REMINDER_REQUESTER, ttl)
        self.store.audit(record.id, ACTOR, "reminder", f"{reminder.text}: {old} older than {reminder.every}")
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        lang = self.settings.language  # a channel message: the channel's language
        t = translator(lang)
        text = t._("Reminder: {plan}", plan=blocks.plan_text(plan, lang))
        body = blocks.plan_blocks(plan, ctx, lang=lang)
        ts = ""
        if (
            previous is not None
            and previous.status == "pending"
            and not previous.expired()
            and previous.channel == reminder.channel
            and previous.message_ts
            # the old plan can no longer be approved once cancelled; its message then offers the new one
            and self.store.cancel(previous.id, ACTOR, f"superseded by reminder plan {record.id}")
            and self.slack.update(reminder.channel, previous.message_ts, text, body)
        ):
            ts = previous.message_ts
        updated = bool(ts)
        if not ts:
            ts = self._post(reminder.channel, text, body)
        if not ts:
            self.store.cancel(record.id, "system", "could not post the reminder")
            return "could not post the reminder (see the log)", None
        self.store.set_message(record.id, ts)
        if blocks.needs_full_list(plan):
            for message in blocks.full_list_messages(plan, lang):
                self.slack.post(reminder.channel, t._("Full list of the plan"), message, ts)
        verb = f"updated the pending reminder (plan {previous.id})" if updated and previous else "posted"
        outcome = f"{verb}: plan {record.id}, {old} older than {reminder.every}"
        if unanswered == UNANSWERED_INTERVALS and self.settings.approvers:  # == : once per unanswered streak
            every = every_text(reminder, lang)
            mention = blocks.approvers_mention_text(self.settings.approvers, unanswered, every, lang)
            if self.slack.post(reminder.channel, t._("Reminder unanswered"), [blocks.section(mention)], ts):
                self.store.audit(record.id, ACTOR, "approvers-mentioned", f"unanswered for {unanswered} intervals")
                outcome += f"; mentioned the approvers ({unanswered} intervals unanswered)"
        return outcome, record.id

    def _post(self, channel: str, text: str, body: list[dict[str, Any]]) -> str:
        return self.slack.post(channel, text, body)


def every_text(reminder: Reminder, lang: str) -> str:
    """The interval for people, in their language: "24 hours", "24 giờ"."""
    t = translator(lang)
    unit = reminder.text.rsplit(":", 1)[-1][-1]
    seconds = {"m": 60, "h": 3600, "d": 86400}[unit]
    n = int(reminder.interval // seconds)
    if unit == "m":
        return t.n_("{n} minute", "{n} minutes", n)
    if unit == "h":
        return t.n_("{n} hour", "{n} hours", n)
    return t.n_("{n} day", "{n} days", n)
