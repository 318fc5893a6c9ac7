"""Self-tests of FakeSlack's installs in many workspaces, driven by slack_sdk's client."""

from __future__ import annotations

import urllib.parse

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack


async def code_for(fake: FakeSlack, team: str, redirect: str = "https://bot/cb") -> str:
    """Approve an install on the authorize page: the code it redirects with."""
    query = urllib.parse.urlencode(
        {"client_id": fake.installs.client_id, "scope": "chat:write", "state": "s1",
         "team": team, "redirect_uri": redirect}
    )  # fmt: skip
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fake.authorize_url}?{query}", allow_redirects=False) as reply,
    ):
        assert reply.status == 302
        location = reply.headers["Location"]
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert location.startswith(redirect) and params["state"] == "s1"
    return params["code"]


async def test_until_a_workspace_is_added_any_token_is_accepted(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-anything", base_url=fake_slack.url)
    assert (await client.auth_test())["team_id"] == "T1"
    await client.chat_postMessage(channel="C1", text="hi")


async def test_a_code_is_exchanged_once_for_the_workspace_s_own_token(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.add_workspace("T2", channels=("C2",))
    fake_slack.add_workspace("T3", channels=("C3",))
    app = AsyncWebClient(base_url=fake_slack.url)
    installs = fake_slack.installs
    code = await code_for(fake_slack, "T2")
    with pytest.raises(SlackApiError, match="bad_client_secret"):
        await app.oauth_v2_access(client_id=installs.client_id, client_secret="x", code=code)
    granted = await app.oauth_v2_access(
        client_id=installs.client_id, client_secret=installs.client_secret, code=code,
        redirect_uri="https://bot/cb",
    )  # fmt: skip
    assert granted["team"] == {"id": "T2", "name": "Workspace T2"}
    assert granted["bot_user_id"] == "UBOTT2" and granted["scope"] == "chat:write"
    with pytest.raises(SlackApiError, match="invalid_code"):  # good once
        await app.oauth_v2_access(
            client_id=installs.client_id, client_secret=installs.client_secret, code=code
        )

    t2 = AsyncWebClient(token=granted["access_token"], base_url=fake_slack.url)
    assert (await t2.auth_test())["user_id"] == "UBOTT2"
    posted = await t2.chat_postMessage(channel="C2", text="hi")
    assert fake_slack.message("C2", posted["ts"]).team == "T2"
    with pytest.raises(SlackApiError, match="channel_not_found"):  # T3's channel
        await t2.chat_postMessage(channel="C3", text="hi")
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await AsyncWebClient(token="xoxb-unknown", base_url=fake_slack.url).auth_test()
    fake_slack.installs.uninstall("T2")
    with pytest.raises(SlackApiError, match="token_revoked"):
        await t2.auth_test()


async def test_a_rotating_token_is_refreshed_with_a_refresh_token_good_once(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.add_workspace("T2", rotating=True, expires_in=600)
    installs = fake_slack.installs
    app = AsyncWebClient(base_url=fake_slack.url)
    credentials = {"client_id": installs.client_id, "client_secret": installs.client_secret}
    code = await code_for(fake_slack, "T2")
    granted = await app.oauth_v2_access(**credentials, code=code, redirect_uri="https://bot/cb")
    assert granted["expires_in"] == 600 and granted["access_token"].startswith("xoxe.xoxb-")
    renewed = await app.oauth_v2_access(
        **credentials, grant_type="refresh_token", refresh_token=granted["refresh_token"]
    )
    assert renewed["token_type"] == "bot" and renewed["access_token"] != granted["access_token"]
    assert installs.token_of("T2") == renewed["access_token"]
    with pytest.raises(SlackApiError, match="invalid_refresh_token"):
        await app.oauth_v2_access(
            **credentials, grant_type="refresh_token", refresh_token=granted["refresh_token"]
        )
    old = AsyncWebClient(token=granted["access_token"], base_url=fake_slack.url)
    await old.auth_test()  # good until it expires
    installs.expire("T2")
    with pytest.raises(SlackApiError, match="token_expired"):
        await old.auth_test()
