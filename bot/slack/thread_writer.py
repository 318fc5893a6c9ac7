"""The bot's messages of one answer in one thread: post, edit, and write the final text.

The final text lands or raises `FinalWriteFailed`; written again after a
failure, it goes on from what landed (a message of it already posted is
edited, never posted twice). Each post carries a marker in its `metadata`, so
a post whose answer was lost (a timeout, a dropped connection) is looked for
in the thread before it is sent again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.split import split_message
from bot.slack import blocks
from bot.slack.budget import AnswerBudget, unlimited
from bot.slack.calls import (
    FINAL_WRITES,
    FinalWriteFailed,
    Persistence,
    SlackCall,
    land,
    not_done_yet,
    once,
    retry_after,
    slack_error,
)

log = logging.getLogger(__name__)

Actions = dict[str, Any] | None  # a block of buttons
T = TypeVar("T")

# Slack's answers that mean "not like this": retry the same text as plain mrkdwn.
REFUSED_MARKDOWN = {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "too_many_blocks"}
# Slack's answers that mean "this message cannot be edited" (e.g. someone deleted it):
# the final text goes in a new message instead.
CANNOT_EDIT = {"message_not_found", "cant_update_message", "edit_window_closed"}
# The `event_type` of the metadata that marks the bot's posts of an answer.
MARKER = "answer_part"
MAX_ALT_TEXT = 1000  # Slack's limit for a file's alt text
# An upload Slack could not take is tried again after this, doubling up to the most.
UPLOAD_PAUSE, UPLOAD_PAUSE_MAX = 0.5, 8.0
LOOKUP_PAGES = 5  # of conversations.replies, when looking for a post whose answer was lost


@dataclass(frozen=True)
class _Piece:
    """One message's worth of the final text: Markdown, or mrkdwn already converted."""

    text: str
    markdown: bool


class ThreadWriter:
    __slots__ = (
        "_after",
        "_final",
        "_persistence",
        "as_markdown",
        "asker",
        "budget",
        "channel",
        "client",
        "header",
        "key",
        "thread_ts",
    )

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str | None,
        header: str = "",
        *,
        key: str = "",
        after: str | None = None,
        persistence: Persistence = FINAL_WRITES,
        budget: AnswerBudget | None = None,
        asker: str = "",
    ) -> None:
        self.client = client
        self.asker = asker  # who asked: told privately what only they should read
        self.budget = budget or unlimited()  # the workspace's Slack budget, this answer's part
        self.channel = channel
        self.thread_ts = thread_ts
        self.header = header
        self.as_markdown = True
        self.key = key or uuid.uuid4().hex  # names this answer's posts in their metadata
        self._after = after  # a Slack ts older than any message of this answer (the question)
        self._persistence = persistence
        self._final: list[str] = []  # ts of the messages the final text went into, in order

    @property
    def chunk_limit(self) -> int:
        return blocks.MARKDOWN_CHUNK if self.as_markdown else blocks.TEXT_CHUNK

    def interim_payload(
        self, markdown: str, *, first: bool = True, actions: Actions = None
    ) -> dict[str, Any]:
        """The payload of an interim message: what fits in one message of the text."""
        header = self.header if first else ""
        if self.as_markdown:
            shown = markdown
            if len(shown) > self.chunk_limit:
                shown = split_message(markdown, self.chunk_limit)[0] + "\n…"
            return blocks.message(shown, header=header, actions=actions)
        # Only the start is converted (edits stay cheap as the text grows), then cut
        # again: escaping makes mrkdwn longer than the Markdown it came from.
        head = markdown
        if len(head) > blocks.TEXT_CHUNK:
            head = split_message(markdown, blocks.TEXT_CHUNK)[0]
        pieces = blocks.mrkdwn_chunks(head, header=header)
        cut = len(pieces) > 1 or head is not markdown
        shown = (pieces[0] if pieces else "") + ("\n…" if cut else "")
        return blocks.text_message(shown, header=header)

    async def _in_markdown_or_mrkdwn(self, send: Callable[[], Awaitable[T]]) -> T:
        """`send()` builds its payload when called: where Slack refuses Markdown blocks,
        the same text goes again as mrkdwn, and so does everything after it."""
        try:
            return await send()
        except SlackApiError as error:
            if not self.as_markdown or slack_error(error) not in REFUSED_MARKDOWN:
                raise
            log.warning("slack refused a markdown message (%s); sending mrkdwn", slack_error(error))
            self.as_markdown = False
            return await send()

    async def post(
        self, markdown: str, *, first: bool = True, must: bool = False, actions: Actions = None
    ) -> str:
        """Post a message of this answer (what fits in one); returns its ts. With `must`,
        it lands or raises FinalWriteFailed, and is never shown twice."""

        async def send() -> str:
            payload = self.interim_payload(markdown, first=first, actions=actions)
            if self.thread_ts:
                payload["thread_ts"] = self.thread_ts
            if must:
                return await self._post_once(payload, part=0, final=False)
            post = self.budget.urgent("chat.postMessage", self.client.chat_postMessage)
            response = await once(post, channel=self.channel, **payload)
            return str(response["ts"])

        return await self._in_markdown_or_mrkdwn(send)

    async def whisper(self, text: str) -> None:
        """A message only the asker sees, in the thread."""
        await self.client.chat_postEphemeral(
            channel=self.channel, user=self.asker, text=text, thread_ts=self.thread_ts
        )

    async def upload(
        self, name: str, content: bytes, *, alt: str = "", answer_ts: str | None
    ) -> None:
        """A file in the answer's thread (files_upload_v2: an upload URL, the bytes, then
        files.completeUploadExternal); `alt` describes an image. Outside a thread (/ask),
        in the thread of the answer's message `answer_ts`. Tried again within the final
        writes' time on 429s and where Slack did not do it and a later try may work
        (never where it may have been done: the file would show twice); any other
        failure is raised."""
        thread = self.thread_ts or answer_ts
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._persistence.seconds
        pause = UPLOAD_PAUSE
        while True:
            try:
                await self.client.files_upload_v2(
                    channel=self.channel,
                    thread_ts=thread,
                    file=content,
                    filename=name,
                    title=name,
                    alt_txt=alt[:MAX_ALT_TEXT] or None,
                    request_file_info=False,
                )
                return
            except (SlackApiError, aiohttp.ClientError) as error:
                wait = retry_after(error) if isinstance(error, SlackApiError) else None
                if wait is None and not_done_yet(error):
                    wait, pause = pause, min(pause * 2, UPLOAD_PAUSE_MAX)
                if wait is None or loop.time() + wait >= deadline:
                    raise
                log.warning(
                    "uploading a file failed (%s); trying again in %.0fs",
                    slack_error(error) if isinstance(error, SlackApiError) else "no connection",
                    wait,
                )
                await asyncio.sleep(wait)

    async def edit(self, ts: str, markdown: str, actions: Actions = None) -> None:
        """An interim edit (may raise RateLimited): shows what fits in one message."""

        async def send() -> None:
            payload = self.interim_payload(markdown, actions=actions)
            payload.setdefault("blocks", [])  # plain text clears the blocks of an earlier edit
            edit = self.budget.interim("chat.update", self.client.chat_update)
            await once(edit, channel=self.channel, ts=ts, **payload)

        await self._in_markdown_or_mrkdwn(send)

    async def write_final(
        self, ts: str | None, markdown: str, notice: str | None, actions: Actions = None
    ) -> None:
        """The full final text: edits `ts` (or posts, without one), continues in further
        messages when too long. `actions` (e.g. feedback buttons) go on the last message.

        Raises FinalWriteFailed when it cannot land for now (Slack down or unreachable),
        SlackApiError when Slack refuses it outright. Called again (after a failure), it
        edits the messages already written and posts only the rest.
        """
        try:
            await self._write_final(ts, markdown, notice, actions)
        except FinalWriteFailed:
            raise
        except SlackApiError as error:
            log.warning("slack refused the final text: %s", slack_error(error))
            raise
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("the final text could not be written: %s", type(error).__name__)
            raise FinalWriteFailed("the final text could not be written") from error

    async def _write_final(
        self, ts: str | None, markdown: str, notice: str | None, actions: Actions
    ) -> None:
        pieces = self._pieces(markdown, notice, first=True)
        index = 0
        while index < len(pieces):
            last = index == len(pieces) - 1
            piece = pieces[index]
            try:
                await self._write_piece(
                    index, ts, piece, notice if last else None, actions if last else None
                )
            except SlackApiError as error:
                if not piece.markdown or slack_error(error) not in REFUSED_MARKDOWN:
                    raise
                # Only what has not landed goes again, as mrkdwn: converted first, then
                # split, so every message's text fits.
                log.warning(
                    "slack refused markdown at part %d (%s); the rest goes as mrkdwn",
                    index,
                    slack_error(error),
                )
                self.as_markdown = False
                rest = "\n\n".join(p.text for p in pieces[index:])
                pieces = pieces[:index] + self._pieces(rest, notice, first=index == 0)
                continue
            index += 1

    def _pieces(self, markdown: str, notice: str | None, *, first: bool) -> list[_Piece]:
        if self.as_markdown:
            chunks = split_message(markdown, blocks.MARKDOWN_CHUNK)
        else:
            header = self.header if first else ""
            chunks = blocks.mrkdwn_chunks(markdown, header=header, notice=notice)
        return [_Piece(chunk, self.as_markdown) for chunk in chunks or [""]]

    async def _write_piece(
        self, index: int, ts: str | None, piece: _Piece, notice: str | None, actions: Actions
    ) -> None:
        """Edit the message of part `index` if it has one, else post it; remembers its ts."""
        first = index == 0
        header = self.header if first else ""
        if piece.markdown:
            payload = blocks.message(piece.text, header=header, notice=notice, actions=actions)
        else:
            payload = blocks.text_message(piece.text, header=header, notice=notice)
        target = self._final[index] if index < len(self._final) else ts if first else None
        if target is not None:
            try:
                # Plain text must clear the blocks of earlier edits.
                update = {"channel": self.channel, "ts": target, "blocks": [], **payload}
                edit = self.budget.urgent("chat.update", self.client.chat_update)
                await land(edit, update, within=self._persistence)
                self._landed(index, target)
                return
            except SlackApiError as error:
                if slack_error(error) not in CANNOT_EDIT:
                    raise
                log.warning("cannot edit the answer (%s); posting it anew", slack_error(error))
        thread = self.thread_ts or (None if first else self._final[0])
        if thread:
            payload["thread_ts"] = thread
        self._landed(index, await self._post_once(payload, part=index, final=True))

    def _landed(self, index: int, ts: str) -> None:
        if index < len(self._final):
            self._final[index] = ts
        else:
            self._final.append(ts)

    async def _post_once(self, payload: dict[str, Any], *, part: int, final: bool) -> str:
        """chat.postMessage that must land, marked so that a post whose answer was lost is
        found in the thread instead of being posted twice. Its ts."""
        marker = {"answer": self.key, "part": part, "final": final}
        payload["metadata"] = {"event_type": MARKER, "event_payload": marker}
        thread = payload.get("thread_ts")
        # Everything of this answer comes after the question, and parts after the first.
        oldest = self._final[0] if self._final and part > 0 else self._after

        async def find() -> dict[str, Any] | None:
            return await self._find(marker, thread, oldest)

        response = await land(
            self.budget.urgent("chat.postMessage", self.client.chat_postMessage),
            {"channel": self.channel, **payload},
            within=self._persistence,
            find=find,
        )
        return str(response["ts"])

    async def _find(
        self, marker: dict[str, Any], thread: str | None, oldest: str | None
    ) -> dict[str, Any] | None:
        """The bot's message carrying `marker`, if Slack shows one: in the thread, or
        among the newest of the channel for a message outside threads."""
        args: dict[str, Any] = {"channel": self.channel, "include_all_metadata": True}
        if oldest:
            args["oldest"] = oldest
        method: SlackCall = self.client.conversations_history
        if thread:
            method, args["ts"] = self.client.conversations_replies, thread
        cursor = ""
        for _ in range(LOOKUP_PAGES):
            paged = {"cursor": cursor} if cursor else {}
            response = await once(method, limit=100, **args, **paged)
            for message in response.get("messages") or []:
                if _marked(message, marker):
                    return {"ts": str(message["ts"]), "channel": self.channel}
            if not thread:
                return None  # the channel's newest messages are on the first page
            metadata = response.get("response_metadata") or {}
            cursor = str(metadata.get("next_cursor") or "") if isinstance(metadata, dict) else ""
            if not cursor:
                return None
        return None


def _marked(message: Any, marker: dict[str, Any]) -> bool:
    if not isinstance(message, dict) or not message.get("ts"):
        return False
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != MARKER:
        return False
    return metadata.get("event_payload") == marker
