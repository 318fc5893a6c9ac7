"""Functions a team might write, for BOT_FUNCTIONS in the tests (imported by the bot)."""

from __future__ import annotations

import asyncio
from typing import Literal

from bot.tools import Asker, time_limit

# What the functions saw, for the tests to check (the bot runs in the test's process).
CALLS: list[tuple[str, dict[str, object]]] = []
RUNNING = asyncio.Event()  # set while `wait_for_ci` runs


def lookup_ticket(
    key: str, asker: Asker, detail: Literal["short", "full"] = "short"
) -> dict[str, str]:
    """Look up a ticket in the team's tracker.

    Args:
        key: The ticket's key, e.g. OPS-123.
        detail: How much to tell.
    """
    CALLS.append(("lookup_ticket", {"key": key, "detail": detail, "asker": asker}))
    return {"key": key, "status": "open", "owner": "<@U7>", "asked_by": asker.user_id}


async def deploy_count(service: str) -> int:
    """How many times a service was deployed today.

    Args:
        service: The service's name.
    """
    CALLS.append(("deploy_count", {"service": service}))
    return 3


# Token-shaped, made here so no literal token sits in the repository: the bot must mask it.
LEAKED = "-".join(("xoxb", "123456789012", "secret"))


def explode(reason: str) -> str:
    """Always fails.

    Args:
        reason: Why.
    """
    raise RuntimeError(f"the tracker is down ({reason}); token {LEAKED}")


@time_limit(0.5)
async def too_slow() -> str:
    """Never answers in time."""
    await asyncio.sleep(30)
    return "late"


async def wait_for_ci() -> str:
    """Waits for the CI for a long time."""
    CALLS.append(("wait_for_ci", {}))
    RUNNING.set()
    try:
        await asyncio.sleep(30)
    finally:
        RUNNING.clear()
    return "green"
