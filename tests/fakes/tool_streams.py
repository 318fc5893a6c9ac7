"""Fake streams of responses that end by asking something of the bot: function calls,
and remote MCP approval requests — in the shapes the API sends (see
tests/fixtures/responses/function_call.sse and the recorded
`function_call_only.sse`, `text_then_function_call.sse`, `mcp_call_text.sse`).

A function call streams as `response.output_item.added` (a `function_call` item with
empty `arguments`), `response.function_call_arguments.delta` events, a
`response.function_call_arguments.done` without `name` (as recorded), and
`response.output_item.done`; an approval request as `response.output_item.added` /
`.done` of an `mcp_approval_request` item (`id`, `server_label`, `name`,
`arguments`), after the server's `mcp_list_tools` item. The final
`response.completed` lists them in `output`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from tests.fakes.responses_api import Events, Framing, Script, split_words, stream_of

_ids = itertools.count(1)


def _usage(output_tokens: int = 12) -> dict[str, Any]:
    return {
        "input_tokens": 40,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 40 + output_tokens,
    }


def _text_item(ev: Events, text: str, index: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The events of a message item with `text` at output index `index`, and its final item."""
    item_id = f"msg_t{next(_ids):04d}"
    common = {"item_id": item_id, "output_index": index, "content_index": 0}
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    empty = {**part, "text": ""}
    done = {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "content": [part],
        "role": "assistant",
    }
    events: list[dict[str, Any]] = [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**done, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **common, "part": empty},
    ]
    for chunk in split_words(text):
        events.append(
            {"type": "response.output_text.delta", **common, "delta": chunk, "logprobs": []}
        )
    events += [
        {"type": "response.output_text.done", **common, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **common, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": done},
    ]
    return events, done


def _call_events(
    name: str, arguments: str, call_id: str, index: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    item_id = f"fc_{next(_ids):04d}"
    item = {
        "id": item_id,
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": call_id,
        "name": name,
    }
    done = {**item, "status": "completed", "arguments": arguments}
    common = {"item_id": item_id, "output_index": index}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": index, "item": item}
    ]
    for start in range(0, len(arguments), 7):
        delta = arguments[start : start + 7]
        events.append({"type": "response.function_call_arguments.delta", **common, "delta": delta})
    events += [
        {"type": "response.function_call_arguments.done", **common, "arguments": arguments},
        {"type": "response.output_item.done", "output_index": index, "item": done},
    ]
    return events, done


def _completed(ev: Events, output: list[dict[str, Any]]) -> dict[str, Any]:
    event = ev.completed("")
    event["response"]["output"] = output
    event["response"]["usage"] = _usage()
    return event


def calls(
    *wanted: tuple[str, dict[str, Any] | str],
    text: str = "",
    response_id: str | None = None,
    framing: Framing = "event",
    delay: float = 0.0,
) -> Script:
    """A response that (after `text`, if any) calls each `(name, arguments)`; arguments
    given as a str are sent as they are (e.g. broken JSON). `script.call_ids` lists the
    calls' ids."""
    call_ids = [f"call_{next(_ids):06d}" for _ in wanted]

    def make(ev: Events) -> list[dict[str, Any]]:
        events = ev.opening()[:2]  # created, in_progress
        output: list[dict[str, Any]] = []
        if text:
            more, item = _text_item(ev, text, 0)
            events += more
            output.append(item)
        for call_id, (name, arguments) in zip(call_ids, wanted, strict=True):
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            more, item = _call_events(name, raw, call_id, len(output))
            events += more
            output.append(item)
        return [*events, _completed(ev, output)]

    script = stream_of(
        make, response_id=response_id, framing=framing, delay=delay, label="function calls"
    )
    script.call_ids = call_ids  # type: ignore[attr-defined]
    return script


def approval_request(
    server_label: str,
    name: str,
    arguments: dict[str, Any],
    *,
    text: str = "",
    response_id: str | None = None,
    framing: Framing = "event",
    delay: float = 0.0,
) -> Script:
    """A response that lists an MCP server's tools and asks approval to call one of them
    (`delay` between its events). `script.approval_id` is the request's id."""
    approval_id = f"mcpr_{next(_ids):06d}"

    def make(ev: Events) -> list[dict[str, Any]]:
        events = ev.opening()[:2]
        output: list[dict[str, Any]] = []
        listing_id = f"mcpl_{next(_ids):04d}"
        listing = {
            "id": listing_id,
            "type": "mcp_list_tools",
            "server_label": server_label,
            "tools": [],
        }
        tools = [{"name": name, "input_schema": {"type": "object"}, "annotations": None}]
        about = {"item_id": listing_id, "output_index": 0}
        events += [
            {"type": "response.output_item.added", "output_index": 0, "item": listing},
            {"type": "response.mcp_list_tools.in_progress", **about},
            {"type": "response.mcp_list_tools.completed", **about},
            {
                "type": "response.output_item.done",
                "output_index": 0,
                "item": {**listing, "tools": tools},
            },
        ]
        output.append({**listing, "tools": tools})
        if text:
            more, item = _text_item(ev, text, len(output))
            events += more
            output.append(item)
        request = {
            "id": approval_id,
            "type": "mcp_approval_request",
            "server_label": server_label,
            "name": name,
            "arguments": json.dumps(arguments),
        }
        index = len(output)
        events += [
            {"type": "response.output_item.added", "output_index": index, "item": request},
            {"type": "response.output_item.done", "output_index": index, "item": request},
        ]
        output.append(request)
        return [*events, _completed(ev, output)]

    script = stream_of(
        make, delay=delay, response_id=response_id, framing=framing, label="approval request"
    )
    script.approval_id = approval_id  # type: ignore[attr-defined]
    return script
