"""Block Kit's limits, the ids the listeners match on, and the text helpers every builder shares."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.core.plan import Plan, PlannedResource, ResourceResult
from bot.core.pricing import format_monthly
from bot.core.runs import is_cli_actor

Block = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_MODAL_TITLE = 24
# Leave a little room in messages so a status line can always be added.
MESSAGE_BLOCK_BUDGET = 45

DELETE_ACTION = "cleanup_delete"
CANCEL_ACTION = "cleanup_cancel"
SNOOZE_ACTION = "cleanup_snooze"
KEEP_UNTIL_ACTION = "cleanup_keep_until"  # a datepicker: its block_actions carry selected_date, not a value
ACTIONS_BLOCK = "cleanup_actions"  # the buttons' block; its block_id is ACTIONS_BLOCK:<plan id>
CONFIRM_CALLBACK = "cleanup_confirm"
CONFIRM_BLOCK = "confirm_block"
CONFIRM_INPUT = "confirm_input"
CONFIRM_WORD = "confirm"
# The requester recorded for plans a scheduled reminder posted: never a Slack user ID, so it never matches one
# (anyone eligible may approve) and is never rendered as a mention.
REMINDER_REQUESTER = "scheduled-reminder"

RESULT_ICONS = {"deleted": "✅", "already_gone": "☑️", "skipped": "⏭️", "failed": "❌"}
RESULT_WORDS = {"deleted": "deleted", "already_gone": "already gone", "skipped": "skipped", "failed": "failed"}
KEEP_WORDS = {
    "protected": "protected",
    "guarded": "protected by AWS",
    "in-use": "in use",
    "depends-on-kept": "needed by a kept resource",
    "unchecked": "could not be checked",
    "unprovable": "cannot prove it is unused",
    "shared": "shared",
    "kept-until": "kept until",
}


# -- text helpers -----------------------------------------------------------------------------------------------


def esc(text: str) -> str:
    """Escape the three characters mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def plain(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_TEXT)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_TEXT)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER)}


def divider() -> Block:
    return {"type": "divider"}


def slack_date(epoch: float) -> str:
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))
    return f"<!date^{int(epoch)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def who(user: str) -> str:
    """A requester or approver for people: a mention; "a scheduled reminder" for plans the schedule posted; the
    operator's name for cleanups run from the command line."""
    if user == REMINDER_REQUESTER:
        return "a scheduled reminder"
    if is_cli_actor(user):
        return f"`{esc(user)}` (command line)"
    return f"<@{esc(user)}>"


def age(seconds: float) -> str:
    """How old, roughly: "40 minutes", "26 hours", "3 days"."""
    minutes = max(0.0, seconds) / 60
    if minutes < 120:
        return plural(round(minutes), "minute")
    if minutes < 48 * 60:
        return plural(round(minutes / 60), "hour")
    return plural(round(minutes / 1440), "day")


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def cost_text(plan: Plan) -> str:
    text = f"about *{format_monthly(plan.monthly_cost)}* while alive"
    if plan.unknown_cost_count:
        text += f" (+{plural(plan.unknown_cost_count, 'resource')} with an unknown price)"
    return text


def _label_plural(label: str, n: int) -> str:
    return (
        label if n == 1 else (label[:-1] + "ies" if label.endswith("y") and not label.endswith("ey") else label + "s")
    )


def more_text(resources: Iterable[PlannedResource | ResourceResult]) -> str:
    counts = Counter(r.label for r in resources)
    parts = [f"{n} more {_label_plural(label, n)}" for label, n in counts.most_common()]
    return "and " + ", ".join(parts)


def pack(lines: Sequence[str], limit: int = MAX_TEXT) -> list[str]:
    """Join lines into as few texts of at most `limit` characters as possible, in order."""
    return [text for text, _ in pack_counted(lines, limit)]


def pack_counted(lines: Sequence[str], limit: int = MAX_TEXT) -> list[tuple[str, int]]:
    """Like `pack`, with how many of the lines each text holds."""
    chunks: list[tuple[str, int]] = []
    current, count = "", 0
    for line in lines:
        line = clip(line, limit)
        if count and len(current) + 1 + len(line) > limit:
            chunks.append((current, count))
            current, count = line, 1
        else:
            current, count = (f"{current}\n{line}" if count else line), count + 1
    if count:
        chunks.append((current, count))
    return chunks


def one_line(text: str) -> str:
    return " ".join(text.split())


def fit_lines(
    title: str, lines: Sequence[str], extra: Sequence[Any], tail: str, limit: int = MAX_TEXT
) -> tuple[str, bool]:
    """`title` plus as many lines as fit in `limit`, then "and N more ..." for the rest (`extra[i]` is line i's
    item, with a `.label`). Also says whether lines were left out."""
    text = title
    for i, line in enumerate(lines):
        rest = extra[i + 1 :]
        reserve = len(more_text(rest)) + len(tail) + 8 if rest else 0
        if len(text) + 1 + len(line) + reserve > limit:
            return clip(f"{text}\n_{more_text(extra[i:])}{tail}_", limit), True
        text = f"{text}\n{line}"
    return clip(text, limit), False


def group_by_service(resources: Iterable[PlannedResource]) -> dict[str, list[PlannedResource]]:
    groups: dict[str, list[PlannedResource]] = {}
    for r in resources:
        groups.setdefault(r.service, []).append(r)
    return groups


def _name(label: str, name: str, region: str) -> str:
    shown = esc(one_line(name).replace("`", "'"))
    return f"{esc(one_line(label))} `{shown}` · {esc(region)}"


def resource_line(r: PlannedResource) -> str:
    cost = "" if r.monthly_cost is None and not r.cost_basis else f" · {format_monthly(r.monthly_cost)}"
    contents = r.contents_text()
    held = f"\n    _{esc(one_line(clip(contents, 600)))}_" if contents else ""
    return f"• {_name(r.label, r.name, r.region)} · {esc(one_line(clip(r.reason, 300)))}{cost}{held}"


def kept_line(r: PlannedResource) -> str:
    why = KEEP_WORDS.get(r.keep or "", r.keep or "kept")
    until, by = str(r.details.get("keep_until") or ""), str(r.details.get("kept_by") or "")
    if r.keep == "kept-until" and until and by:
        return f"• {_name(r.label, r.name, r.region)} · *kept until {esc(until)}* by <@{esc(by)}>"
    if r.keep == "kept-until" and until:
        why = f"kept until {esc(until)}"
    return f"• {_name(r.label, r.name, r.region)} · *{why}*: {esc(one_line(clip(r.keep_reason, 400)))}"


def result_line(r: ResourceResult) -> str:
    line = (
        f"{RESULT_ICONS.get(r.status, '•')} {_name(r.label, r.name, r.region)} · {RESULT_WORDS.get(r.status, r.status)}"
    )
    if r.error_code:
        line += f" `{esc(one_line(r.error_code))}`"
    if r.reason:
        line += f": {esc(one_line(clip(r.reason, 400)))}"
    return line


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def counts_text(counts: Mapping[Any, int]) -> str:
    order = ["deleted", "already_gone", "skipped", "failed"]
    return ", ".join(f"{counts.get(s, 0)} {RESULT_WORDS[s]}" for s in order)


def _messages(body: list[Block], title: str) -> list[list[Block]]:
    """Split blocks into messages of at most MESSAGE_BLOCK_BUDGET blocks; a title on the first one."""
    per = MESSAGE_BLOCK_BUDGET - 1
    chunks = [body[i : i + per] for i in range(0, len(body), per)] or [[]]
    out: list[list[Block]] = []
    for i, chunk in enumerate(chunks):
        label = title if len(chunks) == 1 else f"{title} ({i + 1}/{len(chunks)})"
        out.append([context(label), *chunk])
    return out
