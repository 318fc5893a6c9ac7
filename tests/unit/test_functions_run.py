"""Running the team's functions: at once, with timeouts, and always with text for the model."""

from __future__ import annotations

import asyncio
import enum
import threading

from bot.responses.asks import FunctionCall
from bot.tools import Asker, time_limit
from bot.tools.functions import MAX_OUTPUT_CHARS, Function, Functions, as_output
from bot.tools.schema import function_spec

ASKER = Asker("U1", "T1", "C1", "Europe/Paris")
barrier = asyncio.Event()


@time_limit(2)
async def waits_for_the_other() -> str:
    """Finishes only if `opens_the_door` runs at the same time."""
    await barrier.wait()
    return "through"


async def opens_the_door() -> str:
    """Lets the other one through."""
    barrier.set()
    return "opened"


def in_a_thread(asker: Asker) -> str:
    """Runs in a worker thread, told who asks."""
    return f"{threading.current_thread() is not threading.main_thread()} {asker.time_zone}"


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


def sized(size: Size, count: int = 2) -> dict[str, object]:
    """Takes an enum."""
    return {"size": size.name, "count": count}


def functions(*defined: object) -> Functions:
    return Functions({f.__name__: Function(function_spec(f), f) for f in defined})  # type: ignore[attr-defined,arg-type]


async def test_calls_run_at_once() -> None:
    barrier.clear()
    team = functions(waits_for_the_other, opens_the_door)
    calls = [
        FunctionCall("a", "waits_for_the_other", "{}"),
        FunctionCall("b", "opens_the_door", ""),
    ]
    assert await team.run(calls, ASKER) == ["through", "opened"]


async def test_sync_functions_run_in_a_thread_with_the_asker() -> None:
    assert await functions(in_a_thread).run([FunctionCall("a", "in_a_thread", "{}")], ASKER) == [
        "True Europe/Paris"
    ]


async def test_arguments_are_converted_and_checked() -> None:
    team = functions(sized)
    results = await team.run(
        [
            FunctionCall("a", "sized", '{"size": "large", "count": null}'),
            FunctionCall("b", "sized", '{"size": "huge", "count": 1}'),
            FunctionCall("c", "sized", '{"count": 1}'),
            FunctionCall("d", "sized", '{"size": "small", "count": 1, "extra": 1}'),
            FunctionCall("e", "sized", "[1, 2]"),
        ],
        ASKER,
    )
    assert results[0] == '{"size": "LARGE", "count": 2}'
    assert results[1] == "Error: 'huge' is not a valid Size"
    assert results[2] == "Error: missing argument: size"
    assert results[3] == "Error: unknown argument(s): extra"
    assert results[4] == "Error: the arguments must be a JSON object."


def test_outputs_are_text_and_bounded() -> None:
    assert as_output("plain") == "plain"
    assert as_output({"a": [1, 2]}) == '{"a": [1, 2]}'
    long = as_output("x" * (MAX_OUTPUT_CHARS + 10))
    assert long.endswith("(The rest of the result was cut.)")
    assert len(long) < MAX_OUTPUT_CHARS + 50
