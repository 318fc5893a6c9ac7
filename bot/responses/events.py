"""Stream events of the Responses API as small tagged values.

Events are told apart by their `type` field alone, so a stream framed with
`event:` lines and one with bare `data:` lines (as some proxies send) parse the
same. Unknown types and unknown fields are ignored: the API and proxies add
both over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.responses.asks import Ask, asks_in


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0  # part of output_tokens: the model's thinking


@dataclass(frozen=True)
class Numbered:
    """Every event carries the stream's `sequence_number` (-1 where a proxy sends none):
    a resumed stream starts after the last one shown."""

    sequence: int = field(default=-1, kw_only=True, compare=False)


@dataclass(frozen=True)
class Started(Numbered):
    """`response.created` / `response.in_progress`: the response has an id."""

    response_id: str


@dataclass(frozen=True)
class TextDelta(Numbered):
    part: tuple[int, int]  # (output_index, content_index)
    delta: str


@dataclass(frozen=True)
class TextDone(Numbered):
    part: tuple[int, int]
    text: str


@dataclass(frozen=True)
class RefusalDelta(Numbered):
    """`response.refusal.delta`: the model declines, in its own words."""

    part: tuple[int, int]
    delta: str


@dataclass(frozen=True)
class RefusalDone(Numbered):
    part: tuple[int, int]
    refusal: str


@dataclass(frozen=True)
class ToolActivity(Numbered):
    """Progress of work that is not text: a web search, a function call, reasoning.

    From `response.output_item.added` / `.done` (which carry the whole item) and from
    each tool's own events (`response.web_search_call.searching` …, which carry its id).
    """

    kind: str  # the output item's type, e.g. "web_search_call", "function_call", "reasoning"
    done: bool
    item_id: str = ""
    status: str = ""  # as the API says: in_progress, searching, interpreting, completed, failed …
    detail: str = ""  # what a person would want to know: the query, "server: tool" …


@dataclass(frozen=True)
class Thought(Numbered):
    """The model's reasoning as it streams: a summary part's text (`reasoning.summary`), or
    the raw reasoning text some compatible endpoints send. `whole` replaces the part's text
    so far (a part's start or end); otherwise `text` is appended."""

    item_id: str
    text: str
    whole: bool = False


@dataclass(frozen=True)
class Citation:
    """An annotation on the text: a web page (`url_citation`), a file searched
    (`file_citation`), or a file the model's code wrote (`container_file_citation`)."""

    kind: str
    part: tuple[int, int]  # the text part it annotates: (output_index, content_index)
    start: int = 0  # where in that part's text; file citations mark one place (start == end)
    end: int = 0
    url: str = ""
    title: str = ""
    file_id: str = ""
    filename: str = ""
    container_id: str = ""


@dataclass(frozen=True)
class Image:
    """An image the model made (`image_generation_call`), base64 as the API sends it."""

    item_id: str
    b64: str = field(repr=False)
    prompt: str = ""  # what the model asked to draw (`revised_prompt`): the image's alt text


@dataclass(frozen=True)
class Cited(Numbered):
    """`response.output_text.annotation.added`."""

    citation: Citation


@dataclass(frozen=True)
class ImageMade(Numbered):
    """An `image_generation_call` output item done, with its image."""

    image: Image


@dataclass(frozen=True)
class Completed(Numbered):
    response_id: str
    usage: Usage | None
    output_text: str  # the full text as the final response carries it
    refusal: str = ""  # the text of its `refusal` parts, if the model declined
    asks: tuple[Ask, ...] = ()  # function calls and approval requests it ends with
    # What the final output carries besides text (also sent earlier in the stream, but a
    # resumed stream may have started after those events).
    citations: tuple[Citation, ...] = ()
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class Incomplete(Numbered):
    response_id: str
    usage: Usage | None
    reason: str
    output_text: str
    citations: tuple[Citation, ...] = ()
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class Failed(Numbered):
    response_id: str
    code: str
    message: str


@dataclass(frozen=True)
class StreamError(Numbered):
    """An `error` event mid-stream; its fields are nested under `error`."""

    code: str
    message: str


Event = (
    Started
    | TextDelta
    | TextDone
    | RefusalDelta
    | RefusalDone
    | ToolActivity
    | Thought
    | Cited
    | ImageMade
    | Completed
    | Incomplete
    | Failed
    | StreamError
)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _part(data: dict[str, Any]) -> tuple[int, int]:
    return (_int(data.get("output_index")), _int(data.get("content_index")))


def _usage(response: dict[str, Any]) -> Usage | None:
    usage = response.get("usage")
    if not isinstance(usage, dict):
        return None
    details = usage.get("output_tokens_details")
    return Usage(
        reasoning_tokens=_int(details.get("reasoning_tokens")) if isinstance(details, dict) else 0,
        input_tokens=_int(usage.get("input_tokens")),
        output_tokens=_int(usage.get("output_tokens")),
        total_tokens=_int(usage.get("total_tokens")),
    )


def output_text(response: dict[str, Any], kind: str = "output_text") -> str:
    """The text of every `output_text` part (or `refusal` part, with kind="refusal") of a
    final response, joined by blank lines."""
    field = "refusal" if kind == "refusal" else "text"
    texts: list[str] = []
    output = response.get("output")
    for item in output if isinstance(output, list) else []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        content = item.get("content")
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == kind:
                texts.append(_str(part.get(field)))
    return "\n\n".join(text for text in texts if text)


def citation(data: Any, part: tuple[int, int]) -> Citation | None:
    """One annotation of an `output_text` part, or None for a kind the bot does not show."""
    if not isinstance(data, dict):
        return None
    kind = _str(data.get("type"))
    if kind == "url_citation":
        url = _str(data.get("url"))
        if not url:
            return None
        start, end = _int(data.get("start_index")), _int(data.get("end_index"))
        return Citation(kind, part, start, end, url=url, title=_str(data.get("title")))
    if kind == "file_citation":
        index = _int(data.get("index"))
        file_id, filename = _str(data.get("file_id")), _str(data.get("filename"))
        return Citation(kind, part, index, index, file_id=file_id, filename=filename)
    if kind == "container_file_citation":
        container_id, file_id = _str(data.get("container_id")), _str(data.get("file_id"))
        if not container_id or not file_id:
            return None
        return Citation(
            kind,
            part,
            _int(data.get("start_index")),
            _int(data.get("end_index")),
            file_id=file_id,
            filename=_str(data.get("filename")),
            container_id=container_id,
        )
    return None


def image(item: Any) -> Image | None:
    """The image of a finished `image_generation_call` item, or None without one."""
    if not isinstance(item, dict) or item.get("type") != "image_generation_call":
        return None
    result = _str(item.get("result"))
    if not result:
        return None
    return Image(_str(item.get("id")), result, _str(item.get("revised_prompt")))


def made(response: dict[str, Any]) -> tuple[tuple[Citation, ...], tuple[Image, ...]]:
    """The citations on a final response's text parts, and the images in its output."""
    citations: list[Citation] = []
    images: list[Image] = []
    output = response.get("output")
    for index, item in enumerate(output if isinstance(output, list) else []):
        if (found := image(item)) is not None:
            images.append(found)
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        content = item.get("content")
        for number, part in enumerate(content if isinstance(content, list) else []):
            if not isinstance(part, dict) or part.get("type") != "output_text":
                continue
            annotations = part.get("annotations")
            for annotation in annotations if isinstance(annotations, list) else []:
                if (cited := citation(annotation, (index, number))) is not None:
                    citations.append(cited)
    return tuple(citations), tuple(images)


def _error_fields(data: dict[str, Any]) -> tuple[str, str]:
    # Recorded streams nest the fields under `error`; the spec shows them flat.
    nested = data.get("error")
    source = nested if isinstance(nested, dict) else data
    code = _str(source.get("code")) or _str(source.get("type")) or "error"
    return code, _str(source.get("message"))


def parse_event(data: Any) -> Event | None:
    """One decoded `data:` payload → an Event, or None for what the bot does not use."""
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    number = data.get("sequence_number")
    n = number if isinstance(number, int) and not isinstance(number, bool) else -1
    if kind == "response.output_text.delta":  # the hot path: one per few characters
        return TextDelta(_part(data), _str(data.get("delta")), sequence=n)
    if not isinstance(kind, str):
        return None
    response = data.get("response")
    response = response if isinstance(response, dict) else {}
    response_id = _str(response.get("id"))

    if kind in ("response.created", "response.in_progress", "response.queued"):
        return Started(response_id, sequence=n) if response_id else None
    if kind == "response.output_text.done":
        return TextDone(_part(data), _str(data.get("text")), sequence=n)
    if kind == "response.refusal.delta":
        return RefusalDelta(_part(data), _str(data.get("delta")), sequence=n)
    if kind == "response.refusal.done":
        return RefusalDone(_part(data), _str(data.get("refusal")), sequence=n)
    if kind == "response.completed":
        refusal = output_text(response, "refusal")
        citations, images = made(response)
        return Completed(
            response_id,
            _usage(response),
            output_text(response),
            refusal,
            asks_in(response),
            citations,
            images,
            sequence=n,
        )
    if kind == "response.incomplete":
        details = response.get("incomplete_details")
        reason = _str(details.get("reason")) if isinstance(details, dict) else ""
        citations, images = made(response)
        return Incomplete(
            response_id,
            _usage(response),
            reason or "unknown",
            output_text(response),
            citations,
            images,
            sequence=n,
        )
    if kind == "response.failed":
        error = response.get("error")
        code, message = _error_fields({"error": error} if isinstance(error, dict) else {})
        return Failed(response_id, code if error else "failed", message, sequence=n)
    if kind == "error":
        code, message = _error_fields(data)
        return StreamError(code, message, sequence=n)
    if kind == "response.output_text.annotation.added":
        cited = citation(data.get("annotation"), _part(data))
        return Cited(cited, sequence=n) if cited is not None else None
    if kind == "response.output_item.done" and (made_image := image(data.get("item"))):
        return ImageMade(made_image, sequence=n)
    if kind in ("response.output_item.added", "response.output_item.done"):
        item = data.get("item")
        if isinstance(item, dict) and _str(item.get("type")) not in ("", "message"):
            return _item_activity(item, kind.endswith(".done"), n)
        return None
    return _progress(kind, data, n)


# Tools whose own events say how far a call got: `response.<tool>.<status>`.
TOOLS = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "mcp_call",
        "mcp_list_tools",
    }
)
ENDED = frozenset({"completed", "failed", "incomplete"})
THOUGHTS = {
    "response.reasoning_summary_text.delta": ("delta", False),
    "response.reasoning_summary_text.done": ("text", True),
    "response.reasoning_text.delta": ("delta", False),
    "response.reasoning_text.done": ("text", True),
}


def _item_detail(item: dict[str, Any]) -> str:
    """What a person would want to know of a tool call, from its item."""
    kind = item.get("type")
    if kind == "web_search_call":
        action = item.get("action")
        if isinstance(action, dict):
            queries = action.get("queries")
            first = queries[0] if isinstance(queries, list) and queries else ""
            return _str(action.get("query")) or _str(first)
        return ""
    if kind == "file_search_call":
        queries = item.get("queries")
        return _str(queries[0]) if isinstance(queries, list) and queries else ""
    if kind in ("mcp_call", "mcp_approval_request"):
        return ": ".join(x for x in (_str(item.get("server_label")), _str(item.get("name"))) if x)
    if kind == "mcp_list_tools":
        return _str(item.get("server_label"))
    if kind in ("function_call", "custom_tool_call"):
        return _str(item.get("name"))
    return ""


def _item_activity(item: dict[str, Any], done: bool, n: int) -> ToolActivity:
    status = _str(item.get("status"))
    if done:
        # Reasoning items carry no status; an MCP call that went wrong carries an error.
        status = "failed" if item.get("error") else status if status in ENDED else "completed"
    return ToolActivity(
        _str(item.get("type")),
        done,
        item_id=_str(item.get("id")),
        status=status or "in_progress",
        detail=_item_detail(item),
        sequence=n,
    )


def _progress(kind: str, data: dict[str, Any], n: int) -> Event | None:
    """A tool call's own progress event, or a piece of the model's reasoning."""
    item_id = _str(data.get("item_id"))
    if kind in THOUGHTS:
        field, whole = THOUGHTS[kind]
        return Thought(item_id, _str(data.get(field)), whole, sequence=n)
    if kind == "response.reasoning_summary_part.added":
        part = data.get("part")
        text = _str(part.get("text")) if isinstance(part, dict) else ""
        return Thought(item_id, text, True, sequence=n)
    tool, _, status = kind.removeprefix("response.").rpartition(".")
    if tool not in TOOLS or not item_id:
        return None
    status = "generating" if status == "partial_image" else status
    return ToolActivity(tool, status in ENDED, item_id=item_id, status=status, sequence=n)
