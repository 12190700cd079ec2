"""/cleanup savings: cost stopped and cost still running, per month."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.i18n import DEFAULT_LANGUAGE, translator
from bot.slack.blocks.common import Block, clip, context, section


def savings_blocks(rows: Sequence[Any], lang: str = DEFAULT_LANGUAGE) -> list[Block]:
    """`rows` are bot.core.savings.MonthSavings, oldest first: a short table, one row a month."""
    t = translator(lang)
    heads = (t._("Month"), t._("Cost stopped"), t._("Cleanups"), t._("Still running"), t._("Found"))
    table_rows: list[list[dict[str, Any]]] = [[_cell(h) for h in heads]]
    for row in rows[-12:]:
        table_rows.append(
            [
                _cell(row.month),
                _cell(t.monthly(row.stopped)),
                _cell(t.number(row.runs)),
                _cell(t.monthly(row.still_running)),
                _cell(t.number(row.found)),
            ]
        )
    total = sum(r.stopped for r in rows)
    return [
        section(
            t._(
                "*What cleanups saved* (last {months}): about *{cost}* stopped by finished cleanups.",
                months=t.n_("{n} month", "{n} months", len(rows)),
                cost=t.monthly(total),
            )
        ),
        {
            "type": "table",
            "column_settings": [{"align": "left"}] + [{"align": "right"}] * 4,
            "rows": table_rows,
        },
        context(
            t._(
                "Cost stopped: the monthly price of what cleanups finished that month deleted. Still running: the "
                "monthly price of what scheduled reminders found that month and no cleanup had deleted by its end. "
                "Estimates from the price table, in US dollars per month."
            )
        ),
    ]


def savings_text(rows: Sequence[Any], lang: str = DEFAULT_LANGUAGE) -> str:
    """The notification fallback text of the savings table."""
    t = translator(lang)
    return t._(
        "What cleanups saved: about {cost} stopped in {months}",
        cost=t.monthly(sum(r.stopped for r in rows)),
        months=t.n_("{n} month", "{n} months", len(rows)),
    )


def _cell(text: str) -> dict[str, Any]:
    return {"type": "raw_text", "text": clip(text, 200)}
