"""A fake of OpenAI's Responses API (`POST {url}/responses`) served by aiohttp.

Answers are scripted and consumed first in, first out; an empty queue answers
`answer("Hello!")`. `GET {url}/responses/{id}` reports a served response's status:
its terminal event's, "in_progress" for a stream that ended without one (e.g. cut
by the client), or what `set_status` scripted; unknown ids get 404.

Background mode (`"background": true` in the request) works as the API's does:
the response's events are made on the fake's own schedule whether or not the
client reads them, `GET {url}/responses/{id}?stream=true&starting_after=N`
replays the events after sequence number N and follows the rest live, and
`POST {url}/responses/{id}/cancel` stops it. `refuse_background = True` makes
the fake answer such requests as an endpoint without background mode does
(400, unknown parameter).

The builders below produce the wire shape of the real streams (see
tests/fixtures/responses/*.sse): `event:` + `data:` lines, `sequence_number`
from 0, and a terminal `response.completed`, `response.incomplete` or
`response.failed` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

Framing = Literal["event", "data"]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "responses"

_ids = itertools.count(1)
_PADDING = "aB3dE5gH7jK9mN1pQ"


def _next_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):04d}"


@dataclass
class Received:
    """One request the fake received."""

    json: dict[str, Any]
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    path: str = "/v1/responses"
    response_id: str | None = None  # the id of the response the script sent, if any
    disconnected: bool = False  # the client went away before the answer ended
    status: str | None = None  # the status of the terminal event sent, if one was


Responder = Callable[[web.Request, Received], Awaitable[web.StreamResponse]]
# A further route of the API (e.g. tests/fakes/containers.py): its answer, or None when
# the request is not for it.
Route = Callable[[web.Request], Awaitable[web.StreamResponse | None]]


@dataclass
class Script:
    """One scripted answer; `response_id` is the id its stream reports."""

    respond: Responder
    response_id: str | None = None
    label: str = ""

    def __repr__(self) -> str:
        return f"Script({self.label}, response_id={self.response_id!r})"


# -- event building ---------------------------------------------------------


def _response(
    response_id: str,
    request: dict[str, Any],
    status: str,
    output: list[dict[str, Any]],
    *,
    usage: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    incomplete_reason: str | None = None,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": request.get("model") or "gpt-4.1-2025-04-14",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": request.get("store", True),
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": request.get("tools", []),
        "top_p": 1.0,
        "truncation": request.get("truncation", "disabled"),
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "content": [part] if status != "in_progress" else [],
        "role": "assistant",
    }


def _usage(request: dict[str, Any], text: str) -> dict[str, Any]:
    input_tokens = 10 + len(json.dumps(request.get("input", ""))) // 4
    output_tokens = max(1, len(text) // 4) if text else 0
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def split_words(text: str) -> list[str]:
    """Split text into word-sized deltas that join back to it exactly."""
    return re.findall(r"\s*\S+|\s+", text) or ([text] if text else [])


def _chunks(text: str, chunks: list[str] | None) -> list[str]:
    if chunks is None:
        return split_words(text)
    if "".join(chunks) != text:
        raise ValueError("chunks must join to the text")
    return list(chunks)


@dataclass
class _Events:
    """Builds one stream's events; the caller adds the ending."""

    response_id: str
    request: dict[str, Any]
    item_id: str = field(default_factory=lambda: _next_id("msg"))

    def opening(self) -> list[dict[str, Any]]:
        created = _response(self.response_id, self.request, "in_progress", [])
        return [
            {"type": "response.created", "response": created},
            {"type": "response.in_progress", "response": created},
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": _message_item(self.item_id, "", "in_progress"),
            },
            {
                "type": "response.content_part.added",
                "item_id": self.item_id,
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
            },
        ]

    def delta(self, chunk: str) -> dict[str, Any]:
        return {
            "type": "response.output_text.delta",
            "item_id": self.item_id,
            "output_index": 0,
            "content_index": 0,
            "delta": chunk,
            "logprobs": [],
            "obfuscation": _PADDING[: (len(_PADDING) - len(chunk)) % len(_PADDING)],
        }

    def closing(self, text: str, status: str) -> list[dict[str, Any]]:
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
        common = {"item_id": self.item_id, "output_index": 0, "content_index": 0}
        return [
            {"type": "response.output_text.done", **common, "text": text, "logprobs": []},
            {"type": "response.content_part.done", **common, "part": part},
            {
                "type": "response.output_item.done",
                "output_index": 0,
                "item": _message_item(self.item_id, text, status),
            },
        ]

    def completed(self, text: str) -> dict[str, Any]:
        output = [_message_item(self.item_id, text, "completed")]
        response = _response(
            self.response_id, self.request, "completed", output, usage=_usage(self.request, text)
        )
        response["completed_at"] = int(time.time())
        return {"type": "response.completed", "response": response}

    def incomplete(self, text: str, reason: str) -> dict[str, Any]:
        output = [_message_item(self.item_id, text, "incomplete")]
        response = _response(
            self.response_id,
            self.request,
            "incomplete",
            output,
            usage=_usage(self.request, text),
            incomplete_reason=reason,
        )
        return {"type": "response.incomplete", "response": response}

    def failed(self, code: str, message: str) -> dict[str, Any]:
        error = {"code": code, "message": message}
        response = _response(self.response_id, self.request, "failed", [], error=error)
        return {"type": "response.failed", "response": response}


# -- wire writing -------------------------------------------------------------


def _frame(event: dict[str, Any], framing: Framing) -> bytes:
    if framing == "data":
        data = json.dumps({**event, "content_filters": None}, separators=(",", ":"))
        return f"data: {data}\n\n".encode()
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


async def _open_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "x-request-id": _next_id("req"),
            "openai-processing-ms": "12",
        },
    )
    await response.prepare(request)
    return response


def _abort(request: web.Request) -> None:
    """Close the connection at once: the client sees a body that never ended."""
    transport = request.transport
    if transport is not None:
        transport.close()


# (event, seconds to wait before sending it)
_Timed = list[tuple[dict[str, Any], float]]
_Build = Callable[[_Events], tuple[_Timed, str]]  # events, then "end" | "cut" | "stall"


@dataclass
class _Run:
    """A background response: its events are made whether or not anyone reads them."""

    events: list[dict[str, Any]] = field(default_factory=list)
    status: str = "queued"
    ended: bool = False  # no more events will come
    cut: bool = False  # ...and the stream broke off without a terminal event
    ended_at: float = 0.0  # time.monotonic() when it ended
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def produce(
        self, events: _Timed, ending: str, received: Received, stall: float = 0.0
    ) -> None:
        try:
            for number, (event, wait) in enumerate(events):
                if wait:
                    await asyncio.sleep(wait)
                if self.ended:
                    return  # cancelled
                async with self.changed:
                    self.events.append({"type": event["type"], "sequence_number": number, **event})
                    self.status = _terminal_status(event) or "in_progress"
                    received.status = _terminal_status(event) or received.status
                    self.changed.notify_all()
            if ending == "stall":
                await asyncio.sleep(stall)
            await self.end(cut=ending != "end")
        finally:
            if not self.ended:
                await self.end(cut=True)

    async def end(self, *, cut: bool = False, status: str | None = None) -> None:
        async with self.changed:
            self.ended, self.cut, self.ended_at = True, cut, time.monotonic()
            self.status = status or self.status
            self.changed.notify_all()

    async def follow(
        self, request: web.Request, received: Received, after: int, framing: Framing
    ) -> web.StreamResponse:
        """Stream the events after sequence number `after`, then the rest as they come."""
        stream = await _open_stream(request)
        index = after + 1
        try:
            while True:
                async with self.changed:
                    await self.changed.wait_for(lambda i=index: i < len(self.events) or self.ended)
                    new, ended = self.events[index:], self.ended
                for event in new:
                    await stream.write(_frame(event, framing))
                index += len(new)
                if ended and index >= len(self.events):
                    break
            if self.cut:
                _abort(request)
                return stream
            await stream.write_eof()
        except ConnectionError:  # the client went away; the response goes on
            received.disconnected = True
        return stream


RUNS = web.AppKey("runs", dict[str, _Run])
BACKGROUND_TASKS = web.AppKey("background_tasks", set[asyncio.Task[Any]])


def _streamed(
    build: _Build,
    *,
    response_id: str | None,
    framing: Framing,
    stall: float = 0.0,
    done_marker: bool = False,
    label: str,
) -> Script:
    rid = response_id or _next_id("resp")

    async def respond(request: web.Request, received: Received) -> web.StreamResponse:
        received.response_id = rid
        events, ending = build(_Events(rid, received.json))
        if received.json.get("stream") is False and ending == "end":
            final = events[-1][0].get("response")
            received.status = _terminal_status(events[-1][0])
            return web.json_response(final)
        if received.json.get("background"):
            run = request.app[RUNS][rid] = _Run()
            task = asyncio.create_task(run.produce(events, ending, received, stall))
            request.app[BACKGROUND_TASKS].add(task)
            task.add_done_callback(request.app[BACKGROUND_TASKS].discard)
            return await run.follow(request, received, -1, framing)
        stream = await _open_stream(request)
        try:
            for number, (event, wait) in enumerate(events):
                if wait:
                    await asyncio.sleep(wait)
                await stream.write(
                    _frame({"type": event["type"], "sequence_number": number, **event}, framing)
                )
                received.status = _terminal_status(event) or received.status
            if ending == "stall":
                await asyncio.sleep(stall)
            if ending in ("cut", "stall"):
                _abort(request)
                return stream
            if done_marker and framing == "data":
                await stream.write(b"data: [DONE]\n\n")
            await stream.write_eof()
        except ConnectionError:  # the client went away: fine, and nothing to log
            received.disconnected = True
        return stream

    return Script(respond, rid, label)


def _terminal_status(event: dict[str, Any]) -> str | None:
    """The response status a terminal event carries; None for any other event."""
    if event.get("type") not in ("response.completed", "response.incomplete", "response.failed"):
        return None
    response = event.get("response")
    return str(response["status"]) if isinstance(response, dict) else None


def _text_events(ev: _Events, text: str, chunks: list[str] | None, delay: float) -> _Timed:
    timed: _Timed = [(e, 0.0) for e in ev.opening()]
    for index, chunk in enumerate(_chunks(text, chunks)):
        timed.append((ev.delta(chunk), delay if index else 0.0))
    return timed


# -- script builders -------------------------------------------------------------


def answer(
    text: str,
    *,
    chunks: list[str] | None = None,
    delay: float = 0.0,
    response_id: str | None = None,
    framing: Framing = "event",
    incomplete_reason: str | None = None,
    done_marker: bool = False,
) -> Script:
    """A streamed answer ending in `response.completed` (or `response.incomplete`).

    `chunks` (joining to `text`) are the deltas, word-sized by default; `delay`
    is the pause between deltas. `framing="data"` sends bare `data:` lines with
    an extra `content_filters` field, as some proxies do (`done_marker` adds a
    final `data: [DONE]`).
    """

    def build(ev: _Events) -> tuple[_Timed, str]:
        timed = _text_events(ev, text, chunks, delay)
        status = "incomplete" if incomplete_reason else "completed"
        timed += [(e, 0.0) for e in ev.closing(text, status)]
        last = ev.incomplete(text, incomplete_reason) if incomplete_reason else ev.completed(text)
        timed.append((last, 0.0))
        return timed, "end"

    return _streamed(
        build,
        response_id=response_id,
        framing=framing,
        done_marker=done_marker,
        label=f"answer({text[:30]!r})",
    )


def stream_of(
    make: Callable[[_Events], list[dict[str, Any]]],
    *,
    delay: float = 0.0,
    response_id: str | None = None,
    framing: Framing = "event",
    label: str = "stream_of",
) -> Script:
    """A stream of whatever events `make` builds (tool calls, reasoning, annotations …),
    with `ev` for the usual ones (`ev.opening()`, `ev.delta(…)`, `ev.completed(…)`);
    `delay` between events. Plays in background mode and resumes like `answer`."""

    def build(ev: _Events) -> tuple[_Timed, str]:
        return [(event, delay if index else 0.0) for index, event in enumerate(make(ev))], "end"

    return _streamed(build, response_id=response_id, framing=framing, label=label)


Events = _Events  # for stream builders in other modules


def error_after(
    text: str,
    code: str = "server_error",
    message: str = "The server had an error while processing your request.",
    *,
    framing: Framing = "event",
    response_id: str | None = None,
) -> Script:
    """Streams `text`, an `error` event (fields nested under `error`), then `response.failed`."""

    def build(ev: _Events) -> tuple[_Timed, str]:
        timed = _text_events(ev, text, None, 0.0)
        error = {"type": code, "code": code, "message": message, "param": None}
        timed.append(({"type": "error", "error": error}, 0.0))
        timed.append((ev.failed(code, message), 0.0))
        return timed, "end"

    return _streamed(build, response_id=response_id, framing=framing, label=f"error_after({code})")


def failed_after(
    text: str,
    code: str = "server_error",
    message: str = "The model failed to generate a response.",
    *,
    framing: Framing = "event",
    response_id: str | None = None,
) -> Script:
    """Streams `text`, then `response.failed` carrying `response.error`."""

    def build(ev: _Events) -> tuple[_Timed, str]:
        timed = _text_events(ev, text, None, 0.0)
        timed.append((ev.failed(code, message), 0.0))
        return timed, "end"

    return _streamed(build, response_id=response_id, framing=framing, label=f"failed_after({code})")


def refusal(
    text: str,
    *,
    chunks: list[str] | None = None,
    response_id: str | None = None,
    framing: Framing = "event",
) -> Script:
    """The model declines: a message whose content is a `refusal` part, streamed as
    `response.refusal.delta` events and a `response.refusal.done`, then
    `response.completed` whose output carries the refusal part (as the API sends it)."""

    def build(ev: _Events) -> tuple[_Timed, str]:
        common = {"item_id": ev.item_id, "output_index": 0, "content_index": 0}
        item = _message_item(ev.item_id, "", "in_progress")
        part = {"type": "refusal", "refusal": text}
        timed: _Timed = [(e, 0.0) for e in ev.opening()[:2]]
        timed.append(({"type": "response.output_item.added", "output_index": 0, "item": item}, 0.0))
        timed.append(
            (
                {
                    "type": "response.content_part.added",
                    **common,
                    "part": {"type": "refusal", "refusal": ""},
                },
                0.0,
            )
        )
        for chunk in _chunks(text, chunks):
            timed.append(({"type": "response.refusal.delta", **common, "delta": chunk}, 0.0))
        timed.append(({"type": "response.refusal.done", **common, "refusal": text}, 0.0))
        timed.append(({"type": "response.content_part.done", **common, "part": part}, 0.0))
        done = {**item, "status": "completed", "content": [part]}
        timed.append(({"type": "response.output_item.done", "output_index": 0, "item": done}, 0.0))
        response = _response(
            ev.response_id, ev.request, "completed", [done], usage=_usage(ev.request, text)
        )
        response["completed_at"] = int(time.time())
        timed.append(({"type": "response.completed", "response": response}, 0.0))
        return timed, "end"

    return _streamed(build, response_id=response_id, framing=framing, label="refusal")


def cut_after(text: str, *, framing: Framing = "event", response_id: str | None = None) -> Script:
    """Streams `text`, then drops the connection with no terminal event."""

    def build(ev: _Events) -> tuple[_Timed, str]:
        return _text_events(ev, text, None, 0.0), "cut"

    return _streamed(build, response_id=response_id, framing=framing, label="cut_after")


def stall_after(
    text: str, seconds: float, *, framing: Framing = "event", response_id: str | None = None
) -> Script:
    """Streams `text`, sends nothing for `seconds`, then drops the connection."""

    def build(ev: _Events) -> tuple[_Timed, str]:
        return _text_events(ev, text, None, 0.0), "stall"

    return _streamed(
        build, response_id=response_id, framing=framing, stall=seconds, label="stall_after"
    )


def http_error(
    status: int,
    code: str | None,
    message: str,
    *,
    retry_after: float | None = None,
    error_type: str | None = None,
) -> Script:
    """A plain JSON error: `{"error": {"message", "type", "param": null, "code"}}`."""
    kind = error_type or (
        "server_error"
        if status >= 500
        else "rate_limit_exceeded"
        if status == 429
        else "invalid_request_error"
    )
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    headers = {"x-request-id": _next_id("req")}
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"

    async def respond(request: web.Request, received: Received) -> web.StreamResponse:
        return web.json_response(body, status=status, headers=headers)

    return Script(respond, None, f"http_error({status}, {code})")


def replay(path: str | Path, framing: Framing = "event") -> Script:
    """Replays a recorded .sse file (a bare name is looked up in tests/fixtures/responses)."""
    file = Path(path)
    if not file.is_absolute() and not file.exists():
        file = FIXTURES / file
    raw = file.read_bytes()
    events = [
        json.loads(line[len("data:") :])
        for line in raw.decode().splitlines()
        if line.startswith("data:")
    ]
    response_id = next(
        (e["response"]["id"] for e in events if isinstance(e.get("response"), dict)), None
    )

    async def respond(request: web.Request, received: Received) -> web.StreamResponse:
        received.response_id = response_id
        stream = await _open_stream(request)
        try:
            if framing == "event":
                await stream.write(raw)
            else:
                for event in events:
                    await stream.write(_frame(event, "data"))
            received.status = next((s for s in map(_terminal_status, reversed(events)) if s), None)
            await stream.write_eof()
        except ConnectionError:
            received.disconnected = True
        return stream

    return Script(respond, response_id, f"replay({file.name})")


# -- the server --------------------------------------------------------------------


class FakeModel:
    """Fake Responses API on 127.0.0.1; `url` is the `OPENAI_BASE_URL` (ends in `/v1`)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.other_requests: list[tuple[str, str]] = []  # (method, path) of anything else
        self.status_requests: list[str] = []  # ids asked about with GET /responses/{id}
        self._statuses: dict[str, str] = {}
        self._scripts: deque[Script] = deque()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.refuse_background = False
        # Empty bodies (the bot's endpoint check at start), kept apart from `requests`.
        self.checks: list[Received] = []
        self.accepted_keys: set[str] | None = None  # None: any Bearer key; else only these
        self.runs: dict[str, _Run] = {}  # background responses by id
        self.resumed: list[tuple[str, int]] = []  # (id, starting_after) of each resume
        self.cancelled: list[str] = []  # ids asked to cancel
        self._background_tasks: set[asyncio.Task[Any]] = set()
        self.routes: list[Route] = []  # tried in order for what no route here serves

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port."""
        app = web.Application()
        app[RUNS] = self.runs
        app[BACKGROUND_TASKS] = self._background_tasks
        app.router.add_post("/v1/responses", self._handle)
        app.router.add_get("/v1/responses/{response_id}", self._retrieve)
        app.router.add_post("/v1/responses/{response_id}/cancel", self._cancel)
        app.router.add_route("*", "/{tail:.*}", self._other)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Cancel answers still streaming and close the server."""
        for task in [*self._tasks, *self._background_tasks]:
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The base URL; the bot posts to `{url}/responses`."""
        if self._port is None:
            raise RuntimeError("FakeModel is not started")
        return f"http://127.0.0.1:{self._port}/v1"

    def enqueue(self, *scripts: Script | str) -> None:
        """Queue answers for the next requests, in order (a str means `answer(str)`)."""
        for script in scripts:
            self._scripts.append(answer(script) if isinstance(script, str) else script)

    def set_status(self, response_id: str, status: str) -> None:
        """What `GET /responses/{response_id}` reports from now on (e.g. "incomplete")."""
        self._statuses[response_id] = status

    @property
    def pending(self) -> int:
        """How many queued scripts are not consumed yet."""
        return len(self._scripts)

    async def wait_for_requests(
        self,
        n: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, not a cancel scope
    ) -> list[Received]:
        """Wait until at least `n` requests arrived; returns them all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.requests) < n:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"FakeModel: expected {n} request(s) within {timeout}s, "
                    f"got {len(self.requests)}.\n{self.summary()}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.requests

    def summary(self) -> str:
        """A readable list of the requests received, for failure messages."""
        lines = [f"{len(self.requests)} request(s) to FakeModel:"]
        for i, r in enumerate(self.requests):
            body = r.json
            lines.append(
                f"  [{i}] model={body.get('model')!r} "
                f"previous_response_id={body.get('previous_response_id')!r} "
                f"input={json.dumps(body.get('input'), ensure_ascii=False)[:120]} "
                f"-> {r.response_id}"
            )
        lines.append(f"{len(self._scripts)} script(s) still queued: {list(self._scripts)}")
        if self.other_requests:
            lines.append(f"other requests: {self.other_requests}")
        return "\n".join(lines)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = Received({}, dict(request.headers), time.monotonic(), request.path)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                received.json = body
            is_check = body == {}  # answered as the API does: the key, then `model` missing
            (self.checks if is_check else self.requests).append(received)
            self._changed.set()
            if not isinstance(body, dict):
                return await http_error(400, None, "Invalid JSON body.").respond(request, received)
            refused = self._refused_key(request)  # the key is checked before the body
            if refused is not None:
                return await refused.respond(request, received)
            if is_check:
                script = http_error(
                    400, "missing_required_parameter", "Missing required parameter: 'model'."
                )
                return await script.respond(request, received)
            if body.get("background") and self.refuse_background:
                script = http_error(400, "unknown_parameter", "Unknown parameter: 'background'.")
                return await script.respond(request, received)
            script = self._scripts.popleft() if self._scripts else answer("Hello!")
            return await script.respond(request, received)
        except (ConnectionError, asyncio.CancelledError):
            received.disconnected = True
            raise
        finally:
            self._changed.set()
            if task is not None:
                self._tasks.discard(task)

    def _refused_key(self, request: web.Request) -> Script | None:
        """The API's 401 for a missing key, or for one not in `accepted_keys`."""
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return http_error(401, None, "You didn't provide an API key.")
        key = authorization.removeprefix("Bearer ")
        if self.accepted_keys is not None and key not in self.accepted_keys:
            shown = f"{key[:3]}*****{key[-4:]}"  # the API's own masking
            return http_error(401, "invalid_api_key", f"Incorrect API key provided: {shown}.")
        return None

    async def _retrieve(self, request: web.Request) -> web.StreamResponse:
        """`GET /responses/{id}`: the response's id and status (no output)."""
        response_id = request.match_info["response_id"]
        self.status_requests.append(response_id)
        self._changed.set()
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            received = Received({}, dict(request.headers), time.monotonic(), request.path)
            script = http_error(401, None, "You didn't provide an API key.")
            return await script.respond(request, received)
        run = self.runs.get(response_id)
        if request.query.get("stream") == "true":
            return await self._resume(request, response_id, run)
        status = self._statuses.get(response_id) or (run.status if run else None)
        if status is None:
            served = [r for r in self.requests if r.response_id == response_id]
            if not served:
                message = f"Response with id '{response_id}' not found."
                received = Received({}, dict(request.headers), time.monotonic(), request.path)
                return await http_error(404, None, message).respond(request, received)
            status = served[-1].status or "in_progress"
        return web.json_response({"id": response_id, "object": "response", "status": status})

    async def _resume(
        self, request: web.Request, response_id: str, run: _Run | None
    ) -> web.StreamResponse:
        """`GET /responses/{id}?stream=true&starting_after=N`: a background response's
        events after N, then live."""
        received = Received({}, dict(request.headers), time.monotonic(), request.path)
        try:
            after = int(request.query.get("starting_after", "-1"))
        except ValueError:
            after = -1
        self.resumed.append((response_id, after))
        self._changed.set()
        if run is None:
            message = f"Response with id '{response_id}' not found or not in background mode."
            return await http_error(404, None, message).respond(request, received)
        return await run.follow(request, received, after, "event")

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        """`POST /responses/{id}/cancel`: stops a background response."""
        response_id = request.match_info["response_id"]
        self.cancelled.append(response_id)
        self._changed.set()
        run = self.runs.get(response_id)
        if run is None:
            received = Received({}, dict(request.headers), time.monotonic(), request.path)
            message = "Only background responses can be cancelled."
            return await http_error(400, None, message).respond(request, received)
        if not run.ended:
            await run.end(status="cancelled")
        return web.json_response({"id": response_id, "object": "response", "status": run.status})

    async def _other(self, request: web.Request) -> web.StreamResponse:
        for route in self.routes:
            answered = await route(request)
            if answered is not None:
                return answered
        self.other_requests.append((request.method, request.path))
        body = {
            "error": {
                "message": "Not found",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
        return web.json_response(body, status=404)
