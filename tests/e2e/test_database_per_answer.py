"""What one answer costs the database (SQLite): a handful of transactions, however many
deltas stream, with the turn recorded and its tokens counted in one of them; every
response of an answer counted once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from bot.store import Store
from bot.store.usage import UsageStore
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tool_streams import calls

TEAM = "tests.fakes.team_functions"
# Work on timers, not of any one answer: renewing leases, looking for answers to take
# over and for approvals due, forgetting old claims and heard text.
TIMERS = (
    "SET lease_until",
    "live_answers.lease_until <",
    "FROM approvals",
    "seen_messages.seen_at <",
    "heard_messages.at <",
    "turns.finished_at <",
)


def store_of(bot: BotHandle) -> Store:
    store = bot.bot._store
    assert isinstance(store, Store)
    return store


@contextlib.contextmanager
def transactions(store: Store) -> Iterator[list[list[str]]]:
    """The statements of each transaction the store runs meanwhile, but the timers'."""
    seen: list[list[str]] = []

    def began(_conn: Any) -> None:
        seen.append([])

    def executed(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen[-1].append(" ".join(statement.split()))

    event.listen(store.engine, "begin", began)
    event.listen(store.engine, "before_cursor_execute", executed)
    kept: list[list[str]] = []
    try:
        yield kept
    finally:
        event.remove(store.engine, "begin", began)
        event.remove(store.engine, "before_cursor_execute", executed)
    kept += [t for t in seen if t and not any(m in s for s in t for m in TIMERS)]


@pytest.mark.parametrize("budgets", [False, True])
# The answer's message appears while its words still come (as models stream), or only
# once they all came (a very quick answer): five either way.
@pytest.mark.parametrize("delay", [0.01, 0.0])
async def test_a_short_answer_takes_five_transactions_however_many_deltas_stream(
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    budgets: bool,
    delay: float,
) -> None:
    limits = {"BOT_USER_DAILY_TOKENS": 1_000_000} if budgets else {}
    bot = await start_bot(BOT_STREAM_MODE="update", BOT_UPDATE_INTERVAL=5.0, **limits)
    words = [f"word{n} " for n in range(40)]
    for channel in ("C1", "C2"):
        fake_model.enqueue(answer("".join(words), chunks=words, delay=delay))
        top = mention("<@UBOT> tell me", channel=channel)
        with transactions(store_of(bot)) as kept:
            await slack.event(bot, top)
            [message] = await answer_in(bot, fake_slack, channel, top["ts"])
        assert message.visible.startswith("word0 word1")
        # Accepted (claimed with its turn) · started (the thread's state, the channel's
        # settings and, with budgets, the day's tokens) · the response id kept · the
        # first text kept with where its message is · done: the turn recorded, its
        # tokens counted, the answer forgotten. Never one per delta.
        assert len(kept) <= 5, kept
        assert sum(len(t) for t in kept) <= 10 + budgets, kept
        [start] = [t for t in kept if any("FROM channel_settings" in s for s in t)]
        assert any("threads.chain_head" in s for s in start)
        assert any("FROM token_usage" in s for s in start) == budgets
        [ending] = [t for t in kept if any("INSERT INTO turns" in s for s in t)]
        assert any("INSERT INTO token_usage" in s for s in ending)
        assert any("DELETE FROM live_answers" in s for s in ending)
        assert not any("INSERT INTO token_usage" in s for t in kept if t is not ending for s in t)


async def test_every_response_of_an_answer_is_counted_once_with_one_answer(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_FUNCTIONS=f"{TEAM}:deploy_count")
    fake_model.enqueue(
        calls(("deploy_count", {"service": "api"}), text="Checking."),
        answer("api shipped 3 times today."),
    )
    top = mention("<@UBOT> how many deploys?")
    await slack.event(bot, top)
    await answer_in(bot, fake_slack, "C1", top["ts"])
    first, second = [r.json for r in await fake_model.wait_for_requests(2)]
    assert second["previous_response_id"]

    [row] = await UsageStore(store_of(bot)).since(datetime.now(UTC).date())
    assert (row.team_id, row.user_id, row.channel_id) == ("T1", "U1", "C1")
    assert row.answers == 1  # one turn, two responses
    totals = await store_of(bot).usage_totals()  # the turn's record: both responses
    assert row.output_tokens == totals["output_tokens"] > 0
    assert row.input_tokens == totals["input_tokens"] > 0
