"""What each request asks of the model: every setting becomes its field, unset sends none."""

from __future__ import annotations

from bot.conversation.parameters import Parameters
from bot.conversation.request import build_request
from bot.conversation.turn import Turn

TURN = Turn("T1", "C1", "1.0", "U1", "1.0", "hello")


def test_unset_parameters_send_nothing_but_the_model_and_instructions() -> None:
    body = build_request(TURN, Parameters("gpt-4.1", "Be brief."), previous_response_id=None)
    assert set(body) == {"model", "instructions", "input", "store"}


def test_every_parameter_becomes_its_request_field() -> None:
    parameters = Parameters(
        "o4-mini",
        "Be brief.",
        max_output_tokens=500,
        temperature=0.2,
        top_p=0.9,
        reasoning_effort="low",
        reasoning_summary="auto",
        text_verbosity="high",
        text_format={"type": "json_object"},
        service_tier="flex",
        tools=("web_search", "file_search", "code_interpreter", "image_generation"),
        vector_store_ids=("vs_1", "vs_2"),
        mcp_servers=({"type": "mcp", "server_label": "docs", "server_url": "https://d.example"},),
        functions=({"type": "function", "name": "now", "parameters": {}},),
    )
    body = build_request(TURN, parameters, previous_response_id="resp_1")
    assert body["max_output_tokens"] == 500
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert body["text"] == {"verbosity": "high", "format": {"type": "json_object"}}
    assert body["service_tier"] == "flex"
    assert body["previous_response_id"] == "resp_1"
    assert body["tools"] == [
        {"type": "web_search"},
        {"type": "file_search", "vector_store_ids": ["vs_1", "vs_2"]},
        {"type": "code_interpreter", "container": {"type": "auto"}},
        {"type": "image_generation"},
        {"type": "mcp", "server_label": "docs", "server_url": "https://d.example"},
        {"type": "function", "name": "now", "parameters": {}},
    ]


def test_reasoning_and_text_send_only_what_is_set() -> None:
    body = build_request(
        TURN, Parameters("m", "i", reasoning_summary="concise"), previous_response_id=None
    )
    assert body["reasoning"] == {"summary": "concise"}
    assert "text" not in body
