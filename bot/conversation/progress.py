"""How far an answer got, kept in the database for whoever must finish it.

Written with the Slack edits, never per delta: before each new text of the
answer goes to Slack, that text and the sequence number of the event it came
from are kept (and at once when the response gets its id); the first text is
kept with where the answer's message is, as soon as it is posted. A successor —
after a crash, a deploy, or on another worker — resumes the response's stream
after that sequence number and finishes the same Slack message, with no text
lost or repeated.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.conversation.delivery import Delivery
from bot.responses.reducer import Answer
from bot.store.live import LiveAnswers

log = logging.getLogger(__name__)


def parts_of(answer: Answer) -> list[Any]:
    return [[list(key), text] for key, text in answer.parts]


def answer_from(progress: dict[str, Any], response_id: str | None) -> Answer:
    """The answer as far as `progress` kept it."""
    parts = tuple(((int(k[0]), int(k[1])), str(t)) for k, t in progress.get("parts", []))
    return Answer(response_id=response_id or "", parts=parts)


class Progress:
    """Follows an answer (`offer`) and what Slack is about to show of it (`showing`)."""

    def __init__(
        self,
        live: LiveAnswers,
        key: str,
        delivery: Delivery,
        about: dict[str, Any],  # what the successor needs besides the text: chain, heard ids
        shown: Answer | None = None,  # what Slack shows already (a resumed answer)
        sequence: int = -1,
    ) -> None:
        self._live = live
        self._key = key
        self._delivery = delivery
        self._about = about
        self.answer = shown or Answer()  # the newest state
        self.sequence = sequence
        self._shown = (sequence, self.answer)  # what Slack shows, and the event it is from
        self._kept_id = self.answer.response_id
        self._dirty = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        delivery.report_to(self)

    @property
    def background(self) -> bool:
        """The response runs in background mode: it can be resumed."""
        return bool(self._about.get("background"))

    @property
    def about(self) -> dict[str, Any]:
        return self._about

    def offer(self, answer: Answer, sequence: int = -1) -> None:
        """The answer after the event numbered `sequence`. Cheap: nothing is written here."""
        self.answer = answer
        if sequence >= 0:
            self.sequence = sequence
        if not self._shown[1].text and not answer.text:
            self._shown = (self.sequence, answer)  # nothing to show yet: resume from here
        if answer.response_id != self._kept_id:
            self._write()  # a successor needs the id at once

    def next_round(self, start: Answer) -> None:
        """A new response goes on with the answer (after tool outputs): followed, and kept,
        from its first event, with the text of the earlier rounds in `start`."""
        self.answer = start
        self.sequence = -1
        self._shown = (-1, start)
        self._kept_id = start.response_id
        self._closing = False

    async def showing(self, text: str) -> None:
        """The delivery is about to send `text`: kept first, as what a successor starts from;
        the text of a message about to be posted is kept with its place, once it is."""
        if text == self.answer.text and not self._closing:
            self._shown = (self.sequence, self.answer)
            if self._delivery.place():
                await self.keep()

    async def placed(self) -> None:
        """The answer's message appeared (posted with its first text): kept at once with
        that text, so a successor finishes that message instead of posting another."""
        await self.keep()

    def _write(self) -> None:
        self._dirty.set()
        if self._task is None and not self._closing:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        # Told to close rather than cancelled: a cancellation can be lost in asyncio.
        while True:
            await self._dirty.wait()
            if self._closing:
                return
            self._dirty.clear()
            await self.keep()

    async def keep(self) -> None:
        """Write what a successor needs now."""
        place = self._delivery.place()
        response_id = self.answer.response_id
        sequence, shown = self._shown
        progress = {**self._about, "parts": parts_of(shown), "place": place}
        try:
            await self._live.save(self._key, response_id or None, sequence, progress)
        except Exception as error:  # the database may be briefly away: the next write catches up
            log.warning("could not keep an answer's progress: %s", type(error).__name__)
            return
        self._kept_id = response_id

    async def close(self, *, keep: bool = False) -> None:
        """Stop writing; with `keep`, write the latest state first (the answer is left for a
        successor)."""
        self._closing = True
        self._dirty.set()
        if self._task is not None:
            await self._task
            self._task = None
        if keep:
            await self.keep()
