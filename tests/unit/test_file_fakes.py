"""Self-tests of the fakes' files: Slack's external upload as slack_sdk's
files_upload_v2 drives it, and the API's container file content."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.responses.client import ResponsesClient
from bot.responses.errors import ModelRejected, ModelUnavailable
from tests.fakes.containers import Containers
from tests.fakes.responses_api import FakeModel
from tests.fakes.slack_api import FakeSlack


async def test_files_upload_v2_puts_the_bytes_in_the_thread(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=fake_slack.url)
    response = await client.files_upload_v2(
        channel="C1", thread_ts="1690000000.000001", file=b"\x89PNG...", filename="a.png"
    )
    assert response["file"]["id"] in fake_slack.uploads
    [file] = fake_slack.thread_files("C1", "1690000000.000001")
    assert (file.name, file.title, file.content, file.length) == (
        "a.png",
        "a.png",
        b"\x89PNG...",
        7,
    )
    assert [c.method for c in fake_slack.calls] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


async def test_an_upload_not_finished_is_not_shared(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=fake_slack.url)
    fake_slack.inject("upload", status=500)
    with pytest.raises(Exception, match="Failed to upload a file"):
        await client.files_upload_v2(channel="C1", file=b"data", filename="a.txt")
    with pytest.raises(SlackApiError, match="file_not_found"):
        await client.files_completeUploadExternal(files=[{"id": "F404"}], channel_id="C1")
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.files_getUploadURLExternal(filename="", length=3)
    assert all(not f.shared for f in fake_slack.uploads.values())


async def test_container_file_content_is_served_with_the_key_only(fake_model: FakeModel) -> None:
    containers = Containers().serve(fake_model)
    containers.add("cntr_1", "cfile_1", b"x,y\n1,2\n")
    model = ResponsesClient(fake_model.url, "sk-test-key")
    try:
        assert await model.container_file("cntr_1", "cfile_1") == b"x,y\n1,2\n"
        with pytest.raises(ModelRejected) as missing:
            await model.container_file("cntr_1", "cfile_gone")
        assert missing.value.status == 404
        containers.fail(503)
        with pytest.raises(ModelUnavailable):
            await model.container_file("cntr_1", "cfile_1")
    finally:
        await model.aclose()
    async with httpx.AsyncClient() as plain:
        anonymous = await plain.get(f"{fake_model.url}/containers/cntr_1/files/cfile_1/content")
    assert anonymous.status_code == 401
    assert [f.authorization for f in containers.fetches[:3]] == ["Bearer sk-test-key"] * 3
    assert fake_model.other_requests == []


async def test_a_container_file_over_the_limit_is_not_read_whole(fake_model: FakeModel) -> None:
    Containers().serve(fake_model).add("cntr_1", "cfile_big", b"x" * 5000)
    model = ResponsesClient(fake_model.url, "sk-test-key")
    try:
        assert len(await model.container_file("cntr_1", "cfile_big", limit=5000)) == 5000
        with pytest.raises(ModelRejected, match="larger than 4999 bytes"):
            await model.container_file("cntr_1", "cfile_big", limit=4999)
    finally:
        await model.aclose()
