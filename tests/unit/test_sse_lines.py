"""The model stream's event data, read from the body's bytes however they are cut."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.responses.sse import DataLines

FIXTURES = Path(__file__).parents[1] / "fixtures" / "responses"


def read(chunks: list[bytes]) -> list[bytes]:
    lines = DataLines()
    found = [data for chunk in chunks for data in lines.feed(chunk)]
    return found + lines.close()


def cut(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


def test_a_recorded_stream_gives_the_data_of_every_event() -> None:
    body = (FIXTURES / "text_answer.sse").read_bytes()
    found = read([body])
    expected = [line[6:] for line in body.splitlines() if line.startswith(b"data: ")]
    assert found == expected
    assert json.loads(found[-1])["type"] == "response.completed"


def test_both_framings_and_every_line_end_give_the_same_data() -> None:
    framed = b'event: response.created\ndata: {"a":1}\n\nevent: x\ndata: {"b":2}\n\n'
    bare = b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'
    assert read([framed]) == [b'{"a":1}', b'{"b":2}']
    assert read([bare]) == [b'{"a":1}', b'{"b":2}', b"[DONE]"]
    assert read([framed.replace(b"\n", b"\r\n")]) == read([framed])
    assert read([framed.replace(b"\n", b"\r")]) == read([framed])


def test_spec_rules_comments_spaces_and_several_data_lines() -> None:
    body = b": keep-alive\n\ndata:no space\n\ndata:  two spaces\n\ndata: a\ndata: b\nid: 7\n\n"
    assert read([body]) == [b"no space", b" two spaces", b"a\nb"]
    # Fields that only start like `data` are other fields; an event without data is none.
    assert read([b"datum: x\nevent: y\n\ndata\n\n"]) == [b""]


def test_an_event_the_stream_does_not_end_is_dropped() -> None:
    assert read([b'data: {"a":1}\n\ndata: {"cut']) == [b'{"a":1}']
    assert read([b'data: {"a":1}\n']) == []


def test_a_crlf_cut_between_its_two_bytes_is_one_line_end() -> None:
    assert read([b"data: x\r", b"\n\r", b"\n"]) == [b"x"]
    assert read([b"data: x\r", b"\r"]) == [b"x"]  # CR alone ends lines too, also at the end


@given(st.lists(st.integers(min_value=0), max_size=12), st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_any_cut_of_the_body_gives_the_same_data(cuts: list[int], end: bytes) -> None:
    body = (FIXTURES / "web_search.sse").read_bytes().replace(b"\n", end)
    assert read(cut(body, cuts)) == read([body])


@given(st.lists(st.integers(min_value=0), max_size=8))
def test_the_data_is_what_httpx_sse_reads_from_every_recorded_stream(cuts: list[int]) -> None:
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    for path in sorted(FIXTURES.glob("*.sse")):
        body = path.read_bytes()
        lines, events = SSELineDecoder(), SSEDecoder()
        utf8 = codecs.getincrementaldecoder("utf-8")()
        chunks = [text for chunk in cut(body, cuts) if (text := utf8.decode(chunk))]
        text = [line for chunk in chunks for line in lines.decode(chunk)]
        decoded = [events.decode(line) for line in [*text, *lines.flush()]]
        expected = [sse.data.encode() for sse in decoded if sse is not None and sse.data]
        assert read(cut(body, cuts)) == expected, path.name
