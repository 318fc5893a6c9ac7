"""An answer's sources: links in its text and a short numbered list under it. Pure.

The model cites web pages (`url_citation`, with the span of text it backs) and
searched files (`file_citation`, at one place in the text). Most models write
the link into the text already (`([example.com](https://…))`); a cited span
without one becomes a link, and a cited file gets its number (`[2]`). Under
the answer, each source once, in the order the text first cites it: the
page's title linked, or the file's name. Links that point into the model's
code sandbox (`sandbox:/mnt/data/…`) mean nothing in Slack: their words stay,
the files themselves are uploaded into the thread.

Everything here is Markdown; Slack's markdown blocks show it as it is, and
`to_mrkdwn` turns its links into `<url|title>` where plain mrkdwn is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.responses.events import Citation
from bot.responses.reducer import Answer

HEADING = "**Sources**"
MAX_TITLE = 120  # characters of a title shown in the list

_SANDBOX_LINK = re.compile(r"!?\[([^\]\n]*)\]\(sandbox:[^)\s]*\)")
_BRACKETS = str.maketrans("[]", "()")
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"}


@dataclass(frozen=True)
class Source:
    """One entry of the list: a web page (with its `url`) or a file (without)."""

    number: int
    title: str
    url: str = ""


def _identity(citation: Citation) -> str:
    if citation.kind == "url_citation":
        return "url:" + _page(citation.url)
    return "file:" + (citation.file_id or citation.filename)


def _page(url: str) -> str:
    """A URL as one page: without its fragment and the tracking tags a search adds
    (`?utm_source=openai`), so a page cited with and without them is listed once."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("utm_"))
    return parts._replace(query=query, fragment="").geturl()


def _cited(citations: Iterable[Citation]) -> list[Citation]:
    """Page and searched-file citations, in the order of the text they annotate."""
    shown = [c for c in citations if c.kind in ("url_citation", "file_citation")]
    return sorted(shown, key=lambda c: (c.part, c.start))


def sources(citations: Iterable[Citation]) -> list[Source]:
    """Each page or file once, numbered in the order the text first cites it."""
    found: dict[str, Source] = {}
    for citation in _cited(citations):
        key = _identity(citation)
        if key in found:
            continue
        if citation.kind == "url_citation":
            title = citation.title or _host(citation.url)
            found[key] = Source(len(found) + 1, _brief(title), citation.url)
        else:
            found[key] = Source(len(found) + 1, _brief(citation.filename or citation.file_id))
    return list(found.values())


def sources_list(citations: Iterable[Citation]) -> str:
    """The numbered list under the answer, or "" without sources."""
    listed = sources(citations)
    if not listed:
        return ""
    lines = [HEADING]
    for source in listed:
        title = _escape(source.title)
        entry = f"[{title}]({_safe_url(source.url)})" if source.url else title
        lines.append(f"{source.number}. {entry}")
    return "\n".join(lines)


def linked(parts: Iterable[tuple[tuple[int, int], str]], citations: Iterable[Citation]) -> str:
    """The text of the parts with every cited page linked and every cited file numbered."""
    cited = _cited(citations)
    keys = dict.fromkeys(_identity(c) for c in cited)  # in the order `sources` numbers them
    numbers = dict(zip(keys, sources(cited), strict=True))
    texts = []
    for key, text in parts:
        edits = _edits(text, [c for c in cited if c.part == key], numbers)
        texts.append(_without_sandbox_links(_applied(text, edits)))
    return "\n\n".join(text for text in texts if text)


def with_sources(answer: Answer) -> str:
    """What the answer shows when it is done: its text (links in place, files numbered,
    then any refusal), and the list of its sources under it."""
    if not answer.citations and "sandbox:" not in answer.text:
        return answer.said
    body = "\n\n".join(t for t in (linked(answer.parts, answer.citations), answer.refusal) if t)
    listed = sources_list(answer.citations)
    return "\n\n".join(t for t in (body, listed) if t)


# -- edits of one part's text ---------------------------------------------------------

Edit = tuple[int, int, str]  # replace text[start:end] with the string


def _edits(text: str, citations: list[Citation], numbers: dict[str, Source]) -> list[Edit]:
    edits: list[Edit] = []
    files_at: dict[int, list[int]] = {}
    for citation in citations:
        source = numbers.get(_identity(citation))
        if source is None or not 0 <= citation.start <= citation.end <= len(text):
            continue  # indices from another text (e.g. a proxy's): listed, not placed
        if citation.kind == "file_citation":
            numbered = files_at.setdefault(citation.start, [])
            if source.number not in numbered:
                numbered.append(source.number)
            continue
        edit = _link(text, citation)
        if edit is not None:
            edits.append(edit)
    for place, numbered in files_at.items():
        space = " " if place > 0 and not text[place - 1].isspace() else ""
        edits.append((place, place, f"{space}[{', '.join(map(str, numbered))}]"))
    # From the end, so earlier indices stay right; overlapping edits are dropped.
    edits.sort(key=lambda e: (e[0], e[1]), reverse=True)
    kept: list[Edit] = []
    for edit in edits:
        if kept and edit[1] > kept[-1][0]:
            continue
        kept.append(edit)
    return kept


def _link(text: str, citation: Citation) -> Edit | None:
    """Link the cited span to its page, unless the text links it already."""
    start, end, url = citation.start, citation.end, citation.url
    span = text[start:end]
    around = text[max(start - 2, 0) : end + len(url) + 4]
    if url in around or "](" in around:
        return None  # the model wrote the link (or another one) itself
    if span and span == span.strip() and not any(c in span for c in "[]`\n"):
        return (start, end, f"[{span}]({_safe_url(url)})")
    label = _escape(_host(url) or citation.title or "source")
    return (end, end, f" ([{label}]({_safe_url(url)}))")


def _applied(text: str, edits: list[Edit]) -> str:
    for start, end, new in edits:  # from the end
        text = text[:start] + new + text[end:]
    return text


def _without_sandbox_links(text: str) -> str:
    if "sandbox:" not in text:
        return text
    return _SANDBOX_LINK.sub(lambda m: m[1], text)


# -- small helpers ----------------------------------------------------------------------


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def _brief(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


def _escape(title: str) -> str:
    """A title that cannot end a link's text early. No backslash escapes: where one is
    not understood it shows; a lone `*` (as in "Wallpaper*") stays text anyway."""
    return title.translate(_BRACKETS)


def _safe_url(url: str) -> str:
    """A link target Markdown takes whole: no spaces, no bare parentheses or brackets."""
    return "".join(_URL_UNSAFE.get(c, c) for c in url.strip())
