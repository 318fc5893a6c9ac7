"""`native` mode: Slack's chat.startStream / appendStream / stopStream.

The stream opens with the Stop button (a `blocks` chunk) above the text; the model's
tool calls and reasoning appear as task cards (`task_update` chunks), one per call,
updated in place within the same paced appends as the text. When
the answer ends, the stream is stopped and the message is written once more
with chat.update: the full text, any notice, the feedback buttons, and no Stop
button. A stream Slack stops accepting (`message_not_in_streaming_state` after
about five minutes, or any other streaming error) goes on as chat.update
edits, text intact; so does an answer another worker resumes.
When the workspace's Slack budget has no room for another stream, the answer is
posted and edited instead, as in `update` mode.

The stream starts with the model's first text (or its first task card) when that comes
within a moment (`call_allowance.Opening`); otherwise it starts then, empty
but for its Stop button. Appends follow at most one per interval, within the answer's
call allowance (its stop and final write reserved). An answer done before its stream
started is simply posted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import notices
from bot.conversation.delivery import ShownText
from bot.conversation.work import progress_text, status_line
from bot.responses.activities import Activities
from bot.slack import buttons
from bot.slack.assistant import STATUS_THINKING, Status
from bot.slack.budget import Deferred
from bot.slack.call_allowance import CallAllowance, Opening
from bot.slack.calls import FinalWriteFailed, RateLimited, must_land, once, slack_error
from bot.slack.pacing import Pacer
from bot.slack.task_cards import DISPLAY_MODE, TaskCards
from bot.slack.thread_writer import ThreadWriter
from bot.slack.update_delivery import StatusFinder

log = logging.getLogger(__name__)

APPEND_LIMIT = 11_000  # markdown_text per call holds 12,000


class NativeDelivery:
    __slots__ = (
        "_allowance",
        "_append_interval",
        "_appended",
        "_cards",
        "_client",
        "_find_status",
        "_finished",
        "_interval",
        "_opening",
        "_pacer",
        "_placeholding",
        "_posted",
        "_recipient",
        "_shown",
        "_status",
        "_status_pacer",
        "_stop",
        "_streaming",
        "_ts",
        "_writer",
        "_writing_at",
    )

    def __init__(
        self,
        client: AsyncWebClient,
        writer: ThreadWriter,
        interval: float,
        *,
        recipient_user_id: str | None,
        recipient_team_id: str | None,
        stop: dict[str, Any] | None = None,
        status: StatusFinder | None = None,
        ts: str | None = None,
    ) -> None:
        self._client = client
        self._writer = writer  # finishes the message with chat.update when streaming fails
        self._interval = interval
        self._recipient = {
            k: v
            for k, v in (
                ("recipient_user_id", recipient_user_id),
                ("recipient_team_id", recipient_team_id),
            )
            if v
        }
        self._stop = stop  # the Stop button block, shown while the answer streams
        self._ts = ts  # set when resuming an answer whose stream another process began
        self._appended = ""  # what Slack has accepted into the stream
        self._shown = ""
        self._streaming = False
        self._posted = False  # no room for a stream: posted, then edited
        self._pacer: Pacer | None = None
        self._find_status = status
        self._status: Status | None = None
        self._status_pacer: Pacer | None = None  # the status line's, paced as appends are
        self._cards = TaskCards()
        self._finished = False
        self._allowance: CallAllowance | None = None
        self._append_interval: Callable[[], float] | None = None
        self._opening = Opening()  # the placeholder, unless text comes first
        self._placeholding = False  # the stream shows nothing but its Stop button yet
        self._writing_at = 0.0  # loop time the last call began

    async def start(self) -> None:
        if self._pacer is not None:
            return
        budget = self._writer.budget
        budget.begin()  # live: one of the workspace's answers sharing its budget
        # Reserved at the end: the stream's stop and the final write.
        self._allowance = CallAllowance(self._interval, reserve=2)
        self._append_interval = budget.interval("chat.appendStream", self._interval)
        self._pacer = Pacer(self._append, self._pause)
        if self._ts is not None:
            # Resumed: what the old stream holds is unknown here, so the stream ends and
            # the text goes on as edits, which replace the whole message.
            await self._end_stream()
            return
        self._streaming = True
        if self._find_status is not None:
            self._status = await self._find_status()
        if self._status is not None:
            # In the Assistant panel the status line says the bot is at work;
            # the stream starts with the first text.
            await self._status.show(STATUS_THINKING)
            self._status_pacer = Pacer(self._status.show, self._interval)
            return
        # The stream starts with the first text if it comes within a moment; if not, it
        # starts without, its Stop button saying that an answer is coming.
        self._opening.wait(self._interval, lambda: self._offer(""))

    def _offer(self, text: str) -> None:
        if self._pacer is not None:
            self._opening.offered = True
            self._pacer.offer(text)

    def _pause(self) -> float:
        """Seconds from one call to the next: the append interval (the workspace's budget
        may widen it), and never so soon that the answer's calls outgrow its allowance.
        A stream started empty takes the first text at once."""
        if self._placeholding:
            return 0.0
        wait = self._allowance.wait() if self._allowance is not None else 0.0
        interval = self._append_interval() if self._append_interval is not None else 0.0
        # The interval runs from when the last call was sent: Slack's time to answer it
        # is not added to every interval.
        sending = asyncio.get_running_loop().time() - self._writing_at
        return max(interval - sending, wait)

    def _called(self, *, placeholder: bool = False) -> None:
        """One interim call of the answer landed."""
        if self._allowance is not None:
            self._allowance.made()
        self._placeholding = placeholder

    async def _placed(self) -> None:
        watcher = self._pacer.watcher if self._pacer is not None else None
        if watcher is not None:
            await watcher.placed()  # a successor finishes this message

    async def _start_stream(self, text: str) -> None:
        chunks: list[dict[str, Any]] = []
        if self._stop:
            chunks.append({"type": "blocks", "blocks": [self._stop]})
        cards = self._cards.changes() if self._status is None else []
        chunks += cards
        if text:
            chunks.append({"type": "markdown_text", "text": text})
        start = self._writer.budget.if_room("chat.startStream", self._client.chat_startStream)
        try:
            response = await must_land(
                start,
                channel=self._writer.channel,
                thread_ts=self._writer.thread_ts,
                task_display_mode=DISPLAY_MODE,
                **self._recipient,
                **({"chunks": chunks} if chunks else {}),
            )
        except Deferred:
            log.info("no room for another stream in the workspace; answering by edits")
            self._streaming = False
            placeholder = text or f"_{notices.THINKING}_"
            self._ts = await self._writer.post(placeholder, must=True, actions=self._stop)
            self._called(placeholder=not text)
            await self._placed()
            return
        self._ts = str(response["ts"])
        self._appended = text
        self._cards.sent(cards)
        self._called(placeholder=not text and not cards)
        await self._placed()

    async def _append(self, text: str) -> str | None:
        """Send what `text` adds; returns what the message shows now."""
        self._writing_at = asyncio.get_running_loop().time()
        if not self._streaming:
            # Posted and edited instead: the progress shows until the text starts.
            shown = text or progress_text(self._cards.latest)
            if self._ts is None or not shown:
                return ""
            await self._writer.edit(self._ts, shown, actions=self._stop)
            self._called()
            return text
        delta = ""
        if text.startswith(self._appended):  # the stream can only grow; the final write
            delta = text[len(self._appended) :][:APPEND_LIMIT]  # fixes the rest
        if self._ts is None:
            await self._start_stream(delta)  # with the first text, its cards, or empty
            return self._appended
        cards = self._cards.changes() if self._status is None else []
        if not delta and not cards:
            return self._appended
        # Cards and text in one call, in the order they happened.
        content: dict[str, Any] = {"markdown_text": delta}
        if cards:
            text_chunk = [{"type": "markdown_text", "text": delta}] if delta else []
            content = {"chunks": [*cards, *text_chunk]}
        try:
            await once(
                self._writer.budget.interim("chat.appendStream", self._client.chat_appendStream),
                channel=self._writer.channel,
                ts=self._ts,
                **content,
            )
        except RateLimited:
            raise
        except SlackApiError as error:
            log.warning("slack stopped accepting the stream (%s)", slack_error(error))
            self._streaming = False
            return self._appended
        self._appended += delta
        self._cards.sent(cards)
        self._called()
        return self._appended

    async def leave(self) -> None:
        self._opening.cancel()
        if self._pacer is not None:
            await self._pacer.close()

    def report_to(self, watcher: ShownText) -> None:
        if self._pacer is not None:
            self._pacer.watcher = watcher

    async def show(self, text: str) -> None:
        self._shown = text
        await self._clear_status()
        self._offer(text)

    async def working(self, activities: Activities) -> None:
        if self._status is not None:
            # The Assistant panel's status line says what the model does, until the text
            # starts (the stream starts with it).
            if activities and not self._shown and self._status_pacer is not None:
                self._status_pacer.offer(lambda: status_line(activities) or STATUS_THINKING)
            return
        # Task cards, sent with the next paced append (the text as it stands).
        self._cards.latest = activities
        self._offer(self._shown)

    async def _clear_status(self) -> None:
        if self._status_pacer is not None:
            await self._status_pacer.close()  # a status still to come is not sent
        if self._status is not None:
            await self._status.clear()

    async def finish(
        self, text: str, notice: str | None = None, *, feedback_id: str | None = None
    ) -> None:
        if self._finished:
            return  # once: a failure after the answer is out must not rewrite it
        self._opening.cancel()
        self._writer.budget.end()  # the final write is urgent: it needs no share
        if self._pacer is not None:
            await self._pacer.close()
        elif self._ts is not None:
            self._streaming = True  # a message another process streamed: end its stream
        await self._clear_status()
        if self._streaming and self._ts is not None:
            # The cards' last state goes with the stop: a call cut short shows as failed.
            await self._end_stream(self._cards.changes(ended=True))
        final = text or self._shown
        self._shown = final  # kept for a second try, should this write fail
        actions = buttons.feedback_block(feedback_id) if feedback_id else None
        # The whole text over the stream's message (or a new one, if it never streamed):
        # it replaces the Stop button, and says what the stream could not (notices, a
        # text too long for one message). Finished only once it landed: a failed write
        # (FinalWriteFailed) can be tried again.
        await self._writer.write_final(self._ts, final, notice, actions)
        self._finished = True

    async def attach(self, name: str, content: bytes, *, alt: str = "") -> None:
        await self._writer.upload(name, content, alt=alt, answer_ts=self._ts)

    async def refuse(self, text: str) -> None:
        self._finished = True
        self._opening.cancel()
        await self._writer.whisper(text)

    def place(self) -> dict[str, Any]:
        return {"ts": self._ts} if self._ts else {}

    async def _end_stream(self, cards: list[dict[str, Any]] | None = None) -> None:
        """Take the message out of its streaming state before it is edited (tried again
        through Slack's passing failures; a stream Slack will not stop, e.g. one already
        ended, is left to the edit)."""
        self._streaming = False
        try:
            stop = self._writer.budget.urgent("chat.stopStream", self._client.chat_stopStream)
            last = {"chunks": cards} if cards else {}
            await must_land(stop, channel=self._writer.channel, ts=self._ts, **last)
        except (SlackApiError, FinalWriteFailed) as error:
            log.info("could not end the stream before editing it (%s)", type(error).__name__)
