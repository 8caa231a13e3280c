"""The one Markdown configuration of qmsdocs: CommonMark plus GFM tables and strikethrough.

Both writers (Markdown and DOCX) and the tests read documents through :func:`parse`, so they agree on
what a template produced.
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

#: A line that asks for a page break in DOCX output and stays invisible in Markdown viewers.
PAGE_BREAK = "<!-- pagebreak -->"


@cache
def parser() -> MarkdownIt:
    """The shared parser (built once per process)."""
    # html stays enabled only so PAGE_BREAK can be recognised; the DOCX writer rejects other HTML.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def parse(text: str) -> SyntaxTreeNode:
    """Parse Markdown *text* into a syntax tree (node types: heading, paragraph, bullet_list, table...)."""
    return SyntaxTreeNode(parser().parse(text))
