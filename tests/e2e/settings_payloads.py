"""Builders of the payloads of a settings modal, shaped as Slack sends them."""

from __future__ import annotations

import uuid
from typing import Any


def view_submission(
    view: dict[str, Any],
    values: dict[str, str],
    *,
    user: str = "U1",
    team: str = "T1",
) -> dict[str, Any]:
    """A `view_submission` of the modal `view` (as FakeSlack opened it), its input
    blocks holding `values` (block_id → typed text); every other input left as shown."""
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        value = values.get(block["block_id"], element.get("initial_value"))
        state[block["block_id"]] = {element["action_id"]: {"type": element["type"], "value": value}}
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": "test"},
        "user": {"id": user, "username": f"user-{user.lower()}", "team_id": team},
        "api_app_id": "A1",
        "token": "verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.abc",
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
        "is_enterprise_install": False,
    }


def app_home_opened(*, tab: str, user: str = "U1", channel: str = "D1") -> dict[str, Any]:
    """An `app_home_opened` event: the person opened the bot's `tab` ("messages": their
    DM with it, which in Slack's agent experience replaces assistant_thread_started)."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": f"{uuid.uuid4().int % 10**9}.000100",
    }
