"""What a finished response asks of the bot before the answer can go on. Pure.

A response that ends with `function_call` items wants the bot to run those
functions and send their outputs back; one that ends with `mcp_approval_request`
items wants the asker to approve or deny a remote MCP server's tool call. Both
are read from the final response's `output`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FunctionCall:
    call_id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True)
class ApprovalRequest:
    id: str
    server_label: str
    name: str  # the MCP tool
    arguments: str  # JSON text


Ask = FunctionCall | ApprovalRequest


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def asks_in(response: dict[str, Any]) -> tuple[Ask, ...]:
    """The function calls and approval requests in a final response's `output`."""
    found: list[Ask] = []
    output = response.get("output")
    for item in output if isinstance(output, list) else []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "function_call" and _str(item.get("call_id")):
            found.append(
                FunctionCall(
                    _str(item.get("call_id")), _str(item.get("name")), _str(item.get("arguments"))
                )
            )
        elif kind == "mcp_approval_request" and _str(item.get("id")):
            found.append(
                ApprovalRequest(
                    _str(item.get("id")),
                    _str(item.get("server_label")),
                    _str(item.get("name")),
                    _str(item.get("arguments")),
                )
            )
    return tuple(found)
