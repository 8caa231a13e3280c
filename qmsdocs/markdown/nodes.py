"""The syntax tree both writers read: :class:`Node`, and the small helpers that only need the tree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

#: A line that asks for a page break in DOCX output and stays invisible in Markdown viewers.
PAGE_BREAK = "<!-- pagebreak -->"


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def split_table_row(row: str) -> list[str]:
    """A table row into cells, with the results of markdown-it's ``escapedSplit`` (tests compare both):
    a pipe splits unless a backslash precedes it, and that backslash is dropped from the cell."""
    if "\\" not in row:
        return row.split("|")
    return [cell.replace("\\|", "|") for cell in _UNESCAPED_PIPE.split(row)]


class Node:
    """One node of the syntax tree, named as markdown-it names them: ``heading``, ``paragraph``,
    ``inline``, ``text``, ``bullet_list``, ``list_item``, ``table``, ``thead``, ``tr``, ``td``...

    A container (``heading``, ``strong``...) takes the fields of its opening token; ``map`` is the
    [first, last) source line range of a block (None for inline nodes).
    """

    __slots__ = ("attrs", "children", "content", "info", "map", "markup", "tag", "type")

    def __init__(self, kind: str, token: Any = None) -> None:
        self.type = kind
        self.children: list[Node] = []
        if token is None:
            self.tag, self.map, self.content, self.markup, self.info = "", None, "", "", ""
            self.attrs: dict[str, Any] = {}
        else:
            self.tag, self.map, self.content = token.tag, token.map, token.content
            self.markup, self.info, self.attrs = token.markup, token.info, token.attrs

    def walk(self) -> Iterator[Node]:
        """This node and all its descendants, depth first in document order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def __repr__(self) -> str:
        return f"Node({self.type!r}, {len(self.children)} children)"


#: Block nodes that can hold other blocks (a heading can only appear at the top or inside these).
CONTAINERS = frozenset({"root", "blockquote", "bullet_list", "ordered_list", "list_item"})


def headings(tree: Node) -> Iterator[Node]:
    """The heading nodes of *tree* in document order, without visiting any inline content."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.type == "heading":
            yield node
        elif node.type in CONTAINERS:
            stack.extend(reversed(node.children))
