"""The files on a Slack message event, and where the bot may fetch a file from. Pure.

Only the files that came on the message being answered (or on a reply heard in
its thread) are ever read: the references are taken from that message's own
event, signed by Slack, and kept with its turn. A file is fetched only from
Slack's file host, so a URL elsewhere is never requested with the bot token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.conversation.files import MAX_FILES, FileRef

SLACK_FILE_HOST = "files.slack.com"


def file_of(value: Any) -> FileRef | None:
    """A Slack file object → FileRef; None for a value that is not one."""
    if not isinstance(value, dict):
        return None
    file_id = value.get("id")
    if not isinstance(file_id, str) or not file_id:
        return None
    url = value.get("url_private_download") or value.get("url_private") or ""
    size = value.get("size")
    name = value.get("name") or value.get("title") or ""
    return FileRef(
        id=file_id,
        name=str(name),
        mimetype=str(value.get("mimetype") or ""),
        filetype=str(value.get("filetype") or ""),
        size=size if isinstance(size, int) and size >= 0 else 0,
        # No URL (e.g. `file_access: check_file_info` in Slack Connect): looked up when read.
        url=url if isinstance(url, str) else "",
    )


def files_of(event: dict[str, Any]) -> tuple[FileRef, ...]:
    """The files attached to a message event (its `files` array), at most a message's worth."""
    found = event.get("files")
    if not isinstance(found, list):
        return ()
    refs = (file_of(value) for value in found[: MAX_FILES * 2])
    return tuple(ref for ref in refs if ref is not None)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        return None
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname.lower(), port or default


def on_file_host(url: str, api_url: str) -> bool:
    """True when `url` is on Slack's file host: `https://files.slack.com`, or `files.`
    beside the Web API's own host (e.g. GovSlack's), or the very origin (scheme, host
    and port) of SLACK_API_URL (a proxy, or a fake in tests). Anything else — another
    host, plain http to Slack, credentials in the URL — is never fetched."""
    origin, api = _origin(url), _origin(api_url)
    if origin is None:
        return False
    if api is not None and origin == api:
        return True
    allowed = {SLACK_FILE_HOST} | ({f"files.{api[1]}"} if api is not None else set())
    return origin[0] == "https" and origin[2] == 443 and origin[1] in allowed
