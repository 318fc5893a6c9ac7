"""Reading a turn's files when it is answered: the surface fetches them (the core only
asks, through `FileReader`), the rules in `files.py` decide what the model gets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.conversation import files
from bot.conversation.files import FileRef
from bot.conversation.turn import Turn

log = logging.getLogger(__name__)


class Unreadable(Exception):
    """The surface could not give a file's bytes; the message is the reason, in the
    asker's words (e.g. `files.GONE`)."""


class FileReader(Protocol):
    async def look_up(self, turn: Turn, file: FileRef) -> FileRef:
        """The file's details, for a reference that came without them (no `url`);
        raises Unreadable when it is not the turn's to read."""

    async def fetch(self, turn: Turn, file: FileRef, max_bytes: int) -> bytes:
        """The file's bytes, at most `max_bytes` of them; raises Unreadable."""


class NoFiles:
    """A surface without files (the console): none is ever read."""

    async def look_up(self, turn: Turn, file: FileRef) -> FileRef:
        raise Unreadable(files.NOT_FETCHED)

    async def fetch(self, turn: Turn, file: FileRef, max_bytes: int) -> bytes:
        raise Unreadable(files.NOT_FETCHED)


@dataclass(frozen=True)
class Read:
    """What was read of a turn's files: the content parts of each file by its id, and a
    note for each file the model is not given."""

    parts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        return " ".join(self.notes)


async def read_files(
    reader: FileReader, turn: Turn, refs: Sequence[FileRef], max_bytes: int
) -> Read:
    """Every file once (by id), at most `files.MAX_FILES`, read at the same time."""
    unique = list({ref.id: ref for ref in refs}.values())
    kept, extra = unique[: files.MAX_FILES], unique[files.MAX_FILES :]
    results = await asyncio.gather(*(_read_one(reader, turn, ref, max_bytes) for ref in kept))
    parts: dict[str, list[dict[str, Any]]] = {}
    notes: list[str] = []
    room = max(files.MAX_TOTAL_BYTES, max_bytes * 4 // 3 + 4096)  # base64 of the largest
    for ref, result in zip(kept, results, strict=True):
        if isinstance(result, str):
            notes.append(result)
            continue
        room -= sum(len(v) for part in result for v in part.values() if isinstance(v, str))
        if room < 0:
            notes.append(files.not_read(ref, files.TOO_MUCH))
        else:
            parts[ref.id] = result
    notes.extend(files.not_read(ref, files.TOO_MANY) for ref in extra)
    return Read(parts, tuple(notes))


async def _read_one(
    reader: FileReader, turn: Turn, ref: FileRef, max_bytes: int
) -> list[dict[str, Any]] | str:
    """The file's content parts, or the note saying why the model does not get it."""
    try:
        if not ref.url:
            ref = await reader.look_up(turn, ref)
        reason = files.precheck(ref, max_bytes)
        if reason is not None:
            return files.not_read(ref, reason)
        data = await reader.fetch(turn, ref, max_bytes)
    except Unreadable as unreadable:
        return files.not_read(ref, str(unreadable))
    except Exception as error:  # a file is a note, never the answer's failure
        log.warning("could not read a file (%s)", type(error).__name__)
        return files.not_read(ref, files.NOT_FETCHED)
    made = files.parts_for(ref, data)
    return files.not_read(ref, made) if isinstance(made, str) else made
