"""`update` mode: post at once, then edit the message with chat.update as text arrives."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.conversation import notices
from bot.conversation.delivery import Delivery, ShownText
from bot.conversation.work import progress_text, shown, status_line
from bot.responses.activities import Activities
from bot.slack import buttons
from bot.slack.assistant import STATUS_THINKING, Status
from bot.slack.calls import slack_error
from bot.slack.pacing import Pacer
from bot.slack.thread_writer import ThreadWriter

log = logging.getLogger(__name__)

# Where the bot may not post, e.g. a DM between two other people or a channel it is not in.
CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}

# Finds the status line of an Assistant thread, or None elsewhere.
StatusFinder = Callable[[], Awaitable[Status | None]]


class UpdateDelivery:
    def __init__(
        self,
        writer: ThreadWriter,
        interval: float,
        *,
        cannot_post: Delivery | None = None,
        stop: dict[str, Any] | None = None,
        status: StatusFinder | None = None,
        ts: str | None = None,
    ) -> None:
        self._writer = writer
        self._interval = interval
        self._cannot_post = cannot_post  # where the answer goes if the bot may not post
        self._stop = stop  # the Stop button block, shown while the answer streams
        self._find_status = status
        self._status: Status | None = None
        self._status_pacer: Pacer | None = None  # the status line's, paced as edits are
        self._ts = ts  # set when resuming an answer another process began
        self._shown = ""
        self._pacer: Pacer | None = None
        self._delegate: Delivery | None = None
        self._finished = False

    async def start(self) -> None:
        if self._pacer is not None:
            return
        self._writer.budget.begin()  # live: one of the workspace's answers sharing its budget
        self._pacer = Pacer(
            self._write, self._writer.budget.interval("chat.update", self._interval)
        )
        if self._ts is not None:
            return  # resumed: the answer's message is there already
        if self._find_status is not None:
            self._status = await self._find_status()
        if self._status is not None:
            # In the Assistant panel the status line says the bot is at work;
            # the message appears with the first text.
            await self._status.show(STATUS_THINKING)
            self._status_pacer = Pacer(self._status.show, self._interval)
            return
        try:
            # Must land: a 429 here would otherwise lose the whole answer.
            self._ts = await self._writer.post(
                f"_{notices.THINKING}_", must=True, actions=self._stop
            )
        except SlackApiError as error:
            if self._cannot_post is None or slack_error(error) not in CANNOT_POST:
                raise
            log.info("cannot post here (%s); answering privately", slack_error(error))
            self._delegate = self._cannot_post
            await self._delegate.start()

    async def leave(self) -> None:
        if self._pacer is not None:
            await self._pacer.close()

    def report_to(self, watcher: ShownText) -> None:
        if self._delegate is not None:
            self._delegate.report_to(watcher)
        elif self._pacer is not None:
            self._pacer.watcher = watcher

    async def _write(self, text: str) -> str | None:
        if self._ts is None:
            self._ts = await self._writer.post(text, must=True, actions=self._stop)
        else:
            await self._writer.edit(self._ts, text, actions=self._stop)
        return None

    async def show(self, text: str) -> None:
        if self._delegate is not None:
            await self._delegate.show(text)
            return
        self._shown = text
        await self._clear_status()
        if self._pacer is not None:
            self._pacer.offer(text)

    async def working(self, activities: Activities) -> None:
        # Shown until the answer's text starts, then the text takes its place.
        if self._delegate is not None:
            await self._delegate.working(activities)
        elif self._shown:
            return
        elif self._status_pacer is not None:
            if activities:
                self._status_pacer.offer(lambda: status_line(activities) or STATUS_THINKING)
        elif self._pacer is not None and self._status is None and shown(activities):
            self._pacer.offer(lambda: progress_text(activities))

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
        if self._pacer is None:
            # Finished without a start (help, refusals, "busy"): the same way in,
            # the private fallback of /ask included.
            await self.start()
        self._writer.budget.end()  # the final write is urgent: it needs no share
        if self._delegate is not None:
            await self._delegate.finish(text, notice, feedback_id=feedback_id)
            self._finished = True
            return
        if self._pacer is not None:
            await self._pacer.close()
        await self._clear_status()
        final = text or self._shown  # text already shown is never lost
        self._shown = final  # nor is a final text whose write failed, when tried again
        actions = buttons.feedback_block(feedback_id) if feedback_id else None
        # Not posted yet (the Assistant panel shows a status instead): posted now.
        # Finished only once it landed: FinalWriteFailed leaves it to be tried again.
        await self._writer.write_final(self._ts, final, notice, actions)
        self._finished = True

    async def attach(self, name: str, content: bytes, *, alt: str = "") -> None:
        if self._delegate is not None:
            await self._delegate.attach(name, content, alt=alt)
            return
        await self._writer.upload(name, content, alt=alt, answer_ts=self._ts)

    async def refuse(self, text: str) -> None:
        self._finished = True
        if self._cannot_post is not None:
            await self._cannot_post.refuse(text)  # /ask: its private reply
        else:
            await self._writer.whisper(text)

    def place(self) -> dict[str, Any]:
        if self._delegate is not None:
            return {"private": True}
        return {"ts": self._ts} if self._ts else {}
