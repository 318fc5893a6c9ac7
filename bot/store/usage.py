"""Tokens spent, per workspace, user, channel, model and UTC day.

Every model response adds its `usage` with one atomic upsert (`INSERT … ON CONFLICT DO
UPDATE SET n = n + excluded.n`), so any number of workers count into the same rows
without losing a response. Reads are sums over a day's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, func, select

from bot.store.store import Store, insert_into
from bot.store.tables import token_usage

_COUNTED = ("answers", "asks", "input_tokens", "output_tokens", "total_tokens")


@dataclass(frozen=True)
class Spent:
    """What one model response cost, and where."""

    team_id: str
    user_id: str
    channel_id: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    answers: int = 0  # 1 for a turn's first response: counts the turn
    asks: int = 0  # 1 for a /ask turn's first response


@dataclass(frozen=True)
class UsageRow:
    """A day's usage by one user in one channel with one model."""

    day: date
    team_id: str
    user_id: str
    channel_id: str
    model: str
    answers: int
    asks: int
    input_tokens: int
    output_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class WorkspaceDay:
    """A workspace's day: its totals, and each user's tokens (most first)."""

    answers: int = 0
    asks: int = 0
    total_tokens: int = 0
    by_user: tuple[tuple[str, int], ...] = ()


class UsageStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(self, spent: Spent, day: date) -> None:
        """Count one response against `day` (UTC)."""

        def work(conn: Connection) -> None:
            counted = {name: getattr(spent, name) for name in _COUNTED}
            insert = insert_into(conn, token_usage).values(
                team_id=spent.team_id,
                day=day,
                user_id=spent.user_id,
                channel_id=spent.channel_id,
                model=spent.model,
                **counted,
            )
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["team_id", "day", "user_id", "channel_id", "model"],
                    set_={name: token_usage.c[name] + insert.excluded[name] for name in _COUNTED},
                )
            )

        await self._store.run(work)

    async def spent_on(self, day: date, team_id: str, user_id: str) -> tuple[int, int]:
        """(the user's tokens, the whole workspace's tokens) on `day`: one query."""

        def work(conn: Connection) -> tuple[int, int]:
            mine = func.sum(token_usage.c.total_tokens).filter(token_usage.c.user_id == user_id)
            row = conn.execute(
                select(
                    func.coalesce(mine, 0), func.coalesce(func.sum(token_usage.c.total_tokens), 0)
                ).where(token_usage.c.team_id == team_id, token_usage.c.day == day)
            ).one()
            return int(row[0]), int(row[1])

        return await self._store.run(work)

    async def workspace_on(self, day: date, team_id: str) -> WorkspaceDay:
        def work(conn: Connection) -> WorkspaceDay:
            rows = conn.execute(
                select(
                    token_usage.c.user_id,
                    func.sum(token_usage.c.answers),
                    func.sum(token_usage.c.asks),
                    func.sum(token_usage.c.total_tokens),
                )
                .where(token_usage.c.team_id == team_id, token_usage.c.day == day)
                .group_by(token_usage.c.user_id)
            ).all()
            by_user = sorted(((str(r[0]), int(r[3])) for r in rows), key=lambda u: -u[1])
            return WorkspaceDay(
                answers=sum(int(r[1]) for r in rows),
                asks=sum(int(r[2]) for r in rows),
                total_tokens=sum(int(r[3]) for r in rows),
                by_user=tuple(by_user),
            )

        return await self._store.run(work)

    async def since(self, first_day: date) -> list[UsageRow]:
        """Every row from `first_day` on: newest day first, then most tokens first."""

        def work(conn: Connection) -> list[UsageRow]:
            c = token_usage.c
            rows = conn.execute(
                select(
                    c.day, c.team_id, c.user_id, c.channel_id, c.model, c.answers, c.asks,
                    c.input_tokens, c.output_tokens, c.total_tokens,
                )
                .where(c.day >= first_day)
                .order_by(c.day.desc(), c.total_tokens.desc(), c.user_id, c.channel_id, c.model)
            ).all()  # fmt: skip
            return [
                UsageRow(
                    day=r[0],
                    team_id=str(r[1]),
                    user_id=str(r[2]),
                    channel_id=str(r[3]),
                    model=str(r[4]),
                    answers=int(r[5]),
                    asks=int(r[6]),
                    input_tokens=int(r[7]),
                    output_tokens=int(r[8]),
                    total_tokens=int(r[9]),
                )  # fmt: skip
                for r in rows
            ]

        return await self._store.run(work)
