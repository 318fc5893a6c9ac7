"""Splitting long answers: where cuts go, code fences across chunks, properties."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render.mrkdwn import to_mrkdwn
from bot.render.split import (
    MIN_LIMIT,
    SLACK_MARKDOWN_LIMIT,
    SLACK_TEXT_LIMIT,
    split_message,
)

FENCE = re.compile(r"[ \t]*(?:`{3,}|~{3,}).*")


def test_limits() -> None:
    assert SLACK_TEXT_LIMIT == 3900
    assert SLACK_MARKDOWN_LIMIT == 12000


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t\n "])
def test_empty_or_blank_text_gives_no_chunks(text: str) -> None:
    assert split_message(text, 100) == []


def test_text_that_fits_is_one_chunk_without_trailing_space() -> None:
    assert split_message("Hello\n\nworld\n\n", 100) == ["Hello\n\nworld"]


def test_limit_below_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        split_message("text", MIN_LIMIT - 1)


def test_prefers_paragraph_boundaries() -> None:
    text = "First paragraph, line one.\nLine two.\n\nSecond paragraph here."
    assert split_message(text, 40) == [
        "First paragraph, line one.\nLine two.",
        "Second paragraph here.",
    ]


def test_a_paragraph_break_too_early_loses_to_a_later_line_break() -> None:
    text = "Hi.\n\n" + "a" * 30 + "\n" + "b" * 30 + "\n" + "c" * 30
    assert split_message(text, 70) == ["Hi.\n\n" + "a" * 30 + "\n" + "b" * 30, "c" * 30]


def test_then_line_boundaries() -> None:
    assert split_message("one two three\nfour five six\nseven", 30) == [
        "one two three\nfour five six",
        "seven",
    ]


def test_then_sentences_then_words() -> None:
    text = "First sentence is here. Second one follows and is longer"
    assert split_message(text, 40) == [
        "First sentence is here.",
        "Second one follows and is longer",
    ]
    assert split_message("alpha beta gamma delta epsilon", 20) == [
        "alpha beta gamma",
        "delta epsilon",
    ]


def test_hard_cut_as_last_resort() -> None:
    assert split_message("x" * 40, 16) == ["x" * 16, "x" * 16, "x" * 8]


def test_hard_cut_keeps_an_accent_with_its_letter() -> None:
    text = "e\u0301" * 20  # "é" as a letter and a combining accent
    chunks = split_message(text, 17)
    assert all(len(chunk) <= 17 for chunk in chunks)
    assert all(not chunk.startswith("\u0301") for chunk in chunks)
    assert "".join(chunks) == text


def test_does_not_cut_inside_links() -> None:
    text = "Read <https://example.com/docs|the full docs here> and also [this page](https://x.io)"
    chunks = split_message(text, 55)
    assert chunks == [
        "Read <https://example.com/docs|the full docs here> and",
        "also [this page](https://x.io)",
    ]


def test_code_block_is_closed_and_reopened_with_its_language() -> None:
    code = "\n".join(f"line_{i} = {i}" for i in range(8))
    text = f"Intro.\n\n```python\n{code}\n```\n\nOutro."
    chunks = split_message(text, 60)
    assert chunks == [
        "Intro.\n\n```python\nline_0 = 0\nline_1 = 1\nline_2 = 2\n```",
        "```python\nline_3 = 3\nline_4 = 4\nline_5 = 5\nline_6 = 6\n```",
        "```python\nline_7 = 7\n```\n\nOutro.",
    ]
    assert all(len(chunk) <= 60 for chunk in chunks)


def test_code_block_that_fits_moves_whole_to_the_next_chunk() -> None:
    text = "Some words before the code block.\n```\nprint(1)\nprint(2)\n```"
    assert split_message(text, 40) == [
        "Some words before the code block.",
        "```\nprint(1)\nprint(2)\n```",
    ]


def test_rendered_code_blocks_reopen_without_a_tag() -> None:
    rendered = to_mrkdwn("```js\n" + "\n".join(f"f({i});" for i in range(10)) + "\n```")
    chunks = split_message(rendered, 30)
    assert len(chunks) > 1
    assert all(chunk.startswith("```\n") and chunk.endswith("\n```") for chunk in chunks)


def test_a_fence_left_open_by_partial_text_is_closed() -> None:
    assert split_message("Look:\n```py\nx = 1", 100) == ["Look:\n```py\nx = 1\n```"]
    chunks = split_message("```py\n" + "\n".join(["x = 1"] * 6), 21)
    assert chunks == ["```py\nx = 1\nx = 1\n```"] * 3


def test_no_chunk_is_an_empty_code_block() -> None:
    text = "Text before.\n```\n\n\ncode\n\n\n```\nafter"
    for limit in range(MIN_LIMIT, len(text) + 1):
        for chunk in split_message(text, limit):
            body = [line for line in chunk.split("\n") if not FENCE.fullmatch(line)]
            assert "".join(body).strip(), (limit, chunk)


def test_indentation_inside_code_survives_a_cut() -> None:
    text = "```\ndef f():\n    return 1\n```"
    assert split_message(text, 20) == ["```\ndef f():\n```", "```\n    return 1\n```"]


# --- properties ----------------------------------------------------------------


def assert_content_kept(text: str, chunks: list[str]) -> None:
    """Each chunk, less the fence lines added around it, is the next piece of `text`."""
    position = 0
    for chunk in chunks:
        lines = chunk.split("\n")
        first_added = bool(FENCE.fullmatch(lines[0]))
        last_added = len(lines) > 1 and bool(FENCE.fullmatch(lines[-1]))
        for drop_first, drop_last in [(0, 0), (0, 1), (1, 0), (1, 1)]:
            if (drop_first and not first_added) or (drop_last and not last_added):
                continue
            core = "\n".join(lines[drop_first : len(lines) - drop_last])
            found = text.find(core, position) if core.strip() else -1
            if found != -1 and not text[position:found].strip():
                position = found + len(core)
                break
        else:
            raise AssertionError(f"chunk {chunk!r} is not the text after offset {position}")
    assert not text[position:].strip()


def fences_balanced(chunk: str) -> bool:
    return sum(1 for line in chunk.split("\n") if FENCE.fullmatch(line)) % 2 == 0


_WORDS = st.one_of(
    st.text(alphabet="abcdefghij", min_size=1, max_size=10),
    st.text(alphabet="xyz", min_size=20, max_size=90),
    st.sampled_from(
        [
            "https://x.io/a_b",
            "[a link](https://x.io)",
            "`a code span`",
            "&amp;",
            "<https://x.io|a label>",
        ]
    ),
)
_SENTENCES = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(_WORDS, min_size=1, max_size=10),
    st.sampled_from(["", ".", "!", "?"]),
)
_PARAGRAPHS = st.builds(
    lambda sentences, joiner: joiner.join(sentences),
    st.lists(_SENTENCES, min_size=1, max_size=5),
    st.sampled_from([" ", "\n"]),
)
_BULLETS = st.lists(_SENTENCES.map(lambda s: "- " + s), min_size=1, max_size=5).map("\n".join)
_CODE = st.builds(
    lambda lang, lines, fence: f"{fence}{lang}\n" + "\n".join(lines) + f"\n{fence}",
    st.sampled_from(["", "python", "js"]),
    st.lists(st.text(alphabet=" ab(){}=+\t", max_size=40), min_size=1, max_size=15),
    st.sampled_from(["```", "~~~", "````"]),
)


def _document(blocks: list[str], joiner: str, partial: bool) -> str:
    text = joiner.join(blocks)
    if partial and FENCE.fullmatch(text.rsplit("\n", 1)[-1]):
        return text.rsplit("\n", 1)[0]  # as streamed: the last code block not closed yet
    return text


_DOCUMENTS = st.builds(
    _document,
    st.lists(st.one_of(_PARAGRAPHS, _BULLETS, _CODE), min_size=1, max_size=8),
    st.sampled_from(["\n\n", "\n", "\n\n\n"]),
    st.booleans(),
)
_LIMITS = st.integers(min_value=MIN_LIMIT, max_value=400)


@given(_DOCUMENTS, _LIMITS)
def test_chunks_fit_are_balanced_and_keep_the_content(text: str, limit: int) -> None:
    chunks = split_message(text, limit)
    assert chunks
    for chunk in chunks:
        assert 0 < len(chunk) <= limit
        assert chunk.strip()
        assert fences_balanced(chunk), chunk
    assert_content_kept(text, chunks)


@given(_DOCUMENTS.map(to_mrkdwn), _LIMITS)
def test_rendered_answers_split_the_same_way(text: str, limit: int) -> None:
    chunks = split_message(text, limit)
    for chunk in chunks:
        assert len(chunk) <= limit
        assert fences_balanced(chunk), chunk
    assert_content_kept(text, chunks)


@given(st.text(), _LIMITS)
def test_any_text_fits_and_keeps_its_content(text: str, limit: int) -> None:
    chunks = split_message(text, limit)
    assert all(0 < len(chunk) <= limit and chunk.strip() for chunk in chunks)
    assert_content_kept(text, chunks)
    assert (chunks == []) == (not text.strip())
