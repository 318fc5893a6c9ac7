"""Answer one turn: look up the chain head, stream the model, deliver, move the head."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.conversation import context_window, notices
from bot.conversation.delivery import Delivery
from bot.conversation.request import Said, build_request
from bot.conversation.stops import Stops
from bot.conversation.turn import Turn
from bot.responses.errors import ModelError, ModelRejected, ModelStreamBroken
from bot.responses.events import Event
from bot.responses.reducer import Answer, Ending, reduce
from bot.store import Store, TurnRecord
from bot.store.store import ThreadState, now

log = logging.getLogger(__name__)

# Errors that mean "the chain cannot go on", recovered by starting a new chain.
CHAIN_LOST = "previous_response_not_found"
TOO_LONG = "context_length_exceeded"
STORED = ("completed", "incomplete")


class Model(Protocol):
    def stream(self, request: dict[str, Any]) -> AsyncIterator[Event]: ...

    async def status(self, response_id: str) -> str | None:
        """The status the API reports for a response, or None if it cannot tell."""


class ThreadSource(Protocol):
    """What the surface knows of a thread beyond the turn itself."""

    async def earlier(self, turn: Turn) -> tuple[Said, ...]:
        """What was said in the thread before this turn, recent and bounded."""

    async def surroundings(self, turn: Turn) -> str:
        """A note on where the user is (e.g. the channel they are viewing), or ""."""


class NoSource:
    async def earlier(self, turn: Turn) -> tuple[Said, ...]:
        return ()

    async def surroundings(self, turn: Turn) -> str:
        return ""


@dataclass(frozen=True)
class Options:
    model: str
    instructions: str
    max_question_chars: int = 20_000
    context_management: str = "compaction"  # or "truncation", "off"
    compact_threshold: int = 200_000


@dataclass
class Outcome:
    """How one call to the model went."""

    answer: Answer
    error: ModelError | None = None
    stopped_by: str = ""  # the user who pressed Stop
    stored: bool = False  # the API stored the response: the chain may move to it

    @property
    def status(self) -> str:
        """As the turn is recorded: completed, incomplete, failed, stopped or error."""
        if self.stopped_by:
            return "stopped"
        if self.error is not None or self.answer.ending is None:
            return "error"
        return self.answer.ending.value

    @property
    def notice(self) -> str | None:
        if self.stopped_by:
            return notices.stopped(self.stopped_by)
        if self.error is not None:
            return notices.for_model_error(self.error, text_shown=bool(self.answer.text))
        return notices.for_ending(self.answer)


class Conversation:
    def __init__(
        self,
        store: Store,
        model: Model,
        options: Options,
        source: ThreadSource | None = None,
        stops: Stops | None = None,
    ) -> None:
        self._store = store
        self._model = model
        self._options = options
        self._source = source or NoSource()
        self.stops = stops or Stops()
        self._context_mode = options.context_management

    async def answer(self, turn: Turn, delivery: Delivery) -> None:
        """Answer once: a turn already claimed (a redelivery) is skipped."""
        # The lock orders turns of one thread across workers (PostgreSQL); the
        # claim and the thread's state are read under it, in one transaction.
        async with self._store.thread_lock(*turn.thread):
            state = await self._store.begin_turn(turn.key, *turn.thread)
            if state is None:
                log.info("skipping a message already answered")
                return
            question = turn.text.strip()
            if not question:
                await delivery.finish(notices.HELP)
                return
            if len(question) > self._options.max_question_chars:
                await delivery.finish(notices.too_long(self._options.max_question_chars))
                return
            stop = self.stops.watch(turn.key)
            try:
                await self._answer(turn, delivery, stop, state)
            finally:
                self.stops.forget(turn.key)

    async def _answer(
        self, turn: Turn, delivery: Delivery, stop: asyncio.Event, state: ThreadState
    ) -> None:
        started_at = now()
        if turn.one_off:
            state = ThreadState(None, False)
        head = state.chain_head
        earlier, earlier_ids = await self._context_before(turn, state)
        note = await self._source.surroundings(turn)
        await delivery.start()
        outcome = await self._call(turn, delivery, stop, head, earlier, note)
        code = outcome.error.code if outcome.error else outcome.answer.error_code
        restarted = not outcome.answer.text and code in (CHAIN_LOST, TOO_LONG)
        if restarted:
            # The chain is gone upstream, or has grown past the context window:
            # start a new one from the thread's recent messages.
            log.warning("thread chain unusable (%s); starting a new chain", code)
            head = None
            earlier = () if turn.one_off else await self._source.earlier(turn)
            outcome = await self._call(turn, delivery, stop, None, earlier, note)
        notice = outcome.notice
        if restarted and code == TOO_LONG and notice is None:
            notice = notices.STARTED_OVER
        answer = outcome.answer
        feedback_id = answer.response_id if answer.text and outcome.stored else None
        # A refusal is shown in the model's words, under the notice that it declined.
        await delivery.finish(answer.said, notice, feedback_id=feedback_id)
        try:
            await self._record(turn, outcome, head, earlier_ids, started_at)
        except Exception:
            # The answer is out; what is lost is its record (and the chain's next step).
            log.exception("could not record the turn")
        log.info(
            "answered in %.1fs: %s, %d chars, %s tokens, chained=%s",
            (now() - started_at).total_seconds(),
            outcome.status,
            len(answer.text),
            answer.usage.total_tokens if answer.usage else "?",
            head is not None,
        )

    async def _context_before(
        self, turn: Turn, state: ThreadState
    ) -> tuple[tuple[Said, ...], tuple[int, ...]]:
        """What the model has not heard yet: a whole thread the bot joins late, or
        what people wrote in the thread since the bot's last answer; and the ids of
        those heard messages, dropped once a stored response has taken them in."""
        if turn.one_off or (state.chain_head is None and turn.thread_ts == turn.message_ts):
            return (), ()  # a one-off, or a new thread
        heard = []
        if state.heard:
            heard = await self._store.heard_before(*turn.thread, before_ts=turn.message_ts)
        ids = tuple(h.id for h in heard)
        said = tuple(Said(speaker=h.user_id, text=h.text) for h in heard)
        if state.chain_head is None and turn.shared:
            # Joined late, or the chain never started: the thread's history holds
            # what was heard too.
            return (await self._source.earlier(turn) or said), ids
        return said, ids

    async def _call(
        self,
        turn: Turn,
        delivery: Delivery,
        stop: asyncio.Event,
        head: str | None,
        earlier: tuple[Said, ...],
        note: str,
    ) -> Outcome:
        while True:
            mode = self._context_mode
            request = build_request(
                turn,
                model=self._options.model,
                instructions=self._options.instructions,
                previous_response_id=head,
                earlier=earlier,
                note=note,
                extra=context_window.fields(mode, self._options.compact_threshold),
            )
            outcome = await self._stream(request, delivery, stop, turn.key)
            if outcome.error is None or not context_window.refused(outcome.error, mode):
                break
            # Remembered for later turns: this endpoint does not take that field.
            self._context_mode = context_window.WEAKER[mode]
            log.warning("the endpoint refuses %s; using %s", mode, self._context_mode)
        return outcome

    async def _stream(
        self, request: dict[str, Any], delivery: Delivery, stop: asyncio.Event, key: str
    ) -> Outcome:
        outcome = Outcome(Answer())

        async def consume() -> None:
            shown, busy = "", ""
            async for event in self._model.stream(request):
                outcome.answer = answer = reduce(outcome.answer, event)
                if answer.text != shown:
                    shown = answer.text
                    await delivery.show(shown)
                if answer.busy_with != busy:
                    busy = answer.busy_with
                    if busy:
                        await delivery.working(busy)

        streaming = asyncio.create_task(consume())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({streaming, stopping}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            streaming.cancel()  # the bot is stopping: so does the stream
            raise
        finally:
            stopping.cancel()
        if not streaming.done():
            # Stop was pressed: closing the stream ends the generation upstream.
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError, ModelError):
                await streaming
            outcome.stopped_by = self.stops.stopped_by(key)
            outcome.stored = await self._stored_after_stop(outcome.answer)
            return outcome
        try:
            streaming.result()
        except ModelError as error:
            self._log_model_error(error)
            outcome.error = error
            return outcome
        answer = outcome.answer
        if not answer.ended:
            outcome.error = ModelStreamBroken("the stream ended early")
        elif answer.ending is Ending.FAILED:
            log.warning("the model's answer failed: code=%s", answer.error_code)
        outcome.stored = outcome.error is None and answer.stored
        return outcome

    async def _stored_after_stop(self, answer: Answer) -> bool:
        """Ask the API whether a stopped response was stored; only then may the chain move."""
        if answer.stored:
            return True
        if not answer.response_id:
            return False
        try:
            status = await self._model.status(answer.response_id)
        except ModelError:
            return False
        return status in STORED

    @staticmethod
    def _log_model_error(error: ModelError) -> None:
        if isinstance(error, ModelRejected):
            # For the operator: a wrong model name, a refused key, a bad parameter.
            log.error(
                "the model's service refused the request: status=%s code=%s message=%s",
                error.status,
                error.code or "-",
                error.message,
            )
        else:
            log.warning("model call failed: %s (status=%s)", type(error).__name__, error.status)

    async def _record(
        self,
        turn: Turn,
        outcome: Outcome,
        head: str | None,
        heard_ids: tuple[int, ...],
        started_at: datetime,
    ) -> None:
        if turn.one_off:
            return  # /ask keeps no chain
        answer, error = outcome.answer, outcome.error
        if error is not None:
            error_code: str | None = error.code or type(error).__name__
        else:
            error_code = answer.error_code or None
        usage = answer.usage
        await self._store.record_turn(
            TurnRecord(
                team_id=turn.team_id,
                channel_id=turn.channel_id,
                thread_ts=turn.thread_ts,
                user_id=turn.user_id,
                message_ts=turn.message_ts,
                status=outcome.status,
                response_id=answer.response_id or None,
                previous_response_id=head,
                heard_ids=heard_ids,
                started_at=started_at,
                finished_at=now(),
                stored=outcome.stored,
                error_code=error_code,
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.output_tokens if usage else None,
                total_tokens=usage.total_tokens if usage else None,
            )
        )
