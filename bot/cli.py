"""The operators' command line: `scan` prints a plan, `delete` deletes it after a typed `confirm`.

It renders the same plan and progress events as the Slack app, as text.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from bot.aws.clients import Aws
from bot.config import ConfigError, Settings, parse_regions
from bot.core.executor import execute
from bot.core.plan import Plan, ProgressEvent, ResourceResult
from bot.core.pricing import format_monthly
from bot.core.scanner import ScanError, scan, scan_workers
from bot.profiles import Profile, ProfileError, load_profiles

EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_FAILED = 1

_SYMBOL = {"deleted": "deleted", "already_gone": "already gone", "skipped": "SKIPPED", "failed": "FAILED"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Find and delete a workshop's AWS resources.")
    sub = parser.add_subparsers(dest="command", metavar="{scan,delete,demo}")
    for name, help_text in (("scan", "print what a cleanup would delete"), ("delete", "scan, then delete on confirm")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("profile", help="profile name, e.g. dogcat")
        p.add_argument("--region", action="append", default=[], help="region to scan (repeatable)")
        if name == "scan":
            p.add_argument("--json", action="store_true", help="print the plan as JSON")
        else:
            p.add_argument("--dry-run", action="store_true", help="print the plan, never delete")
    sub.add_parser("demo", help="run the whole conversation on an embedded AWS emulator and Slack stand-in")
    return parser


def main(argv: Sequence[str], stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        regions = parse_regions(",".join(args.region)) or settings.regions
        profile = _profile(settings, args.profile)
    except (ConfigError, ProfileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    aws = Aws(max_workers=scan_workers(regions))
    try:
        plan = scan(aws, profile, regions)
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

    def show(event: ProgressEvent) -> None:
        out.write(render_event(event) + "\n")
        out.flush()

    results = execute(aws, plan, on_event=show)
    out.write(render_results(results, time.monotonic() - started))
    return EXIT_FAILED if any(r.status == "failed" for r in results) else 0


def _profile(settings: Settings, name: str) -> Profile:
    from bot.aws.registry import RESOURCE_TYPES

    profiles = load_profiles(settings.profiles_file or None, frozenset(RESOURCE_TYPES))
    if name not in profiles:
        raise ProfileError(f"unknown profile {name!r}; profiles: {', '.join(sorted(profiles))}")
    return profiles[name]


def render_plan(plan: Plan) -> str:
    lines = [
        f"Profile {plan.profile} in account {plan.account_id}, regions {', '.join(plan.regions)}",
        f"{len(plan.to_delete)} to delete, about {format_monthly(plan.monthly_cost)} while alive"
        + (f" (+{plan.unknown_cost_count} unknown)" if plan.unknown_cost_count else ""),
        "",
    ]
    rows = [("SERVICE", "TYPE", "REGION", "NAME", "COST", "WHY")]
    rows += [(r.service, r.label, r.region, r.name, format_monthly(r.monthly_cost), r.reason) for r in plan.to_delete]
    lines += _table(rows)
    lines += [f"  {r.name}: {r.contents_text()}" for r in plan.to_delete if r.contents_text()]
    if plan.kept:
        lines += ["", "Kept (will NOT be deleted):"]
        rows = [("SERVICE", "TYPE", "REGION", "NAME", "KEPT", "WHY")]
        rows += [(r.service, r.label, r.region, r.name, r.keep or "", r.keep_reason) for r in plan.kept]
        lines += _table(rows)
        lines += [f"  {r.name}: {r.contents_text()}" for r in plan.kept if r.contents_text()]
    if plan.problems:
        lines += ["", "Could not check:"] + [f"  {p}" for p in plan.problems]
    return "\n".join(lines) + "\n"


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def render_event(event: ProgressEvent) -> str:
    text = f"{event.kind:>12}  {event.label} {event.name} ({event.region})"
    if event.error_code:
        text += f": {event.error_code}"
    if event.message:
        text += f": {event.message}"
    return text


def render_results(results: list[ResourceResult], seconds: float) -> str:
    counts = {status: sum(1 for r in results if r.status == status) for status in _SYMBOL}
    summary = ", ".join(f"{n} {_SYMBOL[s].lower()}" for s, n in counts.items() if n)
    lines = ["", f"Done in {seconds:.1f} s: {summary or 'nothing to do'}"]
    for r in results:
        detail = f" {r.error_code}: {r.reason}" if r.error_code else (f" ({r.reason})" if r.reason else "")
        lines.append(f"  {_SYMBOL[r.status]:<12} {r.label} {r.name} ({r.region}){detail}")
    return "\n".join(lines) + "\n"
