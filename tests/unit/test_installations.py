"""Installations and OAuth states on a real database (SQLite; PostgreSQL when
TEST_DATABASE_URL is set), through slack_sdk's store interfaces as bolt uses them."""

from __future__ import annotations

import time

from slack_sdk.oauth.installation_store import Installation

from bot.store import Store
from bot.store.installations import Installations, OAuthStates
from tests.unit.test_store import database_url  # noqa: F401 - the fixture


def installation(team_id: str | None, **fields: object) -> Installation:
    values: dict[str, object] = {
        "app_id": "A1",
        "team_id": team_id,
        "team_name": f"Workspace {team_id}",
        "bot_token": f"xoxb-{team_id}",
        "bot_id": f"B{team_id}",
        "bot_user_id": f"U{team_id}",
        "bot_scopes": "chat:write,commands",
        "user_id": "UINSTALLER",
    }
    values.update(fields)
    return Installation(**values)  # type: ignore[arg-type]


async def test_a_workspace_s_installation_is_kept_replaced_and_removed(
    database_url: str,  # noqa: F811
) -> None:
    store = await Store.open(database_url)
    installs = Installations(store)
    assert await installs.async_find_installation(enterprise_id=None, team_id="T2") is None
    expires = int(time.time()) + 600
    await installs.async_save(
        installation("T2", bot_refresh_token="xoxe-1-r", bot_token_expires_at=expires)
    )
    await installs.async_save(installation("T3"))

    found = await installs.async_find_installation(enterprise_id=None, team_id="T2")
    assert found is not None
    assert (found.bot_token, found.bot_user_id, found.bot_scopes) == (
        "xoxb-T2", "UT2", ["chat:write", "commands"],
    )  # fmt: skip
    assert (found.bot_refresh_token, found.bot_token_expires_at) == ("xoxe-1-r", expires)

    await installs.async_save(installation("T2", bot_token="xoxb-T2-again"))  # reinstalled
    bot = await installs.async_find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None and bot.bot_token == "xoxb-T2-again"

    await installs.async_delete_all(enterprise_id=None, team_id="T2")
    assert await installs.async_find_installation(enterprise_id=None, team_id="T2") is None
    assert await installs.async_find_bot(enterprise_id=None, team_id="T3") is not None
    await store.close()


async def test_an_org_wide_install_is_found_by_its_org(database_url: str) -> None:  # noqa: F811
    store = await Store.open(database_url)
    installs = Installations(store)
    await installs.async_save(
        installation(None, enterprise_id="E1", is_enterprise_install=True, bot_token="xoxb-E1")
    )
    found = await installs.async_find_installation(
        enterprise_id="E1", team_id="T5", is_enterprise_install=True
    )
    assert found is not None and found.bot_token == "xoxb-E1" and found.is_enterprise_install
    # A workspace of the org has no installation of its own.
    assert await installs.async_find_installation(enterprise_id="E1", team_id="T5") is None
    await installs.async_delete_all(enterprise_id="E1", team_id=None)
    assert await installs.async_find_bot(enterprise_id="E1", team_id=None) is None
    await store.close()


async def test_an_oauth_state_is_good_once_and_not_after_it_expires(
    database_url: str,  # noqa: F811
) -> None:
    store = await Store.open(database_url)
    states = OAuthStates(store)
    state = await states.async_issue()
    assert len(state) >= 32 and state != await states.async_issue()
    assert await states.async_consume(state)
    assert not await states.async_consume(state)  # used
    assert not await states.async_consume("never-issued")
    assert not await states.async_consume("")

    expired = OAuthStates(store, seconds=-1)
    assert not await expired.async_consume(await expired.async_issue())
    await store.close()
