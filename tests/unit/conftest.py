"""Unit-test fixtures: a Slack client pointed at the fake Slack."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def client(fake_slack: FakeSlack) -> AsyncWebClient:
    """The bot's Slack client, as it is made in bot/main.py, aimed at `fake_slack`."""
    return AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.url)
