"""The Approve / Deny prompt of a remote MCP tool call, and what replaces it. Pure.

The prompt names the server, the tool and its arguments (bounded, shown as code,
escaped so that nothing in them can mention people or form links).
"""

from __future__ import annotations

import json
from typing import Any

from bot.conversation import notices
from bot.conversation.approvals import Approval

APPROVE = "approve_tool_call"
DENY = "deny_tool_call"
APPROVAL_BLOCK = "tool_approval"
MAX_ARGUMENTS = 1_200  # characters of arguments shown per call
MAX_NAME = 80


def escape(text: str) -> str:
    """Slack's three control characters, so model text cannot mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name(text: str) -> str:
    return escape(_bounded(" ".join(text.split()), MAX_NAME).replace("`", "'"))


def shown_arguments(arguments: str) -> str:
    """The call's arguments, pretty when they are JSON, bounded, safe inside ``` fences."""
    try:
        text = json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        text = arguments
    return escape(_bounded(text or "{}", MAX_ARGUMENTS).replace("```", "'''"))


def _button(action_id: str, label: str, key: str, style: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "value": key,
        "style": style,
    }


def _calls(approval: Approval) -> list[dict[str, Any]]:
    blocks = []
    for request in approval.requests[:5]:
        head = f"*{_name(request.server_label)}* wants to use `{_name(request.name)}` with:"
        body = f"```{shown_arguments(request.arguments)}```"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"{head}\n{body}"}})
    return blocks


def prompt(approval: Approval) -> dict[str, Any]:
    """`text` and `blocks` asking the asker to approve the tool call(s)."""
    ask = f"<@{approval.asker}>, may I use this tool?"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": ask}}]
    blocks += _calls(approval)
    blocks.append(
        {
            "type": "actions",
            "block_id": APPROVAL_BLOCK,
            "elements": [
                _button(APPROVE, "Approve", approval.key, "primary"),
                _button(DENY, "Deny", approval.key, "danger"),
            ],
        }
    )
    expires = f"Only <@{approval.asker}> can answer; this expires in {approval.minutes} minutes."
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": expires}]})
    return {"text": f"{ask} ({_name(approval.requests[0].name) if approval.requests else ''})",
            "blocks": blocks}  # fmt: skip


def settled(approval: Approval, outcome: str, by: str) -> dict[str, Any]:
    """The prompt once decided or expired: the calls, what came of them, no buttons."""
    if outcome == "approved":
        said = f"✅ Approved by <@{by}>."
    elif outcome == "denied":
        said = f"🚫 Denied by <@{by}>."
    elif outcome == "went_on":
        said = f"⏭️ {notices.APPROVAL_WENT_ON}"
    else:
        said = f"⌛ {notices.approval_timed_out(approval.minutes)}"
    blocks = _calls(approval)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": said}]})
    return {"text": said, "blocks": blocks}


def read_key(value: str) -> str | None:
    """The approval's key from a button's value, or None if it is not one."""
    value = value.strip()
    return value if value and len(value) <= 128 and value.isprintable() else None
