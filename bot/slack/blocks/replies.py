"""Small conversations: usage, history, and how to invite the app (in the language of the person who asked)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.i18n import DEFAULT_LANGUAGE, N_, translator
from bot.slack.blocks.common import MAX_TEXT, Block, clip, counts_text, esc, pack, section, slack_date, who

# A plan's status as the history shows it
STATUS_WORDS = {
    "pending": N_("pending"),
    "approved": N_("approved"),
    "running": N_("running"),
    "done": N_("done"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
    "expired": N_("expired"),
}


def usage_blocks(
    profiles: Mapping[str, str], default_regions: Sequence[str], lang: str = DEFAULT_LANGUAGE
) -> list[Block]:
    t = translator(lang)
    names = "\n".join(f"• `{esc(n)}`: {esc(d)}" for n, d in sorted(profiles.items())) or t._("• (none)")
    return [
        section(
            t._(
                "*/cleanup* finds a workshop's AWS resources and, once a teammate types `confirm`, deletes them.\n"
                "• `/cleanup <profile> [region ...] [account-id ...]`: scan and post a plan to this channel "
                "(default regions: {regions}; with CLEANUP_ACCOUNTS, every configured account unless some are named)\n"
                "• `/cleanup history`: the last runs\n"
                "• `/cleanup savings`: what cleanups saved, month by month\n"
                "• `/cleanup help`: this message",
                regions=", ".join(default_regions),
            )
        ),
        section(clip(t._("*Profiles*") + "\n" + names, MAX_TEXT)),
    ]


def history_blocks(entries: Sequence[Any], lang: str = DEFAULT_LANGUAGE) -> list[Block]:
    """`entries` are bot.core.state.HistoryEntry values (record + result counts)."""
    t = translator(lang)
    if not entries:
        return [section(t._("No cleanup has been requested yet."))]
    lines = []
    for entry in entries:
        rec = entry.record
        asked = who(rec.requester, lang)
        if rec.approver:
            asked = t._("{requester}, approved by {approver}", requester=asked, approver=who(rec.approver, lang))
        if rec.status == "cancelled" and not rec.plan.to_delete:
            result = t._("nothing to clean")
        else:
            result = t._(STATUS_WORDS[rec.status]) if rec.status in STATUS_WORDS else rec.status
        if entry.counts:
            result += f": {counts_text(entry.counts, lang)}"
        lines.append(
            t._(
                "• {date} · `{profile}` · asked by {asked} · *{result}*",
                date=slack_date(rec.created_at, lang),
                profile=esc(rec.profile),
                asked=asked,
                result=esc(result),
            )
        )
    return [section(t._("*Last cleanups*")), *(section(text) for text in pack(lines)[:20])]


def not_in_channel_text(channel: str, lang: str = DEFAULT_LANGUAGE) -> str:
    return translator(lang)._(
        "I can't post the plan in {channel} because I'm not a member of it. "
        "Invite me with `/invite @dogcat-cleanup` (or the channel's settings → Integrations → Add apps), "
        "then run the command again.",
        channel=f"<#{esc(channel)}>",
    )
