"""What the listeners do, without Bolt: parse the command, scan and post, eligibility, approval, cancel.

Listeners stay thin (ack, call one method here). The cleanup itself is the core's (scanner, executor) and the
state machine is the store's; this module is the conversation around them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.aws.clients import Aws
from bot.config import Settings, is_region_name
from bot.core.accounts import Fleet, scan_fleet
from bot.core.keeps import KeepUntil, keep_date_problem, parse_date, snooze_until
from bot.core.plan import Plan, split_key
from bot.core.savings import MonthSavings, savings_report
from bot.core.scanner import ScanError, check_regions, scan
from bot.core.state import PlanRecord, StateStore
from bot.profiles import Profile
from bot.slack import blocks
from bot.slack.runner import Runner
from bot.slack.web import SlackWeb

log = logging.getLogger(__name__)

_PLAN_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
NOT_IN_CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


@dataclass(frozen=True)
class CommandReply:
    """What the ack of a /cleanup carries; `scan` set when a scan must follow the ack."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    scan: tuple[Profile, tuple[str, ...]] | None = None
    accounts: tuple[str, ...] = ()  # account IDs the scan is narrowed to (of CLEANUP_ACCOUNTS); empty: all


class CleanupService:
    def __init__(
        self,
        settings: Settings,
        store: StateStore,
        aws: Aws,
        slack: SlackWeb,
        profiles: Mapping[str, Profile],
        runner: Runner,
        scan_fn: Callable[[Aws, Profile, tuple[str, ...]], Plan] | None = None,
        fleet: Fleet | None = None,
    ) -> None:
        self.settings, self.store, self.aws, self.slack = settings, store, aws, slack
        self.fleet = fleet or Fleet(aws)  # CLEANUP_ACCOUNTS; without it, the credentials' own account
        self.profiles = dict(profiles)
        self.runner = runner
        self.clock: Callable[[], float] = time.time  # owners' answers and keeps are dated by it (tests move it)
        self._scan = scan_fn or (
            lambda aws, profile, regions: scan(aws, profile, regions, keeps=self.store.keeps(self.clock()))
        )
        # Scans run here, not in Bolt's listener pool, so a slow AWS never delays another request's ack.
        self._scans = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scan")

    def close(self) -> None:
        self._scans.shutdown(wait=False, cancel_futures=True)
        self.runner.stop()

    # -- /cleanup ----------------------------------------------------------------------------------------------

    def parse_command(self, text: str) -> CommandReply:
        """Cheap and local (no AWS call): runs before the ack."""
        words = text.split()
        if not words or words[0].lower() in ("help", "-h", "--help", "usage"):
            return CommandReply("How to use /cleanup", self._usage())
        if words[0].lower() == "history":
            return CommandReply("Last cleanups", blocks.history_blocks(self.store.history(10)))
        if words[0].lower() == "savings":
            rows = self.savings()
            return CommandReply(blocks.savings_text(rows), blocks.savings_blocks(rows))
        name, region_words = words[0], [w for w in words[1:] if not _ACCOUNT_ID_RE.match(w.strip(","))]
        accounts = tuple(dict.fromkeys(w.strip(",") for w in words[1:] if _ACCOUNT_ID_RE.match(w.strip(","))))
        profile = self.profiles.get(name)
        if profile is None:
            known = ", ".join(f"`{blocks.esc(p)}`" for p in sorted(self.profiles)) or "none"
            shown = blocks.clip(name, 100)  # whatever was typed, the reply stays readable
            return CommandReply(
                f"Unknown profile {shown}",
                [blocks.section(f"There is no profile `{blocks.esc(shown)}`. Profiles: {known}."), *self._usage()],
            )
        regions = tuple(dict.fromkeys(w.strip(",") for w in region_words if w.strip(","))) or self.settings.regions
        bad = [r for r in regions if not is_region_name(r)]
        try:
            if bad:
                raise ScanError(f"unknown AWS region {', '.join(blocks.clip(r, 60) for r in bad[:5])}")
            check_regions(self.aws, regions)
        except ScanError as e:
            known_regions = sorted(self.aws.known_regions())
            return CommandReply(
                "Unknown region",
                [
                    blocks.section(
                        blocks.clip(
                            f"{blocks.esc(str(e).split(';')[0]).capitalize()}. Regions: "
                            + ", ".join(f"`{r}`" for r in known_regions),
                            blocks.MAX_TEXT,
                        )
                    )
                ],
            )
        configured = self.fleet.known_ids()  # without an AWS call; None when not known yet (checked after the ack)
        unknown = [a for a in accounts if configured is not None and a not in configured]
        if unknown:
            listed = ", ".join(f"`{a}`" for a in (configured or [])) or "none"
            return CommandReply(
                "Unknown account",
                [
                    blocks.section(
                        blocks.clip(
                            f"Account {', '.join(f'`{a}`' for a in unknown[:5])} is not configured for cleanups. "
                            f"Configured accounts: {listed}.",
                            blocks.MAX_TEXT,
                        )
                    )
                ],
            )
        where = ", ".join(regions) + (f" of account {', '.join(accounts)}" if accounts else "")
        return CommandReply(
            f"Scanning AWS for {profile.name} in {where}…",
            [
                blocks.context(
                    f":mag: Scanning AWS for `{blocks.esc(profile.name)}` in {where}… "
                    "The plan will appear in this channel."
                )
            ],
            scan=(profile, regions),
            accounts=accounts,
        )

    def scan_plan(self, profile: Profile, regions: tuple[str, ...], user: str, accounts: tuple[str, ...] = ()) -> Plan:
        """One account's plan, or with CLEANUP_ACCOUNTS one plan of every account (or of `accounts`), each
        account scanned by the same scan function on its own credentials. ScanError for an unknown account."""
        if not self.fleet.enabled:
            if accounts:
                self.fleet.select(accounts)  # only the credentials' own account is configured
            return self._scan(self.aws, profile, regions)
        return scan_fleet(
            self.fleet,
            profile,
            regions,
            accounts,
            requester=user,
            scan_fn=lambda aws, profile, regions, _now: self._scan(aws, profile, tuple(regions)),
        )

    def _usage(self) -> list[dict[str, Any]]:
        return blocks.usage_blocks({n: p.description for n, p in self.profiles.items()}, self.settings.regions)

    def submit_scan(
        self,
        profile: Profile,
        regions: tuple[str, ...],
        user: str,
        channel: str,
        response_url: str,
        accounts: tuple[str, ...] = (),
    ) -> None:
        self._scans.submit(self._guarded_scan, profile, regions, user, channel, response_url, accounts)

    def _guarded_scan(
        self,
        profile: Profile,
        regions: tuple[str, ...],
        user: str,
        channel: str,
        response_url: str,
        accounts: tuple[str, ...] = (),
    ) -> None:
        try:
            self.scan_and_post(profile, regions, user, channel, response_url, accounts)
        except Exception:
            log.exception("scan for %s failed", user)
            self.slack.ephemeral(
                channel, user, "Sorry, the scan failed unexpectedly; the app's log has details.", response_url
            )

    def scan_and_post(
        self,
        profile: Profile,
        regions: tuple[str, ...],
        user: str,
        channel: str,
        response_url: str = "",
        accounts: tuple[str, ...] = (),
    ) -> PlanRecord | None:
        try:
            plan = self.scan_plan(profile, regions, user, accounts)
        except ScanError as e:
            self.slack.ephemeral(channel, user, f"The scan could not run: {e}", response_url)
            return None
        record = self.store.create_plan(plan, channel, user, self.settings.plan_ttl_minutes * 60)
        if not plan.to_delete:  # settled before anyone can see the message, so history never shows it pending
            self.store.cancel(record.id, "system", "nothing to delete")
        ctx = blocks.PlanContext(record.id, user, record.expires_at)
        ts, error = self.slack.post_checked(channel, blocks.plan_text(plan), blocks.plan_blocks(plan, ctx))
        if error:
            self.store.cancel(record.id, "system", f"could not post the plan: {error}")
            if error in NOT_IN_CHANNEL_ERRORS:
                self.slack.ephemeral(channel, user, blocks.not_in_channel_text(channel), response_url)
            else:
                log.warning("posting the plan failed: %s", error)
                self.slack.ephemeral(
                    channel, user, f"I could not post the plan here (Slack said `{error}`).", response_url
                )
            return None
        self.store.set_message(record.id, ts)
        if plan.to_delete and blocks.needs_full_list(plan):
            for message in blocks.full_list_messages(plan):
                self.slack.post(channel, "Full list of the plan", message, ts)
        return self.store.get(record.id)

    # -- eligibility -------------------------------------------------------------------------------------------

    def ineligible(self, user: str, record: PlanRecord) -> str:
        """Why `user` may not approve `record`, or "" when they may."""
        approvers = self.settings.approvers
        if approvers and user not in approvers:
            names = ", ".join(f"<@{a}>" for a in sorted(approvers))
            return f"Only the configured approvers can approve a cleanup: {names}."
        if user == record.requester and not self.settings.allow_self_approval:
            return "You asked for this cleanup, so a teammate must approve it (two-person rule)."
        return ""

    @staticmethod
    def wrong_channel(record: PlanRecord, channel: str) -> str:
        """Why a click from `channel` may not act on `record`, or "" when it comes from the plan's own message.

        Slack sends the channel of the message whose button was clicked, so a mismatch is a crafted request.
        """
        if channel == record.channel:
            return ""
        return f"This plan belongs to <#{record.channel}>; use the buttons on its message there."

    def state_problem(self, record: PlanRecord) -> str:
        """Why `record` cannot be approved now, or "" when it can."""
        if record.status == "pending" and record.expired():
            self.runner.expire(record)
            return "This plan has expired. Run /cleanup again for a fresh scan."
        if record.status == "pending":
            return ""
        if record.status == "expired":
            return "This plan has expired. Run /cleanup again for a fresh scan."
        if record.status == "cancelled":
            return "This plan was cancelled."
        who = f" by <@{record.approver}>" if record.approver else ""
        return f"This plan was already approved{who}; it is {record.status}."

    # -- the delete button -------------------------------------------------------------------------------------

    def click_delete(self, plan_id: str, user: str, trigger_id: str, channel: str) -> None:
        record = self.store.get(plan_id) if _PLAN_ID_RE.match(plan_id) else None  # one indexed local read
        if record is None:
            self.slack.ephemeral(channel, user, "I don't know this plan any more. Run /cleanup again.")
            return
        problem = self.wrong_channel(record, channel) or self.ineligible(user, record) or self.state_problem(record)
        if problem:
            self.slack.ephemeral(channel, user, problem)
            self.store.audit(plan_id, user, "approval-refused", problem)
            return
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        if self.slack.open_view(trigger_id, blocks.confirm_modal(record.plan, ctx)):
            self.store.audit(plan_id, user, "confirm-opened")

    # -- the cancel button -------------------------------------------------------------------------------------

    def _message_ts(self, record: PlanRecord, clicked_ts: str) -> str:
        """The plan message's ts: stored once posted, or (when the click beat the store) the clicked message's."""
        if record.message_ts or not clicked_ts:
            return record.message_ts
        self.store.set_message(record.id, clicked_ts)
        return clicked_ts

    def click_cancel(self, plan_id: str, user: str, channel: str, message_ts: str = "") -> None:
        record = self.store.get(plan_id) if _PLAN_ID_RE.match(plan_id) else None
        if record is None:
            self.slack.ephemeral(channel, user, "I don't know this plan any more.")
            return
        wrong = self.wrong_channel(record, channel)
        if wrong:
            self.slack.ephemeral(channel, user, wrong)
            self.store.audit(plan_id, user, "cancel-refused", wrong)
            return
        if user != record.requester and self.ineligible(user, record):
            self.slack.ephemeral(channel, user, "Only the requester or an approver can cancel this plan.")
            return
        if not self.store.cancel(plan_id, user, f"cancelled by {user}"):
            fresh = self.store.get(plan_id)
            self.slack.ephemeral(channel, user, self.state_problem(fresh) if fresh else "This plan is gone.")
            return
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        self.slack.update(
            record.channel,
            self._message_ts(record, message_ts),
            "Cleanup cancelled",
            blocks.plan_blocks(record.plan, ctx, blocks.status_cancelled(user)),
        )

    # -- owners' answers: snooze 1 day, keep until a date ----------------------------------------------------

    def _answerable(self, plan_id: str, user: str, channel: str, verb: str) -> PlanRecord | None:
        """The plan `user` may answer now (the requester, or anyone eligible to approve), or None once they have
        been told why not."""
        record = self.store.get(plan_id) if _PLAN_ID_RE.match(plan_id) else None
        if record is None:
            self.slack.ephemeral(channel, user, "I don't know this plan any more. Run /cleanup again.")
            return None
        problem = self.wrong_channel(record, channel)
        if not problem and user != record.requester and self.ineligible(user, record):
            problem = f"Only the requester or an approver can {verb} this plan; nothing was changed."
        problem = problem or self.state_problem(record)
        if problem:
            self.slack.ephemeral(channel, user, problem)
            self.store.audit(plan_id, user, f"{verb.split()[0]}-refused", problem)
            return None
        return record

    def click_snooze(self, plan_id: str, user: str, channel: str, message_ts: str = "") -> None:
        """The reminders of this profile in this channel come a day later than they would have; the plan is
        settled (cancelled, so it can never be approved afterwards) and its message says so."""
        record = self._answerable(plan_id, user, channel, "snooze")
        if record is None:
            return
        now = self.clock()
        key = f"{record.profile}@{record.channel}"
        reminder = next((r for r in self.settings.reminders if r.key == key), None)
        state = self.store.reminder(key) if reminder is not None else None
        due = state.due(reminder.interval) if state is not None and reminder is not None else now
        until = snooze_until(due, now)
        if not self.store.cancel(plan_id, user, f"snoozed for a day by {user}", now=now):
            self._lost(plan_id, user, channel)
            return
        self.store.snooze(key, plan_id, user, until, now)
        status = blocks.status_snoozed(user, until, scheduled=reminder is not None)
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        self.slack.update(
            record.channel,
            self._message_ts(record, message_ts),
            "Reminder snoozed",
            blocks.plan_blocks(record.plan, ctx, status),
        )

    def pick_keep_until(self, plan_id: str, user: str, channel: str, selected_date: str, message_ts: str = "") -> None:
        """Keep every resource the plan would delete until `selected_date` (a datepicker's YYYY-MM-DD, after today
        and at most 90 days ahead); recorded, audited, and the plan settled."""
        record = self._answerable(plan_id, user, channel, "keep")
        if record is None:
            return
        now = self.clock()
        problem = keep_date_problem(selected_date, now)
        until = parse_date(selected_date)
        if problem or until is None:
            self.slack.ephemeral(channel, user, problem)
            self.store.audit(plan_id, user, "keep-refused", problem)
            return
        plan = record.plan
        kept = [
            KeepUntil(split_key(r.key)[1], r.account_id or plan.account_id, until, user, now, plan_id)
            for r in plan.to_delete
        ]
        if not self.store.cancel(plan_id, user, f"kept until {until.isoformat()} by {user}", now=now):
            self._lost(plan_id, user, channel)
            return
        self.store.add_keeps(plan_id, kept, user, now)
        status = blocks.status_kept(user, until.isoformat(), len(kept))
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        ts = self._message_ts(record, message_ts)
        self.slack.update(record.channel, ts, "Resources kept", blocks.plan_blocks(plan, ctx, status))

    def _lost(self, plan_id: str, user: str, channel: str) -> None:
        """The plan changed between the check and the compare-and-set (approved meanwhile...): say how it is."""
        fresh = self.store.get(plan_id)
        self.slack.ephemeral(channel, user, (self.state_problem(fresh) if fresh else "This plan is gone.") or "")

    # -- what cleanups saved -----------------------------------------------------------------------------------

    def savings(self, months: int = 6) -> list[MonthSavings]:
        return savings_report(self.store, self.clock(), months, blocks.REMINDER_REQUESTER)

    # -- the modal submission ----------------------------------------------------------------------------------

    def submit(self, plan_id: str, user: str, typed: str) -> dict[str, str]:
        """Check and approve. Returns the modal's errors, or {} when approved (the caller then starts the run)."""

        def refuse(message: str, action: str = "approval-refused") -> dict[str, str]:
            if record is not None:
                self.store.audit(record.id, user, action, message)
            return {blocks.CONFIRM_BLOCK: blocks.clip(message, 150)}

        record = self.store.get(plan_id) if _PLAN_ID_RE.match(plan_id) else None
        if record is None:
            log.warning("submission for an unknown plan by %s", user)
            return refuse("This confirmation does not match a plan. Run /cleanup again.")
        problem = self.ineligible(user, record) or self.state_problem(record)
        if problem:
            return refuse(problem)
        if typed.strip() != blocks.CONFIRM_WORD:
            return refuse(f"Type exactly {blocks.CONFIRM_WORD} to delete; nothing was deleted.", "confirm-mistyped")
        if not self.store.approve(plan_id, user):
            fresh = self.store.get(plan_id)
            return refuse(self.state_problem(fresh) if fresh else "This plan is gone.")
        return {}

    def approved(self, plan_id: str) -> None:
        self.runner.start(plan_id)
