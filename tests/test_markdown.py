"""The shared Markdown parse: its tree equals markdown-it's own, with and without the inline cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from tree_helpers import shape

from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.library.render import render
from qmsdocs.markdown.nodes import Node, split_table_row
from qmsdocs.markdown.tree import _nest, clear_inline_cache, parse, parser
from qmsdocs.profile.models import load_profile


def _reference(text: str) -> Node:
    """The tree from a plain markdown-it parser of the same configuration (no cache)."""
    root = Node("root")
    _nest(MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).parse(text), root)
    return root


EDGES = [
    "Fish &amp; chips \\* not emphasis &copy; 2026 `code &amp;`\n",
    '![A *bold* &amp; alt](chart.png "width=15cm") and **strong _nested_ ~~struck~~**\n',
    "| a &lt; b | [link](#anchor) |\n| --- | :-: |\n| x\\|y | <!-- pagebreak --> |\n",
    "- one\n  - two &gt; three\n    1. four\n\n> quoted *text*\n",
    "Line  \nbreak\\\nand soft\nbreak <span>html</span>\n",
]


@pytest.mark.parametrize("text", EDGES)
def test_tree_equals_markdown_it_cold_and_cached(text: str) -> None:
    clear_inline_cache()
    assert shape(parse(text)) == shape(_reference(text))  # fills the cache
    assert shape(parse(text)) == shape(_reference(text))  # served from it


def test_reference_definitions_bypass_the_inline_cache() -> None:
    plain, defined = "See [the manual][qm].\n", "See [the manual][qm].\n\n[qm]: https://example.com/qm\n"
    clear_inline_cache()
    for text in (plain, defined, plain, defined):
        tree = parse(text)
        assert shape(tree) == shape(_reference(text))
    assert any(n.type == "link" for n in parse(defined).walk())
    assert not any(n.type == "link" for n in parse(plain).walk())


def test_every_example_document_parses_as_markdown_it_does(profiles_dir: Path) -> None:
    library = TemplateLibrary()
    texts = []
    for source in sorted(profiles_dir.glob("*.yaml")):
        profile = load_profile(source)
        the_plan = plan(profile, library)
        texts += [render(spec, profile, the_plan, library).text for spec in the_plan.documents]
    assert len(texts) > 100
    clear_inline_cache()
    for _ in range(2):  # the second pass is served from the cache
        for text in texts:
            assert shape(parse(text)) == shape(_reference(text))


def _markdown_it_escaped_split():  # type: ignore[no-untyped-def]
    """markdown-it's own row splitter, from a fresh copy of its module (ours replaces it in place)."""
    import importlib
    import importlib.util

    table_module = importlib.import_module("markdown_it.rules_block.table")
    spec = importlib.util.spec_from_file_location(
        "markdown_it.rules_block._table_copy", table_module.__file__
    )
    assert spec is not None
    assert spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    return fresh.escapedSplit


def test_table_row_split_matches_markdown_it_on_many_rows() -> None:
    import random

    original = _markdown_it_escaped_split()
    rows = ["| a | b |", "a \\| b | c", "\\\\|x", "|", "", "\\", "x\\\\\\|y|z\\"]
    generator = random.Random(2026)
    rows += ["".join(generator.choice("ab|\\ ") for _ in range(n)) for n in range(40) for _ in range(500)]
    for row in rows:
        assert split_table_row(row) == original(row), row


def test_parser_leaves_markdown_it_unpatched() -> None:
    # other users of markdown-it in the same process get markdown-it as released
    import importlib

    parser()
    table = importlib.import_module("markdown_it.rules_block.table")
    assert table.escapedSplit.__module__ == "markdown_it.rules_block.table"


def test_repeated_inline_text_shares_one_node_list() -> None:
    clear_inline_cache()
    first, second = parse("Same *words*.\n"), parse("# Title\n\nSame *words*.\n")
    assert first.children[0].children[0].children is second.children[1].children[0].children
    defined = parse("Same *words*.\n\n[qm]: https://example.com/qm\n")  # parsed without the cache
    assert defined.children[0].children[0].children is not first.children[0].children[0].children
