"""What the model is doing, in words a person reads: "Searching the web for “…”…".

Pure: every surface (the Slack modes, the console) renders the answer's activities
with these words, so they read the same everywhere.
"""

from __future__ import annotations

import re

from bot.responses.activities import Activities, Activity

STATUS_LIMIT = 100  # an Assistant panel's status line, a task card's title
QUOTE_LIMIT = 1_200  # the reasoning shown in a message before the answer starts
LINES = 6  # activities listed in a message, the most recent

_HEADING = re.compile(r"^\s*\*\*(.+?)\*\*")


def bounded(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _quoted(detail: str) -> str:
    return f"“{bounded(detail, 60)}”"


def thought_title(text: str) -> str:
    """A line for a piece of reasoning: its bold heading once whole (summaries start with
    one), else its first line; "" while there is nothing to say yet."""
    heading = _HEADING.match(text)
    if heading:
        return heading.group(1).strip()
    if text.lstrip().startswith("**"):
        return ""  # a heading still streaming
    return text.strip().split("\n", 1)[0].strip()


def label(activity: Activity) -> str:
    """One activity in words, e.g. "Searching the web for “Berlin news today”…"."""
    kind, detail = activity.kind, activity.detail
    if kind == "web_search_call":
        return f"Searching the web for {_quoted(detail)}…" if detail else "Searching the web…"
    if kind == "file_search_call":
        return f"Searching files for {_quoted(detail)}…" if detail else "Searching files…"
    if kind == "code_interpreter_call":
        return "Running code…"
    if kind == "image_generation_call":
        return "Drawing…"
    if kind == "mcp_call":
        return f"Using {detail}…" if detail else "Using a tool…"
    if kind == "mcp_list_tools":
        return f"Listing {detail}'s tools…" if detail else "Listing tools…"
    if kind == "mcp_approval_request":
        return f"Asking to use {detail}…" if detail else "Asking to use a tool…"
    if kind in ("function_call", "custom_tool_call"):
        return f"Calling {detail}…" if detail else "Calling a function…"
    if kind == "reasoning":
        title = thought_title(detail)
        return f"Thinking: {title}" if title else "Thinking…"
    return "Working on it…"


def shown(activities: Activities) -> Activities:
    """The activities worth showing: reasoning only once it says something."""
    return tuple(a for a in activities if a.kind != "reasoning" or a.detail.strip())


def status_line(activities: Activities) -> str:
    """One bounded line for a status: the newest activity; "" when there is none."""
    visible = shown(activities)
    return bounded(label(visible[-1]), STATUS_LIMIT) if visible else ""


def progress_text(activities: Activities) -> str:
    """Markdown for a message before its answer starts: the recent tool calls, one a line
    (✓ when done, ✗ when failed), then the reasoning under way, quoted; "" when none."""
    visible = shown(activities)
    if not visible:
        return ""
    lines = []
    tools = [a for a in visible if a.kind != "reasoning"][-LINES:]
    for activity in tools:
        mark = " ✗" if activity.failed else " ✓" if activity.done else ""
        lines.append(f"_{bounded(label(activity), STATUS_LIMIT)}_{mark}")
    newest = visible[-1]
    if newest.kind == "reasoning":
        thought = newest.detail.strip()
        if len(thought) > QUOTE_LIMIT:
            thought = "…" + thought[-(QUOTE_LIMIT - 1) :].lstrip()
        quote = "\n".join(f"> {line}" if line.strip() else ">" for line in thought.split("\n"))
        lines.append(("\n" if lines else "") + "_Thinking…_\n" + quote)
    return "\n".join(lines)
