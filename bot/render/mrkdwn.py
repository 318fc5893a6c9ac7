"""Markdown, as a model writes it, to Slack mrkdwn.

Slack's `text` field speaks mrkdwn, not Markdown: bold is `*x*`, italics
`_x_`, links `<url|label>`, and `&`, `<`, `>` must be escaped. The conversion
works line by line (emphasis never spans lines in mrkdwn) and tolerates partial
input, so every streamed snapshot of an answer can be rendered: an unclosed
code fence is shown as an open code block, an unmatched `**` is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

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

_FENCE = re.compile(r"(?P<indent>[ \t]*)(?P<marker>`{3,}|~{3,})(?P<info>.*)")
_FENCE_CLOSE = re.compile(r"[ \t]*(?P<marker>`{3,}|~{3,})[ \t]*")
_HEADING = re.compile(r"#{1,6}(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*")
_RULE = re.compile(r"(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,}")
_BULLET = re.compile(r"(?P<indent>[ \t]*)[-*+][ \t]+(?P<text>.*)")
_ORDERED = re.compile(r"(?P<indent>[ \t]*)(?P<num>\d{1,9})(?P<delim>[.)])[ \t]+(?P<text>.*)")
_QUOTE = re.compile(r"[ \t]*>(?:[ \t]*>)*[ \t]?")
_TASK = re.compile(r"\[(?P<mark>[ xX])\][ \t]+")
_TABLE_DELIMITER = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")

_SPECIAL = re.compile(r"[\\`!\[<*_~hH]")
_BACKTICKS = re.compile(r"`+")
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_MENTION = re.compile(r"<(?:@[UW][A-Z0-9]{2,}|#C[A-Z0-9]{2,})(?:\|[^<>|]{0,80})?>")
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.\-]{1,31}:[^\s<>]*)>")
_EMAIL_AUTOLINK = re.compile(
    r"<([a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*)>"
)
_BARE_URL = re.compile(r"https?://[^\s<>]+", re.IGNORECASE)
_URL_TRAILER = ".,:;!?'\"*_~"
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*:")
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# A link destination: no spaces, parentheses balanced (one level deep, as URLs are).
_DESTINATION = re.compile(r"(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*")


def to_mrkdwn(markdown: str) -> str:
    """Render Markdown as Slack mrkdwn; never raises, safe on partial (streamed) text."""
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    lists, quoted_lists = _Nesting(), _Nesting()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.fullmatch(line)
        # A backtick "fence" whose info string has a backtick is inline code.
        if fence and not (fence["marker"][0] == "`" and "`" in fence["info"]):
            i = _code_block(lines, i, fence, out)
        elif _is_table(lines, i):
            i = _table(lines, i, out)
            lists.clear()
        else:
            out.append(_block_line(line, lists, quoted_lists))
            i += 1
    return "\n".join(out)


# --- blocks -------------------------------------------------------------------


class _Nesting:
    """Indentation widths of the open list items, outermost first."""

    def __init__(self) -> None:
        self._widths: list[int] = []

    def item(self, width: int) -> int:
        """The nesting level of a list item indented by `width`."""
        while self._widths and self._widths[-1] > width:
            self._widths.pop()
        if not self._widths or self._widths[-1] < width:
            self._widths.append(width)
        return len(self._widths) - 1

    def continuation(self, width: int) -> int:
        """The level of an indented line under a list item (0 outside lists)."""
        return sum(1 for w in self._widths if w < width)

    def clear(self) -> None:
        self._widths.clear()


def _width(indent: str) -> int:
    return len(indent.expandtabs(4))


def _block_line(line: str, lists: _Nesting, quoted_lists: _Nesting) -> str:
    """One line outside code blocks and tables."""
    if not line.strip():
        return ""  # a blank line keeps lists open (loose lists)
    quote = _QUOTE.match(line)
    if quote:
        # mrkdwn has one quote level: nested quotes are flattened.
        inner = line[quote.end() :]
        return f"> {_unquoted_line(inner, quoted_lists)}" if inner.strip() else ">"
    quoted_lists.clear()
    return _unquoted_line(line, lists)


def _unquoted_line(line: str, lists: _Nesting) -> str:
    stripped = line.strip()
    if _RULE.fullmatch(stripped):
        lists.clear()
        return RULE
    heading = _HEADING.fullmatch(stripped)
    if heading:
        lists.clear()
        return _inline(heading["text"] or "", heading=True)
    bullet = _BULLET.fullmatch(line)
    if bullet:
        level = lists.item(_width(bullet["indent"]))
        text = bullet["text"]
        task = _TASK.match(text)
        if task:
            box = "☐" if task["mark"] == " " else "☑"
            text = f"{box} {text[task.end() :]}"
        return f"{_LEVEL * level}• {_inline(text)}".rstrip()
    ordered = _ORDERED.fullmatch(line)
    if ordered:
        level = lists.item(_width(ordered["indent"]))
        number = f"{ordered['num']}{ordered['delim']}"
        return f"{_LEVEL * level}{number} {_inline(ordered['text'])}".rstrip()
    width = _width(line[: len(line) - len(line.lstrip())])
    if width == 0:
        lists.clear()
    return _LEVEL * lists.continuation(width) + _inline(stripped)


def _code_block(lines: list[str], start: int, fence: re.Match[str], out: list[str]) -> int:
    """Emit the fenced block opening at `start`; return the index after it.

    The language tag is dropped (mrkdwn has no highlighting), the content is only
    escaped, and a fence still open at the end of the text is closed here.
    """
    marker, indent = fence["marker"], _width(fence["indent"])
    body: list[str] = []
    i = start + 1
    while i < len(lines):
        close = _FENCE_CLOSE.fullmatch(lines[i])
        if close and close["marker"][0] == marker[0] and len(close["marker"]) >= len(marker):
            i += 1
            break
        body.append(_dedent(lines[i], indent))
        i += 1
    if any(line.strip() for line in body):  # an empty block would show bare fences
        code = _escape("\n".join(body)).replace("```", _LONE_BACKTICK * 3)
        out.append("```\n" + code + "\n```")
    return i


def _dedent(line: str, width: int) -> str:
    """Remove up to `width` columns of indentation (the fence's own indentation)."""
    line = line.expandtabs(4) if line[:1] == "\t" else line
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, width) :]


def _is_table(lines: list[str], i: int) -> bool:
    return (
        i + 1 < len(lines)
        and "|" in lines[i]
        and "|" in lines[i + 1]
        and _TABLE_DELIMITER.fullmatch(lines[i]) is None
        and _TABLE_DELIMITER.fullmatch(lines[i + 1]) is not None
    )


def _table(lines: list[str], start: int, out: list[str]) -> int:
    """Emit a Markdown table as an aligned plain-text table in a code block."""
    header = _cells(lines[start])
    aligns = [_alignment(cell) for cell in _cells(lines[start + 1])]
    rows = [header]
    i = start + 2
    while i < len(lines) and "|" in lines[i] and lines[i].strip():
        rows.append(_cells(lines[i]))
        i += 1
    texts = [[_plain(_inline_nodes(cell), with_urls=True) for cell in row] for row in rows]
    columns = max(len(row) for row in texts)
    widths = [
        max((_display_width(row[c]) for row in texts if c < len(row)), default=0)
        for c in range(columns)
    ]

    def render(row: list[str]) -> str:
        cells = [
            _pad(row[c] if c < len(row) else "", widths[c], aligns[c] if c < len(aligns) else "")
            for c in range(columns)
        ]
        return " | ".join(cells).rstrip()

    body = [render(texts[0]), "-+-".join("-" * w for w in widths)]
    body.extend(render(row) for row in texts[1:])
    out.append("```\n" + _escape("\n".join(body)) + "\n```")
    return i


def _cells(line: str) -> list[str]:
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(text)]


def _alignment(cell: str) -> str:
    if cell.startswith(":") and cell.endswith(":"):
        return "center"
    return "right" if cell.endswith(":") else ""


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
class _Link:
    url: str
    label: list[_Node] | None  # None for an autolink or a bare URL


@dataclass
class _Mention:
    """A Slack user or channel mention, `<@U123>` or `<#C123>`: passed through as it is.
    (`<!here>`-style broadcasts are not: they stay escaped text.)"""

    value: str


@dataclass
class _Delim:
    """A run of `*`, `_` or `~~`, before it is paired (CommonMark's delimiter run)."""

    char: str
    length: int
    can_open: bool
    can_close: bool
    count: int = field(init=False)  # characters not yet used by a pair

    def __post_init__(self) -> None:
        self.count = self.length


@dataclass
class _Span:
    kind: str  # "strong", "emph" or "strike"
    children: list[_Node]


_Node = _Text | _Code | _Link | _Mention | _Delim | _Span


def _inline(text: str, *, heading: bool = False) -> str:
    nodes: list[_Node] = _inline_nodes(text)
    if heading:
        nodes = [_Span("strong", nodes)]
    segments: list[tuple[str, str]] = []
    _emit(nodes, frozenset(), segments)
    return _finish(segments)


def _inline_nodes(text: str) -> list[_Node]:
    return _pair_delimiters(_parse(text))


def _parse(s: str) -> list[_Node]:
    """Tokenize one line: code spans, links, autolinks, URLs, delimiter runs, text."""
    nodes: list[_Node] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            nodes.append(_Text("".join(buf)))
            buf.clear()

    i, n = 0, len(s)
    while i < n:
        special = _SPECIAL.search(s, i)
        if special is None:
            buf.append(s[i:])
            break
        if special.start() > i:
            buf.append(s[i : special.start()])
            i = special.start()
        c = s[i]
        if c == "\\":
            if i + 1 < n and s[i + 1] in _ASCII_PUNCT:
                buf.append(s[i + 1])
                i += 2
            else:
                buf.append(c)
                i += 1
        elif c == "`":
            run_end = _run_end(s, i)
            close = _code_close(s, run_end, run_end - i)
            if close is None:  # CommonMark: an unmatched run is literal backticks
                buf.append(s[i:run_end])
                i = run_end
            else:
                flush()
                nodes.append(_Code(_code_content(s[run_end:close])))
                i = close + (run_end - i)
        elif c == "[" or (c == "!" and s.startswith("[", i + 1)):
            link = _link_at(s, i + 1 if c == "!" else i)
            if link is None:
                buf.append(c)
                i += 1
            else:
                label, url, i = link
                flush()
                nodes.append(_Link(url, _inline_nodes(label)))
        elif c == "<" and (mention := _MENTION.match(s, i)):
            flush()
            nodes.append(_Mention(mention[0]))
            i = mention.end()
        elif c == "<":
            auto = _AUTOLINK.match(s, i)
            email = None if auto else _EMAIL_AUTOLINK.match(s, i)
            if auto:
                flush()
                nodes.append(_Link(auto[1], None))
                i = auto.end()
            elif email:
                flush()
                nodes.append(_Link("mailto:" + email[1], [_Text(email[1])]))
                i = email.end()
            else:
                buf.append(c)
                i += 1
        elif c in "hH":
            url = _bare_url(s, i)
            if url:
                flush()
                nodes.append(_Link(url, None))
                i += len(url)
            else:
                buf.append(c)
                i += 1
        elif c in "*_~":
            run_end = _run_end(s, i)
            if c == "~" and run_end - i != 2:  # only `~~` strikes through
                buf.append(s[i:run_end])
            else:
                flush()
                before = s[i - 1] if i > 0 else " "
                after = s[run_end] if run_end < n else " "
                nodes.append(_delimiter(c, run_end - i, before, after))
            i = run_end
        else:  # "!" not followed by "["
            buf.append(c)
            i += 1
    flush()
    return nodes


def _run_end(s: str, i: int) -> int:
    j = i
    while j < len(s) and s[j] == s[i]:
        j += 1
    return j


def _code_close(s: str, start: int, length: int) -> int | None:
    """Start of the next run of exactly `length` backticks at or after `start`."""
    for run in _BACKTICKS.finditer(s, start):
        if len(run[0]) == length:
            return run.start()
    return None


def _code_content(raw: str) -> str:
    # CommonMark strips one space on each side, so `` `x` `` can hold a backtick.
    if len(raw) >= 2 and raw[0] == " " and raw[-1] == " " and raw.strip(" "):
        return raw[1:-1]
    return raw


def _link_at(s: str, i: int) -> tuple[str, str, int] | None:
    """Parse `[label](url "title")` starting at `s[i] == "["`: label, url, end."""
    if s.find("](", i) == -1:  # cheap exit, so a line of stray brackets stays linear
        return None
    n, depth, j = len(s), 0, i
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "`":
            run_end = _run_end(s, j)
            close = _code_close(s, run_end, run_end - j)
            j = run_end if close is None else close + (run_end - j)
            continue
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                break
        j += 1
    if j >= n or not s.startswith("(", j + 1):
        return None
    label, k = s[i + 1 : j], _skip_spaces(s, j + 2)
    if s.startswith("<", k):
        end = s.find(">", k + 1)
        if end == -1:
            return None
        url, k = s[k + 1 : end], end + 1
    else:
        destination = _DESTINATION.match(s, k)
        assert destination is not None  # the pattern matches the empty string
        url, k = destination[0], destination.end()
    k = _skip_spaces(s, k)
    if k < n and s[k] in "\"'(":  # a title, which mrkdwn cannot show
        end = s.find(")" if s[k] == "(" else s[k], k + 1)
        if end == -1:
            return None
        k = _skip_spaces(s, end + 1)
    if k < n and s[k] == ")":
        return label, _BACKSLASH_ESCAPE.sub(r"\1", url), k + 1
    return None


def _skip_spaces(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t":
        i += 1
    return i


def _bare_url(s: str, i: int) -> str:
    """The URL starting at `s[i]`, without trailing punctuation; "" if none."""
    if i > 0 and (s[i - 1].isalnum() or s[i - 1] in "/@"):
        return ""
    match = _BARE_URL.match(s, i)
    if match is None:
        return ""
    url = match[0]
    while url:
        last = url[-1]
        if last in _URL_TRAILER or (last == ")" and url.count("(") < url.count(")")):
            url = url[:-1]
        else:
            break
    return url if len(url) > len("https://") else ""


def _delimiter(char: str, length: int, before: str, after: str) -> _Delim:
    """A delimiter run with CommonMark's flanking rules (`_` stays literal inside words)."""
    left = not after.isspace() and (not _is_punct(after) or before.isspace() or _is_punct(before))
    right = not before.isspace() and (not _is_punct(before) or after.isspace() or _is_punct(after))
    if char == "_":
        return _Delim(
            char,
            length,
            left and (not right or _is_punct(before)),
            right and (not left or _is_punct(after)),
        )
    return _Delim(char, length, left, right)


def _is_punct(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _pair_delimiters(nodes: list[_Node]) -> list[_Node]:
    """CommonMark's "process emphasis": pair delimiter runs into spans.

    Left to right on a stack; a closer wraps everything above its opener.
    """
    stack: list[_Node] = []
    # Per kind of closer, how far down the stack an opener may still be: below
    # it, none is (CommonMark's "openers_bottom"), so unpaired runs stay linear.
    bottoms: dict[tuple[str, bool, int], int] = {}
    for node in nodes:
        while isinstance(node, _Delim) and node.can_close and node.count:
            key = (node.char, node.can_open, node.length % 3)
            j = _opener_index(stack, node, bottoms.get(key, 0))
            if j < 0:
                bottoms[key] = len(stack)
                break
            opener = stack[j]
            assert isinstance(opener, _Delim)
            used = 2 if opener.count >= 2 and node.count >= 2 else 1
            opener.count -= used
            node.count -= used
            kind = "strike" if node.char == "~" else "strong" if used == 2 else "emph"
            span = _Span(kind, stack[j + 1 :])
            del stack[j + 1 :]
            if opener.count == 0:
                stack.pop()
            stack.append(span)
            for other, bottom in bottoms.items():
                bottoms[other] = min(bottom, len(stack) - 1)
        if not (isinstance(node, _Delim) and node.count == 0):
            stack.append(node)
    return stack


def _opener_index(stack: list[_Node], closer: _Delim, bottom: int) -> int:
    for j in range(len(stack) - 1, bottom - 1, -1):
        candidate = stack[j]
        if isinstance(candidate, _Delim) and _pairs(candidate, closer):
            return j
    return -1


def _pairs(opener: _Delim, closer: _Delim) -> bool:
    if opener.char != closer.char or not opener.can_open or not opener.count:
        return False
    # CommonMark's "rule of 3", so that `*a**b*` and `**a*b***` pair as people expect.
    both = opener.can_close or closer.can_open
    total = opener.length + closer.length
    return not (both and total % 3 == 0 and (opener.length % 3 or closer.length % 3))


def _leftover(delim: _Delim) -> str:
    """What is shown of an unpaired delimiter: never a `**` (partial or stray bold)."""
    if delim.char == "*" and delim.length >= 2:
        return ""
    return delim.char * delim.count


def _emit(nodes: list[_Node], active: frozenset[str], out: list[tuple[str, str]]) -> None:
    """Append (text, role) segments; role is "text", "code", "open" or "close"."""
    for node in _merged(nodes):
        if isinstance(node, _Text):
            out.append((_escape(node.value).replace("`", _LONE_BACKTICK), "text"))
        elif isinstance(node, _Delim):
            out.append((_leftover(node), "text"))
        elif isinstance(node, _Mention):
            out.append((node.value, "text"))
        elif isinstance(node, _Code):
            code = _escape(node.value).replace("`", _LONE_BACKTICK)
            out.append((f"`{code}`", "code"))
        elif isinstance(node, _Link):
            url = node.url.strip()
            if not _SCHEME.match(url):  # relative or empty: Slack cannot link it
                _emit(node.label or [_Text(url)], active, out)
                continue
            target = _escape(url).replace(" ", "%20").replace("|", "%7C").replace("**", "%2A%2A")
            label = _escape(_plain(node.label)) if node.label else ""
            shown = f"<{target}|{label}>" if label and label != target else f"<{target}>"
            out.append((shown, "text"))
        else:
            inner: list[tuple[str, str]] = []
            _emit(node.children, active | {node.kind}, inner)
            # Nested same-kind spans (`# **x**`) would double the marks; empty ones show them.
            if node.kind in active or not any(text.strip() for text, _ in inner):
                out.extend(inner)
            else:
                mark = _MARKS[node.kind]
                out.extend([(mark, "open"), *inner, (mark, "close")])


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
        elif isinstance(node, _Delim):
            out.append(_leftover(node))
        elif isinstance(node, _Span):
            out.append(_plain(node.children, with_urls=with_urls))
        else:
            label = _plain(node.label) if node.label else ""
            if not label:
                out.append(node.url)
            elif with_urls and _SCHEME.match(node.url) and label != node.url:
                out.append(f"{label} ({node.url})")
            else:
                out.append(label)
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
