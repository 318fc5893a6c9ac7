"""Files in: images, PDFs and text files attached to a message the bot answers reach the
model as content parts of the user's message; any other file, or one the bot cannot
read, is a short note under the answer, and the question is still answered."""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.conversation.files import MAX_FILE_TEXT
from bot.store import Store
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.file_payloads import PDF, check_file_info, png, with_files
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import channel_message, dm, mention
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack

MODES = pytest.mark.parametrize("mode", ["update", "native"])
TOKEN = "Bearer xoxb-test-token"


def user_parts(request: dict[str, Any], index: int = -1) -> list[dict[str, Any]]:
    """The content parts of a user message of the request (the last: the new turn)."""
    return list(request["input"][index]["content"])


def data_url(mimetype: str, data: bytes) -> str:
    return f"data:{mimetype};base64,{base64.b64encode(data).decode()}"


def decoded(url: str) -> bytes:
    return base64.b64decode(url.split(",", 1)[1])


async def ask(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, event: dict[str, Any]
) -> str:
    """Send the event; the answer's visible text once it is finished."""
    assert (await slack.event(bot, event)).status == 200
    thread = event.get("thread_ts") or event["ts"]
    [message] = await answer_in(bot, fake_slack, event["channel"], thread)
    return message.visible


async def kept_in_database(
    bot: BotHandle,
    event: dict[str, Any],
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, not a cancel scope
) -> None:
    """Wait until the bot has accepted the message (its turn is kept in the database):
    bolt acks before its listener runs."""
    store = await Store.open(bot.settings.DATABASE_URL)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await store.takes_part("T1", event["channel"], event["ts"]):
            assert loop.time() < deadline, "the message was never accepted"
            await asyncio.sleep(0.02)
    finally:
        await store.close()


@MODES
async def test_an_image_a_pdf_and_a_text_file_reach_the_model(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    image, notes = png(), b"# Plan\n\n- ship it\n- tell people\n"
    files = fake_slack.files
    shot = files.add("screenshot.png", image, "image/png")
    spec = files.add("spec.pdf", PDF, "application/pdf")
    readme = files.add("plan.md", notes, "text/markdown", "markdown")
    fake_model.enqueue(answer("A screenshot, a spec and a plan."))
    event = with_files(mention("<@UBOT> what are these?"), shot, spec, readme)

    shown = await ask(bot, slack, fake_slack, event)

    assert shown == "A screenshot, a spec and a plan."  # no note: every file was read
    parts = user_parts(fake_model.requests[0].json)
    assert parts == [
        {"type": "input_text", "text": "<@U1>: what are these?"},
        {"type": "input_image", "image_url": data_url("image/png", image), "detail": "auto"},
        {
            "type": "input_file",
            "filename": "spec.pdf",
            "file_data": data_url("application/pdf", PDF),
        },
        {"type": "input_text", "text": f"File plan.md:\n\n{notes.decode()}"},
    ]
    assert decoded(parts[1]["image_url"]) == image and decoded(parts[2]["file_data"]) == PDF
    # Downloaded from their url_private_download, with the bot token.
    assert [d.authorization for d in files.downloads] == [TOKEN] * 3
    assert sorted(d.path for d in files.downloads) == sorted(
        urlsplit(f["url_private_download"]).path for f in (shot, spec, readme)
    )


@MODES
async def test_a_dm_with_only_a_file_is_answered_about_the_file(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    image = png(3, 1)
    shot = fake_slack.files.add("chart.png", image, "image/png", channels=("D1",))
    fake_model.enqueue(answer("It is a small grey chart."))
    event = with_files(dm(""), shot)

    assert await ask(bot, slack, fake_slack, event) == "It is a small grey chart."
    [text, picture] = user_parts(fake_model.requests[0].json)
    assert text == {"type": "input_text", "text": "<@U1>: (sent the attached files)"}
    assert decoded(picture["image_url"]) == image


@MODES
async def test_a_long_text_file_is_cut_with_a_note_to_the_model(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    log = ("x" * 99 + "\n").encode() * 1_500  # 150,000 characters
    big = fake_slack.files.add("server.log", log, "text/plain", "text")
    fake_model.enqueue(answer("Lots of x."))
    await ask(bot, slack, fake_slack, with_files(mention("<@UBOT> anything odd?"), big))
    sent = user_parts(fake_model.requests[0].json)[1]["text"]
    assert sent.startswith("File server.log:\n\nxxx")
    assert log.decode()[:MAX_FILE_TEXT] in sent and log.decode() not in sent
    assert sent.endswith("only its first 100,000 characters are sent.]")


@MODES
async def test_an_unsupported_and_an_oversize_file_get_a_note_and_the_question_is_answered(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, BOT_MAX_FILE_MB=1)
    sheet = fake_slack.files.add(
        "report.xlsx", b"PK\x03\x04...", "application/vnd.ms-excel", "xlsx"
    )
    huge = fake_slack.files.add("huge.png", png(), "image/png", size=5 * 1024 * 1024)
    fake_model.enqueue(answer("Q3 went well."))
    event = with_files(mention("<@UBOT> how did Q3 go?"), sheet, huge)

    shown = await ask(bot, slack, fake_slack, event)

    assert shown.startswith("Q3 went well.")
    assert (
        "I couldn't read report.xlsx: I read images (PNG, JPEG, GIF, WebP), PDFs and text files."
        in shown
    )
    assert "I couldn't read huge.png: it is larger than 1 MB." in shown
    # The model got the question alone; neither file was downloaded.
    assert user_parts(fake_model.requests[0].json) == [
        {"type": "input_text", "text": "<@U1>: how did Q3 go?"}
    ]
    assert fake_slack.files.downloads == []


@MODES
async def test_a_file_larger_than_slack_said_is_not_sent(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, BOT_MAX_FILE_MB=0.001)  # 1,048 bytes
    padded = png() + b"\x00" * 4096
    shot = fake_slack.files.add("photo.png", padded, "image/png", size=100)
    fake_model.enqueue(answer("Nice."))
    shown = await ask(bot, slack, fake_slack, with_files(mention("<@UBOT> look"), shot))
    assert "I couldn't read photo.png: it is larger than 0.001 MB." in shown
    assert len(user_parts(fake_model.requests[0].json)) == 1


@MODES
async def test_files_the_bot_cannot_read_are_notes_not_failures(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    files = fake_slack.files
    gone = files.add("old.png", png(), "image/png")
    files.delete(gone["id"])
    login = files.add("scan.pdf", PDF, "application/pdf", sign_in_page=True)
    missing = check_file_info("F99999999")  # files.info: file_not_found
    fine = files.add("fine.txt", b"all good", "text/plain", "text")
    fake_model.enqueue(answer("Here is what I can see."))
    event = with_files(mention("<@UBOT> check these"), gone, login, missing, fine)

    shown = await ask(bot, slack, fake_slack, event)

    assert shown.startswith("Here is what I can see.")
    assert "I couldn't read old.png: it was deleted or is no longer shared here." in shown
    assert "I couldn't read scan.pdf: Slack didn't let me open it." in shown
    assert "I couldn't read a file: it was deleted or is no longer shared here." in shown
    assert user_parts(fake_model.requests[0].json)[1:] == [
        {"type": "input_text", "text": "File fine.txt:\n\nall good"}
    ]


@MODES
async def test_a_refused_download_is_a_note(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    fake_slack.files.token = "xoxb-another-workspace"  # the bot's token is refused: 403
    shot = fake_slack.files.add("secret.png", png(), "image/png")
    fake_model.enqueue(answer("I can only answer the text."))
    shown = await ask(bot, slack, fake_slack, with_files(mention("<@UBOT> see?"), shot))
    assert shown.startswith("I can only answer the text.")
    assert "I couldn't read secret.png: Slack didn't let me open it." in shown
    assert [d.status for d in fake_slack.files.downloads] == [403]
    assert len(user_parts(fake_model.requests[0].json)) == 1


@MODES
async def test_only_unreadable_files_and_no_text_gets_the_notes_and_no_model_call(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    sheet = fake_slack.files.add("budget.xlsx", b"PK", "application/vnd.ms-excel", "xlsx")
    shown = await ask(bot, slack, fake_slack, with_files(dm(""), sheet))
    assert "I couldn't read budget.xlsx: I read images" in shown
    assert fake_model.requests == []


@MODES
async def test_a_file_on_a_reply_heard_in_the_thread_reaches_the_model_with_the_next_mention(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    top = mention("<@UBOT> I'll share the diagram")
    fake_model.enqueue(answer("Go ahead."), answer("The diagram shows two boxes."))
    await ask(bot, slack, fake_slack, top)
    image = png(4, 4)
    diagram = fake_slack.files.add("diagram.png", image, "image/png")
    reply = with_files(channel_message("", user="U2", thread_ts=top["ts"]), diagram)
    assert (await slack.event(bot, reply)).status == 200
    await bot.idle()
    assert fake_slack.files.downloads == []  # heard, not read: read when answering

    await slack.event(bot, mention("<@UBOT> what does it show?", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)

    request = fake_model.requests[1].json
    heard, asked = request["input"][-2:]
    assert heard["content"][0] == {"type": "input_text", "text": "<@U2>: (sent the attached files)"}
    assert decoded(heard["content"][1]["image_url"]) == image
    assert asked["content"] == [{"type": "input_text", "text": "<@U1>: what does it show?"}]


@MODES
async def test_a_file_url_on_another_host_is_never_fetched(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    elsewhere = FakeSlack()  # another origin (its own port): not Slack's file host
    await elsewhere.start()
    try:
        bot = await start_bot(BOT_STREAM_MODE=mode)
        planted = elsewhere.files.add("invoice.pdf", PDF, "application/pdf")
        fake_model.enqueue(answer("Answered anyway."))
        shown = await ask(bot, slack, fake_slack, with_files(mention("<@UBOT> pay?"), planted))
        assert shown.startswith("Answered anyway.")
        assert "I couldn't read invoice.pdf: it isn't stored in Slack." in shown
        assert elsewhere.files.downloads == [] and fake_slack.files.downloads == []
        assert len(user_parts(fake_model.requests[0].json)) == 1
    finally:
        await elsewhere.stop()


@MODES
async def test_a_redirect_is_followed_on_slack_s_file_host_only(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    elsewhere = FakeSlack()
    await elsewhere.start()
    try:
        bot = await start_bot(BOT_STREAM_MODE=mode)
        image = png()
        real = fake_slack.files.add("real.png", image, "image/png")
        moved = fake_slack.files.add(
            "moved.png", b"", "image/png", redirect=real["url_private_download"]
        )
        bait = elsewhere.files.add("bait.png", png(7, 7), "image/png")
        away = fake_slack.files.add(
            "away.png", b"", "image/png", redirect=bait["url_private_download"]
        )
        fake_model.enqueue(answer("One of two."))
        event = with_files(mention("<@UBOT> compare"), moved, away)

        shown = await ask(bot, slack, fake_slack, event)

        assert "I couldn't read away.png: it isn't stored in Slack." in shown
        assert "moved.png" not in shown
        [_, picture] = user_parts(fake_model.requests[0].json)
        assert decoded(picture["image_url"]) == image
        assert elsewhere.files.downloads == []  # the bot token never went there
    finally:
        await elsewhere.stop()


@MODES
async def test_a_file_without_details_is_looked_up_and_read_only_where_it_is_shared(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    image = png()
    here = fake_slack.files.add("here.png", image, "image/png", channels=("C1",))
    there = fake_slack.files.add("there.png", png(5, 5), "image/png", channels=("C9",))
    fake_model.enqueue(answer("One picture."))
    event = with_files(
        mention("<@UBOT> and these?"), check_file_info(here["id"]), check_file_info(there["id"])
    )

    shown = await ask(bot, slack, fake_slack, event)

    # Not named: what Slack says of a file not shared here is not told here.
    assert "I couldn't read a file: it isn't shared in this conversation." in shown
    [_, picture] = user_parts(fake_model.requests[0].json)
    assert decoded(picture["image_url"]) == image
    assert [d.file_id for d in fake_slack.files.downloads] == [here["id"]]
    assert {c.args["file"] for c in fake_slack.calls_to("files.info")} == {here["id"], there["id"]}


@MODES
async def test_a_turn_with_files_accepted_before_a_restart_still_has_its_files(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    words = [f"w{i} " for i in range(30)]
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.1), answer("A PDF."))
    first = await start_bot(
        BOT_STREAM_MODE=mode, BOT_MAX_CONCURRENT_ANSWERS=1, BOT_SHUTDOWN_GRACE=0
    )
    sheet = fake_slack.files.add("plan.xlsx", b"PK", "application/vnd.ms-excel", "xlsx")
    busy = with_files(mention("<@UBOT> a long one"), sheet)
    await slack.event(first, busy)
    await fake_slack.wait_for(lambda: "w1" in fake_slack.thread_text("C1", busy["ts"]))
    spec = fake_slack.files.add("spec.pdf", PDF, "application/pdf")
    waiting = with_files(mention("<@UBOT> summarise this"), spec)
    assert (await slack.event(first, waiting)).status == 200
    await kept_in_database(first, waiting)  # accepted after the ack; it waits for a slot
    await first.stop()  # a deploy: the waiting turn is left in the database
    assert fake_slack.files.downloads == [] and len(fake_model.requests) == 1

    again = await start_bot(BOT_STREAM_MODE=mode)
    await slack.event(again, waiting, retry_num=1)  # Slack's redelivery: answered once
    [message] = await answer_in(again, fake_slack, "C1", waiting["ts"])
    assert message.visible == "A PDF."
    [text, document] = user_parts(fake_model.requests[1].json)
    assert text == {"type": "input_text", "text": "<@U1>: summarise this"}
    assert document["filename"] == "spec.pdf" and decoded(document["file_data"]) == PDF
    assert len(fake_model.requests) == 2
    # The answer under way was resumed where it was, its file's note kept.
    [resumed] = await answer_in(again, fake_slack, "C1", busy["ts"])
    assert resumed.visible.startswith("".join(words).strip())
    assert "I couldn't read plan.xlsx: I read images" in resumed.visible
    assert len(fake_model.resumed) == 1
