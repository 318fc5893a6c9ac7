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
        "app_home_opened",
        "assistant_thread_started",
        "assistant_thread_context_changed",
    } <= events


def test_scopes_cover_the_calls_the_bot_makes() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert {
        "app_mentions:read", "chat:write", "commands", "im:history", "channels:history",
        "groups:history", "assistant:write", "users:read", "files:read", "files:write",
    } <= scopes  # fmt: skip


# Each scope the manifest asks for, and what in the bot needs it. A scope the bot does not
# use is one more thing a workspace admin must accept: none is asked for without a reason.
SCOPES_USED = {
    "app_mentions:read": "app_mention events",
    "assistant:write": "assistant.threads.setStatus / setTitle / setSuggestedPrompts",
    "chat:write": "chat.postMessage, chat.update, chat.postEphemeral, chat.*Stream",
    "chat:write.public": "/ask answered in public channels the bot has not joined",
    "commands": "/ask, /ask-settings",
    "files:read": "files attached to questions, from url_private_download; files.info",
    "files:write": "files_upload_v2: images the model makes, files its code writes",
    "users:read": "users.info: admins and owners (settings, App Home), the asker's time zone",
    "im:history": "message.im events (DMs to the bot)",
    "channels:history": "message.channels events; conversations.replies / history",
    "groups:history": "message.groups events; conversations.replies / history",
    "mpim:history": "conversations.replies / history in a group DM the bot is mentioned in",
}


def test_the_manifest_asks_only_for_scopes_the_bot_uses() -> None:
    scopes = manifest()["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == set(SCOPES_USED)
    assert not {"im:read", "im:write"} & set(scopes)  # no call needs them


def test_commands_interactivity_socket_mode_and_the_agent_view() -> None:
    data = manifest()
    commands = [c["command"] for c in data["features"]["slash_commands"]]
    assert commands[:2] == ["/ask", "/ask-settings"]
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["features"]["bot_user"]["display_name"]
    # Slack's agent experience; assistant_view is on its way out.
    assert data["features"]["agent_view"]["agent_description"]
    assert "assistant_view" not in data["features"]
    assert data["features"]["app_home"]["messages_tab_enabled"] is True


def test_the_install_flow_asks_for_the_manifest_s_bot_scopes() -> None:
    from bot.slack.install import BOT_SCOPES

    assert list(BOT_SCOPES) == manifest()["oauth_config"]["scopes"]["bot"]


def test_uninstalls_and_revoked_tokens_are_subscribed() -> None:
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_uninstalled", "tokens_revoked"} <= events
