"""Builders of Slack message events that carry files, and small files to attach."""

from __future__ import annotations

import struct
import zlib
from typing import Any


def with_files(event: dict[str, Any], *files: dict[str, Any]) -> dict[str, Any]:
    """The event with `files` attached, as Slack sends a message with uploads: a
    `message` event gets the `file_share` subtype; an `app_mention` keeps its shape."""
    event = {**event, "files": list(files), "upload": False}
    if event.get("type") == "message":
        event["subtype"] = "file_share"
        event["display_as_bot"] = False
    return event


def check_file_info(file_id: str) -> dict[str, Any]:
    """A file as a Slack Connect message carries it: no details, only its id."""
    return {
        "id": file_id,
        "mode": "file_access",
        "file_access": "check_file_info",
        "created": 0,
        "timestamp": 0,
        "user": "",
    }


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG image (grey pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
