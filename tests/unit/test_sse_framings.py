"""The client reads both wire framings the same: `event:` + `data:`, and bare `data:` lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx
import pytest

from bot.responses.client import ResponsesClient, RetryPolicy
from bot.responses.errors import (
    ModelRejected,
    ModelStalled,
    ModelStreamBroken,
    ModelUnavailable,
)
from bot.responses.events import Completed, Event, TextDelta

FIXTURES = Path(__file__).parents[1] / "fixtures" / "responses"


def data_only(sse: str) -> str:
    """Re-frame a recorded stream as a proxy sends it: no `event:` lines, extra fields."""
    out = []
    for line in sse.splitlines():
        if line.startswith("data: "):
            data = json.loads(line[6:])
            data["content_filters"] = None
            out.append("data: " + json.dumps(data) + "\n\n")
    return "".join(out) + "data: [DONE]\n\n"


def client_answering(*responses: httpx.Response) -> tuple[ResponsesClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    client = ResponsesClient(
        "https://proxy.invalid/openai/",
        "sk-test-not-real",
        retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02),
        transport=httpx.MockTransport(handle),
    )
    return client, seen


def sse_response(body: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "text/event-stream"}, text=body)


async def collect(client: ResponsesClient) -> list[Event]:
    return [event async for event in client.stream({"model": "m", "input": "hi"})]


@pytest.mark.parametrize("framing", ["event", "data"])
async def test_both_framings_give_the_same_events(framing: str) -> None:
    recorded = (FIXTURES / "text_answer.sse").read_text()
    body = recorded if framing == "event" else data_only(recorded)
    client, seen = client_answering(sse_response(body))
    events = await collect(client)
    await client.aclose()
    deltas = [e.delta for e in events if isinstance(e, TextDelta)]
    assert deltas == ["Sure", " — the deploy", " finished at 14:02 UTC."]
    assert isinstance(events[-1], Completed)
    request = seen[0]
    assert str(request.url) == "https://proxy.invalid/openai/responses"
    assert request.headers["authorization"] == "Bearer sk-test-not-real"
    assert json.loads(request.content)["stream"] is True


async def test_429_then_success_is_retried_before_any_text() -> None:
    client, seen = client_answering(
        httpx.Response(429, headers={"retry-after": "0"}, json={"error": {"code": "rate"}}),
        sse_response((FIXTURES / "text_answer.sse").read_text()),
    )
    events = await collect(client)
    await client.aclose()
    assert len(seen) == 2
    assert isinstance(events[-1], Completed)


async def test_persistent_500_gives_up_as_unavailable() -> None:
    client, seen = client_answering(*[httpx.Response(500, json={}) for _ in range(3)])
    with pytest.raises(ModelUnavailable) as raised:
        await collect(client)
    await client.aclose()
    assert raised.value.status == 500 and len(seen) == 3


async def test_400_is_not_retried_and_keeps_the_code() -> None:
    body = {"error": {"message": "The model `gpt-9` does not exist", "code": "model_not_found"}}
    client, seen = client_answering(httpx.Response(400, json=body))
    with pytest.raises(ModelRejected) as raised:
        await collect(client)
    await client.aclose()
    assert (raised.value.status, raised.value.code) == (400, "model_not_found")
    assert "gpt-9" in raised.value.message and len(seen) == 1


async def test_a_drop_after_text_is_not_retried() -> None:
    recorded = (FIXTURES / "text_answer.sse").read_text()
    partial = recorded.split("event: response.output_text.done")[0]

    class Dropping(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield partial.encode()
            raise httpx.RemoteProtocolError("peer closed connection")

    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Dropping())
    client, seen = client_answering(response)
    got: list[Event] = []
    with pytest.raises(ModelStreamBroken):
        async for event in client.stream({"model": "m"}):
            got.append(event)
    await client.aclose()
    assert len(seen) == 1 and any(isinstance(e, TextDelta) for e in got)


async def test_a_page_that_is_not_an_event_stream_is_retried_then_given_up() -> None:
    page = httpx.Response(200, headers={"content-type": "text/html"}, text="<html>proxy</html>")
    client, seen = client_answering(page, sse_response((FIXTURES / "text_answer.sse").read_text()))
    events = await collect(client)
    assert len(seen) == 2 and isinstance(events[-1], Completed)
    client, seen = client_answering(*[page for _ in range(3)])
    with pytest.raises(ModelUnavailable) as raised:
        await collect(client)
    await client.aclose()
    assert "text/html" in raised.value.message and len(seen) == 3


async def test_a_stall_after_text_is_raised_as_a_stall() -> None:
    recorded = (FIXTURES / "text_answer.sse").read_text()
    partial = recorded.split("event: response.output_text.done")[0]

    class Stalling(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield partial.encode()
            raise httpx.ReadTimeout("no event for too long")

    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Stalling())
    client, seen = client_answering(response)
    with pytest.raises(ModelStalled):
        await collect(client)
    await client.aclose()
    assert len(seen) == 1


async def test_a_compressed_stream_gives_the_same_events() -> None:
    recorded = (FIXTURES / "text_answer.sse").read_bytes()
    headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
    client, _ = client_answering(
        httpx.Response(200, headers=headers, content=gzip.compress(recorded))
    )
    events = await collect(client)
    await client.aclose()
    deltas = [e.delta for e in events if isinstance(e, TextDelta)]
    assert deltas == ["Sure", " — the deploy", " finished at 14:02 UTC."]
    assert isinstance(events[-1], Completed)
