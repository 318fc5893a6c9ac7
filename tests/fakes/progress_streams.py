"""Fake Responses API streams of tool calls and reasoning, in the shapes the API sends
(see tests/fixtures/responses/recorded/: web_search_*, file_search_*, *code_interpreter*,
mcp_call_text, reasoning_summary_*), for FakeModel.

Each step is one output item (a web search, a code run, a reasoning summary …) with its
events; `stream_with(*steps, text=…)` plays them in order, then the answer's text as a
message item after them, then `response.completed` whose output holds every item.
Sequence numbers come from FakeModel; item ids look like the API's (`ws_…`, `ci_…`).

    fake_model.enqueue(stream_with(web_search("Berlin news"), text="Here is …", delay=0.05))
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from tests.fakes.responses_api import Events, Script, split_words, stream_of

_ids = itertools.count(1)

# Given its output_index: the step's events, and its item as the final response holds it.
Step = Callable[[int], tuple[list[dict[str, Any]], dict[str, Any]]]


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):04d}{'7f3a' * 10}"


def _added(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def _done(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


def _progress(tool: str, index: int, item_id: str, *statuses: str) -> list[dict[str, Any]]:
    where = {"output_index": index, "item_id": item_id}
    return [{"type": f"response.{tool}.{status}", **where} for status in statuses]


def web_search(query: str, *, query_early: bool = False) -> Step:
    """A web search: its query comes with the finished item (as recorded), or with the
    added one too (`query_early`, as the API reference allows)."""

    def step(index: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        item_id = _id("ws")
        action = {"type": "search", "query": query, "sources": [{"type": "api", "name": "oai"}]}
        item = {"id": item_id, "type": "web_search_call", "status": "in_progress"}
        if query_early:
            item["action"] = {"type": "search", "query": query}
        done = {"id": item_id, "type": "web_search_call", "status": "completed", "action": action}
        steps = _progress(
            "web_search_call", index, item_id, "in_progress", "searching", "completed"
        )
        return [_added(index, item), *steps, _done(index, done)], done

    return step


def file_search(*queries: str) -> Step:
    def step(index: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        item_id = _id("fs")
        item = {
            "id": item_id,
            "type": "file_search_call",
            "status": "in_progress",
            "queries": [],
            "results": None,
        }
        done = {**item, "status": "completed", "queries": list(queries)}
        steps = _progress(
            "file_search_call", index, item_id, "in_progress", "searching", "completed"
        )
        return [_added(index, item), *steps, _done(index, done)], done

    return step


def code_interpreter(code: str = "print(6 * 7)") -> Step:
    def step(index: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        item_id = _id("ci")
        item = {
            "id": item_id,
            "type": "code_interpreter_call",
            "status": "in_progress",
            "code": "",
            "container_id": _id("cntr"),
            "outputs": None,
        }
        where = {"output_index": index, "item_id": item_id}
        events = [
            _added(index, item),
            *_progress("code_interpreter_call", index, item_id, "in_progress"),
        ]
        for piece in split_words(code):
            events.append(
                {"type": "response.code_interpreter_call_code.delta", **where, "delta": piece}
            )
        events.append({"type": "response.code_interpreter_call_code.done", **where, "code": code})
        events += _progress("code_interpreter_call", index, item_id, "interpreting", "completed")
        done = {**item, "status": "completed", "code": code}
        return [*events, _done(index, done)], done

    return step


def image_generation(partial_images: int = 1) -> Step:
    """Drawing: in_progress, generating, partial images (base64), completed."""

    def step(index: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        item_id = _id("ig")
        item = {"id": item_id, "type": "image_generation_call", "status": "in_progress"}
        where = {"output_index": index, "item_id": item_id}
        events = [_added(index, item)]
        events += _progress("image_generation_call", index, item_id, "in_progress", "generating")
        for n in range(partial_images):
            partial = {"partial_image_index": n, "partial_image_b64": "iVBORw0KGgo="}
            events.append(
                {"type": "response.image_generation_call.partial_image", **where, **partial}
            )
        events += _progress("image_generation_call", index, item_id, "completed")
        done = {
            **item,
            "status": "completed",
            "result": "iVBORw0KGgo=",
            "output_format": "png",
            "size": "1024x1024",
            "quality": "low",
            "background": "opaque",
            "revised_prompt": "a drawing",
        }
        return [*events, _done(index, done)], done

    return step


def mcp_list_tools(server: str, *tools: str) -> Step:
    def step(index: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        item_id = _id("mcpl")
        item = {"id": item_id, "type": "mcp_list_tools", "server_label": server, "tools": []}
        listed = [
            {
                "name": name,
                "description": name,
                "input_schema": {"type": "object"},
                "annotations": None,
            }
            for name in tools or ("search",)
        ]
        done = {**item, "tools": listed}
        steps = _progress("mcp_list_tools", index, item_id, "in_progress", "completed")
        return [_added(index, item), *steps, _done(index, done)], done

    return step


def mcp_call(server: str, name: str, arguments: dict[str, Any] | None = None) -> Step:
    def step(index: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        item_id = _id("mcp")
        args = json.dumps(arguments or {})
        item = {
            "id": item_id,
            "type": "mcp_call",
            "status": "in_progress",
            "approval_request_id": None,
            "arguments": "",
            "error": None,
            "name": name,
            "output": None,
            "server_label": server,
        }
        where = {"output_index": index, "item_id": item_id}
        events = [_added(index, item), *_progress("mcp_call", index, item_id, "in_progress")]
        events.append({"type": "response.mcp_call_arguments.delta", **where, "delta": args})
        events.append({"type": "response.mcp_call_arguments.done", **where, "arguments": args})
        events += _progress("mcp_call", index, item_id, "completed")
        done = {**item, "status": "completed", "arguments": args, "output": "done"}
        return [*events, _done(index, done)], done

    return step


def reasoning(*summary: str) -> Step:
    """A reasoning item; with `summary` parts (as `reasoning.summary` asks), each streamed
    word by word as `response.reasoning_summary_text.delta` events."""

    def step(index: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        item_id = _id("rs")
        item = {"id": item_id, "type": "reasoning", "encrypted_content": "gAAAA", "summary": []}
        events = [_added(index, item)]
        for n, text in enumerate(summary):
            where = {"item_id": item_id, "output_index": index, "summary_index": n}
            part = {"type": "summary_text", "text": text}
            events.append(
                {
                    "type": "response.reasoning_summary_part.added",
                    **where,
                    "part": {**part, "text": ""},
                }
            )
            for piece in split_words(text):
                events.append(
                    {"type": "response.reasoning_summary_text.delta", **where, "delta": piece}
                )
            events.append({"type": "response.reasoning_summary_text.done", **where, "text": text})
            events.append({"type": "response.reasoning_summary_part.done", **where, "part": part})
        done = {**item, "summary": [{"type": "summary_text", "text": t} for t in summary]}
        return [*events, _done(index, done)], done

    return step


def _message(ev: Events, index: int, text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    where = {"item_id": ev.item_id, "output_index": index, "content_index": 0}
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    item = {"id": ev.item_id, "type": "message", "status": "in_progress", "content": []}
    item["role"] = "assistant"
    events = [
        _added(index, item),
        {"type": "response.content_part.added", **where, "part": {**part, "text": ""}},
    ]
    for piece in split_words(text):
        delta = {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
        events.append(delta)
    events.append({"type": "response.output_text.done", **where, "text": text, "logprobs": []})
    events.append({"type": "response.content_part.done", **where, "part": part})
    done = {**item, "status": "completed", "content": [part]}
    return [*events, _done(index, done)], done


def stream_with(
    *steps: Step,
    text: str,
    delay: float = 0.0,
    reasoning_tokens: int = 0,
    response_id: str | None = None,
) -> Script:
    """The steps' items in order, then `text` as a message, then `response.completed` with
    every item in its output and `reasoning_tokens` in its usage. `delay` between events."""

    def make(ev: Events) -> list[dict[str, Any]]:
        events = ev.opening()[:2]  # response.created, response.in_progress
        output = []
        for index, step in enumerate(steps):
            made, item = step(index)
            events += made
            output.append(item)
        made, item = _message(ev, len(steps), text)
        events += made
        output.append(item)
        completed = ev.completed(text)
        response = completed["response"]
        response["output"] = output
        usage = response["usage"]
        usage["output_tokens"] += reasoning_tokens
        usage["total_tokens"] += reasoning_tokens
        usage["output_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
        return [*events, completed]

    return stream_of(make, delay=delay, response_id=response_id, label="stream_with")
