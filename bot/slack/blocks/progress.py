"""Progress and results in the thread: one progress message, then the per-resource summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from bot.core.plan import Plan, ResourceResult
from bot.core.pricing import format_monthly
from bot.slack.blocks.common import (
    RESULT_WORDS,
    Block,
    _messages,
    clip,
    context,
    counts_text,
    duration,
    esc,
    pack,
    result_line,
    section,
)


def progress_blocks(
    plan: Plan, results: Mapping[str, ResourceResult], current: str = "", finished: bool = False
) -> list[Block]:
    """The one progress message of a run, updated in place."""
    total = len(plan.to_delete)
    done = len([k for k in results if k in {r.key for r in plan.to_delete}])
    counts = Counter(r.status for r in results.values())
    bar_len = 20
    filled = bar_len if not total else round(bar_len * done / total)
    bar = "█" * filled + "░" * (bar_len - filled)
    head = "Deletion finished" if finished else "Deleting"
    blocks: list[Block] = [section(f"*{head}:* {done}/{total} handled `{bar}`\n{counts_text(counts)}")]
    recent = [result_line(r) for r in list(results.values())[-10:]]
    if recent:
        blocks.append(section("Latest:\n" + "\n".join(recent)))
    if current and not finished:
        blocks.append(context(esc(clip(current, 2000))))
    return blocks


def progress_text(plan: Plan, results: Mapping[str, ResourceResult], finished: bool = False) -> str:
    head = "Deletion finished" if finished else "Deleting"
    return f"{head}: {len(results)}/{len(plan.to_delete)} handled"


def summary_messages(
    plan: Plan, results: Sequence[ResourceResult], seconds: float, approver: str, cost_stopped: float
) -> list[list[Block]]:
    """The final report: one line per resource (deleted, already gone, skipped, failed with the AWS error)."""
    if plan.is_fleet:  # per account
        from bot.slack.blocks import fleet as fleet_blocks

        return fleet_blocks.summary_messages(plan, results, seconds, approver, cost_stopped)
    counts = Counter(r.status for r in results)
    intro = section(
        f"*Cleanup of {esc(plan.profile)} finished* in {duration(seconds)}, approved by <@{esc(approver)}>: "
        f"{counts_text(counts)}. Cost stopped: about *{format_monthly(cost_stopped)}*."
    )
    lines: list[str] = []
    for status in ("failed", "skipped", "deleted", "already_gone"):
        group = [r for r in results if r.status == status]
        if group:
            lines.append(f"*{RESULT_WORDS[status].capitalize()}* ({len(group)})")
            lines.extend(result_line(r) for r in group)
    missing = [r for r in plan.to_delete if r.key not in {x.key for x in results}]
    if missing:
        lines.append(f"*Not handled* ({len(missing)})")
        lines.extend(f"• {esc(r.label)} `{esc(r.name)}` · {esc(r.region)}" for r in missing)
    messages = _messages([section(t) for t in pack(lines)], title="Results")
    messages[0].insert(0, intro)
    return messages


def summary_text(results: Sequence[ResourceResult]) -> str:
    return "Cleanup finished: " + counts_text(Counter(r.status for r in results))


def cost_stopped(plan: Plan, results: Iterable[ResourceResult]) -> float:
    deleted = {r.key for r in results if r.status == "deleted"}
    return sum(r.monthly_cost or 0.0 for r in plan.to_delete if r.key in deleted)
