"""Several workers on one PostgreSQL database: one answer per message, turns of a thread
in order. Runs when TEST_DATABASE_URL names a PostgreSQL database (CI sets it)."""

from __future__ import annotations

import asyncio
import signal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.conftest import StartBot, StartProcess
from tests.e2e.conversation import answer_in
from tests.e2e.harness import SlackSender, new_event_id
from tests.e2e.payloads import mention
from tests.e2e.presses import STOP, ephemerals_to, press
from tests.fakes.responses_api import FakeModel, answer, split_words
from tests.fakes.slack_api import FakeSlack
from tests.support.postgres import end_other_connections, needs_postgres

pytestmark = needs_postgres


async def test_a_message_delivered_to_two_workers_is_answered_once(
    database: str,
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    first, second = await start_bot(DATABASE_URL=database), await start_bot(DATABASE_URL=database)
    fake_model.enqueue(answer("Only once.", chunks=split_words("Only once."), delay=0.1))
    event, event_id = mention("<@UBOT> hello workers"), new_event_id()
    replies = await asyncio.gather(
        slack.event(first, event, event_id=event_id),
        slack.event(second, event, event_id=event_id, retry_num=1),
    )
    assert [r.status for r in replies] == [200, 200]
    [shown] = await answer_in(first, fake_slack, "C1", event["ts"])
    await second.idle()
    assert shown.visible == "Only once."
    assert len(fake_model.requests) == 1
    assert len(fake_slack.thread_messages("C1", event["ts"])) == 1


async def test_turns_of_one_thread_on_two_workers_are_answered_in_order(
    database: str,
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    first, second = await start_bot(DATABASE_URL=database), await start_bot(DATABASE_URL=database)
    slow = answer("The first answer, slowly.", chunks=split_words("The first answer, slowly."),
                  delay=0.15)  # fmt: skip
    fake_model.enqueue(slow, answer("The second answer."))
    top = mention("<@UBOT> one")
    await slack.event(first, top)
    await fake_model.wait_for_requests(1)
    # The second turn reaches the other worker while the first is still streaming.
    await slack.event(second, mention("<@UBOT> two", thread_ts=top["ts"]))
    await answer_in(first, fake_slack, "C1", top["ts"])
    shown = await answer_in(second, fake_slack, "C1", top["ts"], count=2)

    assert [m.visible for m in shown] == ["The first answer, slowly.", "The second answer."]
    requests = fake_model.requests
    assert requests[1].json["previous_response_id"] == slow.response_id


async def test_stop_pressed_on_another_worker_stops_the_answer(
    database: str,
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    streaming_here, pressed_there = (
        await start_bot(DATABASE_URL=database),
        await start_bot(DATABASE_URL=database),
    )
    words = [f"w{i} " for i in range(40)]
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.3))  # 12 s unless stopped
    top = mention("<@UBOT> a long story please")
    await slack.event(streaming_here, top)
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", top["ts"]), what="the first words"
    )
    [message] = fake_slack.thread_messages("C1", top["ts"])
    await press(pressed_there, slack, message, STOP, user="U1")

    [final] = await answer_in(streaming_here, fake_slack, "C1", top["ts"])
    assert final.visible.endswith("_Stopped by <@U1>._")
    assert "w39" not in final.visible
    assert ephemerals_to(fake_slack, "U1") == []  # nobody was told it had finished

    # Once finished, a late press anywhere says so.
    await press(pressed_there, slack, fake_slack.message("C1", message.ts), STOP, user="U1",
                value=f'{{"turn": "T1:C1:{top["ts"]}", "asker": "U1"}}')  # fmt: skip
    await fake_slack.wait_for(lambda: bool(ephemerals_to(fake_slack, "U1")), what="the reply")
    assert ephemerals_to(fake_slack, "U1") == ["That answer has already finished."]


async def test_a_killed_worker_s_answer_is_taken_over_by_another_worker(
    database: str,
    start_bot: StartBot,
    bot_process: StartProcess,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    lease = {"DATABASE_URL": database, "BOT_ANSWER_LEASE": "1"}
    doomed = await bot_process(**lease)
    survivor = await start_bot(**lease)  # runs on, and looks for answers left behind
    parts = [f"w{i} " for i in range(30)]
    script = answer("".join(parts), chunks=parts, delay=0.1)
    fake_model.enqueue(script)
    top = mention("<@UBOT> a long one")
    await slack.event(doomed, top)
    await fake_slack.wait_for(lambda: "w1" in fake_slack.thread_text("C1", top["ts"]))
    await doomed.signal(signal.SIGKILL)

    [message] = fake_slack.thread_messages("C1", top["ts"])
    full = "".join(parts).strip()
    await fake_slack.wait_for(lambda: message.visible == full, 15, "the resumed answer")
    await survivor.idle()
    assert fake_slack.thread_messages("C1", top["ts"]) == [message]
    assert [r for r, _ in fake_model.resumed] == [script.response_id]
    assert len(fake_model.requests) == 1
    engine = create_async_engine(database)
    async with engine.connect() as conn:
        head = await conn.scalar(text("SELECT chain_head FROM threads"))
    await engine.dispose()
    assert head == script.response_id


async def test_dropped_connections_never_let_two_workers_answer_one_thread_at_once(
    database: str,
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    first, second = await start_bot(DATABASE_URL=database), await start_bot(DATABASE_URL=database)
    text_one = "The first answer, word by word, slowly."
    slow = answer(text_one, chunks=split_words(text_one), delay=0.2)
    fake_model.enqueue(slow, answer("The second answer."))
    top = mention("<@UBOT> one")
    await slack.event(first, top)
    await fake_slack.wait_for(lambda: "first" in fake_slack.thread_text("C1", top["ts"]))
    assert await end_other_connections(database) > 0  # mid-answer
    await slack.event(second, mention("<@UBOT> two", thread_ts=top["ts"]))
    shown = await answer_in(second, fake_slack, "C1", top["ts"], count=2, timeout=20)
    await first.idle()

    assert [m.visible for m in shown] == [text_one, "The second answer."]
    first_request, second_request = fake_model.requests
    # The second turn waited for the first, and chains onto it: the chain did not split.
    assert second_request.at > fake_model.runs[slow.response_id].ended_at
    assert second_request.json["previous_response_id"] == slow.response_id


async def test_streaming_answers_hold_no_database_connection(
    database: str,
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await start_bot(DATABASE_URL=database, BOT_DATABASE_CONNECTIONS=3)
    parts = [f"w{i} " for i in range(15)]
    full = "".join(parts).strip()
    fake_model.enqueue(*(answer("".join(parts), chunks=parts, delay=0.1) for _ in range(20)))
    # A channel each: Slack allows about one post a second per channel.
    tops = [mention(f"<@UBOT> question {n}", channel=f"C{n}") for n in range(20)]
    for top in tops:
        await slack.event(bot, top)

    engine = create_async_engine(database)
    seen: list[int] = []
    async with engine.connect() as conn:

        def streaming() -> int:
            return sum("w1" in fake_slack.thread_text(t["channel"], t["ts"]) for t in tops)

        await fake_slack.wait_for(lambda: streaming() >= 10, what="answers streaming")
        while streaming() < 20 or any(
            fake_slack.thread_text(t["channel"], t["ts"]) != full for t in tops
        ):  # sampled all through the answers, as they stream and finish
            count = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            seen.append(int(count or 0))
            await fake_slack.wait_for(lambda: True)  # let the bot run between samples
    await engine.dispose()
    await bot.idle()
    assert len(seen) > 5
    assert max(seen) <= 3 + 1  # the setting, and the one that listens for Stop
