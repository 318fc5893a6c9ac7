"""The database's share of one short answer: transactions, statements and CPU.

    python -m bench.store_per_answer [--answers 2000] [--at-once 50] [--url URL]

Runs, for each of `--answers` answers (`--at-once` of them at a time, each in a
thread, channel and workspace of its own, as `bench.ack_and_answers` sends them),
the store calls one short answer makes in the bot, in the bot's order:

    accept (the message claimed, its turn kept) · begin (the thread's state, and the
    channel's settings) · the response id kept · the first text kept · done (the turn
    recorded with its tokens counted, the answer forgotten)

and reports the transactions and statements per answer (counted with SQLAlchemy
events) and this process's CPU per answer (every thread's; SQLite by default, on a
temporary file; `--url` for PostgreSQL). The bot's own figure, with Slack and the
model, is `bench.ack_and_answers`'s "bot CPU ms/answer".
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from bot.__main__ import run_loop
from bot.conversation.budgets import DailyBudgets
from bot.conversation.channel_settings import ChannelSettings
from bot.conversation.parameters import Parameters
from bot.conversation.turn import Turn
from bot.responses.events import Usage
from bot.store import Store, TurnRecord
from bot.store.channel_settings import ChannelSettingsStore
from bot.store.usage import UsageStore

WARMUP = 50


@dataclass
class Counts:
    transactions: int = 0
    statements: int = 0


def count(store: Store) -> Counts:
    """Transactions and statements from now on, as the database's engine sees them."""
    counts = Counts()

    def began(_conn: Any) -> None:
        counts.transactions += 1

    def executed(*_args: Any) -> None:
        counts.statements += 1

    event.listen(store.engine, "begin", began)
    event.listen(store.engine, "before_cursor_execute", executed)
    return counts


async def one_answer(
    store: Store, budgets: DailyBudgets, settings: ChannelSettings, index: int
) -> None:
    live = store.live("bench")
    turn = Turn(f"T{index}", f"C{index}", f"{index}.1", "U1", f"{index}.1", "question")
    route = {"mode": "update", "channel": turn.channel_id}
    assert await live.accept(turn.key, *turn.thread, {"turn": {"text": turn.text}, "route": route})
    state = await live.begin(turn.key, settings.prepare(turn))  # the settings read with it
    assert state is not None
    await settings.admit(turn, Parameters(model="gpt-4.1", instructions=""))
    about = {"head": None, "heard": [], "model": "gpt-4.1", "background": True}
    await live.save(turn.key, f"resp_{index}", 0, {**about, "parts": [], "place": None})
    shown = {**about, "parts": [[[0, 0], "alpha bravo"]], "place": {"ts": f"{index}.2"}}
    await live.save(turn.key, f"resp_{index}", 3, shown)
    usage = Usage(input_tokens=20, output_tokens=20, total_tokens=40)
    counting = budgets.spent(turn, "gpt-4.1", usage)  # counted as the answer ends
    at = datetime.now(UTC)
    record = TurnRecord(
        team_id=turn.team_id,
        channel_id=turn.channel_id,
        thread_ts=turn.thread_ts,
        user_id=turn.user_id,
        message_ts=turn.message_ts,
        status="completed",
        response_id=f"resp_{index}",
        previous_response_id=None,
        started_at=at,
        finished_at=at,
        stored=True,
        answer_text="alpha bravo charlie delta",
        input_tokens=20,
        output_tokens=20,
        total_tokens=40,
    )
    assert await live.done(turn.key, record, counting)


async def run(url: str, answers: int, at_once: int) -> None:
    store = await Store.open(url)
    try:
        budgets = DailyBudgets(UsageStore(store))
        settings = ChannelSettings(ChannelSettingsStore(store))
        gate = asyncio.Semaphore(at_once)

        async def gated(index: int) -> None:
            async with gate:
                await one_answer(store, budgets, settings, index)

        await asyncio.gather(*(gated(i) for i in range(WARMUP)))
        counts = count(store)
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.gather(*(gated(i) for i in range(WARMUP, WARMUP + answers)))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    finally:
        await store.close()
    print(f"{answers} answers, {at_once} at once, {store.engine.dialect.name}:")
    print(f"  transactions per answer: {counts.transactions / answers:.1f}")
    print(f"  statements per answer:   {counts.statements / answers:.1f}")
    print(f"  CPU per answer:          {cpu * 1000 / answers:.3f} ms ({wall:.1f} s in all)")


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.store_per_answer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--at-once", type=int, default=50)
    parser.add_argument("--url", help="a database URL (default: SQLite on a temporary file)")
    args = parser.parse_args()
    if not 0 < args.answers <= 100_000 or not 0 < args.at_once <= 1000:
        parser.error("--answers must be in 1..100000 and --at-once in 1..1000")
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        url = args.url or f"sqlite+aiosqlite:///{tmp}/bot.db"
        run_loop(run(url, args.answers, args.at_once))
    return 0


if __name__ == "__main__":
    sys.exit(main())
