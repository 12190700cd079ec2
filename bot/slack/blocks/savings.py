"""/cleanup savings: cost stopped and cost still running, per month."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.pricing import format_monthly
from bot.slack.blocks.common import Block, clip, context, plural, section


def savings_blocks(rows: Sequence[Any]) -> list[Block]:
    """`rows` are bot.core.savings.MonthSavings, oldest first: a short table, one row a month."""
    table_rows: list[list[dict[str, Any]]] = [
        [_cell("Month"), _cell("Cost stopped"), _cell("Cleanups"), _cell("Still running"), _cell("Found")]
    ]
    for row in rows[-12:]:
        table_rows.append(
            [
                _cell(row.month),
                _cell(format_monthly(row.stopped)),
                _cell(str(row.runs)),
                _cell(format_monthly(row.still_running)),
                _cell(str(row.found)),
            ]
        )
    total = sum(r.stopped for r in rows)
    return [
        section(
            f"*What cleanups saved* (last {plural(len(rows), 'month')}): about *{format_monthly(total)}* stopped "
            "by finished cleanups."
        ),
        {
            "type": "table",
            "column_settings": [{"align": "left"}] + [{"align": "right"}] * 4,
            "rows": table_rows,
        },
        context(
            "Cost stopped: the monthly price of what cleanups finished that month deleted. Still running: the "
            "monthly price of what scheduled reminders found that month and no cleanup had deleted by its end. "
            "Estimates from the price table, in US dollars per month."
        ),
    ]


def savings_text(rows: Sequence[Any]) -> str:
    """The notification fallback text of the savings table."""
    total = format_monthly(sum(r.stopped for r in rows))
    return f"What cleanups saved: about {total} stopped in {plural(len(rows), 'month')}"


def _cell(text: str) -> dict[str, Any]:
    return {"type": "raw_text", "text": clip(text, 200)}
