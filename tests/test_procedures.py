"""The built-in procedures QP-01 to QP-14: structure, profile data, applicability and cross-references."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from qmsdocs.cli import bundled_profiles_dir
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import Plan, plan
from qmsdocs.library.render import render
from qmsdocs.markdown.tree import parse
from qmsdocs.profile.models import Profile, load_profile

SECTIONS = ["Purpose", "Scope", "Responsibilities", "Procedure", "Records", "Related documents"]
PROCEDURES = [f"QP-{n:02d}" for n in range(1, 15)]
BUNDLED = sorted(p.stem for p in bundled_profiles_dir().glob("*.yaml"))
PLACEHOLDERS = ["TODO", "TBD", "[insert", "{{", "}}", "{%", "None", "N/A", "|  |", "| |"]


def _procedures(
    profile: Profile, library: TemplateLibrary | None = None, only: tuple[str, ...] = ()
) -> tuple[Plan, dict[str, str]]:
    """The plan of *profile* and the rendered text of each of its procedures (or of *only* these), by id."""
    library = library or TemplateLibrary()
    the_plan = plan(profile, library)
    texts = {
        spec.meta.id: render(spec, profile, the_plan, library).text
        for spec in the_plan.documents
        if spec.meta.category == "procedure" and (not only or spec.meta.id in only)
    }
    return the_plan, texts


def _headings(text: str, level: int = 1) -> list[str]:
    """The text of the headings of *level*, in order."""
    return [
        node.children[0].content
        for node in parse(text).walk()
        if node.type == "heading" and node.tag == f"h{level}"
    ]


def _section(text: str, heading: str) -> str:
    """The source lines of the level-1 section *heading*, up to the next level-1 heading."""
    lines = text.split("\n")
    starts = [
        (node.children[0].content, node.map[0])
        for node in parse(text).walk()
        if node.type == "heading" and node.tag == "h1" and node.map
    ]
    for index, (title, line) in enumerate(starts):
        if title == heading:
            end = starts[index + 1][1] if index + 1 < len(starts) else len(lines)
            return "\n".join(lines[line + 1 : end])
    raise AssertionError(f"no section '{heading}'")


def _rows(text: str) -> list[list[str]]:
    """The cells of every body row of every table in *text* (inline Markdown as written)."""
    return [
        [cell.children[0].content if cell.children else "" for cell in row.children]
        for node in parse(text).walk()
        if node.type == "tbody"
        for row in node.children
    ]


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[Plan, dict[str, str]]]:
    """Every bundled profile's plan and procedures, rendered once."""
    return {name: _procedures(load_profile(bundled_profiles_dir() / f"{name}.yaml")) for name in BUNDLED}


def _with_exclusions(profile_copy: Callable[[str], Path], exclusions: list[dict[str, str]]) -> Profile:
    """Brightwater with *exclusions* written into a copy of its YAML."""
    path = profile_copy("brightwater.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["scope"]["exclusions"] = exclusions
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return load_profile(path)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_procedure_has_the_sections_in_order(
    rendered: dict[str, tuple[Plan, dict[str, str]]], name: str
) -> None:
    _, texts = rendered[name]
    assert set(PROCEDURES) - {"QP-04", "QP-07"} <= set(texts)
    for doc_id, text in texts.items():
        found = [h for h in _headings(text) if h in SECTIONS]
        assert found == SECTIONS, f"{name} {doc_id}: {found}"
        assert _rows(_section(text, "Responsibilities")), f"{name} {doc_id}: no responsibilities table"
        assert _rows(_section(text, "Records")), f"{name} {doc_id}: no records table"


@pytest.mark.parametrize("name", BUNDLED)
def test_no_procedure_has_a_placeholder_or_an_empty_cell(
    rendered: dict[str, tuple[Plan, dict[str, str]]], name: str
) -> None:
    _, texts = rendered[name]
    for doc_id, text in texts.items():
        for marker in PLACEHOLDERS:
            assert marker not in text, f"{name} {doc_id} contains {marker!r}"
        for row in _rows(text):
            assert all(cell.strip() for cell in row), f"{name} {doc_id}: empty cell in {row}"
        assert not re.search(r"\S {2,}\S", text), f"{name} {doc_id}: doubled space from a template tag"


@pytest.mark.parametrize("name", BUNDLED)
def test_cross_references_name_only_documents_of_the_set(
    rendered: dict[str, tuple[Plan, dict[str, str]]], name: str
) -> None:
    the_plan, texts = rendered[name]
    prefix = the_plan.documents[0].meta.number.split("-")[0]
    in_set = {spec.meta.id for spec in the_plan.documents}
    for doc_id, text in texts.items():
        cited = set(re.findall(rf"\b{re.escape(prefix)}-([A-Z]+-\d+)\b", text))
        assert cited <= in_set, f"{name} {doc_id} cites {sorted(cited - in_set)}"
        related = _section(text, "Related documents")
        assert re.findall(rf"{re.escape(prefix)}-[A-Z]+-\d+", related), (
            f"{name} {doc_id}: no related documents"
        )


def test_brightwater_procedures_use_the_profile(rendered: dict[str, tuple[Plan, dict[str, str]]]) -> None:
    _, texts = rendered["brightwater"]
    buyers = [row for row in _rows(_section(texts["QP-08"], "Responsibilities")) if "Purchasing" in row[0]]
    assert buyers
    assert buyers[0][1] == "Marek Nowak"
    assert "Marek Nowak" in _section(texts["QP-08"], "Procedure")
    assert "Single-source microcontroller" in texts["QP-08"]  # a supply risk of the profile
    criteria = {row[0]: row for row in _rows(_section(texts["QP-08"], "Procedure"))}
    assert {"Evaluation", "Selection", "Monitoring", "Re-evaluation"} <= set(criteria)
    assert "supplier on-time delivery (%)" in criteria["Monitoring"][1]

    review = texts["QP-13"]
    assert "Helen Okafor" in review
    assert "twice a year" in review
    assert _headings(_section(review, "Procedure"), level=2) == [
        "Planning",
        "Inputs",
        "Conducting the review",
        "Outputs",
        "Minutes and follow-up",
    ]

    control = _section(texts["QP-01"], "Procedure")
    assert "**BWI**" in control
    assert "every 12 months" in control
    assert "BWI-QP-01" in control
    assert "Helen Okafor approves" in control
    assert '"Internal"' in control

    assert "Aisha Bello" in _section(texts["QP-02"], "Responsibilities")
    assert "Reliance on two senior calibration technicians" in texts["QP-05"]
    assert "Grace Liu" in _section(texts["QP-06"], "Responsibilities")
    indicators = [
        row for row in _rows(texts["QP-11"]) if row[:2] == ["Assembly and test", "First-pass yield (%)"]
    ]
    assert indicators
    assert indicators[0][2] == "Priya Natarajan"
    assert any(row[0] == "Deliver orders on time" and row[3] == "Monthly" for row in _rows(texts["QP-11"]))
    assert "Leeds service centre" in texts["QP-03"]


def test_minimal_has_no_design_and_still_names_its_people(
    rendered: dict[str, tuple[Plan, dict[str, str]]],
) -> None:
    the_plan, texts = rendered["minimal"]
    assert "QP-07" not in texts
    assert the_plan.get("QP-07") is None
    for doc_id, text in texts.items():
        assert "design" not in text.lower(), f"minimal {doc_id} mentions design"
        assert not any(row[1].startswith("8.3") for row in _rows(_section(text, "Records")))
    assert "Jonas Berg" in _section(texts["QP-08"], "Responsibilities")
    assert "Karin Lindqvist approves" in texts["QP-01"]
    assert "No process indicators are defined yet" in texts["QP-11"]


def test_excluding_customer_property_and_measuring_resources(profile_copy: Callable[[str], Path]) -> None:
    profile = _with_exclusions(
        profile_copy,
        [
            {
                "clause": "8.5.3",
                "justification": "Brightwater never holds property of customers or suppliers.",
            },
            {"clause": "7.1.5", "justification": "No measurement is used to show conformity."},
        ],
    )
    the_plan, texts = _procedures(profile)
    assert "QP-04" not in texts
    assert any(o.id == "QP-04" and "No measurement is used" in o.reason for o in the_plan.omitted)
    production = texts["QP-09"]
    assert "Customer and external-provider property" not in _headings(production, level=2)
    assert "never holds property of customers or suppliers" in _section(production, "Scope")
    assert "8.5.3" in _section(production, "Scope")
    assert not any(row[1] == "8.5.3" for row in _rows(_section(production, "Records")))
    assert "Preservation" in _headings(production, level=2)
    for doc_id, text in texts.items():
        assert "BWI-QP-04" not in text, f"{doc_id} refers to the omitted QP-04"


def test_excluding_traceability_keeps_qp04_and_says_why(profile_copy: Callable[[str], Path]) -> None:
    profile = _with_exclusions(
        profile_copy,
        [
            {
                "clause": "7.1.5.2",
                "justification": "No customer or regulation asks for traceable measurements.",
            },
            {"clause": "8.5.5", "justification": "Nothing is done for customers after delivery."},
        ],
    )
    _, texts = _procedures(profile)
    calibration = _section(texts["QP-04"], "Procedure")
    assert "traceability to national or international standards is not required" in calibration
    assert "No customer or regulation asks for traceable measurements" in calibration
    assert not any(row[1] == "7.1.5.2" for row in _rows(_section(texts["QP-04"], "Records")))
    production = texts["QP-09"]
    assert "Post-delivery activities" not in _headings(production, level=2)
    assert "Nothing is done for customers after delivery" in _section(production, "Scope")
    assert "Customer and external-provider property" in _headings(production, level=2)


def test_management_review_names_self_assessment_and_satisfaction_documents(
    brightwater: Profile, minimal: Profile
) -> None:
    """QP-13 cites PLN-01 (only with a self-assessment), PLN-02 and QP-15 when the set has them."""
    _, full = _procedures(brightwater, only=("QP-13",))
    inputs = _section(full["QP-13"], "Procedure")
    assert "ISO 9004 self-assessment results and the improvement plan (BWI-PLN-01 Improvement plan" in inputs
    assert "BWI-PLN-02 Customer satisfaction monitoring and measuring plan" in inputs
    assert "complaints handled under BWI-QP-15 Complaints handling" in inputs

    _, small = _procedures(minimal, only=("QP-13",))  # no self_assessment: no PLN-01 in the set
    assert "self-assessment" not in small["QP-13"]
    assert "LMA-PLN-02" in small["QP-13"]
