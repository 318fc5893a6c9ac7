"""The body of one Responses API request. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.conversation.files import FileRef
from bot.conversation.parameters import Parameters
from bot.conversation.turn import Turn


@dataclass(frozen=True)
class Said:
    """Something a person (or the bot) said earlier in a thread."""

    speaker: str  # a Slack user id; "" for the bot itself
    text: str
    aside: bool = False  # a note to the model about the thread, in no one's words
    files: tuple[FileRef, ...] = ()  # attached to the message


# What people wrote between two turns is sent with the next one: at most this much.
MAX_HEARD = 30
MAX_HEARD_CHARS = 24_000


def left_out(count: int) -> Said:
    """The note that `count` earlier messages of the thread are not sent."""
    if count == 1:
        return Said("", "(1 earlier message in this thread is left out.)", aside=True)
    return Said("", f"({count} earlier messages in this thread are left out.)", aside=True)


def most_recent(said: Sequence[Said], *, messages: int, chars: int) -> tuple[Said, ...]:
    """The most recent of `said` that fit whole within `messages` and `chars`, in order;
    preceded by a note of how many earlier ones are left out, if any are."""
    kept: list[Said] = []
    total = 0
    for one in reversed(said):
        if len(kept) == messages or total + len(one.text) > chars:
            break
        kept.append(one)
        total += len(one.text)
    kept.reverse()
    dropped = len(said) - len(kept)
    return ((left_out(dropped),) if dropped else ()) + tuple(kept)


FILES_ONLY = "(sent the attached files)"


def speaker_line(user_id: str, text: str) -> str:
    # Several people can talk in one thread: each user turn says who speaks.
    return f"<@{user_id}>: {text or FILES_ONLY}"


def user_message(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "input_text", "text": text}]}


def build_request(
    turn: Turn,
    parameters: Parameters,
    *,
    previous_response_id: str | None,
    earlier: tuple[Said, ...] = (),
    note: str = "",
    extra: dict[str, Any] | None = None,
    files: Mapping[str, Sequence[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Only the new turn is sent; the chain keeps the rest. `earlier` rebuilds a lost chain.
    `files` holds the content parts of the files read, by file id: each goes with the
    message it was attached to."""
    contents = files or {}
    items: list[dict[str, Any]] = []
    for said in earlier:
        if said.aside:
            items.append(user_message(said.text))
        elif said.speaker:
            items.append(user_message(speaker_line(said.speaker, said.text)))
            attach(items[-1], said.files, contents)
        else:
            items.append(
                {"role": "assistant", "content": [{"type": "output_text", "text": said.text}]}
            )
    items.append(user_message(speaker_line(turn.user_id, turn.text)))
    attach(items[-1], turn.files, contents)
    if note:
        # Where the user is (e.g. the channel open beside the Assistant panel).
        items[-1]["content"].insert(0, {"type": "input_text", "text": note})
    # Instructions are not carried along a chain: parameters send them every time.
    body: dict[str, Any] = {**parameters.fields(), "input": items, "store": True}
    if previous_response_id:
        body["previous_response_id"] = previous_response_id
    body.update(extra or {})
    return body


def attach(
    item: dict[str, Any],
    refs: Sequence[FileRef],
    contents: Mapping[str, Sequence[dict[str, Any]]],
) -> None:
    """Add the parts of the files read (of `refs`) to a user message, after its text."""
    for ref in refs:
        item["content"].extend(contents.get(ref.id, ()))
