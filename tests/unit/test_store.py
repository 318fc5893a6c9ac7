"""The store on a real database: migrations from empty, chain heads, exactly-once claims.

Runs on SQLite always, and on PostgreSQL when TEST_DATABASE_URL is set (CI sets it).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import Store, TurnRecord
from bot.store.database import connect
from bot.store.store import HeardMessage, migrate, now
from tests.support.postgres import empty_database, needs_postgres, pg_url

PG_URL = pg_url()


async def reset_postgres(url: str) -> None:
    await empty_database(url)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=needs_postgres,
        ),
    ]
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/store.db"
        return
    await reset_postgres(PG_URL)
    yield PG_URL
    await reset_postgres(PG_URL)


HEAD = "0006o"


def turn(response_id: str | None, *, stored: bool, ts: str = "1.1", status: str = "completed"):
    at = now()
    return TurnRecord(
        team_id="T1", channel_id="C1", thread_ts="1.1", user_id="U1", message_ts=ts,
        status=status, response_id=response_id, previous_response_id=None,
        started_at=at, finished_at=at, stored=stored, input_tokens=10, output_tokens=5,
        total_tokens=15,
    )  # fmt: skip


async def test_migrations_apply_from_empty_and_again(database_url: str) -> None:
    store = await Store.open(database_url)
    assert await store.revision() == HEAD
    await store.close()
    store = await Store.open(database_url)  # idempotent on restart
    assert await store.revision() == HEAD
    await store.close()


async def test_the_chain_head_moves_only_to_stored_responses(database_url: str) -> None:
    store = await Store.open(database_url)
    assert await store.chain_head("T1", "C1", "1.1") is None
    await store.record_turn(turn("resp_1", stored=True))
    await store.record_turn(turn("resp_2", stored=False, ts="1.2", status="failed"))
    assert await store.chain_head("T1", "C1", "1.1") == "resp_1"
    await store.record_turn(turn("resp_3", stored=True, ts="1.3", status="incomplete"))
    assert await store.chain_head("T1", "C1", "1.1") == "resp_3"
    assert await store.usage_totals() == {
        "turns": 3,
        "input_tokens": 30,
        "output_tokens": 15,
        "reasoning_tokens": 0,
    }
    await store.close()


async def test_the_chain_survives_reopening(database_url: str) -> None:
    store = await Store.open(database_url)
    await store.record_turn(turn("resp_1", stored=True))
    await store.close()
    store = await Store.open(database_url)
    assert await store.chain_head("T1", "C1", "1.1") == "resp_1"
    await store.close()


async def test_a_message_is_claimed_once_even_by_racing_workers(database_url: str) -> None:
    stores = [await Store.open(database_url) for _ in range(3)]
    key = f"T1:C1:{uuid.uuid4()}"
    claims = (s.live().accept(key, "T1", "C1", "1.1", {}) for s in stores for _ in range(3))
    results = await asyncio.gather(*claims)
    assert sorted(results) == [False] * 8 + [True]
    for store in stores:
        await store.close()


async def test_old_claims_are_forgotten(database_url: str) -> None:
    store = await Store.open(database_url)
    live = store.live()
    assert await live.accept("old", "T1", "C1", "1.1", {})
    assert not await live.accept("old", "T1", "C1", "1.1", {})
    await live.drop("old")
    assert await store.forget_seen(timedelta(seconds=-1)) == 1  # everything is "older"
    assert await live.accept("old", "T1", "C1", "1.1", {})
    await store.close()


async def test_an_answer_whose_lease_ran_out_is_taken_over_by_one_worker(
    database_url: str,
) -> None:
    stores = [await Store.open(database_url) for _ in range(3)]
    first, *others = [s.live(f"w{i}", timedelta(seconds=30)) for i, s in enumerate(stores)]
    assert await first.accept("k1", "T1", "C1", "1.1", {"turn": {"text": "hi"}})
    assert await first.begin("k1") is not None
    assert await first.save("k1", "resp_1", 7, {"parts": [[[0, 0], "Hel"]]})
    assert [await o.take_over() for o in others] == [[], []]  # the lease holds
    assert await first.renew({"k1"}) == 1

    await first.release()  # as at a stop, or as when the lease runs out
    taken = await asyncio.gather(*(o.take_over() for o in others for _ in range(3)))
    [row] = [row for rows in taken for row in rows]
    assert (row.key, row.state, row.response_id, row.sequence) == ("k1", "answering", "resp_1", 7)
    assert row.progress == {"parts": [[[0, 0], "Hel"]]} and row.turn == {"turn": {"text": "hi"}}
    # The old holder no longer writes its progress; the new one does.
    assert not await first.save("k1", "resp_1", 9, {})
    taker = others[0] if await others[0].save("k1", "resp_1", 9, {}) else others[1]
    assert await taker.save("k1", "resp_1", 9, {})
    assert await taker.done("k1")
    assert await taker.pending() == 0
    for store in stores:
        await store.close()


async def test_an_old_database_is_migrated_forward(database_url: str) -> None:
    database = connect(database_url, connections=1)
    await database.transaction(lambda conn: migrate.upgrade(conn, "0001"))
    assert await database.transaction(migrate.current) == "0001"
    await database.close()
    store = await Store.open(database_url)
    assert await store.revision() == HEAD
    await store.close()


async def test_feedback_is_one_vote_per_person_and_totals_add_up(database_url: str) -> None:
    store = await Store.open(database_url)
    place = {"team_id": "T1", "channel_id": "C1", "message_ts": "2.0"}
    await store.record_feedback(response_id="resp_1", user_id="U1", vote="up", **place)
    await store.record_feedback(response_id="resp_1", user_id="U1", vote="down", **place)
    await store.record_feedback(response_id="resp_1", user_id="U2", vote="up", **place)
    assert await store.feedback_totals() == {"up": 1, "down": 1}
    await store.close()


async def test_assistant_threads_keep_the_viewed_channel_and_title(database_url: str) -> None:
    store = await Store.open(database_url)
    assert await store.assistant_thread("T1", "D1", "5.0") is None
    await store.assistant_thread_started("T1", "D1", "5.0", "C9")
    assert await store.assistant_thread("T1", "D1", "5.0") == ("C9", False)
    await store.assistant_viewing("T1", "D1", "5.0", "C10")
    await store.assistant_titled("T1", "D1", "5.0")
    assert await store.assistant_thread("T1", "D1", "5.0") == ("C10", True)
    # Another workspace's thread at the same place is another thread.
    assert await store.assistant_thread("T2", "D1", "5.0") is None
    await store.close()


async def test_heard_messages_stay_until_a_stored_turn_took_them_in(database_url: str) -> None:
    store = await Store.open(database_url)
    assert not await store.takes_part("T1", "C1", "1.1")
    await store.record_turn(turn("resp_1", stored=True))
    assert await store.takes_part("T1", "C1", "1.1")
    await store.hear("T1", "C1", "1.1", "U2", "1.30", "second")
    await store.hear("T1", "C1", "1.1", "U3", "1.20", "first")
    await store.hear("T1", "C1", "1.1", "U3", "1.20", "first")  # redelivered: kept once
    await store.hear("T1", "C1", "1.1", "U4", "1.90", "after the mention")

    def said(heard: list[HeardMessage]) -> list[tuple[str, str]]:
        return [(h.user_id, h.text) for h in heard]

    heard = await store.heard_before("T1", "C1", "1.1", before_ts="1.50")
    assert said(heard) == [("U3", "first"), ("U2", "second")]
    ids = tuple(h.id for h in heard)
    # A failed turn that sent them along keeps them for the next one…
    await store.record_turn(replace(turn(None, stored=False, ts="1.50"), heard_ids=ids))
    assert said(await store.heard_before("T1", "C1", "1.1", before_ts="1.50")) == said(heard)
    # …a stored one drops them.
    await store.record_turn(replace(turn("resp_2", stored=True, ts="1.51"), heard_ids=ids))
    assert await store.heard_before("T1", "C1", "1.1", before_ts="1.50") == []
    assert said(await store.heard_before("T1", "C1", "1.1", before_ts="2.00")) == [
        ("U4", "after the mention")
    ]
    assert await store.forget_heard(timedelta(days=7)) == 0
    assert await store.forget_heard(timedelta(seconds=-1)) == 1  # everything is "older"
    assert await store.heard_before("T1", "C1", "1.1", before_ts="9.00") == []
    await store.close()


async def test_turns_of_one_thread_go_in_the_order_they_were_accepted(
    database_url: str,
) -> None:
    store, other = await Store.open(database_url), await Store.open(database_url)
    one, two = store.live("w1"), other.live("w2")
    assert await one.accept("k1", "T1", "C1", "1.1", {})
    assert await two.accept("k2", "T1", "C1", "1.1", {})
    assert await two.accept("k3", "T1", "C1", "9.9", {})  # another thread
    assert await one.next_in_thread("k1")
    assert not await two.next_in_thread("k2")  # k1 first, whichever worker holds it
    assert await two.next_in_thread("k3")  # another thread is not held up
    assert await one.begin("k1") is not None
    assert not await two.next_in_thread("k2")  # …while k1 is answered
    assert not await two.done("k1")  # not its answer: nothing of it is kept
    # Its final write failed: kept for later, and k2 may go (the chain has moved).
    assert await one.left("k1", None, {"final": {"text": "done"}}, timedelta(seconds=30)) == 1
    assert await two.next_in_thread("k2")
    for each in (store, other):
        await each.close()


async def test_a_thread_counts_from_its_first_accepted_turn_and_heard_text_follows_edits(
    database_url: str,
) -> None:
    store = await Store.open(database_url)
    live = store.live("worker-1")
    assert not await store.takes_part("T1", "C1", "7.0")
    assert await live.accept("T1:C1:7.0", "T1", "C1", "7.0", {"turn": {}})
    assert await store.takes_part("T1", "C1", "7.0")  # its first answer is under way
    assert not await store.takes_part("T1", "C1", "8.0")
    await store.hear("T1", "C1", "7.0", "U2", "7.1", "the prod password is hunter2")
    await store.hear("T1", "C1", "7.0", "U3", "7.2", "Deploy at 5.")
    assert await store.revise_heard("T1", "C1", "7.1", None) == 1  # deleted
    assert await store.revise_heard("T1", "C1", "7.2", "Deploy at 6.") == 1  # edited
    assert await store.revise_heard("T1", "C9", "7.2", None) == 0  # another channel's
    heard = await store.heard_before("T1", "C1", "7.0", before_ts="9.0")
    assert [(h.user_id, h.text, h.ts) for h in heard] == [("U3", "Deploy at 6.", "7.2")]
    await store.close()


async def test_a_heard_message_keeps_the_references_to_its_files(database_url: str) -> None:
    store = await Store.open(database_url)
    shot = {"id": "F1", "name": "a.png", "mimetype": "image/png", "filetype": "png",
            "size": 3, "url": "https://files.slack.com/files-pri/T1-F1/download/a.png"}  # fmt: skip
    await store.hear("T1", "C1", "7.0", "U2", "7.1", "", [shot])
    await store.hear("T1", "C1", "7.0", "U3", "7.2", "no files")
    heard = await store.heard_before("T1", "C1", "7.0", before_ts="9.0")
    assert [(h.text, h.files) for h in heard] == [("", (shot,)), ("no files", ())]
    await store.close()


async def test_answers_are_kept_whole_with_their_turns_for_a_while(database_url: str) -> None:
    store = await Store.open(database_url)
    await store.record_turn(replace(turn("resp_1", stored=True), answer_text="First, whole."))
    await store.record_turn(replace(turn(None, stored=False, ts="1.2"), answer_text=None))
    await store.record_turn(replace(turn("resp_3", stored=True, ts="1.3"), answer_text="Third."))
    assert await store.answers_in("T1", "C1", "1.1") == ["First, whole.", "Third."]
    assert await store.answers_in("T1", "C1", "9.9") == []
    await store.forget_heard(timedelta(days=7))
    assert await store.answers_in("T1", "C1", "1.1") == ["First, whole.", "Third."]
    month_ago = now() - timedelta(days=31)
    old = replace(turn("resp_0", stored=False, ts="1.0"), answer_text="Old.")
    await store.record_turn(replace(old, started_at=month_ago, finished_at=month_ago))
    assert await store.answers_in("T1", "C1", "1.1") == ["First, whole.", "Third.", "Old."]
    await store.forget_heard(timedelta(days=7))  # the hourly clean-up: old answers go too
    assert await store.answers_in("T1", "C1", "1.1") == ["First, whole.", "Third."]
    await store.close()
