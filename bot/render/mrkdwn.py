"""Markdown, as a model writes it, to Slack mrkdwn.

Slack's `text` field speaks mrkdwn, not Markdown: bold is `*x*`, italics
`_x_`, links `<url|label>`, and `&`, `<`, `>` must be escaped. The Markdown is
parsed by markdown-it-py (CommonMark, plus GFM tables and strikethrough and
footnotes); this module only renders its tokens. Three small inline rules add
what a model writes for Slack: mentions (`<@U123>`, `<#C123|name>`), Slack links
(`<https://x.io|label>`) and bare URLs. Partial (streamed) text renders too: an
unclosed code fence is shown as an open code block, an unmatched `**` is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin

__all__ = ["RULE", "to_mrkdwn"]

RULE = "──────────"
"""What a Markdown horizontal rule (`---`) becomes."""

_ZWSP = "\u200b"  # lets mrkdwn emphasis start or end inside a word
# mrkdwn cannot escape a backtick: a lone one in text would pair with the next
# one, and one inside code would end it early. So those are shown as this
# look-alike (modifier letter grave accent), the only change made to code.
_LONE_BACKTICK = "\u02cb"
_LEVEL = "    "  # indentation of one list nesting level
_MARKS = {"strong": "*", "emph": "_", "strike": "~"}
_SPANS = {"strong": "strong", "em": "emph", "s": "strike"}

_MENTION = re.compile(r"<(?:@[UW][A-Z0-9]{2,}|#C[A-Z0-9]{2,})(?:\|[^<>|\n]{0,80})?>")
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^\s<>|]+)\|([^<>\n]*)>", re.IGNORECASE)
_URL_SCHEME = re.compile(r"(https?)$", re.IGNORECASE)
_URL_REST = re.compile(r"://[^\s<>]+")
_URL_TRAILER = ".,:;!?'\"*_~"
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*:")
_COMMENT = re.compile(r"<!--(?:-?>|.*?-->|.*)", re.DOTALL)  # an unclosed one runs to the end
_TASK = re.compile(r"\[(?P<mark>[ xX])\][ \t]+")
_BLANK = re.compile(r"[ \t>]*")  # a blank line, also inside a quote
_STREAMED_DASH = re.compile(r"\r?\n[ \t>]*-[ \t]*\Z")


# --- parsing ------------------------------------------------------------------


def _slack_syntax(state: StateInline, silent: bool) -> bool:
    """`<@U123>` and `<#C123|name>` pass through; `<https://x.io|label>` is a link."""
    if state.src[state.pos] != "<":
        return False
    if mention := _MENTION.match(state.src, state.pos, state.posMax):
        if not silent:
            state.push("slack_mention", "", 0).content = mention[0]
        state.pos = mention.end()
        return True
    link = _SLACK_LINK.match(state.src, state.pos, state.posMax)
    if link is None or state.linkLevel or not state.md.validateLink(link[1]):
        return False
    if not silent:
        _push_link(state, state.md.normalizeLink(link[1]), link[2] or link[1])
    state.pos = link.end()
    return True


def _bare_url(state: StateInline, silent: bool) -> bool:
    """`https://…` in text is a link (found at its `:`, as markdown-it's linkify is)."""
    if state.src[state.pos] != ":" or state.linkLevel > 0:
        return False
    scheme = _URL_SCHEME.search(state.pending[-6:])  # the text just before the `:`
    rest = _URL_REST.match(state.src, state.pos, state.posMax)
    if scheme is None or rest is None:
        return False
    before = state.pending[-len(scheme[1]) - 1 : -len(scheme[1])]
    if before.isalnum() or before in ("/", "@"):  # part of a word or of another URL
        return False
    url = scheme[1] + rest[0]
    while url and (url[-1] in _URL_TRAILER or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    if len(url) <= len("https://"):
        return False
    if not silent:
        state.pending = state.pending[: -len(scheme[1])]
        _push_link(state, state.md.normalizeLink(url), url)
    state.pos += len(url) - len(scheme[1])
    return True


def _push_link(state: StateInline, url: str, label: str) -> None:
    state.push("link_open", "a", 1).attrs = {"href": url}
    state.push("text", "", 0).content = label
    state.push("link_close", "a", -1)


def _drop_stray_double_stars(state: StateInline) -> None:
    """What is left of a `**` run that found no partner (partial or stray bold) is
    dropped, not shown: `**bold te` streams as `bold te`."""
    runs = [state.delimiters]
    runs += [meta["delimiters"] for meta in state.tokens_meta if meta and "delimiters" in meta]
    for delimiters in runs:
        for delimiter in delimiters:
            token = state.tokens[delimiter.token]
            if delimiter.marker == ord("*") and delimiter.length >= 2 and token.type == "text":
                token.content = ""


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    # Undefined references still count, so a streamed `[^1]` shows as `[1]` at once.
    md.use(footnote_plugin, inline=False, always_match_refs=True)
    md.inline.ruler.before("autolink", "slack_syntax", _slack_syntax)
    md.inline.ruler.before("autolink", "bare_url", _bare_url)
    md.inline.ruler2.before("fragments_join", "stray_double_stars", _drop_stray_double_stars)
    return md


_MARKDOWN = _parser()


def to_mrkdwn(markdown: str) -> str:
    """Render Markdown as Slack mrkdwn; never raises, safe on partial (streamed) text."""
    env: dict[str, Any] = {}
    # A text that ends in a lone `-` is most likely a list item on its way, not the
    # underline that makes the paragraph above it a heading: it would flash bold.
    markdown = _STREAMED_DASH.sub("", markdown)
    tokens = _MARKDOWN.parse(markdown, env)
    return "\n".join(_Renderer(markdown, tokens, env).document())


# --- blocks -------------------------------------------------------------------


class _Renderer:
    def __init__(self, markdown: str, tokens: list[Token], env: dict[str, Any]) -> None:
        # markdown-it's line numbers count lines after this same normalization.
        self._lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._tokens = tokens
        self._env = env
        self._close = _closing_indices(tokens)

    def document(self) -> list[str]:
        return self._blocks(0, len(self._tokens), indent="", depth=0)

    def _blocks(self, start: int, end: int, *, indent: str, depth: int) -> list[str]:
        """Lines of the sibling blocks in tokens[start:end], with a blank line between
        two where the source has one."""
        out: list[str] = []
        previous: Token | None = None  # the last block shown
        for i in self._children(start - 1, end):
            lines = self._block(i, self._close.get(i, i), indent=indent, depth=depth)
            if lines:
                if previous is not None and self._blank_between(previous, self._tokens[i]):
                    out.append("")
                out.extend(lines)
                previous = self._tokens[i]
        return out

    def _blank_between(self, previous: Token, token: Token) -> bool:
        """Whether the source has a blank line right after `previous` or right before
        `token` (not one inside a block left out between them, such as an empty fence)."""
        if previous.map is None or token.map is None:  # the footnotes, moved to the end
            return True
        return self._blank(previous.map[1]) or self._blank(token.map[0] - 1)

    def _blank(self, line: int) -> bool:
        return 0 <= line < len(self._lines) and _BLANK.fullmatch(self._lines[line]) is not None

    def _block(self, i: int, close: int, *, indent: str, depth: int) -> list[str]:
        """The lines of the block opened by tokens[i] and closed by tokens[close]."""
        token = self._tokens[i]
        kind = token.type
        if kind == "paragraph_open":
            return _indented(self._inline(self._tokens[i + 1]), indent)
        if kind == "heading_open":
            return _indented(self._inline(self._tokens[i + 1], heading=True), indent)
        if kind == "hr":
            return [indent + RULE]
        if kind in ("fence", "code_block"):
            return _code_block(token.content)
        if kind == "html_block":
            return _indented(self._html(token.content), indent)
        if kind == "blockquote_open":
            # mrkdwn has one quote level: nested quotes are flattened.
            inner = self._blocks(i + 1, close, indent="", depth=0)
            return [line if line.startswith(">") else f"> {line}".rstrip() for line in inner]
        if kind in ("bullet_list_open", "ordered_list_open"):
            return self._list(i, close, depth)
        if kind == "table_open":
            return self._table(i, close, indent)
        if kind == "footnote_block_open":
            return self._footnotes(i, close)
        return []

    def _list(self, start: int, close: int, depth: int) -> list[str]:
        out: list[str] = []
        items = self._children(start, close)
        inner = _LEVEL * (depth + 1)
        for index, item in enumerate(items):
            opened = self._tokens[item]
            marker = "•" if opened.markup in "-*+" else f"{opened.info}{opened.markup}"
            self._mark_task(item)
            body = self._blocks(item + 1, self._close[item], indent=inner, depth=depth + 1)
            first = _LEVEL * depth + marker
            if body and body[0].startswith(inner):  # text: the marker goes before it
                body[0] = f"{first} {body[0][len(inner) :]}".rstrip()
            else:  # empty, or a code block or quote, which cannot be indented
                body.insert(0, first)
            if index and self._blank_between(self._tokens[items[index - 1]], opened):
                out.append("")
            out.extend(body)
        return out

    def _mark_task(self, item: int) -> None:
        """`- [ ] todo` and `- [x] done` show a box."""
        if self._tokens[item + 1].type != "paragraph_open":
            return
        children = self._tokens[item + 2].children or []
        if children and children[0].type == "text":
            task = _TASK.match(children[0].content)
            if task:
                box = "☐" if task["mark"] == " " else "☑"
                children[0].content = f"{box} {children[0].content[task.end() :]}"

    def _table(self, start: int, close: int, indent: str) -> list[str]:
        """An aligned plain-text table in a code block. A row line without a pipe ends
        the table (GFM would make it a row): the lines from there on are text."""
        rows: list[list[str]] = []
        aligns: list[str] = []
        text_from: int | None = None
        for i in range(start, close):
            token = self._tokens[i]
            if token.type == "tr_open":
                line = self._lines[token.map[0]] if token.map else "|"
                if rows and "|" not in line:
                    text_from = token.map[0] if token.map else None
                    break
                rows.append([])
            elif token.type in ("th_open", "td_open") and rows:
                style = str(token.attrs.get("style", ""))
                if token.type == "th_open":
                    aligns.append(style.removeprefix("text-align:"))
                cell = self._tokens[i + 1]
                rows[-1].append(_plain(self._nodes(cell), with_urls=True) if cell.children else "")
        out = ["```", *_escape("\n".join(_aligned(rows, aligns))).split("\n"), "```"]
        end = self._tokens[start].map
        if text_from is not None and end is not None:
            rest = [line.lstrip(" \t>") for line in self._lines[text_from : end[1]]]
            out.extend(_indented(self._inline_text("\n".join(rest)), indent))
        return out

    def _footnotes(self, start: int, close: int) -> list[str]:
        """Each note as `[1] text`, numbered as its references are."""
        out: list[str] = []
        for note in self._children(start, close):
            body = self._blocks(note + 1, self._close[note], indent="", depth=0)
            if any(line.strip() for line in body):
                number = int(self._tokens[note].meta.get("id", 0)) + 1
                out.extend([f"[{number}] {body[0]}".rstrip(), *body[1:]])
        return out

    def _html(self, html: str) -> list[str]:
        """HTML is shown as text (Slack renders none), comments dropped; Markdown
        inside an HTML block renders as in a paragraph."""
        text = _COMMENT.sub("", html).strip("\n")
        return self._inline_text(text) if text.strip() else []

    def _inline_text(self, text: str) -> list[str]:
        tokens = _MARKDOWN.parseInline(text, self._env)
        return self._inline(tokens[0]) if tokens else []

    def _children(self, start: int, close: int) -> list[int]:
        """Indices of the tokens that open the direct children of tokens[start]."""
        indices, i = [], start + 1
        while i < close:
            indices.append(i)
            i = self._close.get(i, i) + 1
        return indices

    # --- inline ---------------------------------------------------------------

    def _inline(self, token: Token, *, heading: bool = False) -> list[str]:
        nodes = self._nodes(token)
        if heading:
            nodes = [_Span("strong", nodes)]
        segments: list[tuple[str, str]] = []
        _emit(nodes, frozenset(), segments)
        return _finish(segments).split("\n")

    def _nodes(self, token: Token) -> list[_Node]:
        return _tree(token.children or [])


def _closing_indices(tokens: list[Token]) -> dict[int, int]:
    """For each opening token's index, the index of the token that closes it."""
    close: dict[int, int] = {}
    open_at: list[int] = []
    for index, token in enumerate(tokens):
        if token.nesting == 1:
            open_at.append(index)
        elif token.nesting == -1 and open_at:
            close[open_at.pop()] = index
    for index in open_at:  # never left by markdown-it, but never a crash either
        close[index] = len(tokens) - 1
    return close


def _indented(lines: list[str], indent: str) -> list[str]:
    return [f"{indent}{line}" if line else line for line in lines] if indent else lines


def _code_block(code: str) -> list[str]:
    """The language tag is dropped (mrkdwn has no highlighting), the content is only
    escaped. An empty block would show bare fences, so it is not shown."""
    if not code.strip():
        return []
    body = _escape(code.removesuffix("\n")).replace("```", _LONE_BACKTICK * 3)
    return ["```", *body.split("\n"), "```"]


def _aligned(rows: list[list[str]], aligns: list[str]) -> list[str]:
    columns = max(len(row) for row in rows)
    widths = [
        max((_display_width(row[c]) for row in rows if c < len(row)), default=0)
        for c in range(columns)
    ]

    def render(row: list[str]) -> str:
        cells = [
            _pad(row[c] if c < len(row) else "", widths[c], aligns[c] if c < len(aligns) else "")
            for c in range(columns)
        ]
        return " | ".join(cells).rstrip()

    return [render(rows[0]), "-+-".join("-" * w for w in widths), *map(render, rows[1:])]


def _display_width(text: str) -> int:
    """Columns `text` takes in a monospace font (wide CJK characters take two)."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def _pad(text: str, width: int, align: str) -> str:
    room = width - _display_width(text)
    if align == "right":
        return " " * room + text
    if align == "center":
        return " " * (room // 2) + text + " " * (room - room // 2)
    return text + " " * room


# --- inline -------------------------------------------------------------------


@dataclass
class _Text:
    value: str


@dataclass
class _Code:
    value: str


@dataclass
class _Mention:
    """A Slack user or channel mention, `<@U123>` or `<#C123>`: passed through as it is.
    (`<!here>`-style broadcasts are not: they stay escaped text.)"""

    value: str


@dataclass
class _Break:
    """A line break inside a paragraph."""


@dataclass
class _Link:
    url: str
    label: list[_Node]


@dataclass
class _Span:
    kind: str  # "strong", "emph" or "strike"
    children: list[_Node]


_Node = _Text | _Code | _Mention | _Break | _Link | _Span


def _tree(tokens: list[Token]) -> list[_Node]:
    """markdown-it's flat inline tokens as nested nodes."""
    root: list[_Node] = []
    stack: list[tuple[Token, list[_Node]]] = []
    current = root
    for token in tokens:
        kind = token.type
        if token.nesting == 1:
            stack.append((token, current))
            current = []
        elif token.nesting == -1:
            if not stack:
                continue
            opened, parent = stack.pop()
            parent.append(_opened_node(opened, current))
            current = parent
        elif kind in ("text", "text_special"):
            if token.content:
                current.append(_Text(token.content))
        elif kind == "code_inline":
            current.append(_Code(token.content))
        elif kind in ("softbreak", "hardbreak"):
            current.append(_Break())
        elif kind == "image":
            current.append(_Link(str(token.attrs.get("src", "")), _tree(token.children or [])))
        elif kind == "footnote_ref":
            current.append(_Text(f"[{int(token.meta.get('id', 0)) + 1}]"))
        elif kind == "slack_mention":
            current.append(_Mention(token.content))
        elif kind == "html_inline" and not token.content.startswith("<!--"):
            current.append(_Text(token.content))  # shown as text; comments are dropped
    while stack:  # never left by markdown-it, but never a crash either
        opened, parent = stack.pop()
        parent.append(_opened_node(opened, current))
        current = parent
    return root


def _opened_node(opened: Token, children: list[_Node]) -> _Node:
    if opened.type == "link_open":
        return _Link(str(opened.attrs.get("href", "")), children)
    kind = _SPANS.get(opened.type.removesuffix("_open"))
    return _Span(kind, children) if kind else _Span("none", children)


def _emit(nodes: list[_Node], active: frozenset[str], out: list[tuple[str, str]]) -> None:
    """Append (text, role) segments; role is "text", "code", "break", "open" or "close"."""
    for node in _merged(nodes):
        if isinstance(node, _Text):
            out.append((_escape(node.value).replace("`", _LONE_BACKTICK), "text"))
        elif isinstance(node, _Mention):
            out.append((node.value, "text"))
        elif isinstance(node, _Break):
            out.append(("\n", "break"))
        elif isinstance(node, _Code):
            code = _escape(node.value).replace("`", _LONE_BACKTICK)
            out.append((f"`{code}`", "code"))
        elif isinstance(node, _Link):
            url = node.url.strip()
            if not _SCHEME.match(url):  # relative or empty: Slack cannot link it
                _emit(node.label or [_Text(url)], active, out)
                continue
            target = _escape(url).replace(" ", "%20").replace("|", "%7C").replace("**", "%2A%2A")
            label = _escape(" ".join(_plain(node.label).split()))
            shown = f"<{target}|{label}>" if label and label != target else f"<{target}>"
            out.append((shown, "text"))
        else:
            inner: list[tuple[str, str]] = []
            _emit(node.children, active | {node.kind}, inner)
            mark = _MARKS.get(node.kind)
            # Nested same-kind spans (`# **x**`) would double the marks.
            if mark is None or node.kind in active:
                out.extend(inner)
            else:
                _wrap(inner, mark, out)


def _wrap(inner: list[tuple[str, str]], mark: str, out: list[tuple[str, str]]) -> None:
    """Put marks around each line of `inner` (mrkdwn emphasis ends at a line end),
    but not around nothing: empty marks would show."""
    line: list[tuple[str, str]] = []
    for segment in [*inner, ("", "end")]:
        if segment[1] not in ("break", "end"):
            line.append(segment)
            continue
        if any(text.strip() for text, _ in line):
            out.extend([(mark, "open"), *line, (mark, "close")])
        else:
            out.extend(line)
        if segment[1] == "break":
            out.append(segment)
        line = []


def _merged(nodes: list[_Node]) -> list[_Node]:
    """Join adjacent spans of one kind: `**a****b**` is `*ab*`, not `*a**b*`."""
    result: list[_Node] = []
    for node in nodes:
        last = result[-1] if result else None
        if isinstance(node, _Span) and isinstance(last, _Span) and last.kind == node.kind:
            result[-1] = _Span(node.kind, last.children + node.children)
        else:
            result.append(node)
    return result


def _finish(segments: list[tuple[str, str]]) -> str:
    following = [""] * len(segments)  # the first character after each segment
    after = ""
    for index in range(len(segments) - 1, -1, -1):
        following[index] = after
        after = segments[index][0][:1] or after
    out: list[str] = []
    text_run: list[str] = []  # the current stretch outside code
    previous = ""
    for index, (text, role) in enumerate(segments):
        if role == "open" and previous.isalnum():
            text = _ZWSP + text
        elif role == "close" and following[index].isalnum():
            text += _ZWSP
        if role == "code":
            out.extend([_single_stars("".join(text_run)), text])
            text_run.clear()
        else:
            text_run.append(text)
        previous = text[-1:] or previous
    out.append(_single_stars("".join(text_run)))
    return "".join(out)


def _single_stars(text: str) -> str:
    # Last guard: a doubled star left by pathological input would show as `**`.
    return re.sub(r"\*{2,}", "*", text)


def _plain(nodes: list[_Node], *, with_urls: bool = False) -> str:
    """Unescaped text without any markup (link labels, table cells)."""
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text | _Code | _Mention):
            out.append(node.value)
        elif isinstance(node, _Break):
            out.append(" ")
        elif isinstance(node, _Span):
            out.append(_plain(node.children, with_urls=with_urls))
        else:
            label = _plain(node.label)
            if not label:
                out.append(node.url)
            elif with_urls and _SCHEME.match(node.url) and label != node.url:
                out.append(f"{label} ({node.url})")
            else:
                out.append(label)
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
