"""The fakes speak progress as the real services do: FakeSlack's task cards in native
streams (accepted, updated in place, malformed ones refused), and the tool streams of
tests/fakes/progress_streams.py (parsed by the bot as the recorded ones are)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.work import status_line
from bot.responses.events import parse_event
from bot.responses.reducer import Answer, reduce
from tests.fakes import progress_streams as tools
from tests.fakes.responses_api import FakeModel
from tests.fakes.slack_api import FakeSlack


def task(task_id: str, status: str, title: str = "Searching the web…") -> dict[str, Any]:
    return {"type": "task_update", "id": task_id, "title": title, "status": status}


async def test_task_cards_are_created_and_updated_in_place(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    started = await client.chat_startStream(
        channel="C1",
        thread_ts="1.000001",
        task_display_mode="timeline",
        chunks=[task("t1", "in_progress")],
    )
    ts = started["ts"]
    await client.chat_appendStream(
        channel="C1",
        ts=ts,
        chunks=[
            {"type": "plan_update", "title": "Looking it up"},
            task("t1", "complete", "Searching the web for “x”…"),
            task("t2", "pending", "Drawing…"),
            {"type": "markdown_text", "text": "Found it."},
        ],
    )
    await client.chat_stopStream(channel="C1", ts=ts, chunks=[task("t2", "error", "Drawing…")])
    message = fake_slack.message("C1", ts)
    assert message.visible == "Found it." and message.stopped
    assert message.plan_title == "Looking it up"
    assert list(message.tasks) == ["t1", "t2"]
    assert message.tasks["t1"] == {
        "id": "t1",
        "title": "Searching the web for “x”…",
        "status": "complete",
    }
    assert message.tasks["t2"]["status"] == "error"
    assert [u["status"] for u in message.task_updates] == [
        "in_progress",
        "complete",
        "pending",
        "error",
    ]


@pytest.mark.parametrize(
    "chunk",
    [
        {"type": "task_update", "id": "t1", "title": "x", "status": "done"},  # not a status
        {"type": "task_update", "title": "x", "status": "complete"},  # no id
        {"type": "task_update", "id": "t1", "title": "", "status": "complete"},  # no title
        {**task("t1", "complete"), "details": "d" * 257},  # too long
        {**task("t1", "complete"), "sources": [{"type": "url", "url": 3, "text": "x"}]},
        {"type": "plan_update"},
        {"type": "markdown_text", "text": 5},
        {"type": "something_else"},
        "task_update",
    ],
)
async def test_malformed_chunks_are_refused_like_slack_does(
    fake_slack: FakeSlack, client: AsyncWebClient, chunk: Any
) -> None:
    started = await client.chat_startStream(channel="C1", thread_ts="1.000001")
    with pytest.raises(SlackApiError, match="invalid_chunks"):
        await client.chat_appendStream(channel="C1", ts=started["ts"], chunks=[chunk])
    with pytest.raises(SlackApiError, match="invalid_chunks"):
        await client.chat_startStream(channel="C1", thread_ts="1.000001", chunks=[chunk])
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.chat_startStream(channel="C1", thread_ts="1.000001", task_display_mode="list")
    assert fake_slack.message("C1", started["ts"]).tasks == {}


async def events_of(fake: FakeModel) -> list[dict[str, Any]]:
    found = []
    body = {"model": "gpt-5", "input": "hi", "stream": True}
    async with (
        httpx.AsyncClient() as http,
        aconnect_sse(
            http, "POST", f"{fake.url}/responses", json=body, headers={"Authorization": "Bearer k"}
        ) as source,
    ):
        async for sse in source.aiter_sse():
            found.append(json.loads(sse.data))
    return found


async def test_tool_streams_are_numbered_and_read_like_recorded_ones(fake_model: FakeModel) -> None:
    fake_model.enqueue(
        tools.stream_with(
            tools.reasoning("**Planning**\n\nI will look it up."),
            tools.web_search("cats"),
            tools.file_search("cat policy"),
            tools.code_interpreter("1 + 1"),
            tools.image_generation(),
            tools.mcp_list_tools("docs", "search"),
            tools.mcp_call("docs", "search", {"q": "cats"}),
            text="Cats are great.",
            reasoning_tokens=64,
        )
    )
    events = await events_of(fake_model)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    answer, lines = Answer(), []
    for data in events:
        event = parse_event(data)
        if event is not None:
            answer = reduce(answer, event)
            lines.append(status_line(answer.activities))
    assert answer.text == "Cats are great."
    assert [a.kind for a in answer.activities] == [
        "reasoning",
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "mcp_list_tools",
        "mcp_call",
    ]
    assert all(a.done for a in answer.activities)
    for line in (
        "Thinking: Planning",
        "Searching the web for “cats”…",
        "Searching files for “cat policy”…",
        "Running code…",
        "Drawing…",
        "Listing docs's tools…",
        "Using docs: search…",
    ):
        assert line in lines
    assert answer.usage is not None and answer.usage.reasoning_tokens == 64
    completed = events[-1]["response"]
    assert [item["type"] for item in completed["output"]][-1] == "message"
    assert len({item["id"] for item in completed["output"]}) == 8
