"""The one Markdown configuration of qmsdocs: CommonMark plus GFM tables and strikethrough.

Both writers (Markdown and DOCX) and the tests read documents through :func:`parse`, so they agree on
what a template produced. The tree is our own small :class:`~qmsdocs.markdown.nodes.Node`, nested from
markdown-it's token stream in one pass (markdown-it's ``SyntaxTreeNode`` has the same shape at three
times the cost, and the writers read only these few fields).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from types import SimpleNamespace
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import text_join
from markdown_it.token import Token

from qmsdocs.markdown.blocks import parse_blocks
from qmsdocs.markdown.nodes import Node


@cache
def parser() -> MarkdownIt:
    """The shared parser (built once per process)."""
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
    md, env = parser(), dict[str, Any]()
    tree = parse_blocks(text, lambda content: inline_nodes(content, md, env))
    return tree if tree is not None else parse_with_markdown_it(text)


def parse_with_markdown_it(text: str) -> Node:
    """:func:`parse` with markdown-it's block rules for every document (the reference the tests compare
    the direct reader with)."""
    root = Node("root")
    _nest(parser().parse(text), root)
    return root
