"""The operators' command line: `scan` prints a plan, `delete` deletes it after a typed `confirm`.

It renders the same plan and progress events as the Slack app, as text.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import time
from collections.abc import Sequence
from typing import TextIO

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
from bot.core.pricing import format_monthly
from bot.core.runs import RunOwner
from bot.core.savings import MonthSavings, savings_report
from bot.core.scanner import ScanError, scan, scan_workers
from bot.core.state import StateStore
from bot.profiles import Profile, ProfileError, load_profiles
from bot.slack.blocks import REMINDER_REQUESTER

EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_FAILED = 1

_SYMBOL = {"deleted": "deleted", "already_gone": "already gone", "skipped": "SKIPPED", "failed": "FAILED"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Find and delete a workshop's AWS resources.")
    sub = parser.add_subparsers(dest="command", metavar="{scan,delete,savings,demo}")
    for name, help_text in (("scan", "print what a cleanup would delete"), ("delete", "scan, then delete on confirm")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("profile", help="profile name, e.g. dogcat")
        p.add_argument("--region", action="append", default=[], help="region to scan (repeatable)")
        p.add_argument(
            "--account",
            action="append",
            default=[],
            metavar="ID",
            help="one of the configured accounts (CLEANUP_ACCOUNTS) to scan (repeatable; default: all of them)",
        )
        if name == "scan":
            p.add_argument("--json", action="store_true", help="print the plan as JSON")
        else:
            p.add_argument("--dry-run", action="store_true", help="print the plan, never delete")
    sub.add_parser("demo", help="run the whole conversation on an embedded AWS emulator and Slack stand-in")
    savings = sub.add_parser("savings", help="per month: cost stopped by cleanups, cost still running (state store)")
    savings.add_argument("--months", type=int, default=6, help="how many months back, this one included (default 6)")
    return parser


def main(argv: Sequence[str], stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "savings":
        return savings_main(args.months, out)
    try:
        settings = Settings.from_env()
        regions = parse_regions(",".join(args.region), "--region") or settings.regions
        profile = _profile(settings, args.profile)
        accounts = _accounts(args.account)
    except (ConfigError, ProfileError) as e:
        print(f"error: {e}", file=sys.stderr)
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
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except ScanError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILED
    if args.command == "scan" and args.json:
        out.write(plan.to_json() + "\n")
        return 0
    out.write(render_plan(plan))
    if args.command == "scan":
        return 0
    if not plan.to_delete:
        out.write("Nothing to delete.\n")
        return 0
    if args.dry_run:
        out.write("Dry run: nothing deleted.\n")
        return 0
    out.write(f"Type confirm to delete {len(plan.to_delete)} resources: ")
    out.flush()
    answer = stdin.readline()
    if answer.strip() != "confirm":
        out.write("\nNot confirmed: nothing deleted.\n")
        return EXIT_REFUSED
    out.write("\n")
    started = time.monotonic()
    try:  # a command-line cleanup is a run like any other: recorded, audited, resumable, in /cleanup history
        store = StateStore(settings.state_db)
        record = store.create_plan(plan, "", operator, settings.plan_ttl_minutes * 60)
        approved = store.approve(record.id, operator)
    except Exception as e:
        print(
            f"error: cannot record this cleanup in the state store {settings.state_db_for_logs} "
            f"({type(e).__name__}); nothing deleted",
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
            print("error: this cleanup could not be started (already handled); nothing deleted", file=sys.stderr)
            return EXIT_FAILED
        claimed = store.get(record.id)
        assert claimed is not None
        outcome = owner.carry_out(claimed, lambda event, _result: show(event, out))
        owner.finish(record.id, outcome)
    finally:
        store.close()
    out.write(f"Run {record.id} (recorded in the state store)\n")
    if outcome.error:
        out.write(f"The cleanup stopped with an error: {outcome.error}\n")
    out.write(render_results(outcome.results, time.monotonic() - started, len(plan.to_delete)))
    return EXIT_FAILED if outcome.status != "done" else 0


def show(event: ProgressEvent, out: TextIO) -> None:
    out.write(render_event(event) + "\n")
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


def render_plan(plan: Plan) -> str:
    if plan.is_fleet:
        return render_fleet_plan(plan)
    return _render_one(plan)


def render_fleet_plan(plan: Plan) -> str:
    """A plan of several accounts: each account as its own plan would print, with a subtotal, then the total."""
    lines = [
        f"Profile {plan.profile} in {len(plan.accounts)} accounts, regions {', '.join(plan.regions)}",
        f"Total: {len(plan.to_delete)} to delete, about {format_monthly(plan.monthly_cost)} while alive"
        + (f" (+{plan.unknown_cost_count} unknown)" if plan.unknown_cost_count else ""),
        "",
    ]
    for part in plan.accounts:
        if part.error:
            lines += [f"== Account {part.account_id}: NOT SCANNED: {part.error}", ""]
            continue
        via = f"role {part.role_arn}" if part.role_arn else "the credentials' own account"
        lines += [_render_one(plan.for_account(part.account_id), f"== Account {part.account_id} ({via})")]
    return "\n".join(lines).rstrip("\n") + "\n"


def _render_one(plan: Plan, head: str = "") -> str:
    head = head or f"Profile {plan.profile} in account {plan.account_id}, regions {', '.join(plan.regions)}"
    lines = [
        head,
        f"{len(plan.to_delete)} to delete, about {format_monthly(plan.monthly_cost)} while alive"
        + (f" (+{plan.unknown_cost_count} unknown)" if plan.unknown_cost_count else ""),
        "",
    ]
    rows = [("SERVICE", "TYPE", "REGION", "NAME", "COST", "WHY")]
    rows += [(r.service, r.label, r.region, r.name, format_monthly(r.monthly_cost), r.reason) for r in plan.to_delete]
    lines += _table(rows)
    lines += [f"  {r.name}: {r.contents_text()}" for r in plan.to_delete if r.contents_text()]
    lines += [f"  {r.name}: status {r.details['status']}" for r in plan.to_delete if _status_shown(r)]
    if plan.kept:
        lines += ["", "Kept (will NOT be deleted):"]
        rows = [("SERVICE", "TYPE", "REGION", "NAME", "KEPT", "WHY")]
        rows += [(r.service, r.label, r.region, r.name, r.keep or "", r.keep_reason) for r in plan.kept]
        lines += _table(rows)
        lines += [f"  {r.name}: {r.contents_text()}" for r in plan.kept if r.contents_text()]
    if plan.problems:
        lines += ["", "Could not check:"] + [f"  {p}" for p in plan.problems]
    return "\n".join(lines) + "\n"


def _status_shown(r: PlannedResource) -> bool:
    """An endpoint's AWS status (Failed, Creating...) tells the approver what the deletion will meet."""
    return r.type == "sagemaker.endpoint" and bool(r.details.get("status"))


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def render_event(event: ProgressEvent) -> str:
    account = split_key(event.key)[0]
    where = f"{account} {event.region}" if account else event.region
    text = f"{event.kind:>12}  {event.label} {event.name} ({where})"
    if event.error_code:
        text += f": {event.error_code}"
    if event.message:
        text += f": {event.message}"
    return text


_VERDICT_HEADS = {
    RunVerdict.ALL_DONE: "Done",
    RunVerdict.PARTLY_DONE: "Partly done",
    RunVerdict.SOME_FAILED: "Finished with failures",
    RunVerdict.NOTHING_DELETED: "Nothing deleted",
    RunVerdict.REFUSED: "Refused, nothing deleted",
}


def render_results(results: list[ResourceResult], seconds: float, planned: int | None = None) -> str:
    """The end of a run: what it did as a whole, a refusal said once, then one line per resource."""
    counts = {status: sum(1 for r in results if r.status == status) for status in _SYMBOL}
    summary = ", ".join(f"{n} {_SYMBOL[s].lower()}" for s, n in counts.items() if n)
    head = _VERDICT_HEADS[run_verdict(results, len(results) if planned is None else planned)]
    lines = ["", f"{head} in {seconds:.1f} s: {summary or 'nothing to do'}"]
    lines += [f"Refused{f' in account {a}' if a else ''}: {why}" for a, why in refusals(results).items()]
    for r in results:
        detail = f" {r.error_code}: {r.reason}" if r.error_code else (f" ({r.reason})" if r.reason else "")
        detail = "" if is_refused(r) else detail  # said once, above
        account = split_key(r.key)[0]
        where = f"{account} {r.region}" if account else r.region
        lines.append(f"  {_SYMBOL[r.status]:<12} {r.label} {r.name} ({where}){detail}")
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


def savings_main(months: int, out: TextIO) -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if not 1 <= months <= 36:
        print("error: --months must be between 1 and 36", file=sys.stderr)
        return EXIT_USAGE
    store = _open_store(settings)
    if store is None:
        out.write(f"No cleanup recorded yet ({settings.state_db} does not exist).\n")
        return 0
    try:
        rows = savings_report(store, time.time(), months, REMINDER_REQUESTER)
    finally:
        store.close()
    out.write(render_savings(rows))
    return 0


def render_savings(rows: Sequence[MonthSavings]) -> str:
    table = [("MONTH", "COST STOPPED", "CLEANUPS", "STILL RUNNING", "FOUND")]
    table += [
        (r.month, format_monthly(r.stopped), str(r.runs), format_monthly(r.still_running), str(r.found)) for r in rows
    ]
    total = sum(r.stopped for r in rows)
    lines = [f"What cleanups saved: about {format_monthly(total)} stopped in {len(rows)} months", ""]
    lines += _table(table)
    lines += [
        "",
        "Cost stopped: the monthly price of what cleanups finished that month deleted. Still running: the monthly",
        "price of what scheduled reminders found that month and no cleanup had deleted by its end (estimates).",
    ]
    return "\n".join(lines) + "\n"
