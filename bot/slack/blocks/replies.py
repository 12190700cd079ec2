"""Small conversations: usage, history, and how to invite the app."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.slack.blocks.common import MAX_TEXT, Block, clip, counts_text, esc, pack, section, slack_date, who


def usage_blocks(profiles: Mapping[str, str], default_regions: Sequence[str]) -> list[Block]:
    names = "\n".join(f"• `{esc(n)}`: {esc(d)}" for n, d in sorted(profiles.items())) or "• (none)"
    return [
        section(
            "*/cleanup* finds a workshop's AWS resources and, once a teammate types `confirm`, deletes them.\n"
            "• `/cleanup <profile> [region ...] [account-id ...]`: scan and post a plan to this channel "
            f"(default regions: {', '.join(default_regions)}; with CLEANUP_ACCOUNTS, every configured account "
            "unless some are named)\n"
            "• `/cleanup history`: the last runs\n"
            "• `/cleanup savings`: what cleanups saved, month by month\n"
            "• `/cleanup help`: this message"
        ),
        section(clip("*Profiles*\n" + names, MAX_TEXT)),
    ]


def history_blocks(entries: Sequence[Any]) -> list[Block]:
    """`entries` are bot.core.state.HistoryEntry values (record + result counts)."""
    if not entries:
        return [section("No cleanup has been requested yet.")]
    lines = []
    for entry in entries:
        rec = entry.record
        asked = who(rec.requester) + (f", approved by {who(rec.approver)}" if rec.approver else "")
        result = "nothing to clean" if rec.status == "cancelled" and not rec.plan.to_delete else rec.status
        if entry.counts:
            result += f": {counts_text(entry.counts)}"
        lines.append(f"• {slack_date(rec.created_at)} · `{esc(rec.profile)}` · asked by {asked} · *{esc(result)}*")
    return [section("*Last cleanups*"), *(section(t) for t in pack(lines)[:20])]


def not_in_channel_text(channel: str) -> str:
    return (
        f"I can't post the plan in <#{esc(channel)}> because I'm not a member of it. "
        "Invite me with `/invite @dogcat-cleanup` (or the channel's settings → Integrations → Add apps), "
        "then run the command again."
    )
