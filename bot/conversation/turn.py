"""What the core is handed: who asked what, where."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversation.files import FileRef


@dataclass(frozen=True)
class Turn:
    team_id: str
    channel_id: str
    thread_ts: str  # the conversation: the thread the answer goes into
    user_id: str
    message_ts: str  # the user's message (for /ask, the command's trigger id)
    text: str
    one_off: bool = False  # /ask: no earlier context is sent, none is kept
    # People may talk in this thread without addressing the bot (a channel thread),
    # so the thread can hold messages the model has not heard. Not so in a DM.
    shared: bool = True
    # An answer going on after the asker approved or denied a tool call: the response it
    # chains on ("response_id"), its input items ("input") and the rounds so far.
    continues: dict[str, Any] | None = None
    # Files attached to the message: references only, read when the turn is answered.
    files: tuple[FileRef, ...] = ()

    def __post_init__(self) -> None:
        # A turn kept in the database comes back with its files as plain dicts.
        object.__setattr__(self, "files", tuple(FileRef.of(f) for f in self.files))

    def kept(self) -> dict[str, Any]:
        """The turn as plain values for the database; `Turn(**kept)` reads it back.
        Shallow: `dataclasses.asdict` deep-copies every field, on every answer's path."""
        return {**self.__dict__, "files": [f.kept() for f in self.files]}

    @property
    def thread(self) -> tuple[str, str, str]:
        return (self.team_id, self.channel_id, self.thread_ts)

    @property
    def key(self) -> str:
        """Identifies the user's message, so it is answered once however often it arrives."""
        return f"{self.team_id}:{self.channel_id}:{self.message_ts}"
