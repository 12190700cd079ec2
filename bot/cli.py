"""The operators' command line: `scan` prints a plan, `delete` deletes it after a typed `confirm`.

It renders the same plan and progress events as the Slack app, as text, in the operator's own language (their
POSIX locale: LC_ALL, LC_MESSAGES, LANG; else CLEANUP_LANGUAGE). The core's reasons are translated as they are
shown (bot/reasons_i18n.py); AWS's own messages stay as AWS wrote them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from babel.numbers import format_decimal

from bot.aws.clients import Aws
from bot.config import ConfigError, Settings, parse_regions
from bot.core.accounts import Fleet, UnknownAccountError, scan_fleet
from bot.core.executor import ExecutorOptions
from bot.core.keeps import KeepUntil
from bot.core.plan import (
    Plan,
    PlannedResource,
    ProgressEvent,
    ResourceResult,
    RunVerdict,
    is_refused,
    refusals,
    run_verdict,
    split_key,
)
from bot.core.runs import RunOwner
from bot.core.savings import MonthSavings, savings_report
from bot.core.scanner import ScanError, scan, scan_workers
from bot.core.state import StateStore
from bot.i18n import DEFAULT_LANGUAGE, N_, language_of, translator
from bot.profiles import Profile, ProfileError, load_profiles
from bot.reasons_i18n import translate_reason
from bot.slack.blocks import REMINDER_REQUESTER

EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_FAILED = 1

# English here; shown translated. What went wrong is shouted, so that it stands out in a long list.
_RESULT_WORDS = {
    "deleted": N_("deleted"),
    "already_gone": N_("already gone"),
    "skipped": N_("skipped"),
    "failed": N_("failed"),
}
_SHOUTED = frozenset({"skipped", "failed"})
_EVENT_WORDS = {"started": N_("started"), "waiting": N_("waiting"), **_RESULT_WORDS}
_LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX precedence: the first one set decides


def cli_language(env: Mapping[str, str] | None = None) -> str:
    """The operator's language: their POSIX locale's when the app has it, else CLEANUP_LANGUAGE, else English."""
    env = os.environ if env is None else env
    fallback = language_of(env.get("CLEANUP_LANGUAGE", ""), DEFAULT_LANGUAGE)
    for name in _LOCALE_VARIABLES:
        if env.get(name):
            return language_of(env[name], fallback)
    return fallback


def _result_word(status: str, lang: str) -> str:
    word = translator(lang)._(_RESULT_WORDS[status])
    return word.upper() if status in _SHOUTED else word


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with its "usage: " in the operator's language (argparse's own words are English)."""

    def __init__(self, prog: str, usage_prefix: str) -> None:
        super().__init__(prog)
        self._usage_prefix = usage_prefix

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, self._usage_prefix if prefix is None else prefix)


def build_parser(lang: str = DEFAULT_LANGUAGE) -> argparse.ArgumentParser:
    """The command line, its help in `lang` (headings, usage and every option's text)."""
    t = translator(lang)
    usage = t._("usage: ")

    def localized(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser._positionals.title = t._("positional arguments")  # argparse has no public way to name these
        parser._optionals.title = t._("options")
        parser.add_argument("-h", "--help", action="help", help=t._("show this help message and exit"))
        return parser

    options: dict[str, Any] = {"add_help": False, "formatter_class": lambda prog: _HelpFormatter(prog, usage)}
    parser = localized(
        argparse.ArgumentParser(
            prog="python -m bot", description=t._("Find and delete a workshop's AWS resources."), **options
        )
    )
    sub = parser.add_subparsers(dest="command", metavar="{scan,delete,savings,demo}")
    commands = (("scan", t._("print what a cleanup would delete")), ("delete", t._("scan, then delete on confirm")))
    for name, help_text in commands:
        p = localized(sub.add_parser(name, help=help_text, description=help_text, **options))
        p.add_argument("profile", help=t._("profile name, e.g. dogcat"))
        p.add_argument("--region", action="append", default=[], help=t._("region to scan (repeatable)"))
        p.add_argument(
            "--account",
            action="append",
            default=[],
            metavar="ID",
            help=t._("one of the configured accounts (CLEANUP_ACCOUNTS) to scan (repeatable; default: all of them)"),
        )
        if name == "scan":
            p.add_argument("--json", action="store_true", help=t._("print the plan as JSON"))
        else:
            p.add_argument("--dry-run", action="store_true", help=t._("print the plan, never delete"))
    demo = t._("run the whole conversation on an embedded AWS emulator and Slack stand-in")
    localized(sub.add_parser("demo", help=demo, description=demo, **options))
    per_month = t._("per month: cost stopped by cleanups, cost still running (state store)")
    savings = localized(sub.add_parser("savings", help=per_month, description=per_month, **options))
    savings.add_argument(
        "--months", type=int, default=6, help=t._("how many months back, this one included (default 6)")
    )
    return parser


def main(argv: Sequence[str], stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    lang = cli_language()
    parser = build_parser(lang)
    args = parser.parse_args(argv)
    t = translator(lang)
    if args.command == "savings":
        return savings_main(args.months, out, lang)
    try:
        settings = Settings.from_env()
        regions = parse_regions(",".join(args.region), "--region") or settings.regions
        profile = _profile(settings, args.profile)
        accounts = _accounts(args.account)
    except (ConfigError, ProfileError) as e:
        print(t._("error: {error}", error=e), file=sys.stderr)
        return EXIT_USAGE
    aws = Aws(max_workers=scan_workers(regions))
    fleet = Fleet(aws, settings.accounts, settings.assume_role, workers_per_account=scan_workers(regions))
    operator = _operator()
    try:
        if fleet.enabled:
            plan = scan_fleet(fleet, profile, regions, accounts, requester=operator)
        else:
            if accounts:  # without CLEANUP_ACCOUNTS, only the credentials' own account is known
                fleet.select(accounts)
            plan = scan(aws, profile, regions, keeps=stored_keeps(settings))
    except UnknownAccountError as e:
        print(t._("error: {error}", error=e), file=sys.stderr)
        return EXIT_USAGE
    except ScanError as e:
        print(t._("error: {error}", error=e), file=sys.stderr)
        return EXIT_FAILED
    if args.command == "scan" and args.json:
        out.write(plan.to_json() + "\n")
        return 0
    out.write(render_plan(plan, lang))
    if args.command == "scan":
        return 0
    if not plan.to_delete:
        out.write(t._("Nothing to delete.") + "\n")
        return 0
    if args.dry_run:
        out.write(t._("Dry run: nothing deleted.") + "\n")
        return 0
    # the word to type stays "confirm" in every language, as in Slack's modal
    n = len(plan.to_delete)
    out.write(t.n_("Type confirm to delete {n} resource: ", "Type confirm to delete {n} resources: ", n))
    out.flush()
    answer = stdin.readline()
    if answer.strip() != "confirm":
        out.write("\n" + t._("Not confirmed: nothing deleted.") + "\n")
        return EXIT_REFUSED
    out.write("\n")
    started = time.monotonic()
    try:  # a command-line cleanup is a run like any other: recorded, audited, resumable, in /cleanup history
        store = StateStore(settings.state_db)
        record = store.create_plan(plan, "", operator, settings.plan_ttl_minutes * 60)
        approved = store.approve(record.id, operator)
    except Exception as e:
        print(
            t._(
                "error: cannot record this cleanup in the state store {store} ({error}); nothing deleted",
                store=settings.state_db_for_logs,
                error=type(e).__name__,
            ),
            file=sys.stderr,
        )
        return EXIT_FAILED
    executor = ExecutorOptions(
        delete_interval=settings.rest_api_delete_interval, wait_timeout=settings.wait_timeout_seconds
    )
    # In other accounts, the role session is named after whoever typed confirm here (CloudTrail shows it).
    owner = RunOwner(store, aws, fleet, settings.run_lease_seconds, executor)
    try:
        if not approved or not owner.claim(record.id):
            print(t._("error: this cleanup could not be started (already handled); nothing deleted"), file=sys.stderr)
            return EXIT_FAILED
        claimed = store.get(record.id)
        assert claimed is not None
        outcome = owner.carry_out(claimed, lambda event, _result: show(event, out, lang))
        owner.finish(record.id, outcome)
    finally:
        store.close()
    out.write(t._("Run {id} (recorded in the state store)", id=record.id) + "\n")
    if outcome.error:
        out.write(t._("The cleanup stopped with an error: {error}", error=translate_reason(outcome.error, lang)) + "\n")
    out.write(render_results(outcome.results, time.monotonic() - started, len(plan.to_delete), lang))
    return EXIT_FAILED if outcome.status != "done" else 0


def show(event: ProgressEvent, out: TextIO, lang: str = DEFAULT_LANGUAGE) -> None:
    out.write(render_event(event, lang) + "\n")
    out.flush()


def _profile(settings: Settings, name: str) -> Profile:
    from bot.aws.registry import RESOURCE_TYPES

    profiles = load_profiles(settings.profiles_file or None, frozenset(RESOURCE_TYPES))
    if name not in profiles:
        raise ProfileError(f"unknown profile {name!r}; profiles: {', '.join(sorted(profiles))}")
    return profiles[name]


def _accounts(words: Sequence[str]) -> list[str]:
    accounts = list(dict.fromkeys(w.strip() for w in words if w.strip()))
    bad = [a for a in accounts if not re.fullmatch(r"\d{12}", a)]
    if bad:
        raise ConfigError(f"--account: {', '.join(bad)} is not a 12-digit AWS account ID")
    return accounts


def _operator() -> str:
    try:
        return "cli-" + getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (containers)
        return "cli"


def render_plan(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    if plan.is_fleet:
        return render_fleet_plan(plan, lang)
    return _render_one(plan, "", lang)


def _to_delete_line(plan: Plan, lang: str, total: bool = False) -> str:
    t = translator(lang)
    params = {"n": t.number(len(plan.to_delete)), "cost": t.monthly(plan.monthly_cost)}
    if total:
        line = t._("Total: {n} to delete, about {cost} while alive", **params)
    else:
        line = t._("{n} to delete, about {cost} while alive", **params)
    if plan.unknown_cost_count:
        line += t._(" (+{n} unknown)", n=t.number(plan.unknown_cost_count))
    return line


def render_fleet_plan(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    """A plan of several accounts: each account as its own plan would print, with a subtotal, then the total."""
    t = translator(lang)
    head = t._(
        "Profile {profile} in {n} accounts, regions {regions}",
        profile=plan.profile,
        n=t.number(len(plan.accounts)),
        regions=", ".join(plan.regions),
    )
    lines = [head, _to_delete_line(plan, lang, total=True), ""]
    for part in plan.accounts:
        if part.error:
            error = translate_reason(part.error, lang)
            lines += [t._("== Account {account}: NOT SCANNED: {error}", account=part.account_id, error=error), ""]
            continue
        via = t._("role {arn}", arn=part.role_arn) if part.role_arn else t._("the credentials' own account")
        account_head = t._("== Account {account} ({via})", account=part.account_id, via=via)
        lines += [_render_one(plan.for_account(part.account_id), account_head, lang)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _render_one(plan: Plan, head: str = "", lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    head = head or t._(
        "Profile {profile} in account {account}, regions {regions}",
        profile=plan.profile,
        account=plan.account_id,
        regions=", ".join(plan.regions),
    )
    lines = [head, _to_delete_line(plan, lang), ""]
    rows = [(t._("SERVICE"), t._("TYPE"), t._("REGION"), t._("NAME"), t._("COST"), t._("WHY"))]
    rows += [
        (r.service, t.label(r.label), r.region, r.name, t.monthly(r.monthly_cost), translate_reason(r.reason, lang))
        for r in plan.to_delete
    ]
    lines += _table(rows)
    lines += [f"  {r.name}: {r.contents_text()}" for r in plan.to_delete if r.contents_text()]
    lines += [
        f"  {r.name}: " + t._("status {status}", status=r.details["status"]) for r in plan.to_delete if _status_shown(r)
    ]
    if plan.kept:
        lines += ["", t._("Kept (will NOT be deleted):")]
        rows = [(t._("SERVICE"), t._("TYPE"), t._("REGION"), t._("NAME"), t._("KEPT"), t._("WHY"))]
        rows += [
            (r.service, t.label(r.label), r.region, r.name, r.keep or "", translate_reason(r.keep_reason, lang))
            for r in plan.kept
        ]
        lines += _table(rows)
        lines += [f"  {r.name}: {r.contents_text()}" for r in plan.kept if r.contents_text()]
    if plan.problems:
        lines += ["", t._("Could not check:")] + [f"  {translate_reason(str(p), lang)}" for p in plan.problems]
    return "\n".join(lines) + "\n"


def _status_shown(r: PlannedResource) -> bool:
    """An endpoint's AWS status (Failed, Creating...) tells the approver what the deletion will meet."""
    return r.type == "sagemaker.endpoint" and bool(r.details.get("status"))


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def render_event(event: ProgressEvent, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    account = split_key(event.key)[0]
    where = f"{account} {event.region}" if account else event.region
    kind = t._(_EVENT_WORDS[event.kind]) if event.kind in _EVENT_WORDS else event.kind
    text = f"{kind:>12}  {t.label(event.label)} {event.name} ({where})"
    if event.error_code:
        text += f": {event.error_code}"
    if event.message:
        text += f": {translate_reason(event.message, lang)}"
    return text


_VERDICT_HEADS = {
    RunVerdict.ALL_DONE: N_("Done in {seconds} s: {summary}"),
    RunVerdict.PARTLY_DONE: N_("Partly done in {seconds} s: {summary}"),
    RunVerdict.SOME_FAILED: N_("Finished with failures in {seconds} s: {summary}"),
    RunVerdict.NOTHING_DELETED: N_("Nothing deleted in {seconds} s: {summary}"),
    RunVerdict.REFUSED: N_("Refused, nothing deleted in {seconds} s: {summary}"),
}


def _refusal_line(account: str, why: str, lang: str) -> str:
    t = translator(lang)
    why = translate_reason(why, lang)
    return (
        t._("Refused in account {account}: {why}", account=account, why=why)
        if account
        else t._("Refused: {why}", why=why)
    )


def render_results(
    results: list[ResourceResult], seconds: float, planned: int | None = None, lang: str = DEFAULT_LANGUAGE
) -> str:
    """The end of a run: what it did as a whole, a refusal said once, then one line per resource."""
    t = translator(lang)
    counts = {status: sum(1 for r in results if r.status == status) for status in _RESULT_WORDS}
    summary = ", ".join(f"{t.number(n)} {t._(_RESULT_WORDS[s])}" for s, n in counts.items() if n)
    head = _VERDICT_HEADS[run_verdict(results, len(results) if planned is None else planned)]
    shown_seconds = str(format_decimal(seconds, format="0.0", locale=t.locale))  # "12.0", "12,0"
    lines = ["", t._(head, seconds=shown_seconds, summary=summary or t._("nothing to do"))]
    lines += [_refusal_line(a, why, lang) for a, why in refusals(results).items()]
    for r in results:
        reason = translate_reason(r.reason, lang)
        detail = f" {r.error_code}: {reason}" if r.error_code else (f" ({reason})" if reason else "")
        detail = "" if is_refused(r) else detail  # said once, above
        account = split_key(r.key)[0]
        where = f"{account} {r.region}" if account else r.region
        lines.append(f"  {_result_word(r.status, lang):<12} {t.label(r.label)} {r.name} ({where}){detail}")
    return "\n".join(lines) + "\n"


# -- what the state store knows: owners' keeps, and what cleanups saved ---------------------------------------


def _open_store(settings: Settings) -> StateStore | None:
    """The state store the Slack app writes to; None when it is a SQLite file that does not exist (yet)."""
    if "://" not in settings.state_db and not os.path.isfile(settings.state_db):
        return None
    return StateStore(settings.state_db)


def stored_keeps(settings: Settings) -> list[KeepUntil]:
    """What owners kept until a date from Slack, so the command line keeps it too. A store that exists but cannot
    be read stops the scan (ScanError): a cleanup must not miss what an owner kept."""
    try:
        store = _open_store(settings)
        if store is None:
            return []
        try:
            return store.keeps(time.time())
        finally:
            store.close()
    except Exception as e:
        raise ScanError(
            f"cannot read what owners kept in the state store {settings.state_db_for_logs}: {type(e).__name__}"
        ) from None


def savings_main(months: int, out: TextIO, lang: str = DEFAULT_LANGUAGE) -> int:
    t = translator(lang)
    try:
        settings = Settings.from_env()
    except ConfigError as e:
        print(t._("error: {error}", error=e), file=sys.stderr)
        return EXIT_USAGE
    if not 1 <= months <= 36:
        print(t._("error: --months must be between 1 and 36"), file=sys.stderr)
        return EXIT_USAGE
    store = _open_store(settings)
    if store is None:
        out.write(t._("No cleanup recorded yet ({path} does not exist).", path=settings.state_db) + "\n")
        return 0
    try:
        rows = savings_report(store, time.time(), months, REMINDER_REQUESTER)
    finally:
        store.close()
    out.write(render_savings(rows, lang))
    return 0


def render_savings(rows: Sequence[MonthSavings], lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    table = [(t._("MONTH"), t._("COST STOPPED"), t._("CLEANUPS"), t._("STILL RUNNING"), t._("FOUND"))]
    table += [
        (r.month, t.monthly(r.stopped), t.number(r.runs), t.monthly(r.still_running), t.number(r.found)) for r in rows
    ]
    total = sum(r.stopped for r in rows)
    head = t.n_(
        "What cleanups saved: about {cost} stopped in {n} month",
        "What cleanups saved: about {cost} stopped in {n} months",
        len(rows),
        cost=t.monthly(total),
    )
    lines = [head, "", *_table(table), ""]
    lines += t._(
        "Cost stopped: the monthly price of what cleanups finished that month deleted. Still running: the monthly\n"
        "price of what scheduled reminders found that month and no cleanup had deleted by its end (estimates)."
    ).splitlines()
    return "\n".join(lines) + "\n"
