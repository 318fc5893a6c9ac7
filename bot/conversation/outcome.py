"""How a call to the model went, what is left to write, and the turn's record."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bot.conversation import notices
from bot.conversation.approvals import Waiting
from bot.conversation.rounds import with_usage
from bot.conversation.turn import Turn
from bot.responses.errors import ModelError
from bot.responses.reducer import Answer
from bot.store import TurnRecord
from bot.store.store import now


@dataclass
class Outcome:
    """How one call to the model went."""

    answer: Answer
    error: ModelError | None = None
    stopped_by: str = ""  # the user who pressed Stop
    stored: bool = False  # the API stored the response: the chain may move to it
    round_limit: int = 0  # the model asked for more rounds of tool calls than this
    waiting: Waiting | None = None  # ended asking the asker's approval of a tool call

    @property
    def status(self) -> str:
        """As the turn is recorded: completed, incomplete, failed, stopped or error."""
        if self.stopped_by:
            return "stopped"
        if self.round_limit:
            return "incomplete"
        if self.error is not None or self.answer.ending is None:
            return "error"
        return self.answer.ending.value

    @property
    def notice(self) -> str | None:
        if self.stopped_by:
            return notices.stopped(self.stopped_by)
        if self.round_limit:
            return notices.too_many_rounds(self.round_limit)
        if self.waiting is not None:
            return notices.APPROVAL_WAITING
        if self.error is not None:
            return notices.for_model_error(self.error, text_shown=bool(self.answer.text))
        return notices.for_ending(self.answer)


@dataclass(frozen=True)
class Final:
    """What is left to write once the model is done: kept, so a failed write is retried."""

    text: str
    notice: str | None = None
    feedback_id: str | None = None

    @classmethod
    def of(cls, progress: dict[str, Any]) -> Final:
        final = progress.get("final") or {}
        return cls(str(final.get("text", "")), final.get("notice"), final.get("feedback_id"))

    def kept(self) -> dict[str, Any]:
        return {"final": asdict(self)}


def record_of(turn: Turn, outcome: Outcome, about: dict[str, Any]) -> TurnRecord:
    """The turn as it is recorded once answered (`about`: what its progress kept)."""
    answer, error = outcome.answer, outcome.error
    if error is not None:
        error_code: str | None = error.code or type(error).__name__
    else:
        error_code = answer.error_code or None
    usage = with_usage(about.get("usage"), answer.usage)  # every round's
    return TurnRecord(
        team_id=turn.team_id,
        channel_id=turn.channel_id,
        thread_ts=turn.thread_ts,
        user_id=turn.user_id,
        message_ts=turn.message_ts,
        status=outcome.status,
        response_id=answer.response_id or None,
        previous_response_id=about.get("head"),
        heard_ids=tuple(about.get("heard") or ()),
        answer_text=answer.said or None,
        started_at=started(about),
        finished_at=now(),
        stored=outcome.stored,
        error_code=error_code,
        input_tokens=usage.input_tokens if usage else None,
        output_tokens=usage.output_tokens if usage else None,
        total_tokens=usage.total_tokens if usage else None,
        reasoning_tokens=usage.reasoning_tokens if usage else None,
    )


def started(about: dict[str, Any]) -> datetime:
    value = about.get("started_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else now()
