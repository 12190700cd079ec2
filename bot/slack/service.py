"""What the listeners do, without Bolt: parse the command, scan and post, eligibility, approval, cancel.

Listeners stay thin (ack, call one method here). The cleanup itself is the core's (scanner, executor) and the
state machine is the store's; this module is the conversation around them.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.aws.clients import Aws
from bot.config import Settings, is_region_name, split_list
from bot.core.accounts import Fleet, scan_fleet
from bot.core.keeps import KeepUntil, keep_date_problem, parse_date, snooze_until
from bot.core.plan import Plan, split_key
from bot.core.savings import MonthSavings, savings_report
from bot.core.scanner import ScanError, check_regions, scan
from bot.core.state import PlanRecord, StateStore
from bot.i18n import DEFAULT_LANGUAGE, N_, Translator, translator
from bot.profiles import Profile
from bot.slack import blocks
from bot.slack.blocks.replies import STATUS_WORDS
from bot.slack.installation import Installation
from bot.slack.people import People
from bot.slack.runner import Runner
from bot.slack.web import SlackWeb

log = logging.getLogger(__name__)

_PLAN_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
NOT_IN_CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
# The audit action that records who asked for a scheduled reminder's cleanup: the first eligible person to confirm.
REMINDER_REQUESTED = "reminder-requested"
# The language of the person the current request answers (their Slack locale), set where a request comes in, so that
# every refusal on the way is written in it; "" means CLEANUP_LANGUAGE.
_READER: contextvars.ContextVar[str] = contextvars.ContextVar("reader_language", default="")


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
        installation: Installation | None = None,
        people: People | None = None,
    ) -> None:
        self.settings, self.store, self.aws, self.slack = settings, store, aws, slack
        self.lang = settings.language  # channel messages: everyone there reads them
        self.people = people or People(slack.client, settings.language)  # what one person sees: their language
        self.installation = installation or Installation(slack)  # whose members may approve
        self.fleet = fleet or Fleet(aws)  # CLEANUP_ACCOUNTS; without it, the credentials' own account
        self.profiles = dict(profiles)
        self.runner = runner
        self.clock: Callable[[], float] = time.time  # owners' answers and keeps are dated by it (tests move it)
        self._scan = scan_fn or (
            lambda aws, profile, regions: scan(aws, profile, regions, keeps=self.store.keeps(self.clock()))
        )
        # Scans run here, not in Bolt's listener pool, so a slow AWS never delays another request's ack.
        self._scans = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scan")

    @staticmethod
    def begin_request() -> None:
        """A new request: nobody's language is known yet. Bolt reuses its threads, and with them their context:
        the previous request's reader must not answer this one."""
        _READER.set("")

    def _reader(self, user: str, cached_only: bool = False) -> str:
        """Write what follows for `user`: their language (only if already known when `cached_only`)."""
        lang = self.people.cached(user) if cached_only else self.people.language(user)
        _READER.set(lang or self.lang)
        return lang or self.lang

    def _t(self) -> Translator:
        """The words of the person the current request answers."""
        return translator(_READER.get() or self.lang)

    def close(self) -> None:
        self._scans.shutdown(wait=False, cancel_futures=True)
        self.runner.stop()

    # -- /cleanup ----------------------------------------------------------------------------------------------

    def parse_command(self, text: str, user: str = "") -> CommandReply:
        """Cheap and local (no AWS call, no Slack call: `user`'s language only if already known): runs before the
        ack, whose reply only `user` sees."""
        lang = self._reader(user, cached_only=True)
        t = self._t()
        words = split_list(text)  # "us-east-1,us-west-2" and "us-east-1 us-west-2" alike
        if not words or words[0].lower() in ("help", "-h", "--help", "usage"):
            return CommandReply(t._("How to use /cleanup"), self._usage())
        if words[0].lower() == "history":
            return CommandReply(t._("Last cleanups"), blocks.history_blocks(self.store.history(10), lang))
        if words[0].lower() == "savings":
            rows = self.savings()
            return CommandReply(blocks.savings_text(rows, lang), blocks.savings_blocks(rows, lang))
        name, region_words = words[0], [w for w in words[1:] if not _ACCOUNT_ID_RE.match(w.strip(","))]
        accounts = tuple(dict.fromkeys(w.strip(",") for w in words[1:] if _ACCOUNT_ID_RE.match(w.strip(","))))
        profile = self.profiles.get(name)
        if profile is None:
            known = ", ".join(f"`{blocks.esc(p)}`" for p in sorted(self.profiles)) or t._("none")
            shown = blocks.clip(name, 100)  # whatever was typed, the reply stays readable
            there_is_none = t._("There is no profile `{name}`. Profiles: {known}.", name=blocks.esc(shown), known=known)
            return CommandReply(
                t._("Unknown profile {name}", name=shown), [blocks.section(there_is_none), *self._usage()]
            )
        regions = tuple(dict.fromkeys(w.strip(",") for w in region_words if w.strip(","))) or self.settings.regions
        bad = [r for r in regions if not is_region_name(r)]
        try:
            if bad:
                raise ScanError(f"unknown AWS region {', '.join(blocks.clip(r, 60) for r in bad[:5])}")
            check_regions(self.aws, regions)
        except ScanError as e:
            known_regions = sorted(self.aws.known_regions())
            problem = t._(
                "{problem}. Regions: {regions}",
                problem=blocks.esc(str(e).split(";")[0]).capitalize(),
                regions=", ".join(f"`{r}`" for r in known_regions),
            )
            return CommandReply(t._("Unknown region"), [blocks.section(blocks.clip(problem, blocks.MAX_TEXT))])
        configured = self.fleet.known_ids()  # without an AWS call; None when not known yet (checked after the ack)
        unknown = [a for a in accounts if configured is not None and a not in configured]
        if unknown:
            listed = ", ".join(f"`{a}`" for a in (configured or [])) or t._("none")
            problem = t._(
                "Account {accounts} is not configured for cleanups. Configured accounts: {listed}.",
                accounts=", ".join(f"`{a}`" for a in unknown[:5]),
                listed=listed,
            )
            return CommandReply(t._("Unknown account"), [blocks.section(blocks.clip(problem, blocks.MAX_TEXT))])
        where = ", ".join(regions)
        if accounts:
            where = t._("{regions} of account {accounts}", regions=where, accounts=", ".join(accounts))
        return CommandReply(
            t._("Scanning AWS for {profile} in {where}…", profile=profile.name, where=where),
            [
                blocks.context(
                    t._(
                        ":mag: Scanning AWS for `{profile}` in {where}… The plan will appear in this channel.",
                        profile=blocks.esc(profile.name),
                        where=where,
                    )
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
        profiles = {n: p.description for n, p in self.profiles.items()}
        return blocks.usage_blocks(profiles, self.settings.regions, _READER.get() or self.lang)

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
        self._reader(user)
        try:
            self.scan_and_post(profile, regions, user, channel, response_url, accounts)
        except Exception:
            log.exception("scan for %s failed", user)
            sorry = self._t()._("Sorry, the scan failed unexpectedly; the app's log has details.")
            self.slack.ephemeral(channel, user, sorry, response_url)

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
            self.slack.ephemeral(channel, user, self._t()._("The scan could not run: {error}", error=e), response_url)
            return None
        record = self.store.create_plan(plan, channel, user, self.settings.plan_ttl_minutes * 60)
        if not plan.to_delete:  # settled before anyone can see the message, so history never shows it pending
            self.store.cancel(record.id, "system", "nothing to delete")
        ctx = blocks.PlanContext(record.id, user, record.expires_at)
        ts, error = self.slack.post_checked(
            channel, blocks.plan_text(plan, self.lang), blocks.plan_blocks(plan, ctx, lang=self.lang)
        )
        if error:
            self.store.cancel(record.id, "system", f"could not post the plan: {error}")
            if error in NOT_IN_CHANNEL_ERRORS:
                self.slack.ephemeral(channel, user, blocks.not_in_channel_text(channel, _READER.get()), response_url)
            else:
                log.warning("posting the plan failed: %s", error)
                refused = self._t()._("I could not post the plan here (Slack said `{error}`).", error=error)
                self.slack.ephemeral(channel, user, refused, response_url)
            return None
        self.store.set_message(record.id, ts)
        if plan.to_delete and blocks.needs_full_list(plan):
            for message in blocks.full_list_messages(plan, self.lang):
                self.slack.post(channel, translator(self.lang)._("Full list of the plan"), message, ts)
        return self.store.get(record.id)

    # -- eligibility -------------------------------------------------------------------------------------------

    def ineligible(self, user: str, record: PlanRecord, team: str | None = None) -> str:
        """Why `user` may not approve `record`, or "" when they may.

        `team` is the `user.team_id` of the Slack payload the user acted in ("" when it had none); None only for
        callers that have no payload (tests). A listed approver need not belong to the installing workspace."""
        approvers = self.settings.approvers
        if approvers and user not in approvers:
            names = ", ".join(f"<@{a}>" for a in sorted(approvers))
            return self._t()._("Only the configured approvers can approve a cleanup: {names}.", names=names)
        if team is not None and user not in approvers:
            outsider = self.outsider(team)
            if outsider:
                return outsider
        if not self.settings.allow_self_approval and not self._someone_else_asked(record, user):
            return self._t()._("You asked for this cleanup, so a teammate must approve it (two-person rule).")
        return ""

    def outsider(self, team: str) -> str:
        """Why a user whose payload says `team` is not a member of the installing workspace, or "" when they are."""
        home = self.installation.workspace()
        if home is None:  # fail closed: membership unproven is membership refused
            return self._t()._(
                "I could not check which workspace you belong to (Slack did not answer); try again in a minute."
            )
        if home.has_team(team):
            return ""
        return self._t()._(
            "Only members of this workspace can approve or change a cleanup; you're here from another "
            "organization (a shared Slack Connect channel). Ask a member, or an operator can add you to "
            "CLEANUP_APPROVERS."
        )

    def foreign_command(self, team_id: str, enterprise_id: str) -> str:
        """Why a /cleanup sent from `team_id` / `enterprise_id` is refused, or "" when it is the installation's."""
        _READER.set("")  # a stranger's command: answered in CLEANUP_LANGUAGE, not in a previous reader's
        home = self.installation.workspace()
        if home is None:
            return self._t()._(
                "I could not check which workspace this command comes from (Slack did not answer); try again."
            )
        if home.has_command_from(team_id, enterprise_id):
            return ""
        return self._t()._(
            "This app cleans up for its own workspace only; /cleanup from another organization is not accepted."
        )

    def asked(self, record: PlanRecord) -> list[str]:
        """Who asked for `record`: its requester; for a scheduled reminder's plan, everyone whose confirm was
        recorded as the request, first first (none until someone confirms). Read from the append-only audit log,
        so a request, once recorded, is never lost."""
        if record.requester != blocks.REMINDER_REQUESTER:
            return [record.requester]
        entries = self.store.audit_log(record.id)
        return list(dict.fromkeys(e.actor for e in entries if e.action == REMINDER_REQUESTED))

    def requester_of(self, record: PlanRecord) -> str:
        """The one person shown as asking ("" for a reminder's plan nobody has confirmed yet)."""
        return next(iter(self.asked(record)), "")

    def _someone_else_asked(self, record: PlanRecord, user: str) -> bool:
        """Whether a person other than `user` asked: what makes `user`'s confirm a second person's. A reminder's
        plan nobody asked for counts as asked (the confirm then becomes the request, see `submit`)."""
        asked = self.asked(record)
        return not asked or any(a != user for a in asked)

    def _awaits_request(self, record: PlanRecord, user: str) -> bool:
        """A reminder's plan that only `user` (or nobody) asked for: their confirm is the request, not approval."""
        return (
            record.requester == blocks.REMINDER_REQUESTER
            and not self.settings.allow_self_approval
            and all(a == user for a in self.asked(record))
        )

    def _request_reminder(self, record: PlanRecord, user: str) -> bool:
        """Record `user`'s confirm as a request for a reminder's plan. True when it stays the request; False when
        someone else asked too, meanwhile (two confirms raced): then `user`'s confirm is the second person's."""
        self.store.audit(record.id, user, REMINDER_REQUESTED, "confirmed a scheduled reminder's plan")
        return all(a == user for a in self.asked(record))

    def wrong_channel(self, record: PlanRecord, channel: str) -> str:
        """Why a click from `channel` may not act on `record`, or "" when it comes from the plan's own message.

        Slack sends the channel of the message whose button was clicked, so a mismatch is a crafted request.
        """
        if channel == record.channel:
            return ""
        return self._t()._(
            "This plan belongs to {channel}; use the buttons on its message there.", channel=f"<#{record.channel}>"
        )

    def state_problem(self, record: PlanRecord) -> str:
        """Why `record` cannot be approved now, or "" when it can."""
        t = self._t()
        if record.status == "pending" and record.expired():
            self.runner.expire(record)
            return t._("This plan has expired. Run /cleanup again for a fresh scan.")
        if record.status == "pending":
            return ""
        if record.status == "expired":
            return t._("This plan has expired. Run /cleanup again for a fresh scan.")
        if record.status == "cancelled":
            return t._("This plan was cancelled.")
        status = t._(STATUS_WORDS[record.status]) if record.status in STATUS_WORDS else record.status
        if record.approver:
            return t._(
                "This plan was already approved by {user}; it is {status}.", user=f"<@{record.approver}>", status=status
            )
        return t._("This plan was already approved; it is {status}.", status=status)

    # -- the delete button -------------------------------------------------------------------------------------

    def click_delete(self, plan_id: str, user: str, trigger_id: str, channel: str, team: str | None = None) -> None:
        lang = self._reader(user)  # the modal and any refusal: in the clicker's language
        record = self.store.get(plan_id) if _PLAN_ID_RE.match(plan_id) else None  # one indexed local read
        if record is None:
            self.slack.ephemeral(channel, user, self._t()._("I don't know this plan any more. Run /cleanup again."))
            return
        problem = (
            self.wrong_channel(record, channel) or self.ineligible(user, record, team) or self.state_problem(record)
        )
        if problem:
            self.slack.ephemeral(channel, user, problem)
            self.store.audit(plan_id, user, "approval-refused", problem)
            return
        ctx = blocks.PlanContext(record.id, self.requester_of(record) or record.requester, record.expires_at)
        view = blocks.confirm_modal(record.plan, ctx, lang)
        if self._awaits_request(record, user):
            _before_input(view["blocks"], blocks.context(self._t()._(REQUEST_NOTE)))
        if self.slack.open_view(trigger_id, view):
            self.store.audit(plan_id, user, "confirm-opened")

    # -- the cancel button -------------------------------------------------------------------------------------

    def _message_ts(self, record: PlanRecord, clicked_ts: str) -> str:
        """The plan message's ts: stored once posted, or (when the click beat the store) the clicked message's."""
        if record.message_ts or not clicked_ts:
            return record.message_ts
        self.store.set_message(record.id, clicked_ts)
        return clicked_ts

    def click_cancel(
        self, plan_id: str, user: str, channel: str, message_ts: str = "", team: str | None = None
    ) -> None:
        self._reader(user)
        record = self.store.get(plan_id) if _PLAN_ID_RE.match(plan_id) else None
        if record is None:
            self.slack.ephemeral(channel, user, self._t()._("I don't know this plan any more."))
            return
        wrong = self.wrong_channel(record, channel)
        if wrong:
            self.slack.ephemeral(channel, user, wrong)
            self.store.audit(plan_id, user, "cancel-refused", wrong)
            return
        if user not in self.asked(record) and self.ineligible(user, record, team):
            self.slack.ephemeral(channel, user, self._t()._("Only the requester or an approver can cancel this plan."))
            return
        if not self.store.cancel(plan_id, user, f"cancelled by {user}"):
            fresh = self.store.get(plan_id)
            self.slack.ephemeral(
                channel, user, self.state_problem(fresh) if fresh else self._t()._("This plan is gone.")
            )
            return
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        self.slack.update(
            record.channel,
            self._message_ts(record, message_ts),
            translator(self.lang)._("Cleanup cancelled"),
            blocks.plan_blocks(record.plan, ctx, blocks.status_cancelled(user, self.lang), lang=self.lang),
        )

    # -- owners' answers: snooze 1 day, keep until a date ----------------------------------------------------

    def _answerable(
        self, plan_id: str, user: str, channel: str, verb: str, team: str | None = None
    ) -> PlanRecord | None:
        """The plan `user` may answer now (the requester, or anyone eligible to approve), or None once they have
        been told why not."""
        self._reader(user)
        t = self._t()
        record = self.store.get(plan_id) if _PLAN_ID_RE.match(plan_id) else None
        if record is None:
            self.slack.ephemeral(channel, user, t._("I don't know this plan any more. Run /cleanup again."))
            return None
        problem = self.wrong_channel(record, channel)
        if not problem and user not in self.asked(record) and self.ineligible(user, record, team):
            if verb == "snooze":
                problem = t._("Only the requester or an approver can snooze this plan; nothing was changed.")
            else:
                problem = t._("Only the requester or an approver can keep this plan; nothing was changed.")
        problem = problem or self.state_problem(record)
        if problem:
            self.slack.ephemeral(channel, user, problem)
            self.store.audit(plan_id, user, f"{verb.split()[0]}-refused", problem)
            return None
        return record

    def click_snooze(
        self, plan_id: str, user: str, channel: str, message_ts: str = "", team: str | None = None
    ) -> None:
        """The reminders of this profile in this channel come a day later than they would have; the plan is
        settled (cancelled, so it can never be approved afterwards) and its message says so."""
        record = self._answerable(plan_id, user, channel, "snooze", team)
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
        status = blocks.status_snoozed(user, until, scheduled=reminder is not None, lang=self.lang)
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        self.slack.update(
            record.channel,
            self._message_ts(record, message_ts),
            translator(self.lang)._("Reminder snoozed"),
            blocks.plan_blocks(record.plan, ctx, status, lang=self.lang),
        )

    def pick_keep_until(
        self, plan_id: str, user: str, channel: str, selected_date: str, message_ts: str = "", team: str | None = None
    ) -> None:
        """Keep every resource the plan would delete until `selected_date` (a datepicker's YYYY-MM-DD, after today
        and at most 90 days ahead); recorded, audited, and the plan settled."""
        record = self._answerable(plan_id, user, channel, "keep", team)
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
        status = blocks.status_kept(user, until.isoformat(), len(kept), self.lang)
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        ts = self._message_ts(record, message_ts)
        kept_text = translator(self.lang)._("Resources kept")
        self.slack.update(record.channel, ts, kept_text, blocks.plan_blocks(plan, ctx, status, lang=self.lang))

    def _lost(self, plan_id: str, user: str, channel: str) -> None:
        """The plan changed between the check and the compare-and-set (approved meanwhile...): say how it is."""
        fresh = self.store.get(plan_id)
        gone = self._t()._("This plan is gone.")
        self.slack.ephemeral(channel, user, (self.state_problem(fresh) if fresh else gone) or "")

    # -- what cleanups saved -----------------------------------------------------------------------------------

    def savings(self, months: int = 6) -> list[MonthSavings]:
        return savings_report(self.store, self.clock(), months, blocks.REMINDER_REQUESTER)

    # -- the modal submission ----------------------------------------------------------------------------------

    def submit(self, plan_id: str, user: str, typed: str, team: str | None = None) -> dict[str, str]:
        """Check and approve. Returns the modal's errors, or {} when accepted (the caller then calls `confirmed`):
        approved, or for a scheduled reminder's plan nobody had asked for, recorded as the request."""

        def refuse(message: str, action: str = "approval-refused") -> dict[str, str]:
            if record is not None:
                self.store.audit(record.id, user, action, message)
            return {blocks.CONFIRM_BLOCK: blocks.clip(message, 150)}

        self._reader(user)  # the modal's errors: in the submitter's language
        t = self._t()
        record = self.store.get(plan_id) if _PLAN_ID_RE.match(plan_id) else None
        if record is None:
            log.warning("submission for an unknown plan by %s", user)
            return refuse(t._("This confirmation does not match a plan. Run /cleanup again."))
        problem = self.ineligible(user, record, team) or self.state_problem(record)
        if problem:
            return refuse(problem)
        if typed.strip() != blocks.CONFIRM_WORD:
            mistyped = t._("Type exactly {word} to delete; nothing was deleted.", word=blocks.CONFIRM_WORD)
            return refuse(mistyped, "confirm-mistyped")
        if self._awaits_request(record, user) and self._request_reminder(record, user):
            return {}  # the request: a teammate's confirm approves it
        if not self.store.approve(plan_id, user):
            fresh = self.store.get(plan_id)
            return refuse(self.state_problem(fresh) if fresh else t._("This plan is gone."))
        return {}

    def approved(self, plan_id: str) -> None:
        self.runner.start(plan_id)

    def confirmed(self, plan_id: str, user: str) -> None:
        """After an accepted confirm's ack: start the run `user` approved, or show that they asked for a scheduled
        reminder's cleanup and a teammate must now confirm it."""
        record = self.store.get(plan_id)
        if record is None:
            return
        if record.status == "approved" and record.approver == user:
            self.runner.start(plan_id)
        elif record.status == "pending" and user in self.asked(record):
            self._show_request(record, self.requester_of(record))

    def _show_request(self, record: PlanRecord, user: str) -> None:
        ctx = blocks.PlanContext(record.id, record.requester, record.expires_at)
        body = blocks.plan_blocks(record.plan, ctx, lang=self.lang)
        _before_input(body, blocks.section(requested_text(user, self.lang)), kind="actions")
        self.slack.update(record.channel, record.message_ts, translator(self.lang)._("Cleanup requested"), body)


REQUEST_NOTE = N_(
    ":raised_hand: This plan comes from a scheduled reminder: your confirm records *you* as the one asking. "
    "Nothing is deleted until a teammate clicks Delete and types confirm too (two-person rule)."
)


def requested_text(user: str, lang: str = DEFAULT_LANGUAGE) -> str:
    return translator(lang)._(
        ":raised_hand: {user} asked to delete these. A teammate must now click Delete and type confirm "
        "(two-person rule).",
        user=f"<@{blocks.esc(user)}>",
    )


def _before_input(body: list[dict[str, Any]], block: dict[str, Any], kind: str = "input") -> None:
    """Insert `block` before the last block of type `kind` (the modal's input, the message's buttons)."""
    at = next((i for i in range(len(body) - 1, -1, -1) if body[i].get("type") == kind), len(body))
    body.insert(at, block)
