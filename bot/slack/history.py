"""A thread's earlier messages, read from Slack only to rebuild a lost chain or to
join a thread late; and, for the Assistant panel, the channel the user views.

`conversations.replies` can be limited to one call a minute, so this is never
on the path of an ordinary turn.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.request import Said
from bot.conversation.turn import Turn
from bot.slack.calls import SIDE_CALL_ERRORS
from bot.slack.payloads import strip_mention
from bot.store import Store

log = logging.getLogger(__name__)

MAX_MESSAGES = 40
PAGE = 200  # Slack may send fewer (15 for some apps)
MAX_PAGES = 5
MAX_CHARS = 24_000


def recent_said(
    messages: list[dict[str, Any]], *, before_ts: str, bot_user_id: str | None
) -> tuple[Said, ...]:
    """The messages before `before_ts`, newest kept first within the bounds, in thread order."""
    said: list[Said] = []
    total = 0
    earlier = [m for m in messages if isinstance(m, dict) and _ts(m) < float(before_ts)]
    for message in reversed(earlier[-MAX_MESSAGES:]):
        text = strip_mention(str(message.get("text") or ""), bot_user_id)
        user = str(message.get("user") or "")
        own = user == bot_user_id if bot_user_id else bool(message.get("bot_id"))
        # Another app's message (a CI bot, say) is one more speaker, not the bot's own words.
        speaker = "" if own else user or str(message.get("bot_id") or "")
        if not text or not (own or speaker):
            continue
        total += len(text)
        if total > MAX_CHARS:
            break
        said.append(Said(speaker=speaker, text=text))
    return tuple(reversed(said))


def _ts(message: dict[str, Any]) -> float:
    try:
        return float(message.get("ts") or 0)
    except (TypeError, ValueError):
        return 0.0


class SlackThreads:
    """What Slack knows of a thread beyond the turn: its history and where the user is."""

    def __init__(self, client: AsyncWebClient, store: Store, bot_user_id: str | None) -> None:
        self._client = client
        self._store = store
        self._bot_user_id = bot_user_id

    async def surroundings(self, turn: Turn) -> str:
        """In the Assistant panel: the channel the user has open beside it."""
        if turn.one_off or not turn.channel_id.startswith("D"):
            return ""
        found = await self._store.assistant_thread(turn.channel_id, turn.thread_ts)
        if found is None or not found[0]:
            return ""
        return f"(The user is currently viewing the Slack channel <#{found[0]}>.)"

    async def earlier(self, turn: Turn) -> tuple[Said, ...]:
        if turn.one_off:
            return ()
        messages: list[dict[str, Any]] = []
        cursor = ""
        # Replies come oldest first, a page at a time: the recent ones are on the last
        # pages. Bounded, and what was read is used if Slack stops answering.
        for _ in range(MAX_PAGES):
            try:
                response = await self._client.conversations_replies(
                    channel=turn.channel_id, ts=turn.thread_ts, limit=PAGE, cursor=cursor or None
                )
            except SIDE_CALL_ERRORS as error:
                log.warning("could not read the thread's history (%s)", type(error).__name__)
                break
            messages.extend(response.get("messages") or [])
            metadata = response.get("response_metadata") or {}
            cursor = metadata.get("next_cursor") or "" if isinstance(metadata, dict) else ""
            if not cursor:
                break
        return recent_said(messages, before_ts=turn.message_ts, bot_user_id=self._bot_user_id)
