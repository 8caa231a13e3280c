"""The block structure of the Markdown our templates write, read without markdown-it's block rules.

markdown-it tries up to eleven block rules at every line (each a Python call that logs, then inspects the
line), makes a token for every opening and closing tag, and we then nest those tokens into nodes: about
three quarters of the time it takes to parse a document. The documents qmsdocs renders use a few block
forms written one regular way: ATX headings, paragraphs, GFM tables and bullet or ordered lists. This
module reads exactly those forms line by line and builds the nodes directly, with the fields markdown-it
gives them (type, tag, map, markup, info, attrs; the inline content goes through the same shared inline
parse). The first line it is not certain about ends the attempt: any other block form (quotes, code,
HTML, rules, setext headings, reference definitions), tabs, a paragraph interrupted by anything but a
list, a lazy continuation line or unusual indentation. :func:`parse_blocks` then returns None and
:func:`qmsdocs.markdown.tree.parse` hands the whole document to markdown-it. Tests compare the trees of both
paths on every bundled document and on generated ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it.common.utils import mdTrim

from qmsdocs.markdown.nodes import Node, split_table_row

#: Characters that make markdown-it normalise or measure a line differently: tabs (indentation in
#: columns), carriage returns and NUL (rewritten before parsing), and the vertical tab and form feed
#: (blank for a table row, text for a paragraph).
_UNUSUAL = re.compile("[\t\r\x00\x0b\x0c]")
_HEADING = re.compile(r"(#{1,6}) (.*)")
#: The start of a line (relative to its container) that is not plain paragraph text in every context.
_NOT_TEXT = re.compile(
    r"""
      [#|>+=<\[:\ -]            # heading, table or its delimiter row, quote, list, setext, rule,
                                # HTML, reference definition, indentation
    | [0-9]{1,9}[.)](?:\ |$)    # ordered list item
    | \*(?:\ |$)                # bullet list item
    | (?:\*\ *){3,}$ | (?:_\ *){3,}$   # thematic breaks
    | ```|~~~                   # fenced code
    """,
    re.VERBOSE,
)
#: A list item marker followed by one space and text: (bullet, number, delimiter).
_MARKER = re.compile(r"(?:([-*+])|([0-9]{1,9})([.)])) (?=\S)")
_DELIMITER_ROW = re.compile(r"[|:-][|: -][|: -]*")
_DELIMITER_CELL = re.compile(r"^:?-+:?$")
_MAX_AUTOCOMPLETED_CELLS = 0x10000  # markdown-it's limit on cells added to short rows of a table
#: Lists nested deeper are left to markdown-it, which stops nesting at 20 open tags (a list and an item
#: are two).
_MAX_LIST_DEPTH = 6

Inline = Callable[[str], list[Node]]


class _GiveUp(Exception):
    """A line this reader is not certain to read as markdown-it does."""


def parse_blocks(text: str, inline: Inline) -> Node | None:
    """The tree of *text* (root type ``root``), or None when it uses a block form this reader leaves to
    markdown-it. *inline* turns inline source text into nodes."""
    if _UNUSUAL.search(text):
        return None
    lines = text.split("\n")
    if not lines[-1].strip(" "):
        lines.pop()  # markdown-it counts no line after a final newline, nor a last line of spaces only
    root = Node("root")
    try:
        root.children, _ = _Reader(lines, inline).container(0, 0)
    except _GiveUp:
        return None
    return root


def _node(kind: str, tag: str, first: int, last: int, markup: str = "") -> Node:
    node = Node(kind)
    node.tag, node.map, node.markup = tag, [first, last], markup
    return node


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class _Reader:
    """One document's lines, read container by container (the document, then each list item, whose
    content starts at its own column); every method raises :class:`_GiveUp` at a line it is unsure of."""

    def __init__(self, lines: list[str], inline: Inline) -> None:
        self.lines = lines
        self.count = len(lines)
        self.inline = inline
        self.depth = 0  # lists open around the current line

    def _inline(self, content: str, first: int, last: int) -> Node:
        node = Node("inline")
        node.map, node.content = [first, last], content
        node.children = self.inline(content)
        return node

    def container(self, line: int, column: int, first: str | None = None) -> tuple[list[Node], int]:
        """The blocks of a container whose content starts at *column*, from *line* (whose content is
        *first* when the container is a list item) to the first non-blank line indented less; returns
        them and that line (or the line count)."""
        nodes: list[Node] = []
        if first is not None:
            line = self._block(nodes, line, column, first)
        lines, count = self.lines, self.count
        while True:
            while line < count and not lines[line].strip(" "):
                line += 1
            if line >= count:
                return nodes, count
            indent = _indent(lines[line])
            if indent < column:
                return nodes, line
            if indent > column:
                raise _GiveUp  # indented code, or a lazy or over-indented continuation
            line = self._block(nodes, line, column, lines[line][column:])

    def _block(self, nodes: list[Node], line: int, column: int, text: str) -> int:
        """Read the block starting at *line* (its content *text*) into *nodes*; returns the next line."""
        if column == 0:
            heading = _HEADING.match(text)
            if heading:
                return self._heading(nodes, line, heading)
            if text.startswith("|"):
                return self._table(nodes, line)
        if _MARKER.match(text):
            return self._list(nodes, line, column)
        if _NOT_TEXT.match(text):
            raise _GiveUp
        return self._paragraph(nodes, line, column, text)

    def _heading(self, nodes: list[Node], line: int, match: re.Match[str]) -> int:
        rest = match.group(2).rstrip(" ")
        if not rest.strip() or rest.endswith("#"):
            raise _GiveUp  # empty heading or a closing sequence
        level = len(match.group(1))
        node = _node("heading", f"h{level}", line, line + 1, "#" * level)
        node.children = [self._inline(mdTrim(match.group(2)), line, line + 1)]
        nodes.append(node)
        return line + 1

    def _paragraph(self, nodes: list[Node], line: int, column: int, text: str) -> int:
        lines, count = self.lines, self.count
        parts = [text]
        end = line + 1
        while end < count:
            following = lines[end]
            if not following.strip(" "):
                break
            indent = _indent(following)
            rest = following[indent:]
            marker = _MARKER.match(rest)
            if indent < column:
                if marker:
                    break  # the next item of an enclosing list
                raise _GiveUp  # a lazy continuation line, or a block that interrupts
            if indent > column:
                raise _GiveUp
            if marker:
                if marker.group(2) is not None and int(marker.group(2)) != 1:
                    raise _GiveUp  # only a list starting at 1 may interrupt a paragraph
                break  # a list inside the paragraph's container
            if _NOT_TEXT.match(rest):
                raise _GiveUp
            parts.append(rest)
            end += 1
        node = _node("paragraph", "p", line, end)
        node.children = [self._inline("\n".join(parts).strip(), line, end)]
        nodes.append(node)
        return end

    def _list(self, nodes: list[Node], line: int, column: int) -> int:
        lines, count = self.lines, self.count
        self.depth += 1
        if self.depth > _MAX_LIST_DEPTH:
            raise _GiveUp
        marker = _MARKER.match(lines[line], column)
        assert marker is not None  # _block dispatched here on it
        bullet, number, delimiter = marker.groups()
        markup = bullet or delimiter
        if bullet:
            node = _node("bullet_list", "ul", line, 0, markup)
        else:
            node = _node("ordered_list", "ol", line, 0, markup)
            if int(number) != 1:
                node.attrs = {"start": int(number)}
        start = line
        while True:
            content = column + len(marker.group(0))
            text = lines[start][content:]
            if _NOT_TEXT.match(text):
                raise _GiveUp
            item = _node("list_item", "li", start, 0, markup)
            item.info = marker.group(2) or ""
            item.children, end = self.container(start, content, text)
            item.map = [start, end]
            node.children.append(item)
            indent = _indent(lines[end]) if end < count else -1
            if indent < column:
                break  # the end of the text, or of the container holding the list
            if indent > column:
                raise _GiveUp  # between the list's column and its content's
            marker = _MARKER.match(lines[end], column)
            if marker is None:
                break  # a block after a blank line ends the list
            if (marker.group(1) or marker.group(3)) != markup:
                raise _GiveUp  # a list of another kind right after this one
            start = end
        node.map = [line, end]
        nodes.append(node)
        self.depth -= 1
        return end

    def _table(self, nodes: list[Node], line: int) -> int:
        lines, count = self.lines, self.count
        aligns = _aligns(lines[line + 1]) if line + 1 < count else None
        header = mdTrim(lines[line])
        cells = split_table_row(header)
        if cells and cells[0] == "":
            cells.pop(0)
        if cells and cells[-1] == "":
            cells.pop()
        if aligns is None or not cells or len(cells) != len(aligns):
            raise _GiveUp  # not a table: markdown-it reads these lines as a paragraph
        table = _node("table", "table", line, 0)
        head = _node("thead", "thead", line, line + 1)
        head.children = [self._row("th", cells, aligns, line)]
        table.children = [head]
        end = line + 2
        autocompleted = 0
        body: list[Node] = []
        while end < count:
            text = lines[end]
            if not text.strip(" "):
                break
            if not text.startswith("|"):
                raise _GiveUp  # markdown-it would read this line as a row too, or end the table
            cells = split_table_row(mdTrim(text))
            if cells and cells[0] == "":
                cells.pop(0)
            if cells and cells[-1] == "":
                cells.pop()
            autocompleted += len(aligns) - len(cells)
            if autocompleted > _MAX_AUTOCOMPLETED_CELLS:
                raise _GiveUp
            body.append(self._row("td", cells, aligns, end))
            end += 1
        if body:
            tbody = _node("tbody", "tbody", line + 2, end)
            tbody.children = body
            table.children.append(tbody)
        table.map = [line, end]
        nodes.append(table)
        return end

    def _row(self, kind: str, cells: list[str], aligns: list[str], line: int) -> Node:
        row = _node("tr", "tr", line, line + 1)
        for index, align in enumerate(aligns):
            cell = Node(kind)
            cell.tag = kind
            if align:
                cell.attrs = {"style": f"text-align:{align}"}
            text = cells[index] if index < len(cells) else ""
            cell.children = [self._inline(mdTrim(text) if text else "", line, line + 1)]
            row.children.append(cell)
        return row


def _aligns(row: str) -> list[str] | None:
    """The column alignments of a GFM delimiter row, or None when *row* is not one (markdown-it's
    checks, in its order)."""
    if not _DELIMITER_ROW.fullmatch(row) or (row[0] == "-" and row[1] == " "):
        return None
    columns = row.split("|")
    aligns = []
    for index, column in enumerate(columns):
        cell = mdTrim(column)
        if not cell:
            if index in (0, len(columns) - 1):
                continue
            return None
        if not _DELIMITER_CELL.search(cell):
            return None
        if cell[-1] == ":":
            aligns.append("center" if cell[0] == ":" else "right")
        elif cell[0] == ":":
            aligns.append("left")
        else:
            aligns.append("")
    return aligns
