"""The Slack call ledger in the database says each worker's live answers when their number
changes, not with every call, and other workers still see every change (SQLite always,
PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot.store import Store
from bot.store.slack_calls import SlackCallLedger

TAKE = "T1:chat.update", 6, 60  # 6 calls a minute


async def test_live_answers_are_written_when_their_number_changes(store: Store) -> None:  # noqa: F811
    first, second = SlackCallLedger(store), SlackCallLedger(store)
    said: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "INSERT INTO slack_workers" in statement:
            said.append(statement)

    event.listen(store.engine, "before_cursor_execute", executed)
    try:
        for _ in range(3):  # three calls with three answers live: said once
            assert await first.take(*TAKE, team="T1", live=3, keep=0) == 0
        assert len(said) == 1
        # The other worker keeps a place for each of them: 3 used, 1 + 3 kept.
        assert await second.take(*TAKE, team="T1", live=1, keep=1) > 0
        # Their finals went out: the first worker has none live now, and says so.
        assert await first.take(*TAKE, team="T1", live=0, keep=0) == 0
        assert len(said) == 3  # the second worker's first call, and this change
    finally:
        event.remove(store.engine, "before_cursor_execute", executed)
    # 4 calls used of 6; the second keeps one for its own final only.
    assert await second.take(*TAKE, team="T1", live=1, keep=1) == 0
