"""The Approve / Deny prompt: names the server, tool and arguments, bounded and safe."""

from __future__ import annotations

import json

from bot.conversation.approvals import Approval
from bot.responses.asks import ApprovalRequest
from bot.slack.approval_blocks import APPROVE, DENY, prompt, read_key, settled, shown_arguments


def approval(arguments: str, name: str = "search") -> Approval:
    request = ApprovalRequest("mcpr_1", "docs <@U9>", name, arguments)
    return Approval("resp_1", "T1", "C1", "1.0", "U1", (request,), 15)


def test_the_prompt_names_server_tool_and_arguments_with_buttons_for_the_asker() -> None:
    shown = prompt(approval(json.dumps({"query": "retention"})))
    text = json.dumps(shown["blocks"])
    assert (
        "docs &lt;@U9&gt;" in text and "`search`" in text and '\\"query\\": \\"retention\\"' in text
    )
    [actions] = [b for b in shown["blocks"] if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (APPROVE, "resp_1"),
        (DENY, "resp_1"),
    ]
    assert "<@U1>" in shown["text"]


def test_arguments_are_bounded_and_cannot_break_out_of_their_code_block() -> None:
    huge = json.dumps({"q": "x" * 5000})
    assert len(shown_arguments(huge)) <= 1200
    sneaky = shown_arguments("not json ``` <!here> & more")
    assert "```" not in sneaky and "<!here>" not in sneaky and "&amp;" in sneaky


def test_settled_prompts_have_no_buttons() -> None:
    for outcome, said in (("approved", "Approved by <@U1>"), ("denied", "Denied by <@U1>")):
        shown = settled(approval("{}"), outcome, "U1")
        assert said in shown["text"]
        assert all(b["type"] != "actions" for b in shown["blocks"])
    assert "within 15 minutes" in settled(approval("{}"), "expired", "")["text"]


def test_button_values_are_read_defensively() -> None:
    assert read_key("resp_1") == "resp_1"
    assert read_key("") is None and read_key("x" * 200) is None
    assert read_key("a\nb") is None
