"""The Markdown writer: document-control front matter, a single title heading, the revision history."""

from __future__ import annotations

import pytest
import yaml

from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.library.render import render
from qmsdocs.markdown.tree import parse
from qmsdocs.writers.markdown import shift_headings, write_markdown, yaml_block


def _document(profile, doc_id: str) -> str:
    the_plan = plan(profile, TemplateLibrary())
    spec = the_plan.get(doc_id)
    assert spec is not None
    return write_markdown(render(spec, profile, the_plan, TemplateLibrary()).text, spec.meta)


def test_front_matter_carries_document_control(brightwater) -> None:
    text = _document(brightwater, "QP-12")
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front == {
        "document": "BWI-QP-12",
        "title": "Internal audit",
        "revision": "1",
        "effective_date": "2026-02-01",
        "next_review": "2027-02-01",
        "owner": "Tomás Ribeiro, Quality Manager",
        "prepared_by": "Tomás Ribeiro, Quality Manager",
        "reviewed_by": "Tomás Ribeiro, Quality Manager",
        "approved_by": "Helen Okafor, Managing Director",
        "classification": "Internal",
        "iso_9001_clauses": ["9.2"],
    }


def _outline(text: str) -> list[tuple[int, str]]:
    body = text.split("---\n", 2)[2]
    return [
        (int(node.tag[1]), node.children[0].content) for node in parse(body).walk() if node.type == "heading"
    ]


def test_title_is_the_only_level_one_heading(brightwater) -> None:
    outline = _outline(_document(brightwater, "QP-12"))
    assert outline[0] == (1, "BWI-QP-12 Internal audit")
    assert [level for level, _ in outline[1:]].count(1) == 0
    assert (2, "Purpose") in outline
    assert (3, "Audit programme") in outline
    assert outline[-1] == (2, "Revision history")


def test_control_table_and_revision_history(brightwater) -> None:
    tree = parse(_document(brightwater, "POL-01").split("---\n", 2)[2])
    tables = [n for n in tree.walk() if n.type == "table"]
    first = [
        [c.children[0].content if c.children else "" for c in row.children]
        for row in tables[0].walk()
        if row.type == "tr"
    ]
    assert ["Approved by", "Helen Okafor, Managing Director"] in first
    assert ["Next review", "2027-02-01"] in first
    last = [[c.children[0].content for c in row.children] for row in tables[-1].walk() if row.type == "tr"]
    assert last == [
        ["Revision", "Date", "Description", "Author"],
        ["1", "2026-02-01", "Initial issue", "Helen Okafor"],
    ]


def test_shift_headings_ignores_hashes_in_code_and_text() -> None:
    body = "# A\n\n```\n# not a heading\n```\n\nC# is a language\n\n## B\n"
    assert shift_headings(body) == "## A\n\n```\n# not a heading\n```\n\nC# is a language\n\n### B\n"


def test_shift_headings_reaches_headings_in_quotes_and_list_items() -> None:
    body = (
        "> # Quoted\n>\n> text\n\n- # In a list\n\n  1. ### Deeper\n\n| # | x |\n| --- | --- |\n| # | y |\n"
    )
    expected = "> ## Quoted\n>\n> text\n\n- ## In a list\n\n  1. #### Deeper\n\n| # | x |\n| --- | --- |\n| # | y |\n"
    assert shift_headings(body) == expected


@pytest.mark.parametrize(
    "value",
    [
        "BWI-QP-12",
        "1",
        "2026-02-01",
        "yes",
        "No",
        "null",
        "~",
        "a: b",
        "x #y",
        "- item",
        "[x]",
        "{a}",
        "*bold*",
        "Tomás Ribeiro, Quality Manager",
        'say "hi"',
        "back\\slash",
        "tab\there",
        "line\nbreak",
        " lead",
        "trail ",
        "@at",
        "%pc",
        "!tag",
        "&anchor",
        "'quoted'",
        "R&D and QA/QC (lab)",
        "0x1F",
        "1e3",
        "",
    ],
)
def test_front_matter_values_read_back_unchanged(value: str) -> None:
    data = {"title": value, "clauses": [value, "9.2"]}
    assert yaml.safe_load(yaml_block(data)) == data
