"""Server-sent events, read from the bytes of a response body: each event's data.

Why not httpx-sse: on the model stream it decodes the body to text, splits the
text into lines and builds an event object per event, three more layers for
every delta; measured (bench/live_answers.py, under cProfile) they took about a
fifth of the bot's CPU per delta. Here the body's bytes are split at line ends
and only `data` fields are kept (the Responses API tells its events apart by
their JSON `type`, so `event:`, `id:` and `retry:` are not needed); the JSON
parser reads the bytes as they are. The rules are the WHATWG ones: lines end
with CRLF, LF or CR; a line starting with `:` is a comment; one space after the
colon is dropped; an event's data lines are joined by LF; an empty line ends
the event; an event the stream does not end is dropped.
"""

from __future__ import annotations

_LF, _CR = b"\n", b"\r"


class DataLines:
    """Feed it the body's chunks as they come; it gives back the data of each event that
    a chunk completes. Pure: no I/O."""

    def __init__(self) -> None:
        self._tail = b""  # the start of a line whose end has not come yet
        self._data: list[bytes] = []  # the data lines of the event under way

    def feed(self, chunk: bytes) -> list[bytes]:
        if self._tail:
            chunk = self._tail + chunk
        if _CR in chunk:
            if chunk.endswith(_CR):
                # It may be the first half of a CRLF: held back for the next chunk.
                self._tail = chunk[-1:]
                chunk = chunk[:-1]
            else:
                self._tail = b""
            chunk = chunk.replace(b"\r\n", _LF).replace(_CR, _LF)
            lines = chunk.split(_LF)
            self._tail = lines.pop() + self._tail
        else:
            lines = chunk.split(_LF)
            self._tail = lines.pop()
        return self._events(lines)

    def close(self) -> list[bytes]:
        """The body ended: a held-back CR ends its line; an unfinished event is dropped."""
        tail, self._tail = self._tail, b""
        events = self._events([tail[:-1]]) if tail.endswith(_CR) else []
        self._data = []
        return events

    def _events(self, lines: list[bytes]) -> list[bytes]:
        events: list[bytes] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else _LF.join(data))
                    data = self._data = []
            elif line.startswith(b"data"):
                name, _, value = line.partition(b":")
                if name == b"data":
                    data.append(value[1:] if value.startswith(b" ") else value)
        return events
