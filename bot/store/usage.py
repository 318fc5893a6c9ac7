"""Tokens spent, per workspace, user, channel, model and UTC day.

Every model response adds its `usage` with one atomic upsert (`INSERT … ON CONFLICT DO
UPDATE SET n = n + excluded.n`), so any number of workers count into the same rows
without losing a response. Reads are sums over a day's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from bot.store.database import Work
from bot.store.statements import per_dialect
from bot.store.store import Store
from bot.store.tables import token_usage

_COUNTED = ("answers", "asks", "input_tokens", "output_tokens", "total_tokens")
_PLACE = ("team_id", "day", "user_id", "channel_id", "model")


def _upsert(insert: Any) -> Any:
    adding = insert(token_usage).values({name: bindparam(name) for name in _PLACE + _COUNTED})
    return adding.on_conflict_do_update(
        index_elements=list(_PLACE),
        set_={name: token_usage.c[name] + adding.excluded[name] for name in _COUNTED},
    )


_ADD = per_dialect(_upsert)  # built once per dialect (see statements.py)
_SPENT_ON = select(
    func.coalesce(
        func.sum(token_usage.c.total_tokens).filter(token_usage.c.user_id == bindparam("user")), 0
    ),
    func.coalesce(func.sum(token_usage.c.total_tokens), 0),
).where(token_usage.c.team_id == bindparam("team"), token_usage.c.day == bindparam("day"))


def adding(spent: Spent, day: date) -> Work[None]:
    """The write that counts one response against `day` (UTC), for any transaction."""
    values = {
        "team_id": spent.team_id,
        "day": day,
        "user_id": spent.user_id,
        "channel_id": spent.channel_id,
        "model": spent.model,
        **{name: getattr(spent, name) for name in _COUNTED},
    }

    def work(conn: Connection) -> None:
        conn.execute(_ADD(conn), values)

    return work


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

    def adding(self, spent: Spent, day: date) -> Work[None]:
        """The write that counts one response (see `adding`)."""
        return adding(spent, day)

    async def add(self, spent: Spent, day: date) -> None:
        """Count one response against `day` (UTC), in a transaction of its own."""
        await self._store.run(adding(spent, day))

    async def spent_on(self, day: date, team_id: str, user_id: str) -> tuple[int, int]:
        """(the user's tokens, the whole workspace's tokens) on `day`: one query."""
        return await self._store.run(self.spending(day, team_id, user_id))

    def spending(self, day: date, team_id: str, user_id: str) -> Work[tuple[int, int]]:
        """`spent_on`'s read, for any transaction."""

        def work(conn: Connection) -> tuple[int, int]:
            row = conn.execute(_SPENT_ON, {"user": user_id, "team": team_id, "day": day}).one()
            return int(row[0]), int(row[1])

        return work

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
