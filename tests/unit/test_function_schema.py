"""A function's tool definition from its signature and docstring."""

from __future__ import annotations

import enum
from typing import Any, Literal

import pytest

from bot.tools import Asker
from bot.tools.schema import SchemaError, docstring_parts, function_spec


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def strict_one(
    city: str,
    days: int,
    asker: Asker,
    units: Literal["metric", "imperial"] = "metric",
    colour: Colour | None = None,
    tags: list[str] | None = None,
    ratio: float = 1.0,
    exact: bool = False,
) -> str:
    """The weather for a city.

    More words that are not the summary.

    Args:
        city: The city's name,
            as people write it.
        days (int): How many days ahead.
        units: Which units.
    """
    return ""


def test_a_fully_typed_function_gets_a_strict_schema_without_the_asker() -> None:
    spec = function_spec(strict_one)
    assert spec.asker == "asker" and not spec.is_async
    assert spec.definition == {
        "type": "function",
        "name": "strict_one",
        "description": "The weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city's name, as people write it."},
                "days": {"type": "integer", "description": "How many days ahead."},
                "units": {
                    "type": ["string", "null"],
                    "enum": ["metric", "imperial", None],
                    "description": "Which units.",
                },
                "colour": {"type": ["string", "null"], "enum": ["red", "blue", None]},
                "tags": {"type": ["array", "null"], "items": {"type": "string"}},
                "ratio": {"type": ["number", "null"]},
                "exact": {"type": ["boolean", "null"]},
            },
            "required": ["city", "days", "units", "colour", "tags", "ratio", "exact"],
            "additionalProperties": False,
        },
        "strict": True,
    }


async def free_form(query: str, filters: dict[str, Any], limit: int = 5) -> str:
    """Search."""
    return ""


def test_a_free_form_object_makes_the_schema_non_strict_with_only_needed_fields_required() -> None:
    spec = function_spec(free_form)
    assert spec.is_async
    parameters = spec.definition["parameters"]
    assert spec.definition["strict"] is False
    assert parameters["required"] == ["query", "filters"]
    assert "additionalProperties" not in parameters
    assert parameters["properties"]["filters"] == {"type": "object"}


def no_parameters() -> str:
    return "hi"


def test_a_function_without_parameters_or_docstring() -> None:
    definition = function_spec(no_parameters).definition
    assert "description" not in definition
    assert definition["parameters"] == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def untyped(x):  # type: ignore[no-untyped-def]
    return x


def star(*items: str) -> str:
    return ""


def odd(when: complex) -> str:
    return ""


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (untyped, r"untyped\(x\): needs a type annotation"),
        (star, r"star\(items\): \*args and \*\*kwargs cannot become a schema"),
        (odd, r"odd\(when\): the type <class 'complex'> cannot be sent as JSON"),
    ],
)
def test_signatures_that_cannot_be_schemas_say_why(function: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        function_spec(function)


def test_docstring_args_with_types_and_continuations() -> None:
    description, args = docstring_parts(
        """Summary line
        on two lines.

        Args:
            a (str): First.
            b: Second,
                continued.

        Returns:
            nothing: not an argument.
        """
    )
    assert description == "Summary line on two lines."
    assert args == {"a": "First.", "b": "Second, continued."}
