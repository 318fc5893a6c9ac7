"""The reducer over recorded-shape streams: text, ending, usage, chain eligibility."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.conversation import notices
from bot.responses.events import (
    Completed,
    Failed,
    Incomplete,
    RefusalDelta,
    RefusalDone,
    StreamError,
    TextDelta,
    TextDone,
    ToolActivity,
    Usage,
    parse_event,
)
from bot.responses.reducer import Answer, Ending, reduce

FIXTURES = Path(__file__).parents[1] / "fixtures" / "responses"


def events_of(name: str) -> list[dict[str, object]]:
    lines = (FIXTURES / name).read_text().splitlines()
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]


def fold(name: str) -> Answer:
    answer = Answer()
    for data in events_of(name):
        event = parse_event(data)
        if event is not None:
            answer = reduce(answer, event)
    return answer


def test_text_answer_is_the_deltas_joined_and_completed_with_usage() -> None:
    answer = fold("text_answer.sse")
    assert answer.text == "Sure — the deploy finished at 14:02 UTC."
    assert answer.ending is Ending.COMPLETED
    assert answer.response_id == "resp_68c1a2b3c4d5e6f708192a3b4c5d6e7f0a1b2c3d4e5f6a7b"
    assert answer.usage == Usage(input_tokens=412, output_tokens=12, total_tokens=424)
    assert answer.stored


def test_web_search_reports_activity_then_text() -> None:
    answer = Answer()
    running = []
    for data in events_of("web_search.sse"):
        event = parse_event(data)
        if event is not None:
            answer = reduce(answer, event)
            running += [a.kind for a in answer.activities if not a.done]
    assert "web_search_call" in running
    [search] = answer.activities
    assert search.done and search.detail == "Berlin news today"
    assert answer.text.startswith("Berlin Art Week 2025 runs Sept 10–14 ([wallpaper.com](")
    assert answer.ending is Ending.COMPLETED


def test_function_call_completes_without_text() -> None:
    answer = fold("function_call.sse")
    assert answer.ending is Ending.COMPLETED
    assert answer.text == ""
    assert answer.usage is not None and answer.usage.total_tokens == 114


def test_error_event_then_failed_keeps_the_nested_error_and_is_not_stored() -> None:
    answer = fold("error_then_failed.sse")
    assert answer.ending is Ending.FAILED
    assert answer.error_code == "insufficient_quota"
    assert "exceeded your current quota" in answer.error_message
    assert not answer.stored


def test_failed_only_reads_the_response_error() -> None:
    answer = fold("failed_only.sse")
    assert answer.ending is Ending.FAILED
    assert answer.error_code == "server_error"
    assert not answer.stored


def test_incomplete_keeps_text_and_is_stored() -> None:
    answer = reduce(Answer(), TextDelta((0, 0), "Part of it"))
    answer = reduce(answer, Incomplete("resp_1", None, "max_output_tokens", ""))
    assert answer.text == "Part of it"
    assert answer.ending is Ending.INCOMPLETE
    assert answer.incomplete_reason == "max_output_tokens"
    assert answer.stored


def test_text_done_replaces_the_deltas_of_its_part() -> None:
    answer = reduce(Answer(), TextDelta((0, 0), "Helo"))
    answer = reduce(answer, TextDone((0, 0), "Hello"))
    assert answer.text == "Hello"


def test_parts_of_several_messages_join_in_output_order() -> None:
    answer = reduce(Answer(), TextDelta((1, 0), "second"))
    answer = reduce(answer, TextDelta((0, 0), "first"))
    assert answer.text == "first\n\nsecond"


def test_completed_without_deltas_takes_the_final_text() -> None:
    answer = reduce(Answer(), Completed("resp_9", None, "All at once"))
    assert answer.text == "All at once"
    assert answer.response_id == "resp_9"


def test_events_after_the_end_change_nothing() -> None:
    answer = reduce(Answer(), Completed("resp_1", None, "done"))
    assert reduce(answer, TextDelta((0, 0), "more")) == answer
    assert reduce(answer, Failed("resp_1", "x", "y")) == answer


def test_an_error_event_ends_the_answer_even_without_response_failed() -> None:
    answer = reduce(Answer(), TextDelta((0, 0), "half"))
    answer = reduce(answer, StreamError("server_error", "boom"))
    assert answer.ended and answer.text == "half" and not answer.stored


def test_a_tool_activity_is_kept_by_its_item_and_ends_once() -> None:
    search = "web_search_call"
    answer = reduce(Answer(), ToolActivity(search, False, item_id="ws_1"))
    answer = reduce(answer, ToolActivity(search, True, item_id="ws_1", status="completed"))
    late = reduce(answer, ToolActivity(search, False, item_id="ws_1", status="searching"))
    assert late is answer  # an ended call stays ended, and the state is not rebuilt
    assert [a.status for a in answer.activities] == ["completed"]


@pytest.mark.parametrize(
    "data",
    [None, 3, "x", [], {}, {"type": 5}, {"type": "response.unknown.thing", "foo": 1}],
)
def test_parse_ignores_what_it_does_not_know(data: object) -> None:
    assert parse_event(data) is None


def test_parse_ignores_unknown_fields() -> None:
    event = parse_event(
        {"type": "response.output_text.delta", "delta": "hi", "content_filters": None, "x": [1]}
    )
    assert event == TextDelta((0, 0), "hi")


def test_flat_error_event_as_the_spec_shows_it() -> None:
    assert parse_event({"type": "error", "code": "rate_limit_exceeded", "message": "slow"}) == (
        StreamError("rate_limit_exceeded", "slow")
    )


# -- refusals and empty answers (issue 7) ---------------------------------------------------


def test_a_refusal_stream_is_a_refusal_not_text() -> None:
    answer = fold("refusal.sse")
    assert answer.refusal == "I'm sorry, but I can't help with that."
    assert answer.text == ""
    assert answer.said == answer.refusal
    assert answer.ending is Ending.COMPLETED and answer.stored


def test_refusal_events_parse_to_their_own_types() -> None:
    where = {"output_index": 0, "content_index": 1}
    delta = {"type": "response.refusal.delta", **where, "delta": "No"}
    done = {"type": "response.refusal.done", **where, "refusal": "No."}
    assert parse_event(delta) == RefusalDelta((0, 1), "No")
    assert parse_event(done) == RefusalDone((0, 1), "No.")


def test_a_refusal_only_in_the_final_response_still_counts() -> None:
    """Some proxies send no deltas: the completed response's refusal part is the refusal."""
    completed = next(e for e in events_of("refusal.sse") if e["type"] == "response.completed")
    answer = reduce(Answer(), parse_event(completed) or Completed("", None, ""))
    assert answer.refusal == "I'm sorry, but I can't help with that."


def test_refusal_and_empty_answers_get_plain_notices() -> None:
    assert notices.for_ending(fold("refusal.sse")) == notices.DECLINED
    empty = reduce(Answer(), Completed("resp_1", None, ""))
    assert notices.for_ending(empty) == notices.EMPTY
    assert notices.for_ending(fold("text_answer.sse")) is None
