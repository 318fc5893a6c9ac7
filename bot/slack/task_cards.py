"""The model's activities as Slack task cards in a native stream (`task_update` chunks):
one card per tool call or piece of reasoning, its id the output item's id, updated in
place as the call goes on and marked complete (or error) when it ends."""

from __future__ import annotations

from typing import Any

from bot.conversation.work import STATUS_LIMIT, bounded, label, shown
from bot.responses.activities import Activities, Activity

DISPLAY_MODE = "timeline"  # cards interleaved with the text, as the calls happen


def card_status(activity: Activity, *, ended: bool = False) -> str:
    """Slack's status of a card; a call still running when the answer ended failed."""
    if activity.failed or (ended and not activity.done):
        return "error"
    return "complete" if activity.done else "in_progress"


def card(activity: Activity, *, ended: bool = False) -> dict[str, Any]:
    return {
        "type": "task_update",
        "id": activity.item_id,
        "title": bounded(label(activity), STATUS_LIMIT),
        "status": card_status(activity, ended=ended),
    }


class TaskCards:
    """What the stream shows of each card, so only changed cards are sent."""

    __slots__ = ("_sent", "latest")

    def __init__(self) -> None:
        self.latest: Activities = ()
        self._sent: dict[str, dict[str, Any]] = {}

    def changes(self, *, ended: bool = False) -> list[dict[str, Any]]:
        """The cards to send for the latest activities (none when nothing changed)."""
        return [
            chunk
            for activity in shown(self.latest)
            if activity.item_id
            and self._sent.get(activity.item_id) != (chunk := card(activity, ended=ended))
        ]

    def sent(self, chunks: list[dict[str, Any]]) -> None:
        for chunk in chunks:
            self._sent[str(chunk["id"])] = chunk
