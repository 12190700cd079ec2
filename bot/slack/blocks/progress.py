"""Progress and results in the thread: one progress message, then the per-resource summary.

A run refused as a whole (the credentials point at another account, AWS unreachable, no credentials: each result
"skipped" with the code RUN_REFUSED) says why once, at the top (per account for a fleet); its resources are then
listed without repeating it. The verdict on the run (bot.core.plan.run_verdict) picks the icon and words people
read first, here and on the plan message."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from bot.core.plan import GONE, Plan, ResourceResult, RunVerdict, is_refused, refusals, run_verdict, split_key
from bot.i18n import DEFAULT_LANGUAGE, N_, translator
from bot.reasons_i18n import translate_reason
from bot.slack.blocks.common import (
    RESULT_ICONS,
    Block,
    _capital,
    _messages,
    _name,
    clip,
    context,
    counts_text,
    duration,
    esc,
    one_line,
    pack,
    result_heading,
    result_line,
    section,
    shown_plan,
)

VERDICT_ICONS = {
    RunVerdict.ALL_DONE: ":white_check_mark:",
    RunVerdict.PARTLY_DONE: ":large_yellow_circle:",
    RunVerdict.SOME_FAILED: ":warning:",
    RunVerdict.NOTHING_DELETED: ":no_entry_sign:",
    RunVerdict.REFUSED: ":no_entry:",
}
VERDICT_TITLES = {
    RunVerdict.ALL_DONE: N_("Cleanup finished"),
    RunVerdict.PARTLY_DONE: N_("Cleanup partly done"),
    RunVerdict.SOME_FAILED: N_("Cleanup finished with failures"),
    RunVerdict.NOTHING_DELETED: N_("Cleanup finished, nothing deleted"),
    RunVerdict.REFUSED: N_("Cleanup refused"),
}


def verdict_words(verdict: RunVerdict, results: Sequence[ResourceResult], planned: int, lang: str) -> str:
    """What the run did, in a few words: "everything approved is gone", "3 of 14 failed"..."""
    t = translator(lang)
    gone = sum(1 for r in results if r.status in GONE)
    failed = sum(1 for r in results if r.status == "failed")
    if verdict == RunVerdict.ALL_DONE:
        return t._("everything approved is gone")
    if verdict == RunVerdict.PARTLY_DONE:
        return t._("{gone} of {planned} gone, the rest kept", gone=t.number(gone), planned=t.number(planned))
    if verdict == RunVerdict.SOME_FAILED:
        return t._("{failed} of {planned} failed", failed=t.number(failed), planned=t.number(planned))
    if verdict == RunVerdict.REFUSED:
        return t._("refused as a whole, nothing was deleted")
    return t._("nothing was deleted, every resource was kept")


def refusal_text(reasons: Mapping[str, str], lang: str = DEFAULT_LANGUAGE) -> str:
    """Why the run (or some accounts of a fleet) was refused, said once; "" when it was not."""
    t = translator(lang)
    parts = []
    for account, reason in reasons.items():
        why = esc(one_line(clip(translate_reason(reason, lang), 500)))
        if account:
            parts.append(t._("account `{account}` refused: {reason}", account=account, reason=why))
        else:
            parts.append(t._("Refused: {reason}", reason=why))
    return "; ".join(parts)


def status_text(results: Sequence[ResourceResult], planned: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """The outcome as plain text (notifications): "Cleanup refused: refused as a whole, nothing was deleted"."""
    verdict = run_verdict(results, planned)
    return f"{translator(lang)._(VERDICT_TITLES[verdict])}: {verdict_words(verdict, results, planned, lang)}"


def outcome_line(r: ResourceResult, lang: str = DEFAULT_LANGUAGE) -> str:
    """A result's line; a refused one names the resource only (the refusal is said once, above)."""
    if is_refused(r):
        return f"{RESULT_ICONS['skipped']} {_name(r.label, r.name, r.region, lang)}"
    return result_line(r, lang)


def progress_blocks(
    plan: Plan,
    results: Mapping[str, ResourceResult],
    current: str = "",
    finished: bool = False,
    lang: str = DEFAULT_LANGUAGE,
) -> list[Block]:
    """The one progress message of a run, updated in place."""
    t = translator(lang)
    total = len(plan.to_delete)
    done = len([k for k in results if k in {r.key for r in plan.to_delete}])
    counts = Counter(r.status for r in results.values())
    bar_len = 20
    filled = bar_len if not total else round(bar_len * done / total)
    bar = "█" * filled + "░" * (bar_len - filled)
    head = t._("Deletion finished") if finished else t._("Deleting")
    handled = t._("{done}/{total} handled", done=t.number(done), total=t.number(total))
    blocks: list[Block] = [section(f"*{head}:* {handled} `{bar}`\n{counts_text(counts, lang)}")]
    refused = refusal_text(refusals(results.values()), lang)
    if refused:
        blocks.append(section(f":no_entry: {refused}"))
    recent = [outcome_line(r, lang) for r in list(results.values())[-10:]]
    if recent:
        blocks.append(section(t._("Latest:") + "\n" + "\n".join(recent)))
    if current and not finished:
        blocks.append(context(esc(clip(current, 2000))))
    return blocks


def progress_text(
    plan: Plan, results: Mapping[str, ResourceResult], finished: bool = False, lang: str = DEFAULT_LANGUAGE
) -> str:
    t = translator(lang)
    head = t._("Deletion finished") if finished else t._("Deleting")
    handled = t._("{done}/{total} handled", done=t.number(len(results)), total=t.number(len(plan.to_delete)))
    return f"{head}: {handled}"


def summary_intro(
    plan: Plan,
    results: Sequence[ResourceResult],
    seconds: float,
    approver: str,
    cost_stopped: float,
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    """The summary's first lines: the verdict with its icon, the counts, and a refusal said once."""
    t = translator(lang)
    planned = len(plan.to_delete)
    verdict = run_verdict(results, planned)
    text = (
        VERDICT_ICONS[verdict]
        + " "
        + t._(
            "*Cleanup of {profile} finished* in {duration}, approved by {approver}: *{verdict}* ({counts}). "
            "Cost stopped: about *{cost}*.",
            profile=esc(plan.profile),
            duration=duration(seconds, lang),
            approver=f"<@{esc(approver)}>",
            verdict=verdict_words(verdict, results, planned, lang),
            counts=counts_text(Counter(r.status for r in results), lang),
            cost=t.monthly(cost_stopped),
        )
    )
    refused = refusal_text(refusals(results), lang)
    return f"{text}\n:no_entry: {refused}" if refused else text


def summary_messages(
    plan: Plan,
    results: Sequence[ResourceResult],
    seconds: float,
    approver: str,
    cost_stopped: float,
    lang: str = DEFAULT_LANGUAGE,
) -> list[list[Block]]:
    """The final report: one line per resource (deleted, already gone, skipped, failed with the AWS error), per
    account for several accounts. A fleet of one scanned account reads as that account's own report."""
    shown = shown_plan(plan)
    if shown is not plan:
        account = plan.accounts[0].account_id
        results = [replace(r, key=split_key(r.key)[1]) for r in results if split_key(r.key)[0] == account]
        plan = shown
    if plan.is_fleet:
        return _summary_by_account(plan, results, seconds, approver, cost_stopped, lang)
    t = translator(lang)
    intro = section(summary_intro(plan, results, seconds, approver, cost_stopped, lang))
    lines: list[str] = []
    refused = [r for r in results if is_refused(r)]
    for status in ("failed", "skipped", "deleted", "already_gone"):
        group = [r for r in results if r.status == status and not is_refused(r)]
        if group:
            lines.append(f"*{result_heading(status, lang)}* ({t.number(len(group))})")
            lines.extend(result_line(r, lang) for r in group)
        if status == "skipped" and refused:
            lines.append(t._("*Not deleted, refused* ({n}): for the reason above", n=t.number(len(refused))))
            lines.extend(outcome_line(r, lang) for r in refused)
    missing = [r for r in plan.to_delete if r.key not in {x.key for x in results}]
    if missing:
        lines.append(t._("*Not handled* ({n})", n=t.number(len(missing))))
        lines.extend(f"• {esc(t.label(r.label))} `{esc(r.name)}` · {esc(r.region)}" for r in missing)
    messages = _messages([section(text) for text in pack(lines)], title=t._("Results"))
    messages[0].insert(0, intro)
    return messages


def _summary_by_account(
    plan: Plan,
    results: Sequence[ResourceResult],
    seconds: float,
    approver: str,
    cost_stopped: float,
    lang: str,
) -> list[list[Block]]:
    """The final report of several accounts: the total, then each account's counts and one line per resource."""
    t = translator(lang)
    counts = Counter(r.status for r in results)
    by_account: dict[str, list[ResourceResult]] = {}
    for r in results:
        by_account.setdefault(split_key(r.key)[0], []).append(r)
    accounts_failed = sum(1 for rs in by_account.values() if any(r.status == "failed" for r in rs))
    failures = ""
    if accounts_failed:
        failures = t.n_(" ({n} account with failures)", " ({n} accounts with failures)", accounts_failed)
    verdict = run_verdict(results, len(plan.to_delete))
    words = _capital(verdict_words(verdict, results, len(plan.to_delete), lang))
    intro = section(
        VERDICT_ICONS[verdict]
        + " "
        + t._(
            "*Cleanup of {profile} finished* in {duration} across {accounts}, approved by {approver}: {counts}"
            "{failures}. Cost stopped: about *{cost}*.",
            profile=esc(plan.profile),
            duration=duration(seconds, lang),
            accounts=t.n_("{n} account", "{n} accounts", len(by_account)),
            approver=f"<@{esc(approver)}>",
            counts=counts_text(counts, lang),
            failures=failures,
            cost=t.monthly(cost_stopped),
        )
        + f" *{words}.*"
    )
    sections: list[Block] = []
    planned = {r.key for r in results}
    for part in plan.accounts:
        if part.error:
            continue
        rs = by_account.get(part.account_id, [])
        lines = [
            t._(
                "*Account `{account}`*: {counts}",
                account=part.account_id,
                counts=counts_text(Counter(r.status for r in rs), lang),
            )
        ]
        refused = refusal_text(refusals(rs), lang)
        if refused:  # said once for the account, not on each of its resources
            lines[0] += f"\n:no_entry: {refused}"
        for status in ("failed", "skipped", "deleted", "already_gone"):
            lines += [outcome_line(r, lang) for r in rs if r.status == status]
        missing = [r for r in plan.to_delete if r.account_id == part.account_id and r.key not in planned]
        not_handled = t._("not handled")
        lines += [f"• {esc(t.label(r.label))} `{esc(r.name)}` · {esc(r.region)} · {not_handled}" for r in missing]
        sections.extend(section(text) for text in pack(lines))
    messages = _messages(sections, title=t._("Results per account"))
    messages[0].insert(0, intro)
    return messages


def summary_text(results: Sequence[ResourceResult], planned: int | None = None, lang: str = DEFAULT_LANGUAGE) -> str:
    """The summary's notification text: the verdict and the counts."""
    shown = status_text(results, len(results) if planned is None else planned, lang)
    return f"{shown} ({counts_text(Counter(r.status for r in results), lang)})"


def cost_stopped(plan: Plan, results: Iterable[ResourceResult]) -> float:
    deleted = {r.key for r in results if r.status == "deleted"}
    return sum(r.monthly_cost or 0.0 for r in plan.to_delete if r.key in deleted)
