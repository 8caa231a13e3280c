"""Rendering templates: layers and block overrides, escaping, and errors that name the template and line."""

from __future__ import annotations

import pytest

from qmsdocs.errors import TemplateError
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.library.render import render
from qmsdocs.markdown.escape import escape_markdown
from qmsdocs.markdown.tree import parse


def _render(profile, library: TemplateLibrary, doc_id: str) -> str:
    the_plan = plan(profile, library)
    spec = the_plan.get(doc_id)
    assert spec is not None, f"{doc_id} not in the set"
    return render(spec, profile, the_plan, library).text


def _headings(text: str) -> list[str]:
    return [node.children[0].content for node in parse(text).walk() if node.type == "heading"]


def test_builtin_internal_audit_is_specific_to_the_profile(brightwater) -> None:
    text = _render(brightwater, TemplateLibrary(), "QP-12")
    assert _headings(text)[:3] == ["Purpose", "Scope", "Definitions"]
    assert "Trained internal auditors: Tomás Ribeiro, Dan Whitfield and Aisha Bello." in text
    assert "| Assembly and test | Priya Natarajan | 2 |" in text


def test_override_replaces_one_block_and_keeps_the_rest(brightwater, write_tree) -> None:
    layer = write_tree(
        {
            "house/procedures/internal-audit.md.j2": """
                ---
                id: QP-12
                title: Internal audit
                category: procedure
                clauses: ["9.2"]
                owner: internal_audit_lead
                ---
                {% extends "builtin/procedures/internal-audit.md.j2" %}
                {% block purpose %}House purpose for {{ org.short_name }}.{% endblock %}
            """
        }
    )
    library = TemplateLibrary([layer / "house"])
    text = _render(brightwater, library, "QP-12")
    assert "House purpose for Brightwater." in text
    assert "This procedure sets out how" not in text  # the builtin purpose is gone
    assert "Trained internal auditors:" in text  # the other blocks are the builtin's
    info = library.templates()["QP-12"]
    assert info.layer == str(layer / "house")


def test_higher_layer_wins_for_the_same_path(brightwater, write_tree) -> None:
    root = write_tree(
        {
            "low/policy/quality-policy.md.j2": "---\nid: POL-01\ntitle: Low\ncategory: policy\n---\n# Low\n",
            "high/policy/quality-policy.md.j2": "---\nid: POL-01\ntitle: High\ncategory: policy\n---\n# High\n",
        }
    )
    library = TemplateLibrary([root / "high", root / "low"])
    assert library.templates()["POL-01"].front.title == "High"
    assert _headings(_render(brightwater, library, "POL-01")) == ["High"]


def test_undefined_field_names_template_and_line(brightwater, write_tree) -> None:
    layer = write_tree(
        {
            "t/policy/quality-policy.md.j2": """
                ---
                id: POL-01
                title: Quality policy
                category: policy
                ---
                # Policy

                {{ org.nmae }}
            """
        }
    )
    with pytest.raises(TemplateError) as caught:
        _render(brightwater, TemplateLibrary([layer / "t"]), "POL-01")
    assert (
        str(caught.value) == f"{layer / 't/policy/quality-policy.md.j2'}:8: Organisation has no field 'nmae'"
    )


def test_syntax_error_in_builtin_extended_parent_names_that_file(brightwater, write_tree) -> None:
    layer = write_tree(
        {
            "t/procedures/x.md.j2": """
                ---
                id: QP-99
                title: X
                category: procedure
                ---
                {% extends "builtin/layouts/procedure.md.j2" %}
                {% block purpose %}{% if %}{% endblock %}
            """
        }
    )
    with pytest.raises(TemplateError) as caught:
        _render(brightwater, TemplateLibrary([layer / "t"]), "QP-99")
    assert str(caught.value).startswith(f"{layer / 't/procedures/x.md.j2'}:7: ")


def test_reference_to_a_document_outside_the_set_is_an_error(minimal, write_tree) -> None:
    layer = write_tree(
        {
            "t/policy/quality-policy.md.j2": "---\nid: POL-01\ntitle: P\ncategory: policy\n---\n\nSee {{ documents.ref('QP-07') }}.\n"
        }
    )
    with pytest.raises(TemplateError) as caught:
        _render(minimal, TemplateLibrary([layer / "t"]), "POL-01")
    assert "policy/quality-policy.md.j2:7: document 'QP-07' is not in this set" in str(caught.value)
    assert "documents.has('QP-07')" in str(caught.value)


def test_printing_none_is_an_error(brightwater, write_tree) -> None:
    layer = write_tree(
        {
            "t/policy/quality-policy.md.j2": "---\nid: POL-01\ntitle: P\ncategory: policy\n---\n{{ profile.self_assessment.elements['5.2'].target }}\n"
        }
    )
    with pytest.raises(TemplateError, match=r"quality-policy.md.j2:6: the expression printed an empty value"):
        _render(brightwater, TemplateLibrary([layer / "t"]), "POL-01")


def test_profile_values_cannot_change_markdown_structure() -> None:
    assert escape_markdown("R&D | *Lab* <b>") == r"R&D \| \*Lab\* \<b\>"
    tree = parse(f"| a |\n| --- |\n| {escape_markdown('x | y')} |\n")
    cells = [n for n in tree.walk() if n.type == "td"]
    assert len(cells) == 1
    assert cells[0].children[0].children[0].content == "x | y"


def test_macros_are_not_escaped_twice(brightwater) -> None:
    text = _render(brightwater, TemplateLibrary(), "QP-12")
    assert "| Role | Person | Responsibility |" in text
    assert "\\|" not in text


def test_design_procedure_is_left_out_for_minimal_with_reason(minimal) -> None:
    the_plan = plan(minimal, TemplateLibrary())
    assert the_plan.get("QP-07") is None
    omission = next(o for o in the_plan.omitted if o.id == "QP-07")
    assert omission.reason.startswith(
        "clause 8.3 is determined not applicable: Lindqvist Machining makes parts"
    )


def test_document_numbers_and_review_dates(brightwater) -> None:
    spec = plan(brightwater, TemplateLibrary()).get("QP-12")
    assert spec is not None
    assert spec.meta.number == "BWI-QP-12"
    assert spec.meta.next_review.isoformat() == "2027-02-01"
    assert spec.meta.owner.name == "Tomás Ribeiro"
    assert spec.meta.approved_by.name == "Helen Okafor"
