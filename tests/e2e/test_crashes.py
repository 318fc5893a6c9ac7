"""Crashes and deploys: the bot runs as operators run it, in its own process, and is
killed (SIGKILL, as by an out-of-memory kill) or stopped (SIGTERM, as by a deploy)
mid-answer. The next start, on the same database, finishes every answer in the same
Slack message."""

from __future__ import annotations

import signal

from bot.conversation import notices
from tests.e2e.conftest import StartProcess
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.fakes.citation_streams import image_answer, tiny_png
from tests.fakes.responses_api import FakeModel, Script, answer
from tests.fakes.slack_api import FakeSlack, Message
from tests.support.process import BotProcess


def words(count: int) -> tuple[Script, str]:
    """A background answer of `count` words, 0.1 s apart; and its full text."""
    parts = [f"w{i} " for i in range(count)]
    return answer("".join(parts), chunks=parts, delay=0.1), "".join(parts).strip()


def actions(message: Message) -> list[str]:
    return [str(b.get("block_id")) for b in message.blocks or [] if b.get("type") == "actions"]


async def ask(slack: SlackSender, bot: BotProcess, fake_slack: FakeSlack, text: str) -> Message:
    """Mention the bot in a new thread; the bot's message there once its first words show."""
    top = mention(f"<@UBOT> {text}")
    assert (await slack.event(bot, top)).status == 200
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", top["ts"]), what="the first words"
    )
    [message] = fake_slack.thread_messages("C1", top["ts"])
    return message


async def test_a_killed_bot_s_answer_is_resumed_by_the_next_start_in_the_same_message(
    bot_process: StartProcess, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    script, full = words(40)
    fake_model.enqueue(script)
    first = await bot_process()
    message = await ask(slack, first, fake_slack, "a long one")
    assert await first.signal(signal.SIGKILL) == -signal.SIGKILL
    assert full != message.visible and actions(message) == ["answer_controls"]  # cut, Stop on

    second = await bot_process()
    await fake_slack.wait_for(lambda: message.visible == full, 15, "the resumed answer")
    thread_ts = message.thread_ts or ""
    assert fake_slack.thread_messages("C1", thread_ts) == [message]  # the same message
    [(resumed, after)] = fake_model.resumed
    assert resumed == script.response_id and after > 0
    assert len(fake_model.requests) == 1  # the question was not asked twice
    await fake_slack.wait_for(lambda: actions(message) == ["answer_feedback"], what="no Stop")

    # The chain moved to the resumed response.
    fake_model.enqueue(answer("And on."))
    await slack.event(second, mention("<@UBOT> go on", thread_ts=thread_ts))
    await fake_slack.wait_for(lambda: len(fake_slack.thread_messages("C1", thread_ts)) == 2)
    await fake_model.wait_for_requests(2)
    assert fake_model.requests[1].json["previous_response_id"] == script.response_id


async def test_without_background_mode_a_killed_bot_s_answer_is_marked_interrupted(
    bot_process: StartProcess, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    script, full = words(40)
    fake_model.enqueue(script)
    first = await bot_process(OPENAI_BACKGROUND="false")
    message = await ask(slack, first, fake_slack, "a long one")
    await first.signal(signal.SIGKILL)
    shown = message.visible.strip()

    await bot_process(OPENAI_BACKGROUND="false")
    await fake_slack.wait_for(
        lambda: message.visible.endswith(f"_{notices.INTERRUPTED}_"), 15, "the interrupted notice"
    )
    assert message.visible.startswith(shown) and full not in message.visible
    assert actions(message) == []  # the Stop button is gone
    assert fake_model.resumed == [] and len(fake_model.requests) == 1


async def test_a_deploy_with_a_backlog_answers_every_acknowledged_message(
    bot_process: StartProcess, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    scripts = [words(20) for _ in range(4)]
    fake_model.enqueue(*(script for script, _ in scripts))
    first = await bot_process(BOT_MAX_CONCURRENT_ANSWERS="1", BOT_SHUTDOWN_GRACE="0.3")
    threads = []
    for n in range(4):  # one answers, three wait for a slot
        top = mention(f"<@UBOT> question {n}")
        assert (await slack.event(first, top)).status == 200
        threads.append(top["ts"])
    await fake_slack.wait_for(lambda: "w1" in fake_slack.thread_text("C1", threads[0]))
    assert await first.signal(signal.SIGTERM) == 0  # a clean stop, as a deploy's

    await bot_process(BOT_MAX_CONCURRENT_ANSWERS="1")
    for thread_ts, (_, full) in zip(threads, scripts, strict=True):
        await fake_slack.wait_for(
            lambda t=thread_ts, f=full: fake_slack.thread_text("C1", t) == f,  # type: ignore[misc]
            20,
            f"the answer in {thread_ts}",
        )
    for thread_ts in threads:
        [message] = fake_slack.thread_messages("C1", thread_ts)  # each answered once
        assert actions(message) == ["answer_feedback"]
    # The answer under way was resumed; the waiting ones were asked once each.
    assert len(fake_model.requests) == 4
    assert [r for r, _ in fake_model.resumed] == [scripts[0][0].response_id]


async def test_a_bot_killed_after_it_put_a_file_in_the_thread_does_not_put_it_there_twice(
    bot_process: StartProcess, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(image_answer("Here is a red square.", tiny_png()))
    # One interim call at most (the first), so the first chat.update is the final write,
    # which Slack carries out but answers too late: the bot is killed while it waits.
    first = await bot_process(BOT_UPDATE_INTERVAL="30")
    fake_slack.lose_answer("chat.update", late=60)
    top = mention("<@UBOT> draw a red square")
    assert (await slack.event(first, top)).status == 200
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.update")), what="the write")
    assert len(fake_slack.thread_files("C1", top["ts"])) == 1
    assert await first.signal(signal.SIGKILL) == -signal.SIGKILL

    await bot_process(BOT_UPDATE_INTERVAL="30")  # resumes the answer, and writes it again
    await fake_slack.wait_for(
        lambda: len([c for c in fake_slack.calls_to("chat.update") if c.ok]) >= 2,
        what="the final write of the next start",
    )
    [message] = fake_slack.thread_messages("C1", top["ts"])
    assert message.visible == "Here is a red square."
    assert len(fake_slack.thread_files("C1", top["ts"])) == 1
