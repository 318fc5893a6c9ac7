"""Pure predicates over Slack payloads: which ones are turns for the bot, and what they ask."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from bot.conversation.files import FileRef
from bot.conversation.turn import Turn
from bot.slack.file_refs import files_of

# Subtypes that are still a person writing; every other subtype (edits,
# deletions, joins, bot messages…) is not a question.
PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}
SLACK_TS = re.compile(r"\d{1,12}(\.\d{1,9})?")


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """The question without the bot's own mention(s)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def _team(body: dict[str, Any], event: dict[str, Any]) -> str:
    """The workspace the bot answers in: the one whose installation the event came
    through (`authorizations`), not the sender's (in a Slack Connect channel it may
    be another); for an org-wide install (no team there), the event's workspace."""
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list) and authorizations and isinstance(authorizations[0], dict):
        team = authorizations[0].get("team_id")
        if isinstance(team, str) and team:
            return team
    return str(body.get("team_id") or event.get("team") or "")


def team_of(body: dict[str, Any]) -> str:
    """The workspace of an event's body (see `_team`)."""
    event = body.get("event")
    return _team(body, event if isinstance(event, dict) else {})


def is_from_a_person(event: dict[str, Any], bot_user_id: str | None) -> bool:
    if event.get("bot_id") or event.get("bot_profile"):
        return False
    subtype = event.get("subtype")
    if not isinstance(subtype, str | None) or subtype not in PERSON_SUBTYPES:
        return False
    user = event.get("user")
    return isinstance(user, str) and bool(user) and user != bot_user_id


def _is_ts(value: Any) -> TypeGuard[str]:
    """A Slack message timestamp, e.g. "1690000000.000100"."""
    return isinstance(value, str) and SLACK_TS.fullmatch(value) is not None


def turn_from_event(body: dict[str, Any], bot_user_id: str | None) -> Turn | None:
    """A mention in a channel, or any message in a DM → a Turn; anything else → None."""
    event = body.get("event") if isinstance(body, dict) else None
    if not isinstance(event, dict) or not is_from_a_person(event, bot_user_id):
        return None
    kind = event.get("type")
    is_dm = kind == "message" and event.get("channel_type") == "im"
    if kind != "app_mention" and not is_dm:
        return None
    channel, ts = event.get("channel"), event.get("ts")
    if not isinstance(channel, str) or not channel or not _is_ts(ts):
        return None
    thread_ts = event.get("thread_ts")
    text = event.get("text")
    return Turn(
        team_id=_team(body, event),
        channel_id=channel,
        thread_ts=thread_ts if _is_ts(thread_ts) else ts,
        user_id=str(event["user"]),
        message_ts=ts,
        text=strip_mention(text if isinstance(text, str) else "", bot_user_id),
        shared=not is_dm,
        files=files_of(event),
    )


def turn_from_command(command: dict[str, Any]) -> Turn:
    """`/ask question` → a one-off Turn (no chain)."""
    trigger = str(command.get("trigger_id") or command.get("command_ts") or "")
    return Turn(
        team_id=str(command.get("team_id") or ""),
        channel_id=str(command.get("channel_id") or ""),
        thread_ts=f"ask:{trigger}",
        user_id=str(command.get("user_id") or ""),
        message_ts=f"ask:{trigger}",
        text=str(command.get("text") or "").strip(),
        one_off=True,
    )


@dataclass(frozen=True)
class Heard:
    """A message people wrote in a channel thread, not addressed to the bot."""

    team_id: str
    channel_id: str
    thread_ts: str
    user_id: str
    ts: str
    text: str
    files: tuple[FileRef, ...] = ()


def heard_from_event(body: dict[str, Any], bot_user_id: str | None) -> Heard | None:
    """A person's reply in a channel thread that does not mention the bot → Heard."""
    event = body.get("event") if isinstance(body, dict) else None
    if not isinstance(event, dict) or event.get("type") != "message":
        return None
    if event.get("channel_type") not in ("channel", "group", "mpim"):
        return None
    if not is_from_a_person(event, bot_user_id):
        return None
    channel, ts, thread_ts, text = (
        event.get("channel"), event.get("ts"), event.get("thread_ts"), event.get("text")
    )  # fmt: skip
    if not isinstance(channel, str) or not channel or not _is_ts(ts) or not _is_ts(thread_ts):
        return None
    text = text.strip() if isinstance(text, str) else ""
    attached = files_of(event)
    if ts == thread_ts or not (text or attached):
        return None  # a top-level message is no thread the bot is in yet
    if bot_user_id and f"<@{bot_user_id}" in text:
        return None  # a mention: it arrives as app_mention and becomes a turn
    return Heard(_team(body, event), channel, thread_ts, str(event["user"]), ts, text, attached)


@dataclass(frozen=True)
class Revision:
    """Its author edited (`text`) or deleted (`text` None) a message in a channel."""

    team_id: str
    channel_id: str
    ts: str
    text: str | None


def revision_from_event(body: dict[str, Any], bot_user_id: str | None) -> Revision | None:
    """A `message_changed` or `message_deleted` event in a channel → Revision."""
    event = body.get("event") if isinstance(body, dict) else None
    if not isinstance(event, dict) or event.get("type") != "message":
        return None
    if event.get("channel_type") not in ("channel", "group", "mpim"):
        return None
    channel, subtype = event.get("channel"), event.get("subtype")
    if not isinstance(channel, str) or not channel:
        return None
    if subtype == "message_deleted":
        previous = event.get("previous_message")
        ts = event.get("deleted_ts") or (previous.get("ts") if isinstance(previous, dict) else None)
        return Revision(_team(body, event), channel, ts, None) if _is_ts(ts) else None
    if subtype != "message_changed":
        return None
    message = event.get("message")
    if not isinstance(message, dict) or message.get("bot_id") or not _is_ts(message.get("ts")):
        return None
    if message.get("user") == bot_user_id:
        return None  # the bot's own answer, edited as it streams
    text = message.get("text")
    text = text.strip() if isinstance(text, str) else ""
    return Revision(_team(body, event), channel, str(message["ts"]), text or None)
