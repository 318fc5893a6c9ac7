"""Streams of answers that cite sources or make files, in the Responses API's wire
shape (see tests/fixtures/responses/web_search.sse and recorded/): a tool call as
output item 0 with its progress events, then the message as output item 1 whose
text carries `annotations` (`response.output_text.annotation.added` as they come,
and on the done part, item and final response).

- `web_search_answer(text, [page(...)])`: `url_citation`s on spans of the text.
- `file_search_answer(text, [searched_file(...)])`: `file_citation`s at places.
- `image_answer(text, png)`: an `image_generation_call` with partial images and
  its base64 `result`.
- `code_file_answer(text, [code_file(...)])`: a `code_interpreter_call`, and
  `container_file_citation`s naming the files its code wrote.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

from tests.fakes.responses_api import Events, Script, split_words, stream_of

Event = dict[str, Any]


def page(text: str, cited: str, url: str, title: str) -> dict[str, Any]:
    """A `url_citation` of the first `cited` span in `text`."""
    start = text.index(cited)
    return {
        "type": "url_citation",
        "start_index": start,
        "end_index": start + len(cited),
        "url": url,
        "title": title,
    }


def searched_file(text: str, after: str, file_id: str, filename: str) -> dict[str, Any]:
    """A `file_citation` placed right after the first `after` in `text`."""
    index = text.index(after) + len(after)
    return {"type": "file_citation", "file_id": file_id, "filename": filename, "index": index}


def code_file(container_id: str, file_id: str, filename: str) -> dict[str, Any]:
    """A `container_file_citation` (as recorded: at index 0, spanning nothing)."""
    return {
        "type": "container_file_citation",
        "container_id": container_id,
        "end_index": 0,
        "file_id": file_id,
        "filename": filename,
        "start_index": 0,
    }


def tiny_png(red: int = 200, green: int = 40, blue: int = 40) -> bytes:
    """A valid 1×1 PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, red, green, blue]))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# -- the message, output item 1 --------------------------------------------------------


def _message(
    ev: Events, text: str, annotations: list[dict[str, Any]], index: int = 1
) -> tuple[list[Event], dict[str, Any]]:
    """The message's events with its annotations, and its done item."""
    common = {"item_id": ev.item_id, "output_index": index, "content_index": 0}
    empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    part = {**empty, "annotations": annotations, "text": text}
    item = {"id": ev.item_id, "type": "message", "status": "in_progress", "role": "assistant"}
    done = {**item, "status": "completed", "content": [part]}
    events: list[Event] = [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**item, "content": []},
        },
        {"type": "response.content_part.added", **common, "part": empty},
    ]
    for chunk in split_words(text):
        events.append(
            {"type": "response.output_text.delta", **common, "delta": chunk, "logprobs": []}
        )
    for number, annotation in enumerate(annotations):
        events.append(
            {
                "type": "response.output_text.annotation.added",
                **common,
                "annotation_index": number,
                "annotation": annotation,
            }
        )
    events += [
        {"type": "response.output_text.done", **common, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **common, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": done},
    ]
    return events, done


def _answer(
    ev: Events, tool: list[Event], tool_item: dict[str, Any], text: str, annotations: list[Any]
) -> list[Event]:
    message, item = _message(ev, text, annotations)
    completed = ev.completed(text)
    completed["response"]["output"] = [tool_item, item]
    return [*ev.opening()[:2], *tool, *message, completed]


def _tool(kind: str, item: dict[str, Any], steps: list[str], **extra: Any) -> list[Event]:
    """A tool call as output item 0: added, its progress events, done."""
    at = {"output_index": 0, "item_id": item["id"]}
    started = {"id": item["id"], "type": item["type"], "status": "in_progress", **extra}
    events: list[Event] = [
        {"type": "response.output_item.added", "output_index": 0, "item": started}
    ]
    events += [{"type": f"response.{kind}.{step}", **at} for step in steps]
    events.append({"type": "response.output_item.done", "output_index": 0, "item": item})
    return events


# -- the answers ---------------------------------------------------------------------------


def web_search_answer(
    text: str,
    citations: list[dict[str, Any]],
    *,
    query: str = "news",
    response_id: str | None = None,
) -> Script:
    """A web search, then `text` citing pages."""

    def make(ev: Events) -> list[Event]:
        action = {"type": "search", "query": query}
        item = {"id": "ws_0001", "type": "web_search_call", "status": "completed", "action": action}
        steps = ["in_progress", "searching", "completed"]
        return _answer(ev, _tool("web_search_call", item, steps), item, text, citations)

    return stream_of(make, response_id=response_id, label="web_search_answer")


def file_search_answer(
    text: str, citations: list[dict[str, Any]], *, query: str = "handbook"
) -> Script:
    """A search of the vector stores, then `text` citing files."""

    def make(ev: Events) -> list[Event]:
        item = {
            "id": "fs_0001",
            "type": "file_search_call",
            "status": "completed",
            "queries": [query],
            "results": None,
        }
        steps = ["in_progress", "searching", "completed"]
        tool = _tool("file_search_call", item, steps, queries=[], results=None)
        return _answer(ev, tool, item, text, citations)

    return stream_of(make, label="file_search_answer")


def image_answer(text: str, image: bytes, *, partials: int = 2) -> Script:
    """The model draws `image` (with `partials` partial images on the way), then says `text`."""
    b64 = base64.b64encode(image).decode()

    def make(ev: Events) -> list[Event]:
        item = {
            "id": "ig_0001",
            "type": "image_generation_call",
            "status": "completed",
            "background": "opaque",
            "output_format": "png",
            "quality": "low",
            "result": b64,
            "revised_prompt": "A red square on a white background.",
            "size": "1024x1024",
        }
        at = {"output_index": 0, "item_id": item["id"]}
        steps = [
            {"type": "response.image_generation_call.in_progress", **at},
            {"type": "response.image_generation_call.generating", **at},
        ]
        steps += [
            {
                "type": "response.image_generation_call.partial_image",
                **at,
                "partial_image_index": number,
                "partial_image_b64": base64.b64encode(tiny_png(number, number, number)).decode(),
            }
            for number in range(partials)
        ]
        steps.append({"type": "response.image_generation_call.completed", **at})
        started = {"id": item["id"], "type": "image_generation_call", "status": "in_progress"}
        tool: list[Event] = [
            {"type": "response.output_item.added", "output_index": 0, "item": started},
            *steps,
            {"type": "response.output_item.done", "output_index": 0, "item": item},
        ]
        return _answer(ev, tool, item, text, [])

    return stream_of(make, label="image_answer")


def code_file_answer(
    text: str, files: list[dict[str, Any]], *, container_id: str = "cntr_0001"
) -> Script:
    """Code runs in a container, then `text` cites the files it wrote."""
    code = "import pandas as pd\npd.DataFrame({'x': [1, 2]}).to_csv('/mnt/data/out.csv')"

    def make(ev: Events) -> list[Event]:
        item = {
            "id": "ci_0001",
            "type": "code_interpreter_call",
            "status": "completed",
            "code": code,
            "container_id": container_id,
            "outputs": None,
        }
        at = {"output_index": 0, "item_id": item["id"]}
        started = {**item, "status": "in_progress", "code": ""}
        tool: list[Event] = [
            {"type": "response.output_item.added", "output_index": 0, "item": started},
            {"type": "response.code_interpreter_call.in_progress", **at},
            {"type": "response.code_interpreter_call_code.delta", **at, "delta": code},
            {"type": "response.code_interpreter_call_code.done", **at, "code": code},
            {"type": "response.code_interpreter_call.interpreting", **at},
            {"type": "response.code_interpreter_call.completed", **at},
            {"type": "response.output_item.done", "output_index": 0, "item": item},
        ]
        return _answer(ev, tool, item, text, files)

    return stream_of(make, label="code_file_answer")
