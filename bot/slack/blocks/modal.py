"""The confirmation modal: a summary of what will be deleted and the one input that takes `confirm`."""

from __future__ import annotations

from typing import Any

from bot.core.plan import Plan, PlannedResource
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
    pack_counted,
    plain,
    plural,
    resource_line,
    section,
    who,
)
from bot.slack.blocks.plan import PlanContext, _Labelled


def confirm_modal(plan: Plan, ctx: PlanContext) -> dict[str, Any]:
    """The modal a teammate types `confirm` in. Only the plan id travels, in private_metadata."""
    if plan.is_fleet:
        from bot.slack.blocks import fleet as fleet_blocks

        return fleet_blocks.confirm_modal(plan, ctx)
    n = len(plan.to_delete)
    blocks: list[Block] = [
        section(
            f"{_capital(who(ctx.requester))} asks to delete *{plural(n, 'resource')}* in account "
            f"{esc(plan.account_id)} "
            f"({', '.join(plan.regions)}), {cost_text(plan)}. This cannot be undone."
        )
    ]
    lines: list[str] = []
    items: list[Any] = []
    for service, rs in group_by_service(plan.to_delete).items():
        lines.append(f"*{esc(service)}*")
        items.append(_Labelled("heading"))
        for r in rs:
            lines.append(resource_line(r))
            items.append(r)
    budget = MAX_MODAL_BLOCKS - 5
    packed = pack_counted(lines)
    texts = [t for t, _ in packed]
    if len(packed) > budget:
        shown_lines = sum(n for _, n in packed[: budget - 1])
        rest = [x for x in items[shown_lines:] if isinstance(x, PlannedResource)]
        texts = [*texts[: budget - 1], f"_{more_text(rest)}; the full list is in the thread_"]
    blocks.extend(section(t) for t in texts)
    if plan.kept:
        blocks.append(
            context(clip(f"{plural(len(plan.kept), 'resource')} found will be kept (see the message).", MAX_TEXT))
        )
    blocks.append(
        {
            "type": "input",
            "block_id": CONFIRM_BLOCK,
            "label": plain(f"Type {CONFIRM_WORD} to delete {plural(n, 'resource')}", 2000),
            "element": {
                "type": "plain_text_input",
                "action_id": CONFIRM_INPUT,
                "placeholder": plain(CONFIRM_WORD, 150),
                "max_length": 100,
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": CONFIRM_CALLBACK,
        "private_metadata": ctx.plan_id,
        "title": plain("Confirm cleanup", MAX_MODAL_TITLE),
        "submit": plain("Delete", MAX_MODAL_TITLE),
        "close": plain("Cancel", MAX_MODAL_TITLE),
        "blocks": blocks,
    }
