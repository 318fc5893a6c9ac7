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


def _put(activities: Activities, found: Activity) -> Activities:
    for index, activity in enumerate(activities):
        if activity.item_id == found.item_id:
            return (*activities[:index], found, *activities[index + 1 :])
    return (*activities, found)


def _find(activities: Activities, item_id: str) -> Activity | None:
    return next((a for a in activities if a.item_id == item_id), None)


def with_progress(activities: Activities, event: ToolActivity) -> Activities:
    """The activities after a tool call's event: added, moved on, or ended."""
    known = _find(activities, event.item_id)
    if known is None:
        status = event.status or ("completed" if event.done else "in_progress")
        return _put(activities, Activity(event.item_id, event.kind, status, event.detail))
    status = known.status
    if event.status and not (known.done and not event.done):  # an ended call stays ended
        status = event.status
    detail = event.detail or known.detail
    if (status, detail) == (known.status, known.detail):
        return activities
    return _put(activities, replace(known, status=status, detail=detail))


def with_thought(activities: Activities, event: Thought) -> Activities:
    """The activities after a piece of reasoning text: its item's text grows, or is reset
    (a new summary part starts; a part's whole text)."""
    known = _find(activities, event.item_id) or Activity(event.item_id, "reasoning")
    text = event.text if event.whole else known.detail + event.text
    if text == known.detail and known in activities:
        return activities
    return _put(activities, replace(known, detail=text))
