"""Sources and files out, as a person sees them in the thread, in both stream modes:
a web search's pages linked in the text and listed under it, a searched file cited
by its name, an image the model drew and a file its code wrote uploaded into the
thread, and the final text landing when an upload cannot."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.slack import buttons
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import mention
from tests.e2e.test_console import run_console
from tests.fakes.citation_streams import (
    code_file,
    code_file_answer,
    file_search_answer,
    image_answer,
    page,
    searched_file,
    tiny_png,
    web_search_answer,
)
from tests.fakes.containers import Containers
from tests.fakes.responses_api import FakeModel, replay
from tests.fakes.slack_api import FakeSlack, Message

MODES = pytest.mark.parametrize("mode", ["update", "native"])


def has_stop(message: Message) -> bool:
    return any(b.get("block_id") == buttons.CONTROLS_BLOCK for b in message.blocks or [])


ART_WEEK = "https://www.wallpaper.com/art/berlin-art-week-2025?utm_source=openai"
LIGHTS = "https://www.visitberlin.de/en/festival-of-lights"
BERLIN = (
    "Berlin Art Week runs Sept 10–14 ([wallpaper.com](" + ART_WEEK + ")). "
    "The Festival of Lights starts on October 3, says visitBerlin. "
    "Galleries stay open late all week ([wallpaper.com](" + ART_WEEK + "))."
)


def berlin_search() -> list[dict[str, object]]:
    """Three citations of two pages; the second page's span has no link in the text."""
    first = page(BERLIN, f"([wallpaper.com]({ART_WEEK}))", ART_WEEK, "Berlin Art Week | Wallpaper*")
    second = page(BERLIN, "visitBerlin", LIGHTS, "Festival of Lights Berlin")
    again = dict(first)
    at = BERLIN.rindex(f"([wallpaper.com]({ART_WEEK}))")
    again["start_index"], again["end_index"] = at, at + len(f"([wallpaper.com]({ART_WEEK}))")
    return [first, second, again]


@MODES
async def test_a_web_search_answer_links_its_sources_and_lists_them_once(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_TOOLS="web_search")
    fake_model.enqueue(web_search_answer(BERLIN, berlin_search(), query="Berlin this week"))
    event = mention("<@UBOT> what's on in Berlin?")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])

    assert message.visible == (
        BERLIN.replace("says visitBerlin", f"says [visitBerlin]({LIGHTS})")
        + "\n\n**Sources**\n"
        + f"1. [Berlin Art Week | Wallpaper*]({ART_WEEK})\n"
        + f"2. [Festival of Lights Berlin]({LIGHTS})"
    )
    assert fake_model.requests[0].json["tools"] == [{"type": "web_search"}]


@MODES
async def test_recorded_streams_show_their_sources(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(
        BOT_STREAM_MODE=mode, OPENAI_TOOLS="web_search,file_search", OPENAI_VECTOR_STORE_IDS="vs_1"
    )
    fake_model.enqueue(
        replay("recorded/web_search_citation_bold.sse"),
        replay("recorded/file_search_annotations.sse", framing="data"),
    )
    top = mention("<@UBOT> tallest mountain in Alberta?")
    await slack.event(bot, top)
    await answer_in(bot, fake_slack, "C1", top["ts"])
    await slack.event(bot, mention("<@UBOT> and embeddings?", thread_ts=top["ts"]))
    first, second = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)

    britannica = "https://www.britannica.com/place/Mount-Columbia?utm_source=openai"
    assert first.visible == (
        "The tallest mountain in Alberta is **Mount Columbia** (3,747 m / 12,294 ft). "
        f"([britannica.com]({britannica}))\n\n**Sources**\n"
        f"1. [Mount Columbia | mountain, Alberta, Canada | Britannica]({britannica})"
    )
    assert second.visible.endswith("for other models or NLP tasks [1].\n\n**Sources**\n1. ai.pdf")


@MODES
async def test_where_slack_takes_only_mrkdwn_the_sources_are_slack_links(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_TOOLS="web_search")
    fake_slack.refuse_markdown("chat.update")
    fake_slack.refuse_markdown("chat.postMessage")
    fake_model.enqueue(web_search_answer(BERLIN, berlin_search()))
    event = mention("<@UBOT> what's on in Berlin?")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])

    shown = message.visible
    assert f"(<{ART_WEEK}|wallpaper.com>)" in shown
    assert f"says <{LIGHTS}|visitBerlin>." in shown
    assert shown.endswith(
        f"*Sources*\n1. <{ART_WEEK}|Berlin Art Week | Wallpaper*>\n"
        f"2. <{LIGHTS}|Festival of Lights Berlin>"
    )
    assert "](" not in shown and shown.count("Sources") == 1


@MODES
async def test_a_file_search_answer_cites_the_file_by_its_name(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(
        BOT_STREAM_MODE=mode, OPENAI_TOOLS="file_search", OPENAI_VECTOR_STORE_IDS="vs_handbook"
    )
    text = "Economy fares are allowed for flights under 6 hours. Hotels need a receipt."
    citations = [
        searched_file(text, "6 hours", "file-Ebzhf8H4", "travel-policy.pdf"),
        searched_file(text, "receipt", "file-9RhPAs9Y", "expenses.md"),
        searched_file(text, "receipt", "file-Ebzhf8H4", "travel-policy.pdf"),
    ]
    fake_model.enqueue(file_search_answer(text, citations))
    event = mention("<@UBOT> can I fly business to Lisbon?")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])

    assert message.visible == (
        "Economy fares are allowed for flights under 6 hours [1]. Hotels need a receipt [2, 1]."
        "\n\n**Sources**\n1. travel-policy.pdf\n2. expenses.md"
    )


@MODES
async def test_an_image_the_model_draws_is_uploaded_into_the_thread_once(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_TOOLS="image_generation")
    png = tiny_png()
    fake_model.enqueue(image_answer("Here is a red square.", png, partials=2))
    event = mention("<@UBOT> draw a red square")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])

    assert message.visible == "Here is a red square."
    [image] = fake_slack.thread_files("C1", event["ts"])
    assert (image.name, image.title, image.content) == ("image-1.png", "image-1.png", png)
    assert image.alt == "A red square on a white background."
    assert len(fake_slack.uploads) == 1  # the partial images are not uploaded
    assert fake_model.requests[0].json["tools"] == [{"type": "image_generation"}]


@MODES
async def test_a_file_the_models_code_writes_is_fetched_and_uploaded(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    containers = Containers().serve(fake_model)
    containers.add("cntr_68d5f2ff", "cfile_68d5f312", b"x,y\n1,2\n2,4\n")
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_TOOLS="code_interpreter")
    text = "I saved the doubled values as [out.csv](sandbox:/mnt/data/out.csv)."
    cited = [code_file("cntr_68d5f2ff", "cfile_68d5f312", "out.csv")]
    fake_model.enqueue(code_file_answer(text, cited, container_id="cntr_68d5f2ff"))
    event = mention("<@UBOT> double the values in a CSV")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])

    assert message.visible == "I saved the doubled values as out.csv."
    [csv] = fake_slack.thread_files("C1", event["ts"])
    assert (csv.name, csv.content) == ("out.csv", b"x,y\n1,2\n2,4\n")
    [fetch] = containers.fetches
    assert (fetch.container_id, fetch.file_id) == ("cntr_68d5f2ff", "cfile_68d5f312")
    assert fetch.authorization == "Bearer sk-test-key"


@MODES
async def test_an_upload_that_fails_still_leaves_the_final_text_with_a_plain_note(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_TOOLS="image_generation")
    fake_slack.fail("files.completeUploadExternal", "internal_error")
    fake_model.enqueue(image_answer("Here is a red square.", tiny_png()))
    event = mention("<@UBOT> draw a red square")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])

    assert message.visible == "Here is a red square.\n_I made an image but couldn't upload it._"
    assert fake_slack.thread_files("C1", event["ts"]) == []


@MODES
async def test_a_code_file_that_cannot_be_fetched_is_named_in_a_note(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    containers = Containers().serve(fake_model)  # the file expired: 404
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_TOOLS="code_interpreter")
    fake_model.enqueue(code_file_answer("Done.", [code_file("cntr_1", "cfile_1", "chart.png")]))
    event = mention("<@UBOT> chart it")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])

    assert message.visible == "Done.\n_My code wrote chart.png but I couldn't upload it._"
    assert len(containers.fetches) == 1 and fake_slack.uploads == {}


@MODES
async def test_an_image_is_uploaded_once_when_the_final_write_lands_only_later(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(
        BOT_STREAM_MODE=mode,
        OPENAI_TOOLS="image_generation",
        BOT_FINAL_WRITE_SECONDS=1.0,
        BOT_ANSWER_LEASE=1.0,
    )
    fake_slack.fail("chat.update", "service_unavailable", times=10_000)  # edits do not land
    fake_model.enqueue(image_answer("Here is a red square.", tiny_png()))
    event = mention("<@UBOT> draw a red square")
    await slack.event(bot, event)
    await fake_slack.wait_for(
        lambda: len(fake_slack.calls_to("chat.update")) > 3, what="edits Slack does not take"
    )
    await bot.idle()  # the final write is left for later
    [message] = fake_slack.thread_messages("C1", event["ts"])
    assert has_stop(message)  # not finished
    assert len(fake_slack.thread_files("C1", event["ts"])) == 1

    fake_slack.clear_faults()  # Slack takes edits again: the kept final write lands
    await fake_slack.wait_for(
        lambda: message.visible == "Here is a red square." and not has_stop(message),
        what="the final text",
    )
    await bot.idle()
    assert len(fake_slack.thread_files("C1", event["ts"])) == 1
    assert len(fake_slack.calls_to("files.getUploadURLExternal")) == 1


# -- /ask and the console ---------------------------------------------------------------


async def test_ask_in_a_channel_puts_the_image_in_its_answers_thread(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    png = tiny_png(10, 200, 10)
    fake_model.enqueue(image_answer("A green square.", png))
    await slack.command(bot, "draw a green square", channel_id="C7")
    await fake_slack.wait_for(lambda: len(fake_slack.uploads) == 1, what="an upload")
    await bot.idle()

    [message] = fake_slack.bot_messages("C7")
    assert message.visible == "<@U1> asked: draw a green square\nA green square."
    [image] = fake_slack.thread_files("C7", message.ts)
    assert image.content == png


async def test_a_private_ask_answer_has_its_sources_as_slack_links(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(web_search_answer(BERLIN, berlin_search()))
    fake_model.enqueue(image_answer("A red square.", tiny_png()))
    fake_slack.fail("chat.postMessage", "not_in_channel", times=2)
    for number, question in enumerate(["what's on in Berlin?", "draw a red square"]):
        url = fake_slack.response_url(f"private-{number}")
        await slack.command(bot, question, channel_id="G1", response_url=url)
        await fake_slack.wait_for(
            lambda n=number: len(fake_slack.response_url_posts_to(f"private-{n}")) == 2,
            what="the private answer",
        )
        await bot.idle()

    sources = fake_slack.response_url_posts_to("private-0")[-1]["text"]
    assert f"says <{LIGHTS}|visitBerlin>." in sources
    assert sources.endswith(
        f"*Sources*\n1. <{ART_WEEK}|Berlin Art Week | Wallpaper*>\n"
        f"2. <{LIGHTS}|Festival of Lights Berlin>"
    )
    image = fake_slack.response_url_posts_to("private-1")[-1]["text"]
    assert image.endswith("A red square.\n\n_I made an image but couldn't upload it._")
    assert fake_slack.uploads == {} and not fake_slack.bot_messages("G1")


async def test_the_console_lists_the_sources_and_saves_the_image(
    fake_model: FakeModel, tmp_path: Path
) -> None:
    png = tiny_png()
    fake_model.enqueue(web_search_answer(BERLIN, berlin_search()), image_answer("Drawn.", png))
    code, out, _ = await run_console(
        fake_model, tmp_path, "what's on?\ndraw\n\n", TMPDIR=str(tmp_path)
    )
    assert code == 0
    assert f"2. [Festival of Lights Berlin]({LIGHTS})" in out and out.count("**Sources**") == 1
    [saved] = (tmp_path / "bot-console-files").iterdir()
    assert saved.name.endswith("-image-1.png") and saved.read_bytes() == png
    assert f"[file: {saved}]" in out


async def a_red_square_lands_with_its_image(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    """Ask for a drawing: its answer lands, with the image in the thread once."""
    fake_model.enqueue(image_answer("Here is a red square.", tiny_png()))
    event = mention("<@UBOT> draw a red square")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == "Here is a red square."
    assert len(fake_slack.thread_files("C1", event["ts"])) == 1


async def test_an_upload_slack_rate_limits_is_waited_out_and_lands_once(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_slack.rate_limit("files.getUploadURLExternal", retry_after=0)
    fake_slack.rate_limit("files.completeUploadExternal", retry_after=0)
    await a_red_square_lands_with_its_image(bot, slack, fake_slack, fake_model)
    assert [c.outcome for c in fake_slack.calls_to("files.completeUploadExternal")] == [
        "ratelimited",
        "ok",
    ]


async def test_an_upload_slack_cannot_take_for_a_moment_is_tried_again_and_lands_once(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    # Slack says it cannot do it now (not done, try again): the file is not lost.
    fake_slack.fail("files.getUploadURLExternal", "service_unavailable", times=2)
    fake_slack.fail("files.completeUploadExternal", "request_timeout")
    await a_red_square_lands_with_its_image(bot, slack, fake_slack, fake_model)
    assert [c.outcome for c in fake_slack.calls_to("files.completeUploadExternal")] == [
        "request_timeout",
        "ok",
    ]


async def test_an_upload_whose_connection_cannot_be_made_is_tried_again(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    with socket.socket() as closed:  # a port nothing listens on: the connection is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    nowhere = {"ok": True, "upload_url": f"http://127.0.0.1:{port}/upload", "file_id": "F0"}
    fake_slack.inject("files.getUploadURLExternal", body=nowhere)
    await a_red_square_lands_with_its_image(bot, slack, fake_slack, fake_model)
    assert len(fake_slack.calls_to("files.getUploadURLExternal")) == 2
