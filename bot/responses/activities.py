"""The model's work other than text, one activity per output item: its tool calls
(web search, file search, code, drawing, MCP, functions) and its reasoning. Pure."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.responses.events import ENDED, Thought, ToolActivity


@dataclass(frozen=True)
class Activity:
    item_id: str
    kind: str  # the output item's type: "web_search_call", "mcp_call", "reasoning" …
    status: str = "in_progress"  # as the API says: in_progress, searching, completed, failed …
    detail: str = ""  # the query, "server: tool", a function's name; reasoning: its text so far

    @property
    def done(self) -> bool:
        return self.status in ENDED

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "incomplete")


Activities = tuple[Activity, ...]


def _index(activities: Activities, item_id: str) -> int:
    for index, activity in enumerate(activities):
        if activity.item_id == item_id:
            return index
    return -1


def _put(activities: Activities, index: int, activity: Activity) -> Activities:
    if index < 0:
        return (*activities, activity)
    return (*activities[:index], activity, *activities[index + 1 :])


def with_progress(activities: Activities, event: ToolActivity) -> Activities:
    """The activities after a tool call's event: added, moved on, or ended."""
    index = _index(activities, event.item_id)
    if index < 0:
        status = event.status or ("completed" if event.done else "in_progress")
        return _put(activities, index, Activity(event.item_id, event.kind, status, event.detail))
    known = activities[index]
    status = known.status
    if event.status and not (known.done and not event.done):  # an ended call stays ended
        status = event.status
    detail = event.detail or known.detail
    if status == known.status and detail == known.detail:
        return activities
    return _put(activities, index, replace(known, status=status, detail=detail))


def with_thought(activities: Activities, event: Thought) -> Activities:
    """The activities after a piece of reasoning text: its item's text grows, or is reset
    (a new summary part starts; a part's whole text)."""
    index = _index(activities, event.item_id)
    known = activities[index] if index >= 0 else Activity(event.item_id, "reasoning")
    text = event.text if event.whole else known.detail + event.text
    if index >= 0 and text == known.detail:
        return activities
    return _put(activities, index, Activity(known.item_id, known.kind, known.status, text))


def all_ended(activities: Activities, status: str) -> Activities:
    """The response ended (`status`: completed or incomplete): so did every call in it, even
    where a proxy sent no event saying so."""
    if all(a.done for a in activities):
        return activities
    return tuple(a if a.done else replace(a, status=status) for a in activities)
