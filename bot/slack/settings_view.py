"""The channel-settings modal as Block Kit, and what a submission of it says. Pure."""

from __future__ import annotations

import json
from typing import Any

from bot.conversation.channel_settings import MEANINGS, Effective

CALLBACK_ID = "channel_settings"
ACTION_ID = "value"
INPUT_LIMIT = 3000  # Slack's most for a plain_text_input's value
HINT_LIMIT = 2000
LABELS = {
    "model": "Model",
    "instructions": "Instructions",
    "tools": "Tools",
    "temperature": "Temperature",
    "max_output_tokens": "Max output tokens",
    "reasoning_effort": "Reasoning effort",
}
SOURCES = {
    "environment": "the environment",
    "workspace": "the workspace",
    "channel": "this channel",
}


def block_id(name: str) -> str:
    return f"setting_{name}"


def _text(text: str, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": kind, "text": text}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def settings_view(
    team_id: str, channel_id: str, opened_by: str, rows: list[Effective]
) -> dict[str, Any]:
    """A modal with one field per setting: the channel's own value in it (empty: the
    workspace's or the environment's holds), the value in effect and its source below."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": _text(
                f"Settings for <#{channel_id}>. Each field overrides the workspace's and the "
                "environment's value here; leave it empty to use theirs.",
                "mrkdwn",
            ),
        }
    ]
    for row in rows:
        now = _shorten(" ".join(row.value.split()), 1500)
        hint = f"Now: {now} (from {SOURCES[row.source]}). {MEANINGS[row.name]}."
        if row.name == "instructions" and row.own is not None and len(row.own) > INPUT_LIMIT:
            # Too long for the field: shown, and kept as it is (change it with the command).
            blocks.append(
                {
                    "type": "section",
                    "block_id": block_id(row.name),
                    "text": _text(
                        f"*{LABELS[row.name]}* (set for this channel, "
                        f"{len(row.own):,} characters): {_shorten(now, 2000)}",
                        "mrkdwn",
                    ),
                }  # fmt: skip
            )
            continue
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": ACTION_ID,
            "multiline": row.name == "instructions",
            "max_length": INPUT_LIMIT,
        }
        if row.own is not None:
            element["initial_value"] = row.own
        blocks.append(
            {
                "type": "input",
                "block_id": block_id(row.name),
                "optional": True,
                "label": _text(LABELS[row.name]),
                "hint": _text(_shorten(hint, HINT_LIMIT)),
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": json.dumps(
            {"team": team_id, "channel": channel_id, "opened_by": opened_by}
        ),
        "title": _text("Channel settings"),
        "submit": _text("Save"),
        "close": _text("Cancel"),
        "blocks": blocks,
    }


def where(view: dict[str, Any]) -> tuple[str, str, str] | None:
    """The (team, channel, opened by) the modal was opened for; None if unreadable."""
    try:
        meta = json.loads(str(view.get("private_metadata") or ""))
        return str(meta["team"]), str(meta["channel"]), str(meta["opened_by"])
    except (ValueError, KeyError, TypeError):
        return None


def submitted(view: dict[str, Any]) -> dict[str, str]:
    """Setting name → what the field holds ("" when emptied), for the fields shown."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return {}
    found = {}
    for name in LABELS:
        field = values.get(block_id(name))
        entry = field.get(ACTION_ID) if isinstance(field, dict) else None
        if isinstance(entry, dict):
            value = entry.get("value")
            found[name] = value.strip() if isinstance(value, str) else ""
    return found
