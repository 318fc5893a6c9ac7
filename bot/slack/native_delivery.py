"""`native` mode: Slack's chat.startStream / appendStream / stopStream.

A stream Slack stops accepting (`message_not_in_streaming_state` after about
five minutes, or any other streaming error) is finished with chat.update,
text intact. When the workspace's budget for streams is spent, an answer is
posted and edited instead, as in `update` mode.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import notices
from bot.slack import buttons
from bot.slack.assistant import STATUS_THINKING, Status
from bot.slack.budget import Deferred
from bot.slack.calls import RateLimited, must_land, once, slack_error
from bot.slack.pacing import Pacer
from bot.slack.thread_writer import ThreadWriter
from bot.slack.update_delivery import StatusFinder, activity_label

log = logging.getLogger(__name__)

APPEND_LIMIT = 11_000  # markdown_text per call holds 12,000


class NativeDelivery:
    def __init__(
        self,
        client: AsyncWebClient,
        writer: ThreadWriter,
        interval: float,
        *,
        recipient_user_id: str | None,
        recipient_team_id: str | None,
        status: StatusFinder | None = None,
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
        self._ts: str | None = None
        self._appended = ""  # what Slack has accepted into the stream
        self._shown = ""
        self._streaming = False
        self._posted = False  # no room for a stream: posted, then edited
        self._pacer: Pacer | None = None
        self._find_status = status
        self._status: Status | None = None
        self._finished = False

    async def start(self) -> None:
        self._streaming = True
        budget = self._writer.budget
        budget.begin()  # live: one of the workspace's answers sharing its budget
        self._pacer = Pacer(self._append, budget.interval("chat.appendStream", self._interval))
        if self._find_status is not None:
            self._status = await self._find_status()
        if self._status is not None:
            # In the Assistant panel the status line says the bot is at work;
            # the stream starts with the first text.
            await self._status.show(STATUS_THINKING)
            return
        await self._start_stream("")

    async def _start_stream(self, text: str) -> None:
        start = self._writer.budget.if_room("chat.startStream", self._client.chat_startStream)
        try:
            response = await must_land(
                start,
                channel=self._writer.channel,
                thread_ts=self._writer.thread_ts,
                **self._recipient,
                **({"markdown_text": text} if text else {}),
            )
        except Deferred:
            log.info("no room for another stream in the workspace; answering by edits")
            self._streaming, self._posted = False, True
            self._ts = await self._writer.post(text or f"_{notices.THINKING}_", must=True)
            return
        self._ts = str(response["ts"])
        self._appended = text

    async def _append(self, text: str) -> None:
        if self._posted:
            if self._ts is not None:
                await self._writer.edit(self._ts, text)
            return
        if not self._streaming or not text.startswith(self._appended):
            return  # the stream can only grow; the final write fixes the rest
        delta = text[len(self._appended) :][:APPEND_LIMIT]
        if not delta:
            return
        if self._ts is None:
            await self._start_stream(delta)
            return
        try:
            await once(
                self._writer.budget.interim("chat.appendStream", self._client.chat_appendStream),
                channel=self._writer.channel,
                ts=self._ts,
                markdown_text=delta,
            )
        except RateLimited:
            raise
        except SlackApiError as error:
            log.warning("slack stopped accepting the stream (%s)", slack_error(error))
            self._streaming = False
            return
        self._appended += delta

    async def show(self, text: str) -> None:
        self._shown = text
        if self._status is not None:
            await self._status.clear()
        if self._pacer is not None:
            self._pacer.offer(text)

    async def working(self, activity: str) -> None:
        # Appended text cannot be taken back, so progress goes to the Assistant
        # panel's status line where there is one, and is otherwise only logged.
        if self._status is not None:
            await self._status.show(activity_label(activity))
        else:
            log.debug("model busy: %s", activity_label(activity))

    async def finish(
        self, text: str, notice: str | None = None, *, feedback_id: str | None = None
    ) -> None:
        if self._finished:
            return  # once: a failure after the answer is out must not rewrite it
        self._finished = True
        self._writer.budget.end()  # the final write is urgent: it needs no share
        if self._pacer is not None:
            await self._pacer.close()
        if self._status is not None:
            await self._status.clear()
        final = text or self._shown
        actions = buttons.feedback_block(feedback_id) if feedback_id else None
        if self._ts is None:
            await self._writer.write_final(None, final, notice, actions)  # never streamed
            return
        if self._streaming and await self._stop(final, notice, actions):
            return
        if self._streaming:
            await self._end_stream()
        # The stream could not say it all: write the whole text over its message.
        await self._writer.write_final(self._ts, final, notice, actions)

    async def _end_stream(self) -> None:
        """Take the message out of its streaming state before it is edited."""
        try:
            stop = self._writer.budget.urgent("chat.stopStream", self._client.chat_stopStream)
            await once(stop, channel=self._writer.channel, ts=self._ts)
        except (SlackApiError, RateLimited) as error:
            log.info("could not end the stream before editing it (%s)", type(error).__name__)

    async def _stop(self, final: str, notice: str | None, actions: dict[str, Any] | None) -> bool:
        rest = final[len(self._appended) :] if final.startswith(self._appended) else None
        if rest is None or len(rest) > APPEND_LIMIT or len(final) > self._writer.chunk_limit:
            return False  # the stream cannot say this; chat.update can
        tail = rest + (f"\n\n_{notice}_" if notice else "")
        try:
            await must_land(
                self._writer.budget.urgent("chat.stopStream", self._client.chat_stopStream),
                channel=self._writer.channel,
                ts=self._ts,
                **({"markdown_text": tail} if tail else {}),
                **({"blocks": [actions]} if actions else {}),
            )
        except SlackApiError as error:
            log.warning(
                "could not stop the stream (%s); finishing with an edit", slack_error(error)
            )
            return False
        return True
