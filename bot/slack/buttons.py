"""The answer's buttons: Stop while it streams, 👍 / 👎 once it is done. Pure."""

from __future__ import annotations

import json
from typing import Any

STOP = "stop_answer"
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"
VOTES = {FEEDBACK_UP: "up", FEEDBACK_DOWN: "down"}
CONTROLS_BLOCK = "answer_controls"
FEEDBACK_BLOCK = "answer_feedback"


def _button(action_id: str, label: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def stop_block(turn_key: str, asker: str) -> dict[str, Any]:
    value = json.dumps({"turn": turn_key, "asker": asker}, separators=(",", ":"))
    return {
        "type": "actions",
        "block_id": CONTROLS_BLOCK,
        "elements": [_button(STOP, "Stop", value, "danger")],
    }


def read_stop(value: str) -> tuple[str, str] | None:
    """(turn key, asker) from a Stop button's value, or None if it is not one of ours."""
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    turn, asker = data.get("turn"), data.get("asker")
    if not isinstance(turn, str) or not isinstance(asker, str) or not turn or not asker:
        return None
    return turn, asker


def feedback_block(response_id: str, up: int = 0, down: int = 0) -> dict[str, Any]:
    """👍 / 👎 buttons; once people have voted, each shows its count."""
    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK,
        "elements": [
            _button(FEEDBACK_UP, f"👍 {up}" if up or down else "👍", response_id),
            _button(FEEDBACK_DOWN, f"👎 {down}" if up or down else "👎", response_id),
        ],
    }


def shows_feedback(blocks: list[dict[str, Any]]) -> bool:
    """True when the blocks hold the feedback buttons (Slack sent the message as shown)."""
    return any(isinstance(b, dict) and b.get("block_id") == FEEDBACK_BLOCK for b in blocks)


def with_feedback_counts(
    blocks: list[dict[str, Any]], response_id: str, up: int, down: int
) -> list[dict[str, Any]]:
    """The message's blocks with its feedback buttons showing the counts."""
    return [
        feedback_block(response_id, up, down)
        if isinstance(b, dict) and b.get("block_id") == FEEDBACK_BLOCK
        else b
        for b in blocks
    ]
