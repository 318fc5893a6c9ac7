"""FakeSlack's App Home answers as Slack does: views.publish and admins in users.info."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_home import home_text, make_admin


async def test_views_publish_and_users_info_with_admin_flags() -> None:
    fake = FakeSlack()
    await fake.start()
    try:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.url)
        section = {"type": "section", "text": {"type": "mrkdwn", "text": "*Hello*"}}
        reply = await client.views_publish(user_id="U1", view={"type": "home", "blocks": [section]})
        assert reply["view"]["type"] == "home" and reply["view"]["id"].startswith("V")
        assert home_text(fake, "U1") == "*Hello*"
        with pytest.raises(SlackApiError) as refused:
            await client.views_publish(user_id="U1", view={"type": "modal", "blocks": []})
        assert refused.value.response["error"] == "invalid_arguments"
        with pytest.raises(SlackApiError):
            await client.views_publish(user_id="U1", view={"type": "home", "blocks": [{}] * 101})

        make_admin(fake, "U7", owner=True)
        admin = (await client.users_info(user="U7"))["user"]
        assert (admin["is_admin"], admin["is_owner"]) == (True, True)
        assert not (await client.users_info(user="U1"))["user"].get("is_admin")
    finally:
        await fake.stop()
