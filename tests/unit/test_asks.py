"""What a finished response asks of the bot: function calls and approval requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.responses.asks import FunctionCall, asks_in
from bot.responses.events import parse_event
from bot.responses.reducer import Answer, Ending, reduce

RECORDED = Path("/work/shared/fixtures/responses/recorded")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "responses"


def reduced(path: Path) -> Answer:
    answer = Answer()
    for line in path.read_text().splitlines():
        if line.startswith("data:"):
            event = parse_event(json.loads(line[len("data:") :]))
            if event is not None:
                answer = reduce(answer, event)
    return answer


def test_a_recorded_function_call_ends_the_answer_with_the_call() -> None:
    answer = reduced(FIXTURES / "function_call.sse")
    assert answer.ending is Ending.COMPLETED and answer.text == ""
    assert answer.asks == (
        FunctionCall("call_okunv0eUNIXE8kqY81fgYvCs", "get_ticket", '{"key":"OPS-123"}'),
    )


@pytest.mark.skipif(not RECORDED.exists(), reason="the shared recorded fixtures are not here")
def test_text_then_a_function_call_keeps_both() -> None:
    answer = reduced(RECORDED / "text_then_function_call.sse")
    assert answer.text == "I’ll check the capital lookup tool for “PotatoLand.”"
    [call] = answer.asks
    assert isinstance(call, FunctionCall) and call.name == "get_capital"
    assert json.loads(call.arguments) == {"country": "PotatoLand"}


def test_asks_are_read_from_a_final_response_output() -> None:
    response = {
        "output": [
            {"type": "message", "content": []},
            {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
            {"type": "mcp_approval_request", "id": "mcpr_1", "server_label": "docs",
             "name": "search", "arguments": "{}"},
            {"type": "function_call", "name": "no id"},
            "junk",
        ]
    }  # fmt: skip
    asks = asks_in(response)
    assert [type(a).__name__ for a in asks] == ["FunctionCall", "ApprovalRequest"]
