"""Splitting a long answer into messages that fit Slack's size limits.

Works on Markdown and on mrkdwn alike: both fence code with lines of backticks.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass

__all__ = ["MIN_LIMIT", "SLACK_MARKDOWN_LIMIT", "SLACK_TEXT_LIMIT", "split_message"]

SLACK_TEXT_LIMIT = 3900
"""Characters of `text` per message: chat.update fails with msg_too_long near 4,000."""

SLACK_MARKDOWN_LIMIT = 12000
"""Characters of a `markdown` block (and of `markdown_text`)."""

MIN_LIMIT = 16
"""The smallest limit accepted: room for a reopened and a closed fence plus some text."""

_FENCE_OPEN = re.compile(r"[ \t]*(?P<marker>`{3,}|~{3,})(?P<info>.*)")
_FENCE_CLOSE = re.compile(r"[ \t]*(?P<marker>`{3,}|~{3,})[ \t\r]*")
_BLANK_LINES = re.compile(r"(?:[ \t]*\n)+")
_NON_SPACE = re.compile(r"\S")
# Where a cut may go, best first; the separator matched is dropped.
_PARAGRAPH, _LINE, _SENTENCE, _WORD, _IN_CODE = range(5)
_SEPARATORS = (
    (_PARAGRAPH, re.compile(r"\n(?:[ \t]*\n)+")),
    (_LINE, re.compile(r"\n")),
    (_SENTENCE, re.compile(r"(?<=[.!?…])[ \t]+")),
    (_WORD, re.compile(r"[ \t]+")),
)
# Spans a cut between words would break: mrkdwn links and entities, Markdown
# links, inline code.
_ATOMIC = re.compile(r"<[^<>\n]+>|&#?\w+;|!?\[[^\]\n]*\]\([^)\n]*\)|`[^`\n]+`")


@dataclass(frozen=True)
class _Fence:
    """A fenced code block, as offsets into the text."""

    start: int  # first character of the opening fence line
    body: int  # end of the opening fence line
    close: int  # first character of the closing fence line (len(text) if unclosed)
    end: int  # end of the closing fence line (len(text) if unclosed)
    closed: bool
    marker: str  # "```", "~~~~", ...
    lang: str
    first: int  # first non-space character of the code (close if none)
    last: int  # just after the last non-space character of the code (body if none)


def split_message(text: str, limit: int) -> list[str]:
    """Split `text` into chunks of at most `limit` characters, in order.

    Cuts at the last blank line that leaves the chunk at least half full, else at
    a line end, else after a sentence, else between words, else anywhere (never
    inside a fence line, a link or an entity when avoidable). The whitespace at a
    cut is dropped, so the chunks hold the text's content minus whitespace at
    their edges. A code block cut in two is closed at the end of one chunk and
    reopened, with its language tag, at the start of the next; those fence lines
    count towards the limit, and a fence left open by the text (partial, while
    streaming) is closed too. Empty or whitespace-only text gives `[]`.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT}, not {limit}")
    return _Splitter(text, limit).chunks()


class _Splitter:
    def __init__(self, text: str, limit: int) -> None:
        self.text = text
        self.limit = limit
        self.fences = _fences(text)
        self.fence_starts = [f.start for f in self.fences]
        self.fence_edges = {f.start for f in self.fences} | {f.end for f in self.fences}
        self.atomic = [(m.start(), m.end()) for m in _ATOMIC.finditer(text)]
        self.atomic_starts = [start for start, _ in self.atomic]

    def chunks(self) -> list[str]:
        text, start = self.text, 0
        end = len(text.rstrip())
        chunks: list[str] = []
        while start < end:
            if self._opened(start) is None:
                blank = _BLANK_LINES.match(text, start)
                start = blank.end() if blank else start
            first = _NON_SPACE.search(text, start)
            if first is None or first.start() >= end:
                break
            if self._cost(start, end) <= self.limit:
                cut, resume = end, end
            else:
                cut, resume = self._cut(start, first.start())
            content = text[start:cut].rstrip()
            if content.strip():  # else only indentation too wide for the limit was cut off
                chunks.append(self._prefix(start) + content + self._suffix(cut))
            start = resume
        return chunks

    # --- fences ---

    def _fence_before(self, position: int) -> _Fence | None:
        """The last fence that starts before `position`."""
        index = bisect_left(self.fence_starts, position) - 1
        return self.fences[index] if index >= 0 else None

    def _opened(self, start: int) -> _Fence | None:
        """The fence a chunk starting at `start` must reopen, if any."""
        fence = self._fence_before(start)
        if fence and fence.body < start < fence.close and self._fits(fence):
            return fence
        return None

    def _left_open(self, cut: int) -> _Fence | None:
        """The fence a chunk ending at `cut` must close, if any."""
        fence = self._fence_before(cut)
        if fence and (cut < fence.end or not fence.closed) and self._fits(fence):
            return fence
        return None

    def _fits(self, fence: _Fence) -> bool:
        # A fence too long to reopen and close around one character is not
        # repaired: the limit wins.
        return 2 * len(fence.marker) + 3 <= self.limit

    def _prefix(self, start: int) -> str:
        fence = self._opened(start)
        if fence is None:
            return ""
        with_lang = 2 * len(fence.marker) + 2 + len(fence.lang) <= self.limit // 2
        return fence.marker + (fence.lang if with_lang else "") + "\n"

    def _suffix(self, cut: int) -> str:
        fence = self._left_open(cut)
        return "" if fence is None else "\n" + fence.marker

    def _cost(self, start: int, cut: int) -> int:
        return len(self._prefix(start)) + (cut - start) + len(self._suffix(cut))

    def _allowed(self, cut: int, resume: int) -> bool:
        """No cut in a fence line, nor one leaving a chunk with an empty code block."""
        fence = self._fence_before(cut)
        if fence is not None:
            if fence.start < cut <= fence.body:
                return False
            if fence.body < cut <= fence.close and cut <= fence.first:
                return False
            if fence.closed and fence.close < cut < fence.end:
                return False
        fence = self._fence_before(resume)
        if fence is not None:
            if fence.start < resume <= fence.body:
                return False
            if fence.body < resume < fence.close and resume >= fence.last:
                return False
            if fence.closed and fence.close <= resume < fence.end:
                return False
        return True

    # --- cuts ---

    def _cut(self, start: int, first: int) -> tuple[int, int]:
        """Where the chunk starting at `start` ends, and where the next one starts."""
        text, room = self.text, self.limit - len(self._prefix(start))
        best: dict[int, tuple[int, int]] = {}
        for level, separator in _SEPARATORS:
            for match in separator.finditer(text, start):
                cut, resume = match.start(), match.end()
                if cut - start > room:
                    break
                if cut <= first or self._cost(start, cut) > self.limit:
                    continue
                if level >= _SENTENCE and self._in_atomic(cut):
                    continue
                if not self._allowed(cut, resume):
                    continue
                rank = level
                if level >= _SENTENCE and self._left_open(cut):
                    rank = _IN_CODE  # breaks a line of code: only if no line end will do
                elif level == _LINE and (cut in self.fence_edges or resume in self.fence_edges):
                    rank = _PARAGRAPH  # just before or after a code block
                best[rank] = max(best.get(rank, (cut, resume)), (cut, resume))
        for level in sorted(best):
            if level != _IN_CODE and best[level][0] - start >= room // 2:
                return best[level]
        if best:
            return best[min(best)]
        return self._hard_cut(start, first)

    def _hard_cut(self, start: int, first: int) -> tuple[int, int]:
        fitting = start + 1
        for cut in range(min(start + self.limit, len(self.text)), first, -1):
            if self._cost(start, cut) <= self.limit:
                fitting = cut
                break
        for cut in range(fitting, first, -1):
            if (
                self._cost(start, cut) <= self.limit
                and self._allowed(cut, cut)
                and not self._in_atomic(cut)
                and not _joined(text=self.text, at=cut)
            ):
                return cut, cut
        return fitting, fitting

    def _in_atomic(self, position: int) -> bool:
        index = bisect_left(self.atomic_starts, position) - 1
        return index >= 0 and position < self.atomic[index][1]


def _joined(*, text: str, at: int) -> bool:
    """Whether a cut at `at` would split a character from its accent or emoji joiner."""
    if at <= 0 or at >= len(text):
        return False
    after, before = text[at], text[at - 1]
    return bool(unicodedata.combining(after)) or after in "\u200d\ufe0f" or before == "\u200d"


def _fences(text: str) -> list[_Fence]:
    fences: list[_Fence] = []
    opening: tuple[int, int, str, str] | None = None  # start, body, marker, lang
    offset = 0
    for line in text.split("\n"):
        line_end = offset + len(line)
        if opening is None:
            match = _FENCE_OPEN.fullmatch(line)
            # A backtick "fence" with a backtick after it is inline code (```x```).
            if match and not (match["marker"][0] == "`" and "`" in match["info"]):
                words = match["info"].split()
                opening = (offset, line_end, match["marker"], words[0] if words else "")
        else:
            match = _FENCE_CLOSE.fullmatch(line)
            marker = opening[2]
            if match and match["marker"][0] == marker[0] and len(match["marker"]) >= len(marker):
                fences.append(_fence(text, *opening, close=offset, end=line_end, closed=True))
                opening = None
        offset = line_end + 1
    if opening is not None:
        fences.append(_fence(text, *opening, close=len(text), end=len(text), closed=False))
    return fences


def _fence(
    text: str, start: int, body: int, marker: str, lang: str, *, close: int, end: int, closed: bool
) -> _Fence:
    code = text[body:close]
    stripped = code.strip()
    first = body + len(code) - len(code.lstrip()) if stripped else close
    last = body + len(code.rstrip()) if stripped else body
    return _Fence(start, body, close, end, closed, marker, lang, first, last)
