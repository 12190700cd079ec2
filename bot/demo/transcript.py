"""Block Kit as a person reads it, in a terminal: for the demo's transcript."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

_MENTION = re.compile(r"<@([A-Z0-9]+)>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_DATE = re.compile(r"<!date\^\d+\^[^|]*\|([^>]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_EMOJI = {
    ":white_check_mark:": "✔",
    ":x:": "✘",
    ":warning:": "⚠",
    ":hourglass_flowing_sand:": "⏳",
    ":lock:": "🔒",
    ":no_entry_sign:": "⛔",
    ":broom:": "🧹",
}


def plain(text: str, names: Mapping[str, str]) -> str:
    text = _MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + m.group(1).lower(), text)
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BOLD.sub(lambda m: m.group(1), text).replace("`", "")
    for code, symbol in _EMOJI.items():
        text = text.replace(code, symbol)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: Any, names: Mapping[str, str]) -> str:
    if isinstance(obj, dict):
        return plain(str(obj.get("text", "")), names)
    return ""


def render(blocks: Sequence[Mapping[str, Any]], names: Mapping[str, str], indent: str = "  │ ") -> str:
    lines: list[str] = []

    def add(text: str) -> None:
        for raw in text.splitlines() or [""]:
            lines.extend(textwrap.wrap(raw, 110, subsequent_indent="    ") or [""])

    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            add(_text(block.get("text"), names).upper())
        elif kind == "section":
            if block.get("text"):
                add(_text(block["text"], names))
            for f in block.get("fields", []):
                add("  " + _text(f, names))
        elif kind == "context":
            add("  " + "  ".join(_text(e, names) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("─" * 40)
        elif kind == "actions":
            buttons = []
            for e in block.get("elements", []):
                label = _text(e.get("text"), names)
                buttons.append(f"[ {label} ]" + (" (red)" if e.get("style") == "danger" else ""))
            add("   ".join(buttons))
        elif kind == "input":
            label = _text(block.get("label"), names)
            hint = _text(block.get("hint"), names)
            add(f"{label}\n  [ ____________________ ]" + (f"\n  {hint}" if hint else ""))
        elif kind == "rich_text":
            add("(rich text)")
    return "\n".join(indent + line for line in lines)
