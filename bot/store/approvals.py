"""MCP tool calls waiting for the asker's Approve / Deny, as the database keeps them.

A row per response that asked, written before its buttons are shown, so a pending
approval outlives a restart of the bot and can be decided on any worker. Deciding
is compare-and-set: of two presses (or two workers), one wins; it also checks that
the thread's conversation is still at the response that asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update

from bot.store.store import Store, now, read_thread_state
from bot.store.tables import approvals

PENDING, APPROVED, DENIED, EXPIRED = "pending", "approved", "denied", "expired"
KEPT_AFTER = timedelta(days=1)  # a decided or expired row, for a late press to be told


@dataclass(frozen=True)
class ApprovalRow:
    key: str  # the id of the response that asked
    team_id: str
    channel_id: str
    thread_ts: str
    asker: str
    state: str
    about: dict[str, Any]
    place: dict[str, Any]
    expires_at: datetime


def _row(row: Any) -> ApprovalRow:
    expires = row.expires_at
    if expires.tzinfo is None:  # SQLite gives naive datetimes back
        expires = expires.replace(tzinfo=now().tzinfo)
    return ApprovalRow(
        key=str(row.key),
        team_id=str(row.team_id),
        channel_id=str(row.channel_id),
        thread_ts=str(row.thread_ts),
        asker=str(row.asker),
        state=str(row.state),
        about=json.loads(row.about),
        place=json.loads(row.place or "{}"),
        expires_at=expires,
    )


class ApprovalStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def keep(
        self,
        key: str,
        thread: tuple[str, str, str],
        asker: str,
        about: dict[str, Any],
        expires_in: timedelta,
    ) -> None:
        """A new pending approval (kept again unchanged if it is kept already)."""

        def work(conn: Connection) -> None:
            if conn.scalar(select(approvals.c.key).where(approvals.c.key == key)) is not None:
                return
            at = now()
            conn.execute(
                approvals.insert().values(
                    key=key,
                    team_id=thread[0],
                    channel_id=thread[1],
                    thread_ts=thread[2],
                    asker=asker,
                    state=PENDING,
                    about=json.dumps(about),
                    created_at=at,
                    expires_at=at + expires_in,
                )  # fmt: skip
            )

        await self._store.run(work)

    async def placed(self, key: str, place: dict[str, Any]) -> None:
        """Where its buttons are shown."""
        await self._store.run(
            lambda conn: conn.execute(
                update(approvals).where(approvals.c.key == key).values(place=json.dumps(place))
            )
        )

    async def get(self, key: str) -> ApprovalRow | None:
        def work(conn: Connection) -> ApprovalRow | None:
            row = conn.execute(select(approvals).where(approvals.c.key == key)).first()
            return None if row is None else _row(row)

        return await self._store.run(work)

    async def decide(self, key: str, state: str) -> tuple[ApprovalRow | None, bool]:
        """Move a pending, unexpired approval to `state` (approved, denied or expired),
        once. (the row as it is now, whether this call moved it); a row whose thread has
        moved on to another response is moved to expired instead."""

        def work(conn: Connection) -> tuple[ApprovalRow | None, bool]:
            found = conn.execute(select(approvals).where(approvals.c.key == key)).first()
            if found is None:
                return None, False
            row = _row(found)
            if row.state != PENDING:
                return row, False
            at = now()
            to = state
            if state != EXPIRED:
                head = read_thread_state(conn, row.team_id, row.channel_id, row.thread_ts)
                if row.expires_at <= at or head.chain_head != key:
                    to = EXPIRED
            moved = conn.execute(
                update(approvals)
                .where(approvals.c.key == key, approvals.c.state == PENDING)
                .values(state=to)
            ).rowcount
            return ApprovalRow(**{**row.__dict__, "state": to}), bool(moved)

        return await self._store.run(work)

    async def pending_in(self, thread: tuple[str, str, str]) -> list[ApprovalRow]:
        """The thread's pending approvals."""

        def work(conn: Connection) -> list[ApprovalRow]:
            rows = conn.execute(
                select(approvals).where(
                    approvals.c.team_id == thread[0],
                    approvals.c.channel_id == thread[1],
                    approvals.c.thread_ts == thread[2],
                    approvals.c.state == PENDING,
                )
            ).all()
            return [_row(r) for r in rows]

        return await self._store.run(work)

    async def due(self, limit: int = 50) -> list[ApprovalRow]:
        """Pending approvals past their time."""

        def work(conn: Connection) -> list[ApprovalRow]:
            rows = conn.execute(
                select(approvals)
                .where(approvals.c.state == PENDING, approvals.c.expires_at <= now())
                .order_by(approvals.c.expires_at)
                .limit(limit)
            ).all()
            return [_row(r) for r in rows]

        return await self._store.run(work)

    async def forget_old(self) -> int:
        """Drop rows decided or expired more than a day ago."""

        def work(conn: Connection) -> int:
            result = conn.execute(
                delete(approvals).where(
                    approvals.c.state != PENDING, approvals.c.expires_at < now() - KEPT_AFTER
                )
            )
            return int(result.rowcount or 0)

        return await self._store.run(work)
