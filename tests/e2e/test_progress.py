"""What a person sees while the model works (issue 9): its reasoning summary and each
tool call, in words, until the answer's text takes their place — in the message
(`update` mode), as task cards in the stream (`native` mode), or on the Assistant
panel's status line; and the reasoning tokens an operator reads in `python -m bot usage`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import usage
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import assistant_thread_started, dm, mention
from tests.fakes import progress_streams as tools
from tests.fakes.responses_api import Events, stream_of
from tests.fakes.slack_api import Call, FakeSlack, Message
from tests.support.process import REPO

MODES = pytest.mark.parametrize("mode", ["update", "native"])
THOUGHT = "**Checking the map**\n\nThe user wants directions, so I look at the map first."
ANSWER = "Turn left at the bakery, then walk two blocks."


async def answered(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, question: str
) -> Message:
    event = mention(f"<@UBOT> {question}")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    return message


def before_text(message: Message, text: str) -> list[str]:
    """The versions of an update-mode message shown before the answer's text began."""
    start = text.split()[0]
    first = next(i for i, shown in enumerate(message.history) if shown.startswith(start))
    return message.history[:first]


def first_card(calls: list[Call], title: str) -> int:
    """The index of the first stream call carrying a task card whose title has `title`."""
    return next(
        index
        for index, call in enumerate(calls)
        for chunk in call.args.get("chunks") or []
        if chunk.get("type") == "task_update" and title in str(chunk.get("title"))
    )


def first_text(calls: list[Call]) -> int:
    """The index of the first stream call carrying text of the answer."""
    return next(
        index
        for index, call in enumerate(calls)
        if call.args.get("markdown_text")
        or any(c.get("type") == "markdown_text" for c in call.args.get("chunks") or [])
    )


def stream_calls(fake_slack: FakeSlack) -> list[Call]:
    names = ("chat.startStream", "chat.appendStream", "chat.stopStream")
    return [c for c in fake_slack.calls if c.method in names]


def task_titles(message: Message) -> list[str]:
    return [str(task["title"]) for task in message.tasks.values()]


@MODES
async def test_a_reasoning_summary_shows_while_the_model_thinks_then_the_answer_takes_its_place(
    mode: str, start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: Any
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_REASONING_SUMMARY="auto")
    fake_model.enqueue(tools.stream_with(tools.reasoning(THOUGHT), text=ANSWER, delay=0.06))
    message = await answered(bot, slack, fake_slack, "how do I get to the station?")

    assert fake_model.requests[0].json["reasoning"] == {"summary": "auto"}
    assert message.visible == ANSWER  # the answer alone, once it is there
    if mode == "update":
        thinking = before_text(message, ANSWER)
        assert any("> **Checking the map**" in shown for shown in thinking), message.history
        assert any("The user wants" in shown for shown in thinking), message.history
    else:
        [card] = message.tasks.values()
        assert card["title"] == "Thinking: Checking the map"
        assert card["status"] == "complete"
        calls = stream_calls(fake_slack)
        assert first_card(calls, "Thinking: Checking the map") < first_text(calls)
        assert message.task_display_mode == "timeline"


@MODES
async def test_a_web_search_shows_its_query_before_the_text(
    mode: str, start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: Any
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_TOOLS="web_search")
    # As recorded: the query comes with the finished search, then the model thinks on.
    search, thinking = tools.web_search("Berlin news today"), tools.reasoning()
    answer = "Berlin Art Week opens today."
    fake_model.enqueue(tools.stream_with(thinking, search, thinking, text=answer, delay=0.1))
    message = await answered(bot, slack, fake_slack, "what is on in Berlin?")

    assert message.visible == "Berlin Art Week opens today."
    said = "Searching the web for “Berlin news today”…"
    if mode == "update":
        assert any(said in shown for shown in before_text(message, "Berlin Art")), message.history
    else:
        [card] = message.tasks.values()
        assert (card["title"], card["status"]) == (said, "complete")
        assert card["id"].startswith("ws_")  # one card per call: the call's item id
        calls = stream_calls(fake_slack)
        assert first_card(calls, "Searching the web") < first_text(calls)
        statuses = [u["status"] for u in message.task_updates]
        assert statuses[-1] == "complete" and len(message.task_updates) <= 3


@MODES
@pytest.mark.parametrize(
    ("step", "said"),
    [
        (tools.file_search("holiday policy"), "Searching files for “holiday policy”…"),
        (tools.code_interpreter("sum(range(10))"), "Running code…"),
        (tools.image_generation(partial_images=2), "Drawing…"),
        (tools.mcp_call("docs", "search", {"q": "holidays"}), "Using docs: search…"),
    ],
    ids=["file_search", "code_interpreter", "image_generation", "mcp"],
)
async def test_each_tool_call_says_what_it_does_while_it_runs(
    mode: str,
    step: tools.Step,
    said: str,
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: Any,
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    fake_model.enqueue(tools.stream_with(step, tools.reasoning(), text="Here you are.", delay=0.07))
    message = await answered(bot, slack, fake_slack, "please help")

    assert message.visible == "Here you are."
    if mode == "update":
        shown = before_text(message, "Here you are.")
        assert any(f"_{said}_" in version for version in shown), message.history
    else:
        assert task_titles(message) == [said]
        assert [t["status"] for t in message.tasks.values()] == ["complete"]


async def test_several_tool_calls_are_one_card_each_and_the_message_lists_them(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: Any
) -> None:
    bot = await start_bot(BOT_STREAM_MODE="native")
    fake_model.enqueue(
        tools.stream_with(
            tools.mcp_list_tools("docs", "search"),
            tools.web_search("first"),
            tools.web_search("second"),
            text="Both found.",
            delay=0.03,
        )
    )
    message = await answered(bot, slack, fake_slack, "search twice")
    assert task_titles(message) == [
        "Listing docs's tools…",
        "Searching the web for “first”…",
        "Searching the web for “second”…",
    ]
    assert all(t["status"] == "complete" for t in message.tasks.values())


@MODES
async def test_in_the_assistant_panel_the_status_line_says_what_the_model_does(
    mode: str, start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: Any
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    started = assistant_thread_started(channel="D9")
    thread_ts = started["assistant_thread"]["thread_ts"]
    await slack.event(bot, started)
    await fake_slack.wait_for(
        lambda: (
            bool(fake_slack.calls_to("assistant.threads.setTitle"))
            or bool(fake_slack.calls_to("assistant.threads.setSuggestedPrompts"))
        )
    )
    fake_model.enqueue(
        tools.stream_with(
            tools.reasoning(THOUGHT),
            tools.web_search("station map"),
            text=ANSWER,
            delay=0.1,
        )
    )
    await slack.event(bot, dm("how do I get to the station?", channel="D9", thread_ts=thread_ts))
    shown = await answer_in(bot, fake_slack, "D9", thread_ts, count=2)

    assert shown[-1].visible == ANSWER
    statuses = [c.args["status"] for c in fake_slack.calls_to("assistant.threads.setStatus")]
    assert statuses[0] == "is thinking…" and statuses[-1] == ""
    assert "Thinking: Checking the map" in statuses
    assert "Searching the web for “station map”…" in statuses
    assert all(len(status) <= 100 for status in statuses)
    # The status gives way to the answer: cleared before the answer is posted (or its
    # stream started), and no task cards in the panel: the status line says it all.
    cleared = fake_slack.calls_to("assistant.threads.setStatus")[-1]
    opening = "chat.postMessage" if mode == "update" else "chat.startStream"
    post = [c for c in fake_slack.calls if c.method == opening][-1]
    assert fake_slack.calls.index(cleared) < fake_slack.calls.index(post)
    assert shown[-1].tasks == {}


async def test_reasoning_tokens_are_kept_and_shown_by_usage(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_model.enqueue(
        tools.stream_with(tools.reasoning(THOUGHT), text=ANSWER, reasoning_tokens=1408)
    )
    await answered(bot, slack, fake_slack, "how do I get to the station?")
    await usage(bot.settings)
    out = capsys.readouterr().out
    assert "reasoning tokens in threads (all time): 1,408" in out
    assert "turns in threads (all time): 1" in out


async def test_the_console_says_what_the_model_does_before_the_text(
    fake_model: Any, tmp_path: Path
) -> None:
    fake_model.enqueue(
        tools.stream_with(tools.reasoning(THOUGHT), tools.web_search("station"), text=ANSWER)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_"))}
    env.update(
        PYTHONPATH=str(REPO),
        OPENAI_API_KEY="sk-test-key",
        OPENAI_BASE_URL=fake_model.url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/console.db",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "console", cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(b"where is the station?\n\n"), 60)
    assert (
        "bot> (Thinking: Checking the map) (Searching the web…) "
        f"(Searching the web for “station”…) {ANSWER}"
    ) in out.decode()


async def test_a_call_cut_short_by_a_failure_is_marked_as_an_error(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: Any
) -> None:
    bot = await start_bot(BOT_STREAM_MODE="native")

    def make(ev: Events) -> list[dict[str, Any]]:
        searching, _ = tools.web_search("flaky")(0)
        return [*ev.opening()[:2], *searching[:3], ev.failed("server_error", "boom")]

    fake_model.enqueue(stream_of(make, delay=0.1))
    event = mention("<@UBOT> search something flaky")
    await slack.event(bot, event)
    await fake_slack.wait_for(
        lambda: bool(fake_slack.calls_to("chat.stopStream")), what="the end of the stream"
    )
    await bot.idle()
    [message] = fake_slack.thread_messages("C1", event["ts"])
    [card] = message.tasks.values()
    assert (card["title"], card["status"]) == ("Searching the web…", "error")
    assert "Something went wrong on the model's side (server_error)" in message.visible
