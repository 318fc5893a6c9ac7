"""Files in: the bytes of a message's files, downloaded from Slack with the bot token
(scope `files:read`) when the turn is answered, on the bot's shared HTTP session.

Whatever Slack answers instead of a file — 403/404, a sign-in page, `file_not_found`
— is a reason the asker reads in a note, never the answer's failure.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from yarl import URL

from bot.conversation import files
from bot.conversation.file_reading import Unreadable
from bot.conversation.files import FileRef
from bot.conversation.turn import Turn
from bot.slack.file_refs import file_of, on_file_host
from bot.slack.workspaces import NotInstalled, Workspaces

log = logging.getLogger(__name__)

NOT_IN_SLACK = "it isn't stored in Slack"
NOT_SHARED_HERE = "it isn't shared in this conversation"
GONE_ERRORS = {"file_not_found", "file_deleted", "file_is_deleted"}
MAX_REDIRECTS = 3
TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10, sock_read=30)
CHUNK = 256 * 1024


def shared_in(file: dict[str, Any], channel_id: str) -> bool:
    """Whether Slack's file object says the file is shared in `channel_id`."""
    for key in ("channels", "groups", "ims"):
        listed = file.get(key)
        if isinstance(listed, list) and channel_id in listed:
            return True
    shares = file.get("shares")
    if isinstance(shares, dict):
        return any(isinstance(s, dict) and channel_id in s for s in shares.values())
    return False


def is_sign_in_page(file: FileRef, content_type: str) -> bool:
    """Slack answers a download it will not serve with its HTML sign-in page (200)."""
    served = content_type.split(";")[0].strip().lower()
    return served == "text/html" and file.mimetype.lower() != "text/html"


class SlackFiles:
    """Reads a turn's files from Slack (the core's `FileReader`)."""

    def __init__(
        self, workspaces: Workspaces, session: aiohttp.ClientSession, api_url: str
    ) -> None:
        self._workspaces = workspaces  # each turn's files are read with its workspace's token
        self._session = session
        self._api_url = api_url

    async def look_up(self, turn: Turn, file: FileRef) -> FileRef:
        """`files.info` for a file that came without its details; only a file shared in
        the turn's conversation is read."""
        try:
            client = await self._workspaces.client_for(turn.team_id)
        except NotInstalled:
            raise Unreadable(files.NO_ACCESS) from None
        try:
            response = await client.files_info(file=file.id)
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            log.info("files.info refused a file (%s)", code or "unknown")
            raise Unreadable(files.GONE if code in GONE_ERRORS else files.NO_ACCESS) from None
        found = response.get("file")
        ref = file_of(found)
        if not isinstance(found, dict) or ref is None or not ref.url:
            raise Unreadable(files.GONE)
        if not shared_in(found, turn.channel_id):
            log.warning("a file on a message is not shared in its conversation; not read")
            raise Unreadable(NOT_SHARED_HERE)
        return ref

    async def fetch(self, turn: Turn, file: FileRef, max_bytes: int) -> bytes:
        try:
            client = await self._workspaces.client_for(turn.team_id)
        except NotInstalled:
            raise Unreadable(files.NO_ACCESS) from None
        url, token = file.url, client.token
        if not token:
            raise Unreadable(files.NO_ACCESS)
        for _ in range(MAX_REDIRECTS + 1):
            if not on_file_host(url, self._api_url):
                log.warning("a file's URL is not on Slack's file host; not fetched")
                raise Unreadable(NOT_IN_SLACK)
            headers = {"Authorization": f"Bearer {token}"}
            async with self._session.get(
                url, headers=headers, allow_redirects=False, timeout=TIMEOUT
            ) as response:
                if response.status in (301, 302, 303, 307, 308):
                    # Followed here, so each hop is checked before the token goes along.
                    url = str(response.url.join(URL(response.headers.get("Location", ""))))
                    continue
                return await self._body(file, response, max_bytes)
        raise Unreadable(files.NOT_FETCHED)

    @staticmethod
    async def _body(file: FileRef, response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
        if response.status in (401, 403):
            raise Unreadable(files.NO_ACCESS)
        if response.status in (404, 410):
            raise Unreadable(files.GONE)
        if response.status != 200:
            log.info("Slack answered a file download with HTTP %d", response.status)
            raise Unreadable(files.NOT_FETCHED)
        if is_sign_in_page(file, response.headers.get("Content-Type", "")):
            raise Unreadable(files.NO_ACCESS)
        if (response.content_length or 0) > max_bytes:
            raise Unreadable(files.larger_than(max_bytes))
        data = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            data.extend(chunk)
            if len(data) > max_bytes:
                raise Unreadable(files.larger_than(max_bytes))
        return bytes(data)
