"""Block Kit limits, checked explicitly (slack_sdk's models check some; these are the documented ones)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View


def _texts(node: Any, path: str = "") -> list[tuple[str, str, str]]:
    """(path, type, text) of every text object."""
    found: list[tuple[str, str, str]] = []
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            found.append((path, node["type"], node["text"]))
        for key, value in node.items():
            found.extend(_texts(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_texts(value, f"{path}[{i}]"))
    return found


def block_problems(blocks: list[dict[str, Any]], max_blocks: int) -> list[str]:
    problems = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks > {max_blocks}")
    for i, block in enumerate(blocks):
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()  # slack_sdk's own checks (raise on failure)
        for path, _type, text in _texts(block, f"[{i}]"):
            if len(text) > 3000:
                problems.append(f"{path}: text of {len(text)} chars")
            if not text:
                problems.append(f"{path}: empty text")
        kind = block["type"]
        if kind == "header" and len(block["text"]["text"]) > 150:
            problems.append(f"[{i}] header too long")
        if kind == "section" and len(block.get("fields", [])) > 10:
            problems.append(f"[{i}] more than 10 fields")
        if kind == "context" and len(block["elements"]) > 10:
            problems.append(f"[{i}] more than 10 context elements")
        if kind == "actions":
            if len(block["elements"]) > 25:
                problems.append(f"[{i}] more than 25 actions")
            for el in block["elements"]:
                if el["type"] == "button" and len(el["text"]["text"]) > 75:
                    problems.append(f"[{i}] button label longer than 75")
                if len(el.get("placeholder", {}).get("text", "")) > 150:
                    problems.append(f"[{i}] placeholder longer than 150")
                if len(el.get("value", "")) > 2000:
                    problems.append(f"[{i}] button value longer than 2000")
        if len(block.get("block_id", "")) > 255:
            problems.append(f"[{i}] block_id too long")
    return problems


def message_problems(blocks: list[dict[str, Any]]) -> list[str]:
    return block_problems(blocks, 50)


def modal_problems(view: dict[str, Any]) -> list[str]:
    View(**view).validate_json()
    problems = block_problems(view["blocks"], 100)
    for key in ("title", "submit", "close"):
        if key in view and len(view[key]["text"]) > 24:
            problems.append(f"modal {key} longer than 24")
    if len(view.get("private_metadata", "")) > 3000:
        problems.append("private_metadata longer than 3000")
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    if len(inputs) != 1 or inputs[0]["element"]["type"] != "plain_text_input":
        problems.append("the modal must hold exactly one plain_text_input")
    return problems
