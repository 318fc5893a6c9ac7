"""A function's tool definition, from its signature and docstring. Pure.

Parameters become the JSON schema's properties, their descriptions come from
the docstring's `Args:` section (Google style), and the first paragraph of the
docstring describes the function. Where every type allows it the schema is
strict (`strict: true`, `additionalProperties: false`, every parameter
required): a parameter with a default, or typed `X | None`, is then nullable,
and a null from the model means "use the default". A free-form `dict` or a
`list` without an item type makes the schema non-strict. A parameter typed
`Asker` is filled in by the bot and left out of the schema.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.tools.asker import Asker

NoneType = type(None)
_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean"}
SECTION = r"(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?):"


class SchemaError(Exception):
    """The function's signature cannot become a JSON schema; the message says why."""


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: Any  # the annotation
    default: Any  # inspect.Parameter.empty when there is none


@dataclass(frozen=True)
class FunctionSpec:
    """A function as the model sees it (`definition`) and as the bot calls it."""

    name: str
    definition: dict[str, Any]  # the `function` tool, as sent
    parameters: tuple[Parameter, ...]  # the model's, in order
    asker: str | None  # the parameter that takes the Asker, if any
    is_async: bool


def docstring_parts(doc: str | None) -> tuple[str, dict[str, str]]:
    """(description, {parameter: description}) from a Google-style docstring."""
    text = inspect.cleandoc(doc or "")
    description_lines: list[str] = []
    args: dict[str, str] = {}
    section = "description"
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        header = re.fullmatch(SECTION, stripped)
        if header:
            section = "args" if header.group(1) in ("Args", "Arguments", "Parameters") else "other"
            current = ""
            continue
        if section == "description":
            description_lines.append(line)
        elif section == "args" and stripped:
            match = re.match(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", stripped)
            indented = line.startswith((" ", "\t")) and len(line) - len(line.lstrip()) > 4
            if match and not (indented and current):
                current = match.group(1).lstrip("*")
                args[current] = match.group(3).strip()
            elif current:
                args[current] = f"{args[current]} {stripped}".strip()
    paragraphs = "\n".join(description_lines).strip().split("\n\n")
    description = " ".join(paragraphs[0].split()) if paragraphs and paragraphs[0] else ""
    return description, args


def _without_none(kind: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed) for `X | None` / `Optional[X]`."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(kind) if m is not NoneType]
        nullable = len(members) < len(typing.get_args(kind))
        if len(members) == 1:
            return members[0], nullable
        return typing.Union[tuple(members)], nullable  # noqa: UP007 - built at run time
    return kind, False


def type_schema(kind: Any, where: str) -> tuple[dict[str, Any], bool]:
    """(JSON schema, strict-compatible) for one annotation."""
    if kind in _SIMPLE:
        return {"type": _SIMPLE[kind]}, True
    origin = typing.get_origin(kind)
    if origin is typing.Literal:
        values = typing.get_args(kind)
        if not all(isinstance(v, str | int | float | bool) for v in values):
            raise SchemaError(f"{where}: Literal values must be strings or numbers")
        return _enum(list(values)), True
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _enum([member.value for member in kind]), True
    if kind in (list, tuple) or origin in (list, tuple, typing.Sequence):
        args = [a for a in typing.get_args(kind) if a is not Ellipsis]
        if not args:
            return {"type": "array"}, False
        items, strict = type_schema(args[0], where)
        return {"type": "array", "items": items}, strict
    if kind is dict or origin is dict:
        return {"type": "object"}, False
    if origin in (typing.Union, types.UnionType):
        schemas = [type_schema(member, where) for member in typing.get_args(kind)]
        return {"anyOf": [s for s, _ in schemas]}, all(strict for _, strict in schemas)
    raise SchemaError(f"{where}: the type {kind!r} cannot be sent as JSON")


def _enum(values: list[Any]) -> dict[str, Any]:
    kinds = {_SIMPLE.get(type(v)) for v in values}
    if len(kinds) == 1 and None not in kinds:
        return {"type": kinds.pop(), "enum": values}
    return {"enum": values}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if "enum" in schema:
        schema = {**schema, "enum": [*schema["enum"], None]}
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    if "enum" in schema:
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def function_spec(function: Callable[..., Any], name: str | None = None) -> FunctionSpec:
    """The tool definition of `function`; SchemaError when its signature cannot be one."""
    name = str(name or getattr(function, "__name__", ""))
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name or ""):
        raise SchemaError(f"{name!r} is not a name the API takes (letters, digits, _ and -)")
    try:
        signature = inspect.signature(function)
        hints = typing.get_type_hints(function)
    except (TypeError, ValueError, NameError) as error:
        raise SchemaError(f"{name}: cannot read its signature ({error})") from None
    description, arg_docs = docstring_parts(inspect.getdoc(function))
    properties: dict[str, Any] = {}
    parameters: list[Parameter] = []
    asker: str | None = None
    strict = True
    for parameter in signature.parameters.values():
        where = f"{name}({parameter.name})"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise SchemaError(f"{where}: *args and **kwargs cannot become a schema")
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise SchemaError(f"{where}: positional-only parameters cannot be named by the model")
        if parameter.name not in hints:
            raise SchemaError(f"{where}: needs a type annotation")
        kind = hints[parameter.name]
        if kind is Asker:
            asker = parameter.name
            continue
        inner, nullable = _without_none(kind)
        schema, strict_here = type_schema(inner, where)
        strict = strict and strict_here
        if nullable or parameter.default is not parameter.empty:
            schema = _nullable(schema)
        if arg_docs.get(parameter.name):
            schema["description"] = arg_docs[parameter.name]
        properties[parameter.name] = schema
        parameters.append(Parameter(parameter.name, inner, parameter.default))
    body: dict[str, Any] = {"type": "object", "properties": properties}
    if strict:
        body["required"] = list(properties)
        body["additionalProperties"] = False
    else:
        body["required"] = [p.name for p in parameters if p.default is inspect.Parameter.empty]
    definition: dict[str, Any] = {"type": "function", "name": name}
    if description:
        definition["description"] = description
    definition["parameters"] = body
    definition["strict"] = strict
    return FunctionSpec(
        name=name,
        definition=definition,
        parameters=tuple(parameters),
        asker=asker,
        is_async=inspect.iscoroutinefunction(function),
    )
