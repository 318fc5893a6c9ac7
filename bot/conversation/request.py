"""The body of one Responses API request. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversation.turn import Turn


@dataclass(frozen=True)
class Said:
    """Something a person (or the bot) said earlier in a thread."""

    speaker: str  # a Slack user id; "" for the bot itself
    text: str


def speaker_line(user_id: str, text: str) -> str:
    # Several people can talk in one thread: each user turn says who speaks.
    return f"<@{user_id}>: {text}"


def user_message(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "input_text", "text": text}]}


def build_request(
    turn: Turn,
    *,
    model: str,
    instructions: str,
    previous_response_id: str | None,
    earlier: tuple[Said, ...] = (),
    note: str = "",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Only the new turn is sent; the chain keeps the rest. `earlier` rebuilds a lost chain."""
    items: list[dict[str, Any]] = []
    for said in earlier:
        if said.speaker:
            items.append(user_message(speaker_line(said.speaker, said.text)))
        else:
            items.append(
                {"role": "assistant", "content": [{"type": "output_text", "text": said.text}]}
            )
    items.append(user_message(speaker_line(turn.user_id, turn.text)))
    if note:
        # Where the user is (e.g. the channel open beside the Assistant panel).
        items[-1]["content"].insert(0, {"type": "input_text", "text": note})
    body: dict[str, Any] = {
        "model": model,
        # Instructions are not carried along a chain: send them every time.
        "instructions": instructions,
        "input": items,
        "store": True,
    }
    if previous_response_id:
        body["previous_response_id"] = previous_response_id
    body.update(extra or {})
    return body
