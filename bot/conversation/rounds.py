"""Rounds of tool calls within one answer: what the core asks between two responses.

A response that ends with function calls is followed by a request chained on it
(`previous_response_id`) whose input is the calls' outputs, with the same
parameters and no new user message; the answer goes on streaming into the same
Slack message, the text of every round joined. Each round is counted against
BOT_MAX_TOOL_ROUNDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.conversation.parameters import Parameters
from bot.conversation.turn import Turn
from bot.responses.asks import ApprovalRequest, FunctionCall
from bot.responses.events import Usage
from bot.responses.reducer import Answer, Ending
from bot.tools.asker import Asker, NoTimeZones, TimeZones
from bot.tools.functions import Functions

log = logging.getLogger(__name__)

# The text of earlier rounds, kept before this round's parts (their keys start at 0).
EARLIER = (-1, 0)
RESTARTED = (
    "Error: the bot was restarted while this function ran, so its result is unknown. "
    "Do not assume it ran; say so if it matters."
)


def carried(answer: Answer) -> Answer:
    """The start of the next round: the text so far, as one part before the next round's."""
    text = answer.text
    return Answer(parts=((EARLIER, text),) if text else ())


def function_calls(answer: Answer) -> tuple[FunctionCall, ...]:
    """The calls a completed response ends with (none for any other ending)."""
    if answer.ending is not Ending.COMPLETED:
        return ()
    return tuple(a for a in answer.asks if isinstance(a, FunctionCall))


def approval_requests(answer: Answer) -> tuple[ApprovalRequest, ...]:
    if answer.ending is not Ending.COMPLETED:
        return ()
    return tuple(a for a in answer.asks if isinstance(a, ApprovalRequest))


def with_usage(kept: Any, usage: Usage | None) -> Usage | None:
    """The tokens of earlier rounds (`kept`, as JSON) and of this response, together."""
    if not isinstance(kept, dict):
        return usage
    try:
        earlier = Usage(**kept)
    except TypeError:
        return usage
    if usage is None:
        return earlier
    return Usage(
        input_tokens=earlier.input_tokens + usage.input_tokens,
        output_tokens=earlier.output_tokens + usage.output_tokens,
        total_tokens=earlier.total_tokens + usage.total_tokens,
        reasoning_tokens=earlier.reasoning_tokens + usage.reasoning_tokens,
    )


def output_item(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def followup_request(
    parameters: Parameters,
    previous_response_id: str,
    items: Sequence[dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A request that goes on from `previous_response_id` with `items` as its input."""
    body: dict[str, Any] = {
        **parameters.fields(),
        "input": list(items),
        "store": True,
        "previous_response_id": previous_response_id,
    }
    body.update(extra or {})
    return body


@dataclass(frozen=True)
class Tools:
    """What an answer may use between rounds: the team's functions, and who asks."""

    functions: Functions
    max_rounds: int = 8
    time_zones: TimeZones = NoTimeZones()

    async def asker(self, turn: Turn) -> Asker:
        try:
            zone = await self.time_zones.time_zone(turn.team_id, turn.user_id)
        except Exception as error:  # a function still runs, with the time zone unknown
            log.info("could not read the asker's time zone (%s)", type(error).__name__)
            zone = ""
        return Asker(turn.user_id, turn.team_id, turn.channel_id, zone)

    async def outputs(self, calls: Sequence[FunctionCall], turn: Turn) -> list[dict[str, Any]]:
        """Run the calls at once; their outputs as input items."""
        if self.functions.wants_asker(calls):
            asker = await self.asker(turn)
        else:
            asker = Asker(turn.user_id, turn.team_id, turn.channel_id)
        results = await self.functions.run(calls, asker)
        return [output_item(c.call_id, r) for c, r in zip(calls, results, strict=True)]

    async def outputs_unless_stopped(
        self, calls: Sequence[FunctionCall], turn: Turn, stop: asyncio.Event
    ) -> list[dict[str, Any]] | None:
        """The outputs, or None when Stop is pressed first (the calls are cancelled)."""
        running = asyncio.create_task(self.outputs(calls, turn))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not running.done():
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await running
        if running.cancelled():
            return None
        return running.result()


def restarted_outputs(calls: Sequence[FunctionCall]) -> list[dict[str, Any]]:
    """Outputs for calls that were under way when the bot stopped: never run twice."""
    return [output_item(c.call_id, RESTARTED) for c in calls]
