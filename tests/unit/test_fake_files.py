"""Self-tests of FakeSlack's file hosting, driven by the clients the bot uses."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack

TOKEN = {"Authorization": "Bearer xoxb-test-token"}


async def get(url: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers, allow_redirects=False) as response,
    ):
        return response.status, response.content_type, await response.read()


async def test_a_file_is_served_to_the_bot_token_only(fake_slack: FakeSlack) -> None:
    file = fake_slack.files.add("a.txt", b"hello", "text/plain")
    url = file["url_private_download"]
    assert url.startswith(fake_slack.url.removesuffix("api/") + "files-pri/T1-")
    assert (file["size"], file["mimetype"], file["filetype"]) == (5, "text/plain", "txt")
    assert await get(url, TOKEN) == (200, "text/plain", b"hello")
    assert (await get(file["url_private"], TOKEN))[2] == b"hello"
    status, kind, body = await get(url, {})  # no token: Slack's sign-in page
    assert (status, kind) == (200, "text/html") and b"Sign in" in body
    assert (await get(url, {"Authorization": "Bearer xoxb-other"}))[0] == 403
    fake_slack.files.delete(file["id"])
    assert (await get(url, TOKEN))[0] == 404
    statuses = [d.status for d in fake_slack.files.downloads_of(file["id"])]
    assert statuses == [200, 200, 200, 403, 404]


async def test_sign_in_page_and_redirect_variants(fake_slack: FakeSlack) -> None:
    page = fake_slack.files.add("a.png", b"\x89PNG", "image/png", sign_in_page=True)
    assert (await get(page["url_private_download"], TOKEN))[1] == "text/html"
    moved = fake_slack.files.add("b.png", b"", "image/png", redirect="http://elsewhere/x")
    status, _, _ = await get(moved["url_private_download"], TOKEN)
    assert status == 302


async def test_files_info(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.url)
    file = fake_slack.files.add("a.pdf", b"%PDF-", "application/pdf", channels=("C1", "D2"))
    found = (await client.files_info(file=file["id"]))["file"]
    assert found["url_private_download"] == file["url_private_download"]
    assert (found["channels"], found["ims"]) == (["C1"], ["D2"])
    with pytest.raises(SlackApiError, match="file_not_found"):
        await client.files_info(file="F404")
    fake_slack.files.delete(file["id"])
    with pytest.raises(SlackApiError, match="file_deleted"):
        await client.files_info(file=file["id"])
