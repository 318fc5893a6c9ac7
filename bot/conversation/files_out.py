"""Files the model made, put into the answer's thread by the delivery.

Two kinds: images it drew (`image_generation`, whose bytes come in the stream
as base64) and files its code wrote (`code_interpreter`, cited on the text as
`container_file_citation` and fetched from the API by container and file id).

They are uploaded once, before the answer's final text is first written, and
never again: a final write that fails is kept and retried without them, so
nothing large (no image bytes) is kept with it, and no file shows twice (an
upload Slack carried out but whose answer was lost cannot be told apart from
one that failed; an upload Slack says it did not do is tried again, by
the delivery). A file that cannot be fetched or uploaded is said in plain words
under the answer instead; the text lands either way.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass
from typing import Protocol

from bot.conversation.delivery import Delivery
from bot.responses.reducer import Answer

log = logging.getLogger(__name__)

IMAGE = "image"
CODE_FILE = "code_file"
_MAGIC = ((b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF8", "gif"))


@dataclass(frozen=True)
class MadeFile:
    """One file to put in the thread: its name, and where its bytes are."""

    kind: str  # IMAGE or CODE_FILE
    name: str
    b64: str = ""  # an image's bytes, as the stream carried them
    alt: str = ""  # an image's description for those who cannot see it
    container_id: str = ""  # a code file's place in the API
    file_id: str = ""


class FileSource(Protocol):
    async def container_file(self, container_id: str, file_id: str) -> bytes:
        """The bytes of a file the model's code wrote (raises when they cannot be had)."""


def made_files(answer: Answer) -> tuple[MadeFile, ...]:
    """The images and code files of an answer, each once, in the order they came."""
    files: list[MadeFile] = []
    for number, image in enumerate(answer.images, start=1):
        files.append(MadeFile(IMAGE, f"image-{number}", b64=image.b64, alt=image.prompt))
    seen: set[tuple[str, str]] = set()
    for citation in answer.citations:
        key = (citation.container_id, citation.file_id)
        if citation.kind != "container_file_citation" or key in seen:
            continue
        seen.add(key)
        name = citation.filename.rsplit("/", 1)[-1] or citation.file_id
        files.append(MadeFile(CODE_FILE, name, container_id=key[0], file_id=key[1]))
    return tuple(files)


def with_extension(name: str, content: bytes) -> str:
    """An image's name with the extension its bytes call for."""
    if "." in name:
        return name
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return f"{name}.webp"
    kind = next((ext for magic, ext in _MAGIC if content.startswith(magic)), "png")
    return f"{name}.{kind}"


async def _content(file: MadeFile, source: FileSource) -> bytes:
    if file.kind == IMAGE:
        return base64.b64decode(file.b64, validate=True)
    return await source.container_file(file.container_id, file.file_id)


async def put_in_thread(
    files: tuple[MadeFile, ...], delivery: Delivery, source: FileSource
) -> str | None:
    """Fetch and attach each file; a short note on the ones that could not be, or None."""
    missed: list[MadeFile] = []
    for file in files:
        try:
            content = await _content(file, source)
            name = with_extension(file.name, content) if file.kind == IMAGE else file.name
            await delivery.attach(name, content, alt=file.alt)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # any failure of one file must not cost the answer
            log.warning("could not put a file in the thread (%s)", type(error).__name__)
            missed.append(file)
    return not_uploaded(missed)


def not_uploaded(missed: list[MadeFile]) -> str | None:
    """In plain words: which of the files the model made could not be shared."""
    images = sum(1 for f in missed if f.kind == IMAGE)
    code_files = [f.name for f in missed if f.kind == CODE_FILE]
    said: list[str] = []
    if images:
        said.append(
            "I made an image but couldn't upload it."
            if images == 1
            else f"I made {images} images but couldn't upload them."
        )
    if code_files:
        names = ", ".join(code_files)
        it = "it" if len(code_files) == 1 else "them"
        said.append(f"My code wrote {names} but I couldn't upload {it}.")
    return " ".join(said) or None


def joined(*notices: str | None) -> str | None:
    """Several notices as one line, or None when there is none."""
    return " ".join(n for n in notices if n) or None
