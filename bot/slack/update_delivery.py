"""`update` mode: post, then edit the message with chat.update as text arrives.

The message is posted with the model's first text (or its progress) when that comes
within a moment (`call_allowance.Opening`); otherwise a "Thinking…"
placeholder is posted then, and the first text replaces it as soon as the answer's
call allowance has room. Edits follow at most one per interval, and the answer's calls
stay within 2 + its duration ÷ the interval, its final write included.
"""

from __future__ import annotations

import asyncio
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
from bot.slack.call_allowance import CallAllowance, Opening
from bot.slack.calls import slack_error
from bot.slack.pacing import Pacer
from bot.slack.thread_writer import ThreadWriter

log = logging.getLogger(__name__)

# Where the bot may not post, e.g. a DM between two other people or a channel it is not in.
CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}

# Finds the status line of an Assistant thread, or None elsewhere.
StatusFinder = Callable[[], Awaitable[Status | None]]

PLACEHOLDER = f"_{notices.THINKING}_"


class UpdateDelivery:
    __slots__ = (
        "_allowance",
        "_cannot_post",
        "_delegate",
        "_edit_interval",
        "_find_status",
        "_finished",
        "_interval",
        "_opening",
        "_pacer",
        "_placeholding",
        "_posting",
        "_shown",
        "_status",
        "_status_pacer",
        "_stop",
        "_ts",
        "_writer",
        "_writing_at",
    )

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
        self._allowance: CallAllowance | None = None
        self._edit_interval: Callable[[], float] | None = None
        self._opening = Opening()  # the placeholder, unless text comes first
        self._placeholding = False  # the message shows only the placeholder
        self._posting = asyncio.Lock()
        self._writing_at = 0.0  # loop time the last write began

    async def start(self) -> None:
        if self._pacer is not None:
            return
        budget = self._writer.budget
        budget.begin()  # live: one of the workspace's answers sharing its budget
        self._allowance = CallAllowance(self._interval)
        self._edit_interval = budget.interval("chat.update", self._interval)
        self._pacer = Pacer(self._write, self._pause)
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
        # The message appears with the first text if it comes within a moment; if not,
        # a placeholder says that an answer is coming.
        self._opening.wait(self._interval, lambda: self._offer(PLACEHOLDER))

    def _offer(self, text: str | Callable[[], str]) -> None:
        if self._pacer is not None:
            self._opening.offered = True
            self._pacer.offer(text)

    def _pause(self) -> float:
        """Seconds from one write to the next: the edit interval (the workspace's budget
        may widen it), and never so soon that the answer's calls outgrow its allowance.
        A placeholder gives way to the first text as soon as the allowance has room."""
        wait = self._allowance.wait() if self._allowance is not None else 0.0
        if self._placeholding or self._edit_interval is None:
            return wait
        # The interval runs from when the last edit was sent: Slack's time to answer it
        # is not added to every interval.
        sending = asyncio.get_running_loop().time() - self._writing_at
        return max(self._edit_interval() - sending, wait)

    async def leave(self) -> None:
        self._opening.cancel()
        if self._pacer is not None:
            await self._pacer.close()

    def report_to(self, watcher: ShownText) -> None:
        if self._delegate is not None:
            self._delegate.report_to(watcher)
        elif self._pacer is not None:
            self._pacer.watcher = watcher

    async def _write(self, text: str) -> str | None:
        self._writing_at = asyncio.get_running_loop().time()
        if self._delegate is not None:
            return None  # answered privately: nothing more goes to the channel
        if self._ts is None:
            await self._post_first(text)
        else:
            await self._writer.edit(self._ts, text, actions=self._stop)
            self._wrote(text)
        return None

    async def _post_first(self, text: str) -> None:
        """Post the answer's message (once, also when a file needs it early)."""
        async with self._posting:
            if self._ts is not None or self._delegate is not None:
                return
            try:
                # Must land: a 429 here would otherwise lose the whole answer.
                self._ts = await self._writer.post(text, must=True, actions=self._stop)
            except SlackApiError as error:
                if not await self._answer_privately(error):
                    raise
                if self._shown and self._delegate is not None:
                    await self._delegate.show(self._shown)
                return
        watcher = self._pacer.watcher if self._pacer is not None else None
        if watcher is not None:
            await watcher.placed()  # a successor finishes this message
        self._wrote(text)

    def _wrote(self, text: str) -> None:
        if self._allowance is not None:
            self._allowance.made()
        self._placeholding = text == PLACEHOLDER

    async def _answer_privately(self, error: SlackApiError) -> bool:
        """Where the bot may not post (/ask in a DM between others, say): the answer goes
        to the private fallback. False where there is none, or for any other error."""
        if self._cannot_post is None or slack_error(error) not in CANNOT_POST:
            return False
        log.info("cannot post here (%s); answering privately", slack_error(error))
        self._opening.cancel()
        self._delegate = self._cannot_post
        await self._delegate.start()
        return True

    async def show(self, text: str) -> None:
        if self._delegate is not None:
            await self._delegate.show(text)
            return
        self._shown = text
        await self._clear_status()
        self._offer(text)

    async def working(self, activities: Activities) -> None:
        # Shown until the answer's text starts, then the text takes its place.
        if self._delegate is not None:
            await self._delegate.working(activities)
        elif self._shown:
            return
        elif self._status_pacer is not None:
            if activities:
                self._status_pacer.offer(lambda: status_line(activities) or STATUS_THINKING)
        elif self._status is None and shown(activities):
            self._offer(lambda: progress_text(activities))

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
        self._opening.cancel()
        self._writer.budget.end()  # the final write is urgent: it needs no share
        if self._pacer is not None:
            await self._pacer.close()
        if self._delegate is None:
            await self._clear_status()
            final = text or self._shown  # text already shown is never lost
            self._shown = final  # nor is a final text whose write failed, when tried again
            actions = buttons.feedback_block(feedback_id) if feedback_id else None
            # Not posted yet (an answer done within a moment, or a status instead): posted
            # now. Finished only once it landed: FinalWriteFailed leaves it to be tried again.
            try:
                await self._writer.write_final(self._ts, final, notice, actions)
                self._finished = True
                return
            except SlackApiError as error:
                if self._ts is not None or not await self._answer_privately(error):
                    raise
        if self._delegate is not None:
            await self._delegate.finish(text or self._shown, notice, feedback_id=feedback_id)
        self._finished = True

    async def attach(self, name: str, content: bytes, *, alt: str = "") -> None:
        if self._delegate is None and self._ts is None and not self._writer.thread_ts:
            # /ask: the file goes in the thread of the answer's message, so it is posted
            # now (with the text so far) if it is not there yet.
            await self._post_first(self._shown or PLACEHOLDER)
        if self._delegate is not None:
            await self._delegate.attach(name, content, alt=alt)
            return
        await self._writer.upload(name, content, alt=alt, answer_ts=self._ts)

    async def refuse(self, text: str) -> None:
        self._finished = True
        self._opening.cancel()
        if self._cannot_post is not None:
            await self._cannot_post.refuse(text)  # /ask: its private reply
        else:
            await self._writer.whisper(text)

    def place(self) -> dict[str, Any]:
        if self._delegate is not None:
            return {"private": True}
        return {"ts": self._ts} if self._ts else {}
