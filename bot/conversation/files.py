"""Files people attach to a message: which the model can take, and as which content
parts. Pure: the bytes are fetched by the surface (see `file_reading.py`)."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

MAX_FILE_TEXT = 100_000  # characters of one text file sent to the model
MAX_FILES = 10  # files read for one turn (Slack allows 10 on a message)
# The API takes about 50 MB of files in one request: more is not sent (counted as sent,
# in base64; one file alone may always be as large as BOT_MAX_FILE_MB).
MAX_TOTAL_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class FileRef:
    """A file attached to a message, as plain values: kept with the turn in the database
    (never its bytes), and read when the turn is answered."""

    id: str
    name: str = ""
    mimetype: str = ""
    filetype: str = ""
    size: int = 0
    url: str = ""  # where the surface downloads it ("" when it must be looked up first)

    @classmethod
    def of(cls, value: Any) -> FileRef:
        """A FileRef from one kept in the database (a dict), or itself."""
        if isinstance(value, FileRef):
            return value
        fields = {k: value[k] for k in cls.__dataclass_fields__ if k in value}
        return cls(**fields)

    def kept(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def shown_name(self) -> str:
        """The name as a note shows it: one line, short, with no Slack markup."""
        name = " ".join(self.name.split()) or "a file"
        name = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return name if len(name) <= 80 else name[:79] + "…"


class Kind(Enum):
    IMAGE = "image"
    PDF = "pdf"
    TEXT = "text"


IMAGE_TYPES = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
}
IMAGE_FILETYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
                   "gif": "image/gif", "webp": "image/webp"}  # fmt: skip
# Slack's filetypes of code and text (snippets carry their language here).
TEXT_FILETYPES = frozenset(
    {
        "text", "csv", "tsv", "markdown", "json", "yaml", "xml", "html", "css", "javascript",
        "typescript", "python", "go", "java", "kotlin", "swift", "c", "cpp", "csharp", "objc",
        "ruby", "rust", "php", "perl", "shell", "powershell", "bat", "sql", "diff", "toml",
        "ini", "dockerfile", "makefile", "haskell", "lua", "r", "scala", "clojure", "elixir",
        "erlang", "groovy", "ocaml", "dart", "matlab", "vb", "vbscript", "fsharp", "julia",
        "latex", "tex", "log", "jsx", "tsx", "vue", "svelte", "graphql", "protobuf",
        "properties",
    }
)  # fmt: skip
TEXT_MIMETYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-javascript",
        "application/typescript",
        "application/x-yaml",
        "application/yaml",
        "application/x-sh",
        "application/sql",
        "application/toml",
        "application/x-python",
        "application/x-ndjson",
    }
)


def kind_of(file: FileRef) -> Kind | None:
    """What the model can take the file as; None for a type it cannot take."""
    mimetype = file.mimetype.lower().split(";")[0].strip()
    filetype = file.filetype.lower()
    if mimetype in IMAGE_TYPES or (not mimetype and filetype in IMAGE_FILETYPES):
        return Kind.IMAGE
    if mimetype == "application/pdf" or filetype == "pdf":
        return Kind.PDF
    if mimetype.startswith("image/"):
        return None  # HEIC, SVG, TIFF…: not an image the model takes
    if mimetype.startswith("text/") or mimetype in TEXT_MIMETYPES or filetype in TEXT_FILETYPES:
        return Kind.TEXT
    return None


def too_large(file: FileRef, max_bytes: int) -> bool:
    return file.size > max_bytes


# Notes the asker reads, under the answer ------------------------------------------------

UNSUPPORTED = "I read images (PNG, JPEG, GIF, WebP), PDFs and text files"
NO_ACCESS = "Slack didn't let me open it"
GONE = "it was deleted or is no longer shared here"
NOT_FETCHED = "Slack didn't send it just now"
NOT_WHAT_IT_SAYS = "its contents don't match its type"
TOO_MANY = f"I read at most {MAX_FILES} files at once"
TOO_MUCH = "with the other files, it is more than I can send at once"


def megabytes(max_bytes: int) -> str:
    return f"{round(max_bytes / 1024 / 1024, 3):g} MB"


def not_read(file: FileRef, reason: str) -> str:
    """The note for a file the model was not given."""
    return f"I couldn't read {file.shown_name}: {reason}."


def larger_than(max_bytes: int) -> str:
    return f"it is larger than {megabytes(max_bytes)}"


def precheck(file: FileRef, max_bytes: int) -> str | None:
    """Why the file is not fetched at all (its type, its declared size), or None."""
    if kind_of(file) is None:
        return UNSUPPORTED
    if too_large(file, max_bytes):
        return larger_than(max_bytes)
    return None


# What the model is sent ---------------------------------------------------------------

SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    """The image's type from its first bytes; None when it is none the model takes."""
    for signature, mimetype in SIGNATURES:
        if data.startswith(signature):
            return mimetype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def data_url(mimetype: str, data: bytes) -> str:
    return f"data:{mimetype};base64,{base64.b64encode(data).decode('ascii')}"


def as_text(file: FileRef, data: bytes) -> str | None:
    """The file's text, bounded, or None for bytes that are not text."""
    if b"\x00" in data[:8192]:
        return None
    text = data.decode("utf-8", errors="replace")
    if len(text) > MAX_FILE_TEXT:
        text = (
            text[:MAX_FILE_TEXT]
            + f"\n[… the rest of {file.name or 'the file'} is left out: "
            + f"only its first {MAX_FILE_TEXT:,} characters are sent.]"
        )
    return text


def parts_for(file: FileRef, data: bytes) -> list[dict[str, Any]] | str:
    """The content parts that carry the file to the model; or, when its bytes are not
    what its type says (e.g. a sign-in page instead of a PNG), the reason it is not sent."""
    kind = kind_of(file)
    if kind is Kind.IMAGE:
        mimetype = image_type(data)
        if mimetype is None:
            return NOT_WHAT_IT_SAYS
        return [{"type": "input_image", "image_url": data_url(mimetype, data), "detail": "auto"}]
    if kind is Kind.PDF:
        if data.lstrip()[:5] != b"%PDF-":
            return NOT_WHAT_IT_SAYS
        return [
            {
                "type": "input_file",
                "filename": file.name or "document.pdf",
                "file_data": data_url("application/pdf", data),
            }
        ]
    if kind is Kind.TEXT:
        text = as_text(file, data)
        if text is None:
            return NOT_WHAT_IT_SAYS
        return [{"type": "input_text", "text": f"File {file.name or 'attached'}:\n\n{text}"}]
    return UNSUPPORTED
