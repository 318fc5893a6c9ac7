"""The team's functions (BOT_FUNCTIONS): imported at start, called when the model asks.

Each call runs with a timeout (`CALL_TIMEOUT`, 30 s); the calls of one round run
at once. Whatever happens, a call gives the model text: the function's result
(a string as it is, anything else as JSON), or a short error ("Error: …") when
its arguments are not valid JSON, it raises, or it takes too long — never a
traceback. A synchronous function runs in a worker thread; one that times out
is left to finish there (Python cannot stop a thread), its result unused.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
import inspect
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.logs import redact
from bot.responses.asks import FunctionCall
from bot.tools.asker import Asker
from bot.tools.schema import FunctionSpec, SchemaError, function_spec

log = logging.getLogger(__name__)

CALL_TIMEOUT = 30.0  # seconds one call may take
MAX_OUTPUT_CHARS = 20_000  # a longer result is cut, with a note to the model
MAX_ERROR_CHARS = 500


F = TypeVar("F", bound=Callable[..., Any])


def time_limit(seconds: float) -> Callable[[F], F]:
    """Give a function its own timeout instead of CALL_TIMEOUT:
    `@time_limit(5)` above its `def`."""

    def mark(function: F) -> F:
        function.time_limit = float(seconds)  # type: ignore[attr-defined]
        return function

    return mark


class FunctionsError(Exception):
    """BOT_FUNCTIONS names something that cannot be used; one line for the operator."""


@dataclass(frozen=True)
class Function:
    spec: FunctionSpec
    call: Callable[..., Any]


def load(paths: Sequence[str]) -> Functions:
    """Import every `module:function`; FunctionsError names the first that fails."""
    found: dict[str, Function] = {}
    for path in paths:
        module_name, _, attribute = path.partition(":")
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            raise FunctionsError(
                f"BOT_FUNCTIONS: cannot import {path!r} ({type(error).__name__}: {error})."
            ) from None
        target: Any = module
        for part in attribute.split("."):
            target = getattr(target, part, None)
        if not callable(target):
            raise FunctionsError(f"BOT_FUNCTIONS: {path!r} is not a function.")
        try:
            spec = function_spec(target)
        except SchemaError as error:
            raise FunctionsError(f"BOT_FUNCTIONS: {path!r}: {error}.") from None
        if spec.name in found:
            raise FunctionsError(f"BOT_FUNCTIONS: two functions are named {spec.name!r}.")
        found[spec.name] = Function(spec, target)
    return Functions(found)


def _brief(text: str, limit: int) -> str:
    text = " ".join(redact(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_output(result: Any) -> str:
    """What the model is sent of a function's result."""
    if isinstance(result, str):
        text = result
    else:
        try:
            text = json.dumps(result, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(result)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + "\n(The rest of the result was cut.)"
    return text


class Functions:
    def __init__(self, functions: dict[str, Function] | None = None) -> None:
        self._functions = functions or {}
        self.timeout = CALL_TIMEOUT

    def __bool__(self) -> bool:
        return bool(self._functions)

    @property
    def definitions(self) -> tuple[dict[str, Any], ...]:
        """The `function` tools, as sent with every request."""
        return tuple(f.spec.definition for f in self._functions.values())

    def wants_asker(self, calls: Sequence[FunctionCall]) -> bool:
        return any((f := self._functions.get(c.name)) is not None and f.spec.asker for c in calls)

    async def run(self, calls: Sequence[FunctionCall], asker: Asker) -> list[str]:
        """Every call's output, in order; the calls run at once."""
        return list(await asyncio.gather(*(self._one(call, asker) for call in calls)))

    async def _one(self, call: FunctionCall, asker: Asker) -> str:
        function = self._functions.get(call.name)
        if function is None:
            return f"Error: there is no function named {call.name!r}."
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            return "Error: the arguments were not valid JSON. Please call the function again."
        if not isinstance(arguments, dict):
            return "Error: the arguments must be a JSON object."
        try:
            kwargs = self._kwargs(function.spec, arguments, asker)
        except (TypeError, ValueError) as error:
            return f"Error: {_brief(str(error), MAX_ERROR_CHARS)}"
        limit = float(getattr(function.call, "time_limit", self.timeout))
        try:
            if function.spec.is_async:
                result = await asyncio.wait_for(function.call(**kwargs), limit)
            else:
                result = await asyncio.wait_for(asyncio.to_thread(function.call, **kwargs), limit)
        except TimeoutError:
            log.warning("function %s took longer than %.0fs", call.name, limit)
            return f"Error: {call.name} did not finish within {limit:g} seconds."
        except Exception as error:
            log.warning("function %s raised %s", call.name, type(error).__name__)
            message = _brief(str(error), MAX_ERROR_CHARS)
            return f"Error: {type(error).__name__}" + (f": {message}" if message else "")
        return as_output(result)

    @staticmethod
    def _kwargs(spec: FunctionSpec, arguments: dict[str, Any], asker: Asker) -> dict[str, Any]:
        known = {p.name: p for p in spec.parameters}
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            raise TypeError(f"unknown argument(s): {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for name, parameter in known.items():
            value = arguments.get(name)
            if value is None and parameter.default is not inspect.Parameter.empty:
                continue  # null (or left out) means the default
            if name not in arguments:
                raise TypeError(f"missing argument: {name}")
            kind = parameter.kind
            if value is not None and isinstance(kind, type) and issubclass(kind, enum.Enum):
                value = kind(value)
            kwargs[name] = value
        if spec.asker:
            kwargs[spec.asker] = asker
        return kwargs
