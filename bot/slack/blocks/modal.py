"""The confirmation modal: a summary of what will be deleted and the one input that takes `confirm`."""

from __future__ import annotations

from typing import Any

from bot.core.plan import Plan, PlannedResource
from bot.i18n import DEFAULT_LANGUAGE, translator
from bot.slack.blocks.common import (
    CONFIRM_BLOCK,
    CONFIRM_CALLBACK,
    CONFIRM_INPUT,
    CONFIRM_WORD,
    MAX_MODAL_BLOCKS,
    MAX_MODAL_TITLE,
    MAX_TEXT,
    Block,
    _capital,
    clip,
    context,
    cost_text,
    esc,
    group_by_service,
    more_text,
    pack,
    pack_counted,
    plain,
    resource_line,
    resources_text,
    section,
    shown_plan,
    who,
)
from bot.slack.blocks.plan import PlanContext, _Labelled, account_lines


def confirm_modal(plan: Plan, ctx: PlanContext, lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """The modal a teammate types `confirm` in, in their language (`lang`); the word itself is `confirm` in every
    language. Only the plan id travels, in private_metadata. One frame for every plan: what is asked, then one
    account's resources by service, or several accounts' subtotals."""
    t = translator(lang)
    plan = shown_plan(plan)
    body = _by_account(plan, ctx, lang) if plan.is_fleet else _by_service(plan, ctx, lang)
    return {
        "type": "modal",
        "callback_id": CONFIRM_CALLBACK,
        "private_metadata": ctx.plan_id,
        "title": plain(t._("Confirm cleanup"), MAX_MODAL_TITLE),
        "submit": plain(t._("Delete"), MAX_MODAL_TITLE),
        "close": plain(t._("Cancel"), MAX_MODAL_TITLE),
        "blocks": [*body, confirm_input(len(plan.to_delete), lang)],
    }


def _by_service(plan: Plan, ctx: PlanContext, lang: str) -> list[Block]:
    t = translator(lang)
    blocks: list[Block] = [
        section(
            t._(
                "{who} asks to delete *{resources}* in account {account} ({regions}), {cost}. This cannot be undone.",
                who=_capital(who(ctx.requester, lang)),
                resources=resources_text(len(plan.to_delete), lang),
                account=esc(plan.account_id),
                regions=", ".join(plan.regions),
                cost=cost_text(plan, lang),
            )
        )
    ]
    lines: list[str] = []
    items: list[Any] = []
    for service, rs in group_by_service(plan.to_delete).items():
        lines.append(f"*{esc(service)}*")
        items.append(_Labelled("heading"))
        for r in rs:
            lines.append(resource_line(r, lang))
            items.append(r)
    budget = MAX_MODAL_BLOCKS - 5
    packed = pack_counted(lines)
    texts = [text for text, _ in packed]
    if len(packed) > budget:
        shown_lines = sum(n for _, n in packed[: budget - 1])
        rest = [x for x in items[shown_lines:] if isinstance(x, PlannedResource)]
        tail = t._("; the full list is in the thread")
        texts = [*texts[: budget - 1], f"_{more_text(rest, lang)}{tail}_"]
    blocks.extend(section(text) for text in texts)
    if plan.kept:
        kept = t.n_(
            "{n} resource found will be kept (see the message).",
            "{n} resources found will be kept (see the message).",
            len(plan.kept),
        )
        blocks.append(context(clip(kept, MAX_TEXT)))
    return blocks


def _by_account(plan: Plan, ctx: PlanContext, lang: str) -> list[Block]:
    t = translator(lang)
    intro = section(
        t._(
            "{who} asks to delete *{resources}* in {accounts} ({regions}), {cost}. Each account is deleted under its "
            "own account check. This cannot be undone.",
            who=_capital(who(ctx.requester, lang)),
            resources=resources_text(len(plan.to_delete), lang),
            accounts=t.n_("{n} account", "{n} accounts", len([p for p in plan.accounts if not p.error])),
            regions=", ".join(plan.regions),
            cost=cost_text(plan, lang),
        )
    )
    texts = pack([t._("*By account* ({n}):", n=t.number(len(plan.accounts))), *account_lines(plan, lang)])
    budget = MAX_MODAL_BLOCKS - 5
    if len(texts) > budget:
        texts = [*texts[: budget - 1], t._("_and more accounts; see the thread_")]
    blocks = [intro, *(section(text) for text in texts)]
    if plan.kept:
        kept = t.n_(
            "{n} resource found will be kept (see the thread).",
            "{n} resources found will be kept (see the thread).",
            len(plan.kept),
        )
        blocks.append(context(kept))
    return blocks


def confirm_input(n: int, lang: str = DEFAULT_LANGUAGE) -> Block:
    """The one input: its label says, in the reader's language, to type the word `confirm` as it is."""
    t = translator(lang)
    return {
        "type": "input",
        "block_id": CONFIRM_BLOCK,
        "label": plain(
            t._("Type {word} to delete {resources}", word=CONFIRM_WORD, resources=resources_text(n, lang)), 2000
        ),
        "element": {
            "type": "plain_text_input",
            "action_id": CONFIRM_INPUT,
            "placeholder": plain(CONFIRM_WORD, 150),
            "max_length": 100,
        },
        "hint": plain(
            t._("The word to type is {word} in every language; anything else deletes nothing.", word=CONFIRM_WORD), 2000
        ),
    }
