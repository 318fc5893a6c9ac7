"""Self-tests of FakeSlack's modals and users, driven by the client the bot uses."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack

MODAL = {
    "type": "modal",
    "callback_id": "c1",
    "title": {"type": "plain_text", "text": "Title"},
    "blocks": [],
}


async def test_a_modal_opens_with_a_trigger_and_is_updated_by_its_id(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    opened = await client.views_open(trigger_id="1.1.abc", view=MODAL)
    view = opened["view"]
    assert view["id"] in fake_slack.views
    assert (view["callback_id"], view["state"]) == ("c1", {"values": {}})
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Saved"}}
    updated = await client.views_update(view_id=view["id"], view=changed)
    assert updated["view"]["id"] == view["id"]
    assert fake_slack.views[view["id"]]["title"]["text"] == "Saved"
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        await client.views_open(trigger_id="", view=MODAL)
    with pytest.raises(SlackApiError, match="not_found"):
        await client.views_update(view_id="VNONE", view=changed)


async def test_users_are_members_unless_made_admins_or_owners(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    member = (await client.users_info(user="U1"))["user"]
    assert (member["is_admin"], member["is_owner"], member["is_primary_owner"]) == (
        False, False, False,
    )  # fmt: skip
    fake_slack.set_user("U2", is_admin=True)
    assert (await client.users_info(user="U2"))["user"]["is_admin"] is True
