"""manifest.yml asks Slack for everything the bot listens to and calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).parents[2] / "manifest.yml"


def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def test_events_the_bot_handles_are_subscribed() -> None:
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    assert {
        "app_mention",
        "message.im",
        "message.channels",
        "message.groups",
        "assistant_thread_started",
        "assistant_thread_context_changed",
    } <= events


def test_scopes_cover_the_calls_the_bot_makes() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert {
        "app_mentions:read", "chat:write", "commands", "im:history", "channels:history",
        "groups:history", "assistant:write",
    } <= scopes  # fmt: skip


def test_ask_command_interactivity_socket_mode_and_the_assistant_view() -> None:
    data = manifest()
    assert [c["command"] for c in data["features"]["slash_commands"]] == ["/ask"]
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["features"]["bot_user"]["display_name"]
    assert data["features"]["assistant_view"]["assistant_description"]


def test_the_install_flow_asks_for_the_manifest_s_bot_scopes() -> None:
    from bot.slack.install import BOT_SCOPES

    assert list(BOT_SCOPES) == manifest()["oauth_config"]["scopes"]["bot"]


def test_uninstalls_and_revoked_tokens_are_subscribed() -> None:
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_uninstalled", "tokens_revoked"} <= events
