"""Message payloads (pure): the mrkdwn fallback converts first, then splits to fit."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.split import SLACK_TEXT_LIMIT
from bot.slack.blocks import TEXT_CHUNK, message, mrkdwn_chunks, text_message
from bot.slack.thread_writer import ThreadWriter


def test_escaping_grows_the_text_but_every_chunk_still_fits() -> None:
    markdown = "\n\n".join("Tom & Jerry < Spike > Tyke " * 30 for _ in range(20))
    header, notice = "<@U1> asked: " + "why? " * 400, "The answer was cut short."
    chunks = mrkdwn_chunks(markdown, header=header, notice=notice)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(text_message(chunk, header=header, notice=notice)["text"]) <= SLACK_TEXT_LIMIT
    joined = html.unescape("".join(chunks))
    assert "".join(joined.split()) == "".join(markdown.split())


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab &<>*_`\n#-[]()", max_size=9000))
def test_any_text_fits_after_conversion(markdown: str) -> None:
    for chunk in mrkdwn_chunks(markdown, notice="Stopped by <@U1>."):
        assert len(chunk) <= TEXT_CHUNK


@pytest.mark.parametrize("notice", [None, "A notice."])
def test_the_plain_text_payload_has_header_text_and_notice(notice: str | None) -> None:
    payload = message("**bold** & more", header="hi", as_markdown=False, notice=notice)
    expected = "hi\n\n*bold* &amp; more" + (f"\n\n_{notice}_" if notice else "")
    assert payload == {"text": expected}


def test_an_interim_mrkdwn_edit_of_a_long_escaped_text_fits_and_says_there_is_more() -> None:
    writer = ThreadWriter(AsyncWebClient(token="xoxb-unused"), "C1", "1.000001")
    writer.as_markdown = False
    payload = writer.interim_payload("\n\n".join(["Tom & Jerry < Spike " * 40] * 30))
    assert len(payload["text"]) <= SLACK_TEXT_LIMIT
    assert payload["text"].endswith("\n…") and "&amp;" in payload["text"]
