"""The payload of one bot message. Pure.

Answers go in a `markdown` block, so Slack renders the model's Markdown itself
(12,000 characters across a message's markdown blocks). Where Slack refuses
that, the text is converted to mrkdwn and sent as plain `text` (about 4,000):
converted first, then split, since escaping (`&` → `&amp;`) makes it longer.
"""

from __future__ import annotations

from typing import Any

from bot.render.mrkdwn import to_mrkdwn
from bot.render.split import MIN_LIMIT, SLACK_MARKDOWN_LIMIT, SLACK_TEXT_LIMIT, split_message

# Room left in a message for a header and a notice.
MARKDOWN_CHUNK = SLACK_MARKDOWN_LIMIT - 1000
TEXT_CHUNK = SLACK_TEXT_LIMIT - 400
PREVIEW = 150  # the notification text shown beside the blocks


def preview(markdown: str) -> str:
    # Only the start is shown, so only the start is rendered: edits stay cheap as text grows.
    plain = " ".join(to_mrkdwn(markdown[: PREVIEW * 3]).split())
    return plain if len(plain) <= PREVIEW else plain[: PREVIEW - 1] + "…"


def message(
    markdown: str,
    *,
    header: str = "",
    as_markdown: bool = True,
    notice: str | None = None,
    actions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`text` and `blocks` for chat.postMessage / chat.update; `actions` is a block of
    buttons, shown only with blocks."""
    if not as_markdown:
        return text_message(to_mrkdwn(markdown), header=header, notice=notice)
    blocks: list[dict[str, Any]] = []
    if header:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": header}})
    if markdown.strip():
        blocks.append({"type": "markdown", "text": markdown})
    if notice:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"_{notice}_"}]})
    if actions:
        blocks.append(actions)
    fallback = preview(markdown) or notice or header or " "
    return {"text": fallback, "blocks": blocks}


def text_message(mrkdwn: str, *, header: str = "", notice: str | None = None) -> dict[str, Any]:
    """`text` for chat.postMessage / chat.update from mrkdwn already converted."""
    parts = [header, mrkdwn, f"_{notice}_" if notice else ""]
    return {"text": "\n\n".join(p for p in parts if p) or " "}


def mrkdwn_chunks(markdown: str, *, header: str = "", notice: str | None = None) -> list[str]:
    """The text converted to mrkdwn, then split so that each chunk, with the header
    and the notice around it (`text_message`), stays within Slack's `text` limit."""
    around = len(text_message("", header=header, notice=notice)["text"]) + 4
    limit = max(min(TEXT_CHUNK, SLACK_TEXT_LIMIT - around), MIN_LIMIT)
    return split_message(to_mrkdwn(markdown), limit)
