"""Fold stream events into the state of one answer. Pure: no I/O, no clock.

A text delta comes for every few characters, so its step is the hot path: the
new state is made without `dataclasses.replace` (which rebuilds every field
through `__init__`), the part being written is the last one in the common case
(no search, no sort), and the answer's text is cached per state and grown by
the delta rather than joined again from all parts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from functools import cached_property
from typing import Any

from bot.responses.activities import Activities, all_ended, with_progress, with_thought
from bot.responses.asks import Ask
from bot.responses.events import (
    Citation,
    Cited,
    Completed,
    Event,
    Failed,
    Image,
    ImageMade,
    Incomplete,
    RefusalDelta,
    RefusalDone,
    Started,
    StreamError,
    TextDelta,
    TextDone,
    Thought,
    ToolActivity,
    Usage,
)


class Ending(Enum):
    """How an answer ended; None on the state while it still streams."""

    COMPLETED = "completed"
    INCOMPLETE = "incomplete"  # cut short (e.g. max_output_tokens); text kept, stored
    FAILED = "failed"  # response.failed or an error event: not stored as a chain head


@dataclass(frozen=True)
class Answer:
    response_id: str = ""
    parts: tuple[tuple[tuple[int, int], str], ...] = ()
    ending: Ending | None = None
    usage: Usage | None = None
    error_code: str = ""
    error_message: str = ""
    incomplete_reason: str = ""
    activities: Activities = ()  # tool calls and reasoning, in the order they began
    refusals: tuple[tuple[tuple[int, int], str], ...] = ()  # the model declining, per part
    asks: tuple[Ask, ...] = ()  # what the response ends by asking of the bot (tools)
    citations: tuple[Citation, ...] = ()  # sources and files on the text, in order, once each
    images: tuple[Image, ...] = ()  # images the model made, once each

    @cached_property
    def text(self) -> str:
        """The text parts in output order, joined by blank lines (computed once per state)."""
        return _joined(self.parts)

    @property
    def refusal(self) -> str:
        """What the model said when it declined to answer; "" when it did not."""
        return _joined(self.refusals)

    @property
    def said(self) -> str:
        """Everything the model wrote for people: the text, then any refusal."""
        return "\n\n".join(text for text in (self.text, self.refusal) if text)

    @property
    def ended(self) -> bool:
        return self.ending is not None

    @property
    def stored(self) -> bool:
        """The API stored this response, so the thread's chain may move to it."""
        return bool(self.response_id) and self.ending in (Ending.COMPLETED, Ending.INCOMPLETE)


Parts = tuple[tuple[tuple[int, int], str], ...]


def _joined(parts: Parts) -> str:
    if len(parts) == 1:
        return parts[0][1]
    return "\n\n".join([text for _, text in parts if text])


def _evolved(answer: Answer, **changes: Any) -> Answer:
    """`answer` with `changes`, made without `__init__`: `replace` costs several times more,
    and this is done for every delta. The cached text is not carried over."""
    evolved = object.__new__(Answer)
    state = evolved.__dict__
    state.update(answer.__dict__)
    state.pop("text", None)
    state.update(changes)
    return evolved


def _with_part(parts: Parts, key: tuple[int, int], text: str, append: bool) -> Parts:
    for index, (known, old) in enumerate(parts):
        if known == key:
            return (*parts[:index], (key, old + text if append else text), *parts[index + 1 :])
    return tuple(sorted((*parts, (key, text)), key=lambda p: p[0]))


def _appended(answer: Answer, key: tuple[int, int], delta: str) -> Answer:
    """The answer after a text delta (not empty)."""
    parts = answer.parts
    if not parts or parts[-1][0] != key:
        return _evolved(answer, parts=_with_part(parts, key, delta, True))
    # The common case: the delta goes on the last part, whose text ends the answer's.
    old = parts[-1][1]
    grown = _evolved(answer, parts=(*parts[:-1], (key, old + delta)))
    before = answer.__dict__.get("text")
    if before is not None:
        grown.__dict__["text"] = before + delta if old or not before else f"{before}\n\n{delta}"
    return grown


def _set_part(answer: Answer, key: tuple[int, int], text: str) -> Answer:
    return _evolved(answer, parts=_with_part(answer.parts, key, text, False))


def _set_refusal(answer: Answer, key: tuple[int, int], text: str, append: bool) -> Answer:
    return _evolved(answer, refusals=_with_part(answer.refusals, key, text, append))


def _with_made(
    answer: Answer, citations: tuple[Citation, ...], images: tuple[Image, ...]
) -> Answer:
    """The answer with these citations and images too (each kept once)."""
    new_citations = tuple(c for c in dict.fromkeys(citations) if c not in answer.citations)
    known = {image.item_id for image in answer.images}
    new_images = tuple(i for i in images if i.item_id not in known)
    if not new_citations and not new_images:
        return answer
    return replace(
        answer,
        citations=answer.citations + new_citations,
        images=answer.images + new_images,
    )


def reduce(answer: Answer, event: Event) -> Answer:
    """The answer after one more event. Events after the end change nothing."""
    if answer.ending is not None:
        return answer
    if type(event) is TextDelta:  # the hot path: one per few characters
        return _appended(answer, event.part, event.delta) if event.delta else answer
    match event:
        case Started(response_id):
            return replace(answer, response_id=answer.response_id or response_id)
        case TextDone(part, text):
            return _set_part(answer, part, text)
        case RefusalDelta(part, delta):
            return _set_refusal(answer, part, delta, append=True) if delta else answer
        case RefusalDone(part, refusal):
            return _set_refusal(answer, part, refusal, append=False)
        case ToolActivity():
            activities = with_progress(answer.activities, event)
            if activities is answer.activities:
                return answer
            return _evolved(answer, activities=activities)
        case Thought():
            activities = with_thought(answer.activities, event)
            if activities is answer.activities:
                return answer
            return _evolved(answer, activities=activities)
        case Cited(citation):
            return _with_made(answer, (citation,), ())
        case ImageMade(image):
            # The drawing is done: as a tool call's end, and its image is kept.
            drawn = ToolActivity(
                "image_generation_call", True, item_id=image.item_id, status="completed"
            )
            answer = _with_made(answer, (), (image,))
            return replace(answer, activities=with_progress(answer.activities, drawn))
        case Completed(response_id, usage, output_text, refusal, asks, citations, images):
            answer = replace(
                answer,
                response_id=response_id or answer.response_id,
                ending=Ending.COMPLETED,
                usage=usage,
                asks=asks,
                activities=all_ended(answer.activities, "completed"),
            )
            # A stream that sent no deltas (some proxies) still carries the final text.
            if output_text and not answer.text:
                answer = replace(answer, parts=(((0, 0), output_text),))
            if refusal and not answer.refusal:
                answer = replace(answer, refusals=(((0, 0), refusal),))
            return _with_made(answer, citations, images)
        case Incomplete(response_id, usage, reason, output_text, citations, images):
            answer = replace(
                answer,
                response_id=response_id or answer.response_id,
                ending=Ending.INCOMPLETE,
                usage=usage,
                incomplete_reason=reason,
                activities=all_ended(answer.activities, "incomplete"),
            )
            if output_text and not answer.text:
                answer = replace(answer, parts=(((0, 0), output_text),))
            return _with_made(answer, citations, images)
        case Failed(response_id, code, message):
            return replace(
                answer,
                response_id=response_id or answer.response_id,
                ending=Ending.FAILED,
                error_code=code,
                error_message=message,
            )
        case StreamError(code, message):
            # The stream may still send response.failed; the error is final either way.
            return replace(answer, ending=Ending.FAILED, error_code=code, error_message=message)
    return answer
