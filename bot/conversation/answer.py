"""Answer one turn: look up the chain head, stream the model, deliver, move the head."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from bot.conversation import notices
from bot.conversation.delivery import Delivery
from bot.conversation.request import Said, build_request
from bot.conversation.turn import Turn
from bot.responses.errors import ModelError, ModelRejected, ModelStreamBroken
from bot.responses.events import Event
from bot.responses.reducer import Answer, Ending, reduce
from bot.store import Store, TurnRecord
from bot.store.store import now

log = logging.getLogger(__name__)

# Errors that mean "the chain cannot go on", recovered by starting a new chain.
CHAIN_LOST = "previous_response_not_found"
TOO_LONG = "context_length_exceeded"


class Model(Protocol):
    def stream(self, request: dict[str, Any]) -> AsyncIterator[Event]: ...


class ThreadHistory(Protocol):
    async def earlier(self, turn: Turn) -> tuple[Said, ...]:
        """What was said in the thread before this turn, recent and bounded."""


class NoHistory:
    async def earlier(self, turn: Turn) -> tuple[Said, ...]:
        return ()


@dataclass(frozen=True)
class Options:
    model: str
    instructions: str
    max_question_chars: int = 20_000
    context_management: str = "compaction"  # or "truncation", "off"
    compact_threshold: int = 200_000


def context_fields(mode: str, compact_threshold: int) -> dict[str, Any]:
    """Request fields that keep a long thread inside the model's context window."""
    if mode == "compaction":
        return {
            "context_management": [{"type": "compaction", "compact_threshold": compact_threshold}]
        }
    if mode == "truncation":
        return {"truncation": "auto"}
    return {}


# Where an endpoint refuses one way of managing the context, try the next.
WEAKER_CONTEXT = {"compaction": "truncation", "truncation": "off"}


def refuses_context_field(error: ModelError, mode: str) -> bool:
    if not isinstance(error, ModelRejected) or error.status != 400 or mode == "off":
        return False
    field = "context_management" if mode == "compaction" else "truncation"
    return field in error.message or field in error.code


def _error_code(error: ModelError | None, answer: Answer) -> str | None:
    if error is not None:
        return error.code or type(error).__name__
    return answer.error_code or None


class Conversation:
    def __init__(
        self, store: Store, model: Model, options: Options, history: ThreadHistory | None = None
    ) -> None:
        self._store = store
        self._model = model
        self._options = options
        self._history = history or NoHistory()
        self._context_mode = options.context_management

    async def answer(self, turn: Turn, delivery: Delivery) -> None:
        """Answer once: a turn already claimed (a redelivery) is skipped."""
        if not await self._store.claim(turn.key):
            log.info("skipping a message already answered")
            return
        question = turn.text.strip()
        if not question:
            await delivery.finish(notices.HELP)
            return
        if len(question) > self._options.max_question_chars:
            await delivery.finish(notices.too_long(self._options.max_question_chars))
            return
        head = None if turn.one_off else await self._store.chain_head(*turn.thread)
        started_at = now()
        await delivery.start()
        answer, error, restarted = await self._answer_with_recovery(turn, delivery, head)
        if restarted:
            head = None
        notice = (
            notices.for_model_error(error, text_shown=bool(answer.text))
            if error is not None
            else notices.for_ending(answer)
        )
        if restarted == TOO_LONG and notice is None:
            notice = notices.STARTED_OVER
        await delivery.finish(answer.text, notice)
        await self._record(turn, answer, error, head, started_at)

    async def _answer_with_recovery(
        self, turn: Turn, delivery: Delivery, head: str | None
    ) -> tuple[Answer, ModelError | None, str]:
        """Stream the answer; returns the code that made it start a new chain, or ""."""
        answer, error = await self._stream(turn, delivery, head, ())
        code = error.code if error is not None else answer.error_code
        if answer.text or code not in (CHAIN_LOST, TOO_LONG):
            return answer, error, ""
        # The chain is gone upstream, or has grown past the context window:
        # start a new one from the thread's recent messages.
        log.warning("thread chain unusable (%s); starting a new chain", code)
        earlier = () if turn.one_off else await self._history.earlier(turn)
        answer, error = await self._stream(turn, delivery, None, earlier)
        return answer, error, code

    async def _stream(
        self, turn: Turn, delivery: Delivery, head: str | None, earlier: tuple[Said, ...]
    ) -> tuple[Answer, ModelError | None]:
        while True:
            mode = self._context_mode
            request = build_request(
                turn,
                model=self._options.model,
                instructions=self._options.instructions,
                previous_response_id=head,
                earlier=earlier,
                extra=context_fields(mode, self._options.compact_threshold),
            )
            answer, error = await self._stream_request(request, delivery)
            if error is None or not refuses_context_field(error, mode):
                return answer, error
            # Remembered for later turns: this endpoint does not take that field.
            self._context_mode = WEAKER_CONTEXT[mode]
            log.warning("the endpoint refuses %s; using %s", mode, self._context_mode)

    async def _stream_request(
        self, request: dict[str, Any], delivery: Delivery
    ) -> tuple[Answer, ModelError | None]:
        answer = Answer()
        shown = ""
        busy = ""
        try:
            async for event in self._model.stream(request):
                answer = reduce(answer, event)
                if answer.text != shown:
                    shown = answer.text
                    await delivery.show(shown)
                if answer.busy_with != busy:
                    busy = answer.busy_with
                    if busy:
                        await delivery.working(busy)
                if answer.ended:
                    break
        except ModelError as error:
            self._log_model_error(error)
            return answer, error
        if not answer.ended:
            # The stream closed without saying how the answer ended.
            return answer, ModelStreamBroken("the stream ended early")
        if answer.ending is Ending.FAILED:
            log.warning("the model's answer failed: code=%s", answer.error_code)
        return answer, None

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
        answer: Answer,
        error: ModelError | None,
        head: str | None,
        started_at: Any,
    ) -> None:
        if turn.one_off:
            return  # /ask keeps no chain
        status = answer.ending.value if answer.ending else "error"
        usage = answer.usage
        await self._store.record_turn(
            TurnRecord(
                team_id=turn.team_id,
                channel_id=turn.channel_id,
                thread_ts=turn.thread_ts,
                user_id=turn.user_id,
                message_ts=turn.message_ts,
                status=status if error is None else "error",
                response_id=answer.response_id or None,
                previous_response_id=head,
                started_at=started_at,
                finished_at=now(),
                stored=error is None and answer.stored,
                error_code=_error_code(error, answer),
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.output_tokens if usage else None,
                total_tokens=usage.total_tokens if usage else None,
            )
        )
