"""FakeSlack's App Home: `views.publish` answered as Slack does, the Home tab a person
sees, and workspace admins and owners in `users.info` (opt-in: `make_admin`).

Importing this module adds `views.publish` to FakeSlack's methods; FakeSlack's own API
is unchanged.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.fakes import slack_api
from tests.fakes.slack_api import TEAM_ID, FakeSlack, blocks_text

MAX_BLOCKS = 100  # a Home tab view holds at most 100 blocks
_view_ids = itertools.count(1)


def _publish_view(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """`views.publish`: `user_id` and a `view` of type `home` with at most 100 blocks."""
    view, user_id = args.get("view"), args.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        return {"ok": False, "error": "invalid_arguments"}
    if not isinstance(view, dict) or view.get("type") != "home":
        return {"ok": False, "error": "invalid_arguments"}
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return {"ok": False, "error": "invalid_blocks"}
    view_id = f"V{next(_view_ids):08d}"
    return {
        "ok": True,
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "home",
            "blocks": blocks,
            "private_metadata": str(view.get("private_metadata", "")),
            "callback_id": str(view.get("callback_id", "")),
            "state": {"values": {}},
            "hash": f"1700000000.{view_id}",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": "A1",
            "external_id": "",
            "app_installed_team_id": TEAM_ID,
            "bot_id": slack_api.BOT_ID,
        },
    }


slack_api._METHODS.setdefault("views.publish", _publish_view)


def make_admin(fake: FakeSlack, user_id: str, *, owner: bool = False) -> None:
    """`users.info` reports the user as a workspace admin (and owner, if `owner`)."""
    fake.set_user(user_id, is_admin=True, is_owner=owner, is_primary_owner=False)


def home_views(fake: FakeSlack, user_id: str) -> list[dict[str, Any]]:
    """Every Home tab view published for `user_id`, oldest first."""
    return [
        call.args["view"]
        for call in fake.calls_to("views.publish")
        if call.ok and call.args.get("user_id") == user_id
    ]


def home_text(fake: FakeSlack, user_id: str) -> str:
    """What the person reads on their Home tab now (the last view published)."""
    views = home_views(fake, user_id)
    return blocks_text(views[-1]["blocks"]) if views else ""


def app_home_opened(user: str, *, tab: str = "home", channel: str = "D1") -> dict[str, Any]:
    """The `app_home_opened` event Slack sends when a person opens a tab of the App Home."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": "1700000000.000100",
    }
