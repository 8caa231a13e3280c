"""The template reference scan that decides which templates a document's hash covers."""

from __future__ import annotations

import pytest
from jinja2 import Environment, meta

from qmsdocs.batch.manifest import referenced_templates
from qmsdocs.library.layers import builtin_dir, split_front_matter


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{% extends "builtin/procedures/audit.md.j2" %}', ["builtin/procedures/audit.md.j2"]),
        ("{%- include 'x.md.j2' ignore missing with context -%}", ["x.md.j2"]),
        ('{% import "partials/macros.md.j2" as m with context %}', ["partials/macros.md.j2"]),
        ('{% from "m.md.j2" import a, b %}', ["m.md.j2"]),
        ('{%include"z.md.j2"%}', ["z.md.j2"]),
        ("{% if x %}{{ y }}{% endif %}", []),
        ('{# {% include "only-in-a-comment.md.j2" %} #}', []),
    ],
)
def test_literal_references_are_found(source: str, expected: list[str]) -> None:
    assert referenced_templates(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "{% extends layout %}",
        '{% include ["a.md.j2", "b.md.j2"] %}',
        '{% include "a.md.j2" if x else "b.md.j2" %}',
        '{% include "a" ~ suffix %}',
    ],
)
def test_a_computed_reference_means_any_template(source: str) -> None:
    assert referenced_templates(source) is None


def test_scan_agrees_with_jinja_on_every_builtin_template() -> None:
    templates = sorted(builtin_dir().rglob("*.j2"))
    assert len(templates) > 20
    for path in templates:
        source = path.read_text(encoding="utf-8")
        body = split_front_matter(source, str(path))[1]
        expected = set(meta.find_referenced_templates(Environment().parse(body)))
        found = referenced_templates(source)
        assert found is not None, path
        assert set(found) == expected, path
