"""Block Kit's limits, the ids the listeners match on, and the text helpers every builder shares.

Every helper that writes words takes the reader's language (`lang`, bot/i18n.py): the channel's
(CLEANUP_LANGUAGE) for channel messages, the person's for what only they see."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.core.plan import Plan, PlannedResource, ResourceResult
from bot.core.runs import is_cli_actor
from bot.i18n import DEFAULT_LANGUAGE, N_, translator
from bot.reasons_i18n import translate_reason

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
# English here; shown through result_word / keep_word in the reader's language
RESULT_WORDS = {
    "deleted": N_("deleted"),
    "already_gone": N_("already gone"),
    "skipped": N_("skipped"),
    "failed": N_("failed"),
}
RESULT_HEADINGS = {
    "deleted": N_("Deleted"),
    "already_gone": N_("Already gone"),
    "skipped": N_("Skipped"),
    "failed": N_("Failed"),
}
KEEP_WORDS = {
    "protected": N_("protected"),
    "guarded": N_("protected by AWS"),
    "in-use": N_("in use"),
    "depends-on-kept": N_("needed by a kept resource"),
    "unchecked": N_("could not be checked"),
    "unprovable": N_("cannot prove it is unused"),
    "shared": N_("shared"),
    "kept-until": N_("kept until"),
}


def result_word(status: str, lang: str = DEFAULT_LANGUAGE) -> str:
    word = RESULT_WORDS.get(status)
    return translator(lang)._(word) if word else status


def result_heading(status: str, lang: str = DEFAULT_LANGUAGE) -> str:
    word = RESULT_HEADINGS.get(status)
    return translator(lang)._(word) if word else _capital(status)


def keep_word(keep: str, lang: str = DEFAULT_LANGUAGE) -> str:
    word = KEEP_WORDS.get(keep)
    return translator(lang)._(word) if word else (keep or translator(lang)._("kept"))


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


def slack_date(epoch: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """A time each reader sees in their own time zone (Slack's date formatting), with a UTC fallback."""
    return translator(lang).date(epoch)


def duration(seconds: float, lang: str = DEFAULT_LANGUAGE) -> str:
    return translator(lang).duration(seconds)


def who(user: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A requester or approver for people: a mention; "a scheduled reminder" for plans the schedule posted; the
    operator's name for cleanups run from the command line."""
    t = translator(lang)
    if user == REMINDER_REQUESTER:
        return t._("a scheduled reminder")
    if is_cli_actor(user):
        return t._("`{user}` (command line)", user=esc(user))
    return f"<@{esc(user)}>"


def age(seconds: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """How old, roughly: "40 minutes", "26 hours", "3 days"."""
    return translator(lang).age(seconds)


def plural(n: int, word: str, many: str | None = None) -> str:
    """English only: for texts that are not (yet) in the catalogs. Builders use `translator(lang).n_`."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def resources_text(n: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "3 resources", "3 tài nguyên"."""
    return translator(lang).n_("{n} resource", "{n} resources", n)


def cost_text(plan: Plan, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    text = t._("about *{cost}* while alive", cost=t.monthly(plan.monthly_cost))
    if plan.unknown_cost_count:
        text += t.n_(
            " (+{n} resource with an unknown price)", " (+{n} resources with an unknown price)", plan.unknown_cost_count
        )
    return text


def _label_plural(label: str, n: int) -> str:
    return (
        label if n == 1 else (label[:-1] + "ies" if label.endswith("y") and not label.endswith("ey") else label + "s")
    )


def more_text(resources: Iterable[Any], lang: str = DEFAULT_LANGUAGE) -> str:
    """ "and 112 more SageMaker endpoints, 3 more IAM roles" (items with a `.label`)."""
    t = translator(lang)
    counts = Counter(r.label for r in resources)
    parts = [t._("{n} more {things}", n=t.number(n), things=t.label(label, n)) for label, n in counts.most_common()]
    return t._("and {parts}", parts=", ".join(parts))


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
    title: str,
    lines: Sequence[str],
    extra: Sequence[Any],
    tail: str,
    limit: int = MAX_TEXT,
    lang: str = DEFAULT_LANGUAGE,
) -> tuple[str, bool]:
    """`title` plus as many lines as fit in `limit`, then "and N more ..." for the rest (`extra[i]` is line i's
    item, with a `.label`). Also says whether lines were left out."""
    text = title
    for i, line in enumerate(lines):
        rest = extra[i + 1 :]
        reserve = len(more_text(rest, lang)) + len(tail) + 8 if rest else 0
        if len(text) + 1 + len(line) + reserve > limit:
            return clip(f"{text}\n_{more_text(extra[i:], lang)}{tail}_", limit), True
        text = f"{text}\n{line}"
    return clip(text, limit), False


def group_by_service(resources: Iterable[PlannedResource]) -> dict[str, list[PlannedResource]]:
    groups: dict[str, list[PlannedResource]] = {}
    for r in resources:
        groups.setdefault(r.service, []).append(r)
    return groups


def _name(label: str, name: str, region: str, lang: str = DEFAULT_LANGUAGE) -> str:
    shown = esc(one_line(name).replace("`", "'"))
    return f"{esc(one_line(translator(lang).label(label)))} `{shown}` · {esc(region)}"


def resource_line(r: PlannedResource, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    cost = "" if r.monthly_cost is None and not r.cost_basis else f" · {t.monthly(r.monthly_cost)}"
    contents = r.contents_text()
    held = f"\n    _{esc(one_line(clip(contents, 600)))}_" if contents else ""
    status = aws_status_text(r, lang)
    state = f" · {status}" if status else ""
    why = esc(one_line(clip(translate_reason(r.reason, lang), 300)))
    return f"• {_name(r.label, r.name, r.region, lang)}{state} · {why}{cost}{held}"


STATUS_SHOWN = frozenset({"sagemaker.endpoint"})  # types whose AWS status the approver needs (Failed, Creating...)


def aws_status_text(r: PlannedResource, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "status `Failed`": AWS's own word for the resource's state at scan, or "" when not shown for its type."""
    status = str(r.details.get("status") or "") if r.type in STATUS_SHOWN else ""
    return translator(lang)._("status {status}", status=f"`{esc(one_line(status))}`") if status else ""


def kept_line(r: PlannedResource, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    why = keep_word(r.keep or "", lang)
    until, by = str(r.details.get("keep_until") or ""), str(r.details.get("kept_by") or "")
    name = _name(r.label, r.name, r.region, lang)
    if r.keep == "kept-until" and until and by:
        return "• " + t._("{name} · *kept until {date}* by {user}", name=name, date=esc(until), user=f"<@{esc(by)}>")
    if r.keep == "kept-until" and until:
        why = t._("kept until {date}", date=esc(until))
    return f"• {name} · *{why}*: {esc(one_line(clip(translate_reason(r.keep_reason, lang), 400)))}"


def result_line(r: ResourceResult, lang: str = DEFAULT_LANGUAGE) -> str:
    line = f"{RESULT_ICONS.get(r.status, '•')} {_name(r.label, r.name, r.region, lang)} · {result_word(r.status, lang)}"
    if r.error_code:
        line += f" `{esc(one_line(r.error_code))}`"
    if r.reason:
        line += f": {esc(one_line(clip(translate_reason(r.reason, lang), 400)))}"
    return line


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def counts_text(counts: Mapping[Any, int], lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    order = ["deleted", "already_gone", "skipped", "failed"]
    return ", ".join(f"{t.number(counts.get(s, 0))} {result_word(s, lang)}" for s in order)


def _messages(body: list[Block], title: str) -> list[list[Block]]:
    """Split blocks into messages of at most MESSAGE_BLOCK_BUDGET blocks; a title on the first one."""
    per = MESSAGE_BLOCK_BUDGET - 1
    chunks = [body[i : i + per] for i in range(0, len(body), per)] or [[]]
    out: list[list[Block]] = []
    for i, chunk in enumerate(chunks):
        label = title if len(chunks) == 1 else f"{title} ({i + 1}/{len(chunks)})"
        out.append([context(label), *chunk])
    return out


def shown_plan(plan: Plan) -> Plan:
    """The plan as people see it: a fleet plan of one account that was scanned reads as that account's own plan."""
    if len(plan.accounts) == 1 and not plan.accounts[0].error:
        return plan.for_account(plan.accounts[0].account_id)
    return plan
