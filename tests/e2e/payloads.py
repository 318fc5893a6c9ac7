"""Builders of Slack event payloads, shaped as Slack sends them to the bot."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

_ts = itertools.count(1)


def new_ts() -> str:
    """A fresh, increasing Slack timestamp for a user's message."""
    n = next(_ts)
    return f"{1_690_000_000 + n // 1_000_000}.{n % 1_000_000:06d}"


def _message_fields(
    text: str, user: str, channel: str, ts: str | None, thread_ts: str | None, team: str
) -> dict[str, Any]:
    ts = ts or new_ts()
    fields: dict[str, Any] = {
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": team,
        "client_msg_id": str(uuid.uuid4()),
    }
    if thread_ts is not None:
        fields["thread_ts"] = thread_ts
    return fields


def mention(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
) -> dict[str, Any]:
    """An `app_mention` event; `text` usually starts with `<@UBOT>`."""
    return {"type": "app_mention", **_message_fields(text, user, channel, ts, thread_ts, team)}


def dm(
    text: str,
    *,
    user: str = "U1",
    channel: str = "D1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
) -> dict[str, Any]:
    """A direct `message` event (`channel_type: "im"`)."""
    fields = _message_fields(text, user, channel, ts, thread_ts, team)
    return {"type": "message", **fields, "channel_type": "im"}


def channel_message(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
) -> dict[str, Any]:
    """A plain `message` event in a channel (no mention)."""
    fields = _message_fields(text, user, channel, ts, thread_ts, team)
    return {"type": "message", **fields, "channel_type": "channel"}


def bot_message(
    text: str,
    *,
    bot_id: str = "BOTHER",
    user: str | None = None,
    channel: str = "D1",
    channel_type: str = "im",
    ts: str | None = None,
    thread_ts: str | None = None,
    subtype: str | None = "bot_message",
) -> dict[str, Any]:
    """A `message` event from a bot. `bot_id="BBOT", user="UBOT", subtype=None` is
    how the bot's own posts come back to it."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "text": text,
        "ts": ts,
        "bot_id": bot_id,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if subtype is not None:
        event["subtype"] = subtype
    if user is not None:
        event["user"] = user
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def message_changed(
    text: str,
    *,
    ts: str,
    previous_text: str = "",
    user: str = "U1",
    channel: str = "D1",
    channel_type: str = "im",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A `message_changed` event: the message at `ts` was edited to `text`."""
    event_ts = new_ts()
    message: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "edited": {"user": user, "ts": event_ts},
    }
    previous: dict[str, Any] = {"type": "message", "user": user, "text": previous_text, "ts": ts}
    if thread_ts is not None:
        message["thread_ts"] = previous["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel,
        "channel_type": channel_type,
        "ts": event_ts,
        "event_ts": event_ts,
        "message": message,
        "previous_message": previous,
    }


def message_deleted(
    *,
    ts: str,
    previous_text: str = "",
    user: str = "U1",
    channel: str = "C1",
    channel_type: str = "channel",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A `message_deleted` event: the message at `ts` was deleted by its author."""
    event_ts = new_ts()
    previous: dict[str, Any] = {"type": "message", "user": user, "text": previous_text, "ts": ts}
    if thread_ts is not None:
        previous["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": channel,
        "channel_type": channel_type,
        "ts": event_ts,
        "deleted_ts": ts,
        "event_ts": event_ts,
        "previous_message": previous,
    }


def channel_join(
    *, user: str = "U1", channel: str = "C1", ts: str | None = None, inviter: str | None = None
) -> dict[str, Any]:
    """A `message` event with subtype `channel_join`."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "subtype": "channel_join",
        "user": user,
        "text": f"<@{user}> has joined the channel",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": "channel",
    }
    if inviter is not None:
        event["inviter"] = inviter
    return event


def block_action(
    action_id: str,
    value: str = "",
    *,
    user: str = "U1",
    channel: str = "C1",
    message_ts: str | None = None,
    thread_ts: str | None = None,
    block_id: str = "b1",
    response_url: str = "",
    team: str = "T1",
    text: str = "",
    blocks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload for a button click on a message; `text` and `blocks`
    are the message as it is shown (Slack sends them along)."""
    message_ts = message_ts or new_ts()
    message: dict[str, Any] = {"type": "message", "ts": message_ts, "user": "UBOT", "text": text}
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
    if blocks is not None:
        message["blocks"] = blocks
    return {
        "type": "block_actions",
        "team": {"id": team, "domain": "test"},
        "user": {"id": user, "username": f"user-{user.lower()}", "team_id": team},
        "api_app_id": "A1",
        "token": "verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.abc",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "channel": {"id": channel, "name": "general"},
        "message": message,
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": new_ts(),
            }
        ],
    }


def _assistant_thread(
    kind: str,
    *,
    user: str,
    channel: str,
    thread_ts: str,
    viewing: str | None,
    team: str,
) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if viewing is not None:
        context = {"channel_id": viewing, "team_id": team, "enterprise_id": None}
    return {
        "type": kind,
        "assistant_thread": {
            "user_id": user,
            "context": context,
            "channel_id": channel,
            "thread_ts": thread_ts,
        },
        "event_ts": new_ts(),
    }


def assistant_thread_started(
    *,
    user: str = "U1",
    channel: str = "D1",
    thread_ts: str | None = None,
    viewing: str | None = "C1",
    team: str = "T1",
) -> dict[str, Any]:
    """An `assistant_thread_started` event: the user opened the app's Assistant panel
    (a thread in the DM `channel`) while viewing the channel `viewing` (None: none)."""
    return _assistant_thread(
        "assistant_thread_started",
        user=user,
        channel=channel,
        thread_ts=thread_ts or new_ts(),
        viewing=viewing,
        team=team,
    )


def assistant_thread_context_changed(
    *,
    thread_ts: str,
    viewing: str | None,
    user: str = "U1",
    channel: str = "D1",
    team: str = "T1",
) -> dict[str, Any]:
    """An `assistant_thread_context_changed` event: the user, with the Assistant panel
    open, now views the channel `viewing`."""
    return _assistant_thread(
        "assistant_thread_context_changed",
        user=user,
        channel=channel,
        thread_ts=thread_ts,
        viewing=viewing,
        team=team,
    )
