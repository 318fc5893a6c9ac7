"""A thread's earlier messages, read from Slack only to rebuild a lost chain or to
join a thread late; and, for the Assistant panel, the channel the user views.

`conversations.replies` can be limited to one call a minute and 15 messages a
page, so this is never on the path of an ordinary turn, and the thread is read from
its recent end (pages before the turn's message, going back), so that what one
call brings is what matters most.

The bot's own answers are taken whole: from their `markdown` blocks, or, where
Slack gives back only the 150-character preview of such a message, from the
answers the bot kept with its turns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.request import Said
from bot.conversation.turn import Turn
from bot.render.mrkdwn import to_mrkdwn
from bot.slack.blocks import preview
from bot.slack.calls import SIDE_CALL_ERRORS
from bot.slack.payloads import strip_mention
from bot.slack.workspaces import Workspaces
from bot.store import Store

log = logging.getLogger(__name__)

MAX_MESSAGES = 40
PAGE = 200  # Slack may send fewer (15 for apps outside the Marketplace)
MAX_PAGES = 5
MAX_CHARS = 24_000


def markdown_text(message: dict[str, Any]) -> str | None:
    """The text of the message's `markdown` blocks (the bot's answers), or None."""
    found = message.get("blocks")
    if not isinstance(found, list):
        return None
    parts = [
        str(block["text"])
        for block in found
        if isinstance(block, dict)
        and block.get("type") == "markdown"
        and isinstance(block.get("text"), str)
    ]
    return "\n\n".join(parts) if parts else None


def _flat(text: str) -> str:
    return " ".join(to_mrkdwn(text).split())


def whole_answers(
    messages: list[dict[str, Any]], answers: Sequence[str], bot_user_id: str | None
) -> list[dict[str, Any]]:
    """The messages, with the bot's own that Slack gave back as a preview (no markdown
    block) replaced by the whole answer it previews; the further messages of a long
    answer so replaced are dropped (the whole answer holds them). Pure."""
    previews = {preview(answer): answer for answer in answers}
    result: list[dict[str, Any]] = []
    whole = ""  # the answer the bot's messages just before belong to, as previews show it
    for message in messages:
        own = bool(bot_user_id) and message.get("user") == bot_user_id
        if not own or markdown_text(message) is not None:
            result.append(message)
            whole = ""
            continue
        text = str(message.get("text") or "")
        stem = text.rstrip("…")
        if text in previews:
            whole = _flat(previews[text])
            result.append({**message, "text": previews[text]})
        elif not (whole and stem and stem in whole):
            result.append(message)
            whole = ""
    return result


def recent_said(
    messages: list[dict[str, Any]], *, before_ts: str, bot_user_id: str | None
) -> tuple[Said, ...]:
    """The messages before `before_ts`, newest kept first within the bounds, in thread order."""
    said: list[Said] = []
    total = 0
    earlier = [m for m in messages if isinstance(m, dict) and _ts(m) < float(before_ts)]
    for message in reversed(earlier[-MAX_MESSAGES:]):
        text = markdown_text(message) or str(message.get("text") or "")
        text = strip_mention(text, bot_user_id)
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

    def __init__(self, workspaces: Workspaces, store: Store) -> None:
        self._workspaces = workspaces
        self._store = store

    async def surroundings(self, turn: Turn) -> str:
        """In the Assistant panel: the channel the user has open beside it."""
        if turn.one_off or not turn.channel_id.startswith("D"):
            return ""
        found = await self._store.assistant_thread(*turn.thread)
        if found is None or not found[0]:
            return ""
        return f"(The user is currently viewing the Slack channel <#{found[0]}>.)"

    async def earlier(self, turn: Turn) -> tuple[Said, ...]:
        if turn.one_off:
            return ()
        workspace = await self._workspaces.find(turn.team_id)
        if workspace is None:  # uninstalled since: nothing can be read
            return ()
        bot_user_id = workspace.bot_user_id
        messages = await self._recent(workspace.client, turn)
        own = [m for m in messages if bot_user_id and m.get("user") == bot_user_id]
        if any(markdown_text(m) is None for m in own):
            answers = await self._store.answers_in(*turn.thread)
            messages = whole_answers(messages, answers, bot_user_id)
        return recent_said(messages, before_ts=turn.message_ts, bot_user_id=bot_user_id)

    async def _recent(self, client: AsyncWebClient, turn: Turn) -> list[dict[str, Any]]:
        """The thread's messages before the turn's, read a page at a time from the recent
        end going back, until there are enough; bounded, and what was read is used if
        Slack stops answering (a rate limit: one call a minute for some apps).

        Should Slack answer a `latest`-bounded call from the thread's oldest end instead
        (the parent first, more to come), the pages are followed forward by cursor and
        the most recent kept."""
        messages: list[dict[str, Any]] = []
        latest, cursor = turn.message_ts, ""
        for _ in range(MAX_PAGES):
            try:
                response = await client.conversations_replies(
                    channel=turn.channel_id,
                    ts=turn.thread_ts,
                    latest=latest,
                    inclusive=False,
                    limit=PAGE,
                    cursor=cursor or None,
                )
            except SIDE_CALL_ERRORS as error:
                log.warning("could not read the thread's history (%s)", type(error).__name__)
                break
            page = sorted(
                (
                    m
                    for m in response.get("messages") or []
                    if isinstance(m, dict) and 0 < _ts(m) < float(latest)
                ),
                key=_ts,
            )
            more = bool(response.get("has_more"))
            if cursor or (more and any(m.get("ts") == turn.thread_ts for m in page)):
                messages.extend(page)  # forward from the oldest end
                metadata = response.get("response_metadata") or {}
                cursor = (
                    str(metadata.get("next_cursor") or "") if isinstance(metadata, dict) else ""
                )
                if not cursor:
                    break
                continue
            messages[:0] = page  # an earlier page goes before
            if not page or not more or len(messages) >= MAX_MESSAGES:
                break
            latest = str(page[0]["ts"])
        return messages
