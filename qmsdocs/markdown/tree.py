"""The one Markdown configuration of qmsdocs: CommonMark plus GFM tables and strikethrough.

Both writers (Markdown and DOCX) and the tests read documents through :func:`parse`, so they agree on
what a template produced. The tree is our own small :class:`Node`, nested from markdown-it's token
stream in one pass: markdown-it's ``SyntaxTreeNode`` offers the same shape but added 0.9 ms per document
to a 2.0 ms parse, against 0.3 ms for ours (best of 7 over one profile's documents), and both writers
only read these few fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import text_join
from markdown_it.token import Token

#: A line that asks for a page break in DOCX output and stays invisible in Markdown viewers.
PAGE_BREAK = "<!-- pagebreak -->"


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def split_table_row(row: str) -> list[str]:
    """markdown-it's ``escapedSplit`` (a table row into cells), with the same results.

    The original walks the row one character at a time in Python: 0.14 ms per example document for one
    pass over its table rows (the table rule splits some rows more than once), against 0.006 ms here,
    on a parse of about 2 ms. A pipe splits unless the character before it is a backslash; every pipe
    left inside a cell is therefore an escaped one, and its backslash is dropped, as the original
    does. Tests compare both on many rows.
    """
    if "\\" not in row:
        return row.split("|")
    return [cell.replace("\\|", "|") for cell in _UNESCAPED_PIPE.split(row)]


@cache
def parser() -> MarkdownIt:
    """The shared parser (built once per process)."""
    # markdown-it's table rule looks its row splitter up in its module at every call: use ours (the
    # results are identical, see split_table_row). Left alone if a markdown-it release renames it.
    table_module = import_module("markdown_it.rules_block.table")  # the package's `table` is the rule
    if callable(getattr(table_module, "escapedSplit", None)):
        table_module.escapedSplit = split_table_row
    # html stays enabled only so PAGE_BREAK can be recognised; the DOCX writer rejects other HTML.
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.core.ruler.at("inline", _inline_cached)
    md.core.ruler.disable("text_join")  # done inside _inline_cached, before a result is kept
    return md


#: Inline parse results by source text: the nested inline nodes, one list shared by every document that
#: has the text (writers only read the tree; the DOCX writer also keys its own inline cache on the list).
_INLINE: dict[str, list[Node]] = {}
_INLINE_LIMIT = 20_000  # ~20 MB at most: 0.9 KB per entry measured on the example set


def clear_inline_cache() -> None:
    """Forget every remembered inline parse (benchmarks use it to measure a cold parse)."""
    _INLINE.clear()


def _inline_cached(state: Any) -> None:
    """markdown-it's ``inline`` and ``text_join`` core rules, remembering each result by its source.

    Documents repeat their inline text a lot (table cells, role names, the same sentence in every
    client's procedure): in a 10-profile batch 87% of inline runs were seen before. Parsing inline
    text depends only on the text and on link reference definitions, so documents that define
    references are parsed without the cache. The result is kept already nested as :class:`Node` and
    handed to :func:`_nest` in the token's ``meta``; the token's own ``children`` stay empty.
    """
    md, env = state.md, state.env
    use_cache = not env.get("references")
    for token in state.tokens:
        if token.type == "inline":
            token.meta = {"nodes": inline_nodes(token.content, md, env, use_cache)}


def inline_nodes(content: str, md: MarkdownIt, env: dict[str, Any], use_cache: bool = True) -> list[Node]:
    """The nested inline nodes of *content* (one list shared by every caller with the same text when
    *use_cache*): markdown-it's inline parse followed by its ``text_join`` rule."""
    nodes = _INLINE.get(content) if use_cache else None
    if nodes is None:
        children: list[Token] = []
        md.inline.parse(content, md, env, children)
        token = Token("inline", "", 0, content=content, children=children)
        text_join(SimpleNamespace(tokens=[token]))  # type: ignore[arg-type]  # the only part it reads
        holder = Node("inline")
        _nest(token.children or [], holder)
        nodes = holder.children
        if use_cache:
            if len(_INLINE) >= _INLINE_LIMIT:
                _INLINE.clear()
            _INLINE[content] = nodes
    return nodes


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


def _nest(tokens: Sequence[Any], parent: Node) -> None:
    stack = [parent]
    children = parent.children
    for token in tokens:
        nesting = token.nesting
        if nesting == 1:
            node = Node(token.type[:-5], token)  # "bullet_list_open" -> "bullet_list"
            children.append(node)
            stack.append(node)
            children = node.children
        elif nesting == -1:
            stack.pop()
            children = stack[-1].children
        else:
            node = Node(token.type, token)
            children.append(node)
            nested = token.meta.get("nodes") if token.type == "inline" else None
            if nested is not None:
                node.children = nested  # nested (and maybe shared) by _inline_cached
            elif token.children:
                _nest(token.children, node)


def parse(text: str) -> Node:
    """Parse Markdown *text* into a tree whose root has type ``root``.

    The block forms our templates write are read directly (:mod:`qmsdocs.markdown.blocks`, several times
    faster); any other document goes through markdown-it's block rules. Both give the same tree.
    """
    from qmsdocs.markdown.blocks import parse_blocks  # it builds on this module's Node

    md, env = parser(), dict[str, Any]()
    tree = parse_blocks(text, lambda content: inline_nodes(content, md, env))
    return tree if tree is not None else parse_with_markdown_it(text)


def parse_with_markdown_it(text: str) -> Node:
    """:func:`parse` with markdown-it's block rules for every document (the reference the tests compare
    the direct reader with)."""
    root = Node("root")
    _nest(parser().parse(text), root)
    return root
