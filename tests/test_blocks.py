"""The direct block reader: wherever it reads a document, its tree is markdown-it's tree."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tree_helpers import shape

from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.library.render import render
from qmsdocs.markdown.blocks import parse_blocks
from qmsdocs.markdown.nodes import Node
from qmsdocs.markdown.tree import clear_inline_cache, inline_nodes, parse, parse_with_markdown_it, parser
from qmsdocs.profile.models import load_profile


def direct(text: str) -> Node | None:
    """The direct reader's tree, or None where it leaves the document to markdown-it."""
    env: dict[str, object] = {}
    return parse_blocks(text, lambda content: inline_nodes(content, parser(), env))


READ_DIRECTLY = [
    "",
    "\n\n",
    "# Title\n\nA paragraph\nover two lines.  \nWith a hard break.\n",
    "## Sub  \n###### Six #x\n#   Spaced   \nText right after a heading\n",
    "Para\n- bullet interrupts\n- second\n\nAfter the list\n",
    "Para\n1. ordered from one interrupts\n2. two\n",
    "- a\n- b\n\n- loose c\n\n\ntext\n",
    "1. one\n2. two\n   - nested bullet\n   - nested two\n3. three\n\n   Second paragraph of three.\n",
    "7. starts at seven\n8. eight\n",
    "010. leading zero\n",
    "* star\n* star two\n\n  star two's second paragraph\n",
    "- a\n  - b\n    - c\n      - d\n- e\n",
    "- item\n  continued at the content column\n  - nested\n\n  after the nested list\n",
    "| a | b |\n| --- | --- |\n| 1 | 2 |\n| 3 |\n| 4 | 5 | 6 |\n\nText\n",
    "| Left | Centre | Right | None |\n|:--|:-:|--:|---|\n| x \\| y | `a|b` | **c** | |\n",
    "|a|\n|-|\n",
    "| only a header |\n| --- |\n",
    "# H\n| t |\n| - |\n| r |\n",
    "\u00a0starts with a no-break space\n\n\u00a0\n",
    "Text with <em>inline html</em>, a <https://example.org> link and ![img](x.png)\n",
    "**Bold** start\n_emphasis_ start\n1.5 mm and 2024 numbers\n",
    "   \n- after a line of spaces\n",
    "- no final newline, then a last line of spaces\n   ",
]

LEFT_TO_MARKDOWN_IT = [
    "Text\n===\n",  # setext heading
    "Text\n---\n",
    "***\n",
    "> quote\n",
    "```\ncode\n```\n",
    "    indented code\n",
    "<!-- pagebreak -->\n",
    "[ref]: /url\n\n[ref]\n",
    "Tab\tinside\n",
    "CR\r\nline\n",
    "Para\n# heading interrupts\n",
    "Para\n2. ordered from two cannot interrupt\n",
    "- item\nlazy continuation\n",
    "- a\n* other bullet\n",
    "* star\n\n+ plus after a blank line\n",
    "- item\n  - nested\n  lazy continuation of nested\n",
    "- [maybe a reference] item\n",
    "1. a\n2) other delimiter\n",
    "1. a\n  - under-indented\n",
    "Para\na | b\n:-|-:\n",  # a table interrupting a paragraph
    "| a | b |\n| --- |\n",  # header and delimiter disagree: a paragraph
    "| a |\n| - |\nno pipe continues the table\n",
    "# Closing #\n",
    "-  two spaces after the marker\n",
    "- \n",
]


@pytest.mark.parametrize("text", READ_DIRECTLY)
def test_documents_read_directly_equal_markdown_it(text: str) -> None:
    tree = direct(text)
    assert tree is not None, "the direct reader gave up"
    assert shape(tree) == shape(parse_with_markdown_it(text))


@pytest.mark.parametrize("text", LEFT_TO_MARKDOWN_IT)
def test_other_block_forms_are_left_to_markdown_it(text: str) -> None:
    assert direct(text) is None
    assert shape(parse(text)) == shape(parse_with_markdown_it(text))


#: Lines that documents are made of, from the forms the reader handles to the ones it must not misread.
LINES = [
    "# Heading",
    "## Sub heading",
    "#NoSpace",
    "####### Seven",
    "Plain text with *emphasis* and `code`",
    "Second line  ",
    "**Bold** start",
    "1.5 mm tolerance",
    ":colon start",
    "\u00a0nbsp start",
    "- item",
    "- another item",
    "* star item",
    "+ plus item",
    "1. one",
    "2. two",
    "3) paren",
    "10. ten",
    "-  two spaces",
    "-",
    "1.",
    "  - nested",
    "   - nested three",
    "    - nested four",
    "  1. nested ordered",
    "  2. nested two",
    "  continuation",
    "   continuation three",
    "    indented four",
    "| a | b |",
    "|---|---|",
    "| :-- | --: |",
    "|:-:|",
    "| x \\| y | z |",
    "| 1 | 2 | 3 |",
    "a | b",
    "--|--",
    ":-|-:",
    "|",
    "***",
    "---",
    "===",
    "> quote",
    "```",
    "<!-- pagebreak -->",
    "[ref]: /url",
    "",
    "",
    "",
    "   ",
]


def _generated(seed: int) -> str:
    """A document of random lines: mostly nonsense, which is the point (every form next to every other)."""
    pick = random.Random(seed)
    return "".join(pick.choice(LINES) + "\n" for _ in range(pick.randint(1, 14)))


def _structured(seed: int) -> str:
    """A document of well-formed blocks, sometimes with one random line put in."""
    pick = random.Random(seed)
    blocks = []
    for _ in range(pick.randint(1, 6)):
        kind = pick.choice(["heading", "paragraph", "table", "list", "list"])
        if kind == "heading":
            blocks.append("#" * pick.randint(1, 3) + " Heading")
        elif kind == "paragraph":
            blocks.append("\n".join(["Some text"] * pick.randint(1, 3)))
        elif kind == "table":
            columns = pick.randint(1, 3)
            rows = ["| h " * columns + "|", "|:--" * columns + "|"]
            rows += ["| c " * pick.randint(0, columns + 1) + "|" for _ in range(pick.randint(0, 3))]
            blocks.append("\n".join(rows))
        else:
            blocks.append(_list(pick, 0))
    text = ("\n" * pick.randint(1, 3)).join(blocks) + "\n"
    if pick.random() < 0.5:
        lines = text.split("\n")
        lines.insert(pick.randrange(len(lines)), pick.choice(LINES))
        text = "\n".join(lines)
    return text


def _list(pick: random.Random, indent: int) -> str:
    ordered = pick.random() < 0.4
    items = []
    for number in range(1, pick.randint(2, 4)):
        marker = f"{number}." if ordered else "-"
        pad = " " * indent
        lines = [f"{pad}{marker} item {number}"]
        inner = " " * (indent + len(marker) + 1)
        if pick.random() < 0.3:
            lines.append(f"{inner}continued")
        if indent < 6 and pick.random() < 0.3:
            lines.append(_list(pick, len(inner)))
        if pick.random() < 0.2:
            lines.append(f"\n{inner}Second paragraph")
        items.append("\n".join(lines))
    return ("\n\n" if pick.random() < 0.3 else "\n").join(items)


@pytest.mark.parametrize(("make", "least"), [(_generated, 40), (_structured, 400)])
def test_generated_documents_read_directly_equal_markdown_it(make, least: int) -> None:  # type: ignore[no-untyped-def]
    read = 0
    for seed in range(1500):
        text = make(seed)
        tree = direct(text)
        if tree is not None:
            read += 1
            assert shape(tree) == shape(parse_with_markdown_it(text)), text
    assert read >= least  # the comparison covers many documents, not only the ones left to markdown-it


def test_every_example_document_is_read_directly(profiles_dir: Path) -> None:
    """The built-in templates write only forms the direct reader handles (a change that leaves them
    would make every build slower), and it reads them as markdown-it does."""
    library = TemplateLibrary()
    clear_inline_cache()
    for source in sorted(profiles_dir.glob("*.yaml")):
        profile = load_profile(source)
        the_plan = plan(profile, library)
        for spec in the_plan.documents:
            text = render(spec, profile, the_plan, library).text
            tree = direct(text)
            assert tree is not None, f"{source.name} {spec.meta.id}: left to markdown-it"
            assert shape(tree) == shape(parse_with_markdown_it(text)), f"{source.name} {spec.meta.id}"
