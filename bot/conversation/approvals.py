"""Remote MCP tool calls that wait for the asker's Approve / Deny.

When a response ends with `mcp_approval_request` items, the answer so far is
finished with a notice, the approval is kept in the database (so it outlives a
restart, and any worker can take the press), and the surface shows Approve /
Deny buttons (an `ApprovalDesk`; Slack's only renders). Nothing holds a lease
while the asker thinks. The asker's choice starts a new answer in the same
thread, chained on the response that asked, whose input is the
`mcp_approval_response` (with the outputs of any function calls of that same
response): a turn of its own, with its own message, Stop button and lease, so it
is resumed like any other after a crash. Someone else's press is refused; an
approval nobody decides expires after `BOT_APPROVAL_MINUTES` (15 by default) with a notice
and its buttons removed; one whose thread has moved on to a newer response
expires when pressed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.conversation.turn import Turn
from bot.responses.asks import ApprovalRequest
from bot.store.approvals import APPROVED, DENIED, EXPIRED, ApprovalRow, ApprovalStore

log = logging.getLogger(__name__)

APPROVAL_TTL = timedelta(minutes=15)
SWEEP_SECONDS = 2.0  # how often approvals past their time are looked for

# What a press came to (Decided.outcome).
NOT_YOURS, GONE, ALREADY = "not_yours", "gone", "already"
WENT_ON = "went_on"  # expired because the thread's conversation went on without it


def approval_item(request_id: str, approve: bool) -> dict[str, Any]:
    return {"type": "mcp_approval_response", "approval_request_id": request_id, "approve": approve}


@dataclass(frozen=True)
class Waiting:
    """An answer that ended asking approval: what to send once the asker decides."""

    requests: tuple[ApprovalRequest, ...]
    items: list[dict[str, Any]] = field(default_factory=list)  # outputs of its function calls
    rounds: int = 0  # rounds of this answer so far, this one included


@dataclass(frozen=True)
class Approval:
    """A pending approval as the surface shows it."""

    key: str  # the id of the response that asked
    team_id: str
    channel_id: str
    thread_ts: str
    asker: str
    requests: tuple[ApprovalRequest, ...]
    minutes: int  # how long it waits


class ApprovalDesk(Protocol):
    async def ask(self, approval: Approval) -> dict[str, Any]:
        """Show the approval with its buttons; where it is shown (plain JSON), or {} when it
        could not be shown."""

    async def settle(
        self, approval: Approval, place: dict[str, Any], outcome: str, by: str
    ) -> None:
        """Replace the buttons with what came of them: approved, denied, expired (past its
        time) or went_on (the thread's conversation went on without it)."""


@dataclass(frozen=True)
class Decided:
    outcome: str  # approved, denied, expired, not_yours, gone, already
    asker: str = ""
    turn: Turn | None = None  # the answer that goes on, for approved and denied


def _approval(row: ApprovalRow, minutes: int) -> Approval:
    requests = tuple(ApprovalRequest(**r) for r in row.about.get("requests", []))
    return Approval(
        row.key, row.team_id, row.channel_id, row.thread_ts, row.asker, requests, minutes
    )


class Approvals:
    def __init__(
        self, store: ApprovalStore, desk: ApprovalDesk, ttl: timedelta = APPROVAL_TTL
    ) -> None:
        self._store = store
        self._desk = desk
        self._ttl = ttl

    @property
    def minutes(self) -> int:
        return max(1, round(self._ttl.total_seconds() / 60))

    async def keep(self, turn: Turn, response_id: str, waiting: Waiting) -> None:
        """Kept before the answer that asked lets go of its lease."""
        about = {
            "turn": turn.kept(),
            "requests": [asdict(r) for r in waiting.requests],
            "items": waiting.items,
            "rounds": waiting.rounds,
        }
        await self._store.keep(response_id, turn.thread, turn.user_id, about, self._ttl)

    async def show(self, turn: Turn, response_id: str, waiting: Waiting) -> None:
        """The buttons, in the thread; where they could not be shown, it expires at once."""
        approval = Approval(response_id, *turn.thread, turn.user_id, waiting.requests, self.minutes)
        try:
            place = await self._desk.ask(approval)
        except Exception as error:
            log.warning("could not show an approval (%s)", type(error).__name__)
            place = {}
        if place:
            await self._store.placed(response_id, place)
        else:
            await self._store.decide(response_id, EXPIRED)

    async def decide(self, key: str, user: str, approve: bool) -> Decided:
        """The press of `user` on the approval `key`."""
        row = await self._store.get(key)
        if row is None:
            return Decided(GONE)
        if user != row.asker:
            return Decided(NOT_YOURS, row.asker)
        row, moved = await self._store.decide(key, APPROVED if approve else DENIED)
        if row is None:
            return Decided(GONE)
        if not moved:
            return Decided(ALREADY if row.state != EXPIRED else EXPIRED, row.asker)
        if row.state == EXPIRED:  # past its time, or the thread went on without it
            late = row.expires_at <= datetime.now(UTC)
            await self._settle(row, "", EXPIRED if late else WENT_ON)
            return Decided(EXPIRED, row.asker)
        await self._settle(row, user)
        log.info("an approval was %s", row.state)
        return Decided(row.state, row.asker, self._going_on(row, approve))

    def _going_on(self, row: ApprovalRow, approve: bool) -> Turn:
        """The answer after the choice: a turn of its own, keyed by the buttons' message."""
        requests = row.about.get("requests", [])
        items = list(row.about.get("items") or [])
        items += [approval_item(r["id"], approve) for r in requests]
        turn = Turn(**row.about["turn"])
        return replace(
            turn,
            message_ts=str(row.place.get("ts") or row.key),
            text="",
            continues={
                "response_id": row.key,
                "input": items,
                "rounds": int(row.about.get("rounds") or 0),
            },
        )

    async def _settle(self, row: ApprovalRow, by: str, outcome: str = "") -> None:
        if not row.place:
            return
        try:
            approval = _approval(row, self.minutes)
            await self._desk.settle(approval, row.place, outcome or row.state, by)
        except Exception as error:  # the choice stands; the buttons stay until the next edit
            log.warning("could not update an approval's buttons (%s)", type(error).__name__)

    async def went_on(self, turn: Turn) -> None:
        """A newer answer in the thread moved its conversation past any approval still
        pending there: those expire now, their buttons removed."""
        for row in await self._store.pending_in(turn.thread):
            row_now, moved = await self._store.decide(row.key, EXPIRED)
            if moved and row_now is not None:
                await self._settle(row_now, "", WENT_ON)

    async def expire_due(self) -> int:
        """Expire the approvals past their time: buttons removed, with a notice."""
        expired = 0
        for row in await self._store.due():
            row_now, moved = await self._store.decide(row.key, EXPIRED)
            if moved and row_now is not None:
                expired += 1
                await self._settle(row_now, "")
        if expired:
            log.info("%d approval(s) expired", expired)
        return expired

    async def run(self, period: float = SWEEP_SECONDS) -> None:
        sweeps = 0
        while True:
            try:
                await self.expire_due()
                if sweeps % 1800 == 0:  # about hourly
                    await self._store.forget_old()
                sweeps += 1
            except Exception as error:  # the database may be briefly away; look again soon
                log.warning("looking for expired approvals failed: %s", type(error).__name__)
            await asyncio.sleep(period)
