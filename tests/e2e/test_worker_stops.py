"""Stop across workers when the connection that carries it drops, or nobody can act on it.

Runs when TEST_DATABASE_URL names a PostgreSQL database (CI sets it).
"""

from __future__ import annotations

import asyncio
import signal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.conftest import StartBot, StartProcess
from tests.e2e.conversation import answer_in
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.e2e.presses import STOP, ephemerals_to, press
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack
from tests.support.postgres import needs_postgres

pytestmark = needs_postgres

# The sessions that LISTEN for Stops in this test's database: the bot names its own
# once it listens; a bare LISTEN is how one looks otherwise.
LISTENING = (
    "datname = current_database() AND pid <> pg_backend_pid() "
    "AND (application_name = 'bot-listen' OR query ILIKE 'LISTEN%')"
)


async def terminate_listeners(url: str) -> set[int]:
    """Ends every LISTEN session of the database, as a failover or an idle timeout would."""
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(f"SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE {LISTENING}")
        )
        killed = {int(pid) for pid, _ in rows}
    await engine.dispose()
    return killed


async def wait_for_listeners(url: str, count: int, not_among: set[int]) -> None:
    """Wait until `count` sessions (none of `not_among`) listen again, ready for Stops."""
    engine = create_async_engine(url)
    deadline = asyncio.get_running_loop().time() + 10
    try:
        async with engine.connect() as conn:
            while True:
                rows = await conn.execute(
                    text(f"SELECT pid FROM pg_stat_activity WHERE {LISTENING} AND state = 'idle'")
                )
                await conn.commit()  # a transaction sees one snapshot of pg_stat_activity
                if len({int(pid) for (pid,) in rows} - not_among) >= count:
                    return
                assert asyncio.get_running_loop().time() < deadline, "nobody listens again"
                await asyncio.sleep(0.05)  # polling the database's own view, not a fixed wait
    finally:
        await engine.dispose()


def a_long_story(fake_model: FakeModel) -> str:
    words = [f"w{i} " for i in range(40)]
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.3))  # 12 s unless stopped
    return "w39"


async def test_stop_reaches_another_worker_after_its_listen_connection_dropped(
    database: str,
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    streaming_here = await start_bot(DATABASE_URL=database)
    pressed_there = await start_bot(DATABASE_URL=database)
    last_word = a_long_story(fake_model)
    top = mention("<@UBOT> a long story please")
    await slack.event(streaming_here, top)
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", top["ts"]), what="the first words"
    )
    killed = await terminate_listeners(database)
    assert len(killed) == 2  # one LISTEN session per worker
    await wait_for_listeners(database, 2, not_among=killed)

    [message] = fake_slack.thread_messages("C1", top["ts"])
    await press(pressed_there, slack, message, STOP, user="U1")
    [final] = await answer_in(streaming_here, fake_slack, "C1", top["ts"])
    assert final.visible.endswith("_Stopped by <@U1>._")
    assert last_word not in final.visible
    await pressed_there.idle()
    assert ephemerals_to(fake_slack, "U1") == []  # it was stopped: nothing more to say


async def test_a_stop_that_cannot_reach_its_answer_tells_the_presser(
    database: str,
    start_bot: StartBot,
    bot_process: StartProcess,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    # A long lease: nobody takes the answer over while the test runs.
    settings = {"DATABASE_URL": database, "BOT_ANSWER_LEASE": "120"}
    gone = await bot_process(**settings)
    pressed_here = await start_bot(**settings)
    a_long_story(fake_model)
    top = mention("<@UBOT> a long story please")
    await slack.event(gone, top)
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", top["ts"]), what="the first words"
    )
    await gone.signal(signal.SIGKILL)  # the worker streaming it can no longer hear a Stop

    [message] = fake_slack.thread_messages("C1", top["ts"])
    await press(pressed_here, slack, message, STOP, user="U1")
    await fake_slack.wait_for(
        lambda: bool(ephemerals_to(fake_slack, "U1")), what="the presser is told"
    )
    [told] = ephemerals_to(fake_slack, "U1")
    assert "couldn't stop" in told.lower()
