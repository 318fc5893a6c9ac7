"""Files hosted by FakeSlack, as Slack hosts them on files.slack.com.

`fake_slack.files.add(...)` returns the file object a message event carries
(`id`, `name`, `mimetype`, `filetype`, `size`, `url_private`,
`url_private_download`, …), served at `GET /files-pri/<team>-<id>/…` on the
fake's own server. A download needs the bot token (`Authorization: Bearer
xoxb-…`): with another token it is answered 403; without one, with Slack's HTML
sign-in page (200), as Slack does. A deleted file is 404; a file added with
`sign_in_page=True` is always answered with that page; one added with
`redirect=URL`, with a 302 to that URL. `files.info` answers
with the file (`file_not_found` for an unknown id, `file_deleted` for a
deleted one), including the channels it is shared in.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SIGN_IN_PAGE = (
    "<!DOCTYPE html><html><head><title>Slack</title></head>"
    "<body><h1>Sign in to your workspace</h1></body></html>"
)


@dataclass
class HostedFile:
    id: str
    name: str
    data: bytes
    mimetype: str
    filetype: str
    channels: list[str]
    team: str
    size: int
    deleted: bool = False
    sign_in_page: bool = False
    redirect: str = ""  # answered with a 302 to this URL


@dataclass
class Download:
    """One request for a file's bytes, as the fake received it."""

    path: str
    file_id: str
    authorization: str
    status: int


@dataclass
class FakeFiles:
    origin: Callable[[], str]  # e.g. "http://127.0.0.1:PORT"
    changed: Callable[[], None]
    token: str = "xoxb-test-token"  # the bot token downloads must carry
    hosted: dict[str, HostedFile] = field(default_factory=dict)
    downloads: list[Download] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(
        self,
        name: str,
        data: bytes,
        mimetype: str,
        filetype: str = "",
        *,
        channels: tuple[str, ...] = ("C1",),
        team: str = "T1",
        size: int | None = None,
        sign_in_page: bool = False,
        redirect: str = "",
    ) -> dict[str, Any]:
        """Host a file; returns the file object a message event carries. `size` overrides
        the size Slack reports (the bytes served stay `data`); with `redirect`, a download
        is answered with a 302 to that URL."""
        file_id = f"F{next(self._ids):08d}"
        self.hosted[file_id] = HostedFile(
            file_id, name, data, mimetype, filetype or name.rsplit(".", 1)[-1].lower(),
            list(channels), team, len(data) if size is None else size,
            sign_in_page=sign_in_page, redirect=redirect,
        )  # fmt: skip
        return self.file_object(file_id)

    def delete(self, file_id: str) -> None:
        self.hosted[file_id].deleted = True

    def file_object(self, file_id: str) -> dict[str, Any]:
        """The file as Slack describes it in events and in `files.info`."""
        hosted = self.hosted[file_id]
        base = f"{self.origin()}/files-pri/{hosted.team}-{file_id}"
        return {
            "id": file_id,
            "created": 1_700_000_000,
            "timestamp": 1_700_000_000,
            "name": hosted.name,
            "title": hosted.name,
            "mimetype": hosted.mimetype,
            "filetype": hosted.filetype,
            "pretty_type": hosted.filetype.upper(),
            "user": "U1",
            "user_team": hosted.team,
            "editable": False,
            "size": hosted.size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{base}/{hosted.name}",
            "url_private_download": f"{base}/download/{hosted.name}",
            "permalink": f"https://test.slack.com/files/U1/{file_id}/{hosted.name}",
            "channels": [c for c in hosted.channels if c.startswith("C")],
            "groups": [c for c in hosted.channels if c.startswith("G")],
            "ims": [c for c in hosted.channels if c.startswith("D")],
            "has_rich_preview": False,
            "file_access": "visible",
        }

    def downloads_of(self, file_id: str) -> list[Download]:
        return [d for d in self.downloads if d.file_id == file_id]

    # -- served by FakeSlack -----------------------------------------------

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """`GET /files-pri/<team>-<id>/[download/]<name>`."""
        owner = request.match_info["owner"]
        file_id = owner.split("-", 1)[-1]
        authorization = request.headers.get("Authorization", "")
        hosted = self.hosted.get(file_id)
        if hosted is None or hosted.deleted:
            response: web.StreamResponse = web.Response(status=404, text="Not found")
        elif hosted.redirect:
            response = web.Response(status=302, headers={"Location": hosted.redirect})
        elif hosted.sign_in_page or not authorization:
            response = web.Response(text=SIGN_IN_PAGE, content_type="text/html")
        elif authorization != f"Bearer {self.token}":
            response = web.Response(status=403, text="Forbidden")
        else:
            response = web.Response(body=hosted.data, content_type=hosted.mimetype)
        self.downloads.append(Download(request.path, file_id, authorization, response.status))
        self.changed()
        return response

    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        """`files.info`."""
        hosted = self.hosted.get(str(args.get("file", "")))
        if hosted is None:
            return {"ok": False, "error": "file_not_found"}
        if hosted.deleted:
            return {"ok": False, "error": "file_deleted"}
        return {"ok": True, "file": self.file_object(hosted.id), "comments": []}
