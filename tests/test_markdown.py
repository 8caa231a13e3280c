"""The shared Markdown parse: its tree equals markdown-it's own, with and without the inline cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from qmsdocs.library import TemplateLibrary
from qmsdocs.markdown import Node, _nest, clear_inline_cache, parse
from qmsdocs.plan import plan
from qmsdocs.profile import load_profile
from qmsdocs.render import render


def _reference(text: str) -> Node:
    """The tree from a plain markdown-it parser of the same configuration (no cache)."""
    root = Node("root")
    _nest(MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).parse(text), root)
    return root


def _shape(node: Node) -> tuple:
    return (
        node.type,
        node.tag,
        node.map,
        node.content,
        node.markup,
        node.info,
        dict(node.attrs),
        [_shape(child) for child in node.children],
    )


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
    assert _shape(parse(text)) == _shape(_reference(text))  # fills the cache
    assert _shape(parse(text)) == _shape(_reference(text))  # served from it


def test_reference_definitions_bypass_the_inline_cache() -> None:
    plain, defined = "See [the manual][qm].\n", "See [the manual][qm].\n\n[qm]: https://example.com/qm\n"
    clear_inline_cache()
    for text in (plain, defined, plain, defined):
        tree = parse(text)
        assert _shape(tree) == _shape(_reference(text))
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
            assert _shape(parse(text)) == _shape(_reference(text))
