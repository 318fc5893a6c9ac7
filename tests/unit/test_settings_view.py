"""The channel-settings modal: what it shows, and what a submission of it says."""

from __future__ import annotations

import json
from typing import Any

from bot.conversation.channel_settings import effective
from bot.conversation.parameters import Parameters
from bot.slack.settings_view import settings_view, submitted, where

DEFAULTS = Parameters("gpt-4.1", "Be brief.")


def fields(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if "block_id" in b}


def test_each_field_holds_the_channels_own_value_and_says_what_holds_now() -> None:
    rows = effective(DEFAULTS, {"temperature": "0.5"}, {"model": "gpt-4o"})
    view = settings_view("T1", "C7", "U5", rows)
    shown = fields(view)
    assert shown["setting_model"]["element"]["initial_value"] == "gpt-4o"
    assert "Now: gpt-4o (from this channel)" in shown["setting_model"]["hint"]["text"]
    assert "initial_value" not in shown["setting_temperature"]["element"]
    assert "Now: 0.5 (from the workspace)" in shown["setting_temperature"]["hint"]["text"]
    assert "from the environment" in shown["setting_tools"]["hint"]["text"]
    assert shown["setting_instructions"]["element"]["multiline"] is True
    assert where(view) == ("T1", "C7", "U5")
    assert len(view["title"]["text"]) <= 24  # Slack's limit


def test_instructions_too_long_for_a_field_are_shown_and_kept() -> None:
    long = "Answer in verse. " * 300
    view = settings_view("T1", "C7", "U5", effective(DEFAULTS, {}, {"instructions": long}))
    block = fields(view)["setting_instructions"]
    assert block["type"] == "section"  # not an input: a submission cannot empty it
    state = {"values": {"setting_model": {"value": {"type": "plain_text_input", "value": ""}}}}
    assert submitted({**view, "state": state}) == {"model": ""}


def test_unreadable_submissions_say_nothing() -> None:
    assert where({"private_metadata": "not json"}) is None
    assert where({"private_metadata": json.dumps({"team": "T1"})}) is None
    assert where({}) is None
    assert submitted({}) == {}
    assert (
        submitted({"state": {"values": {"setting_model": "x", "setting_tools": {"value": 3}}}})
        == {}
    )
    odd = {"state": {"values": {"setting_model": {"value": {"value": None}}}}}
    assert submitted(odd) == {"model": ""}
