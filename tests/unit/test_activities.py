"""Tool calls and reasoning folded into the answer's activities, on recorded streams, and
the words a person reads for them."""

from __future__ import annotations

import json
from pathlib import Path

from bot.conversation.work import label, progress_text, status_line, thought_title
from bot.responses.activities import Activity
from bot.responses.events import Completed, Incomplete, Thought, ToolActivity, parse_event
from bot.responses.reducer import Answer, reduce
from bot.slack.task_cards import TaskCards, card

RECORDED = Path(__file__).parents[1] / "fixtures" / "responses" / "recorded"


def events_of(name: str) -> list[dict[str, object]]:
    lines = (RECORDED / name).read_text().splitlines()
    return [json.loads(line[len("data:") :]) for line in lines if line.startswith("data:")]


def states(name: str) -> list[Answer]:
    """The answer after every event of a recorded stream."""
    answer, seen = Answer(), []
    for data in events_of(name):
        event = parse_event(data)
        if event is not None:
            answer = reduce(answer, event)
            seen.append(answer)
    return seen


def before_text(name: str) -> list[Answer]:
    return [a for a in states(name) if not a.text]


def test_a_web_search_goes_from_in_progress_to_completed_with_its_query() -> None:
    seen = states("web_search_weather.sse")
    searches = [a for s in seen for a in s.activities if a.kind == "web_search_call"]
    assert [a.status for a in searches][:3] == ["in_progress", "in_progress", "searching"]
    final = seen[-1]
    [search] = [a for a in final.activities if a.kind == "web_search_call"]
    assert search == Activity(
        "ws_00a60507bf41223d0068c9d30021d081a0962d80d50c12e317",
        "web_search_call",
        "completed",
        "weather: San Francisco, CA",
    )
    # The query is known before the text starts, and said so.
    last_before = before_text("web_search_weather.sse")[-1]
    assert status_line(last_before.activities) == (
        "Searching the web for “weather: San Francisco, CA”…"
    )
    # Reasoning without a summary is not shown.
    assert all(a.kind != "reasoning" or not a.detail for a in final.activities)


def test_several_searches_each_get_their_own_activity() -> None:
    final = states("web_search_news_citations.sse")[-1]
    searches = [a for a in final.activities if a.kind == "web_search_call"]
    assert len(searches) == 7 and all(a.done for a in searches)
    assert len({a.item_id for a in searches}) == 7
    assert searches[0].detail == (
        "OpenTelemetry FastAPI instrumentation capture request and response body"
    )


def test_a_file_search_shows_its_query() -> None:
    seen = [s for s in before_text("file_search_citation.sse") if s.activities]
    assert status_line(seen[0].activities) == "Searching files…"
    assert (
        status_line(seen[-1].activities) == "Searching files for “What is the capital of France?”…"
    )


def test_code_interpreter_runs_then_completes() -> None:
    seen = states("markdown_code_interpreter.sse")
    runs = [s for s in seen if any(a.kind == "code_interpreter_call" for a in s.activities)]
    assert status_line(runs[0].activities) == "Running code…"
    statuses = [a.status for s in runs for a in s.activities if a.kind == "code_interpreter_call"]
    assert "interpreting" in statuses and statuses[-1] == "completed"
    # Code deltas do not rebuild the state: the activity changes a few times only.
    assert len({id(s.activities) for s in seen}) < 10


def test_reasoning_summary_streams_as_the_thought_then_gives_way_to_the_text() -> None:
    seen = states("reasoning_summary_list.sse")
    thinking = [s for s in seen if not s.text and s.activities and s.activities[0].detail]
    assert thinking, "the summary is the state before the text"
    assert status_line(thinking[-1].activities) == "Thinking: Providing safe crossing advice"
    titles = {status_line(s.activities) for s in thinking}
    assert "Thinking: Providing street crossing instructions" in titles
    assert "Thinking: Explaining street crossing safety" in titles
    # Each summary part replaces the last: the thought shown is one part, not all.
    [reasoning] = seen[-1].activities
    assert reasoning.kind == "reasoning" and reasoning.done
    assert reasoning.detail.startswith("**Providing safe crossing advice**")
    assert seen[-1].usage is not None and seen[-1].usage.reasoning_tokens == 1408


def test_raw_reasoning_text_of_a_compatible_endpoint_is_the_thought() -> None:
    seen = states("compat_deepseek_reasoning_text.sse")
    before = [s for s in seen if not s.text]
    assert label(before[-1].activities[0]) == "Thinking: We need answer capital of France."
    assert seen[-1].text == "The capital of France is Paris."
    assert seen[-1].usage is not None and seen[-1].usage.reasoning_tokens == 7


def test_reasoning_then_code_lists_the_calls_and_quotes_the_thought() -> None:
    seen = before_text("reasoning_code_interpreter.sse")
    thought = next(s for s in seen if s.activities and s.activities[-1].detail.endswith("!"))
    shown = progress_text(thought.activities)
    assert shown.startswith("_Thinking…_\n> **Calculating a large integer**")
    final = seen[-1]
    codes = [a for a in final.activities if a.kind == "code_interpreter_call"]
    assert len(codes) == 3
    assert progress_text(final.activities).splitlines()[:3] == ["_Running code…_ ✓"] * 3


def test_mcp_listing_and_calls_are_named_by_server_and_tool() -> None:
    seen = before_text("mcp_call_text.sse")
    lines = [status_line(s.activities) for s in seen]
    assert "Listing deepwiki's tools…" in lines
    assert "Using deepwiki: ask_question…" in lines


def test_labels_for_every_kind() -> None:
    def said(kind: str, detail: str = "") -> str:
        return label(Activity("x", kind, detail=detail))

    assert said("web_search_call") == "Searching the web…"
    assert said("image_generation_call") == "Drawing…"
    assert said("function_call", "get_ticket") == "Calling get_ticket…"
    assert said("mcp_list_tools", "docs") == "Listing docs's tools…"
    assert said("reasoning", "**Half a head") == "Thinking…"  # a heading still streaming
    assert said("something_new") == "Working on it…"
    long = said("web_search_call", "word " * 40)
    assert len(long) < 100 and long.endswith("…”…")


def test_thought_titles() -> None:
    assert thought_title("**Planning the trip**\n\nFirst…") == "Planning the trip"
    assert thought_title("  plain words\nmore") == "plain words"
    assert thought_title("") == ""


def test_image_generation_events_parse_with_partial_images_as_generating() -> None:
    where = {"output_index": 0, "item_id": "ig_1", "sequence_number": 4}
    partial = {"type": "response.image_generation_call.partial_image", **where}
    event = parse_event({**partial, "partial_image_b64": "AAAA", "partial_image_index": 0})
    assert event == ToolActivity(
        "image_generation_call", False, item_id="ig_1", status="generating"
    )
    assert parse_event({"type": "response.mcp_call_arguments.delta", **where}) is None
    summary = {"type": "response.reasoning_summary_part.added", "item_id": "rs_1"}
    assert parse_event({**summary, "part": {"type": "summary_text", "text": ""}}) == Thought(
        "rs_1", "", True
    )


def test_task_cards_send_only_what_changed_and_end_running_calls_as_errors() -> None:
    cards = TaskCards()
    running = Activity("ws_1", "web_search_call", "searching")
    cards.latest = (running, Activity("rs_1", "reasoning"))  # no thought yet: no card
    first = cards.changes()
    assert first == [
        {
            "type": "task_update",
            "id": "ws_1",
            "title": "Searching the web…",
            "status": "in_progress",
        }
    ]
    cards.sent(first)
    assert cards.changes() == []
    cards.latest = (Activity("ws_1", "web_search_call", "completed", "cats"),)
    assert cards.changes()[0]["status"] == "complete"
    assert cards.changes()[0]["title"] == "Searching the web for “cats”…"
    assert card(running, ended=True)["status"] == "error"


def test_calls_end_with_their_response_even_without_events_saying_so() -> None:
    """Some proxies send no `.completed` or `output_item.done` for a tool call."""
    answer = reduce(Answer(), ToolActivity("web_search_call", False, item_id="ws_1"))
    done = reduce(answer, Completed("resp_1", None, "Found."))
    assert [a.status for a in done.activities] == ["completed"]
    cut = reduce(answer, Incomplete("resp_1", None, "max_output_tokens", ""))
    assert [(a.status, a.failed) for a in cut.activities] == [("incomplete", True)]
