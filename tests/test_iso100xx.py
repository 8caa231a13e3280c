"""Issue #5 documents from the profile: PLN-02 (ISO 10004), FRM-01 (survey), QP-15 (ISO 10002), and when
RPT-01 / PLN-01 (ISO 9004) are in the set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.library.render import render
from qmsdocs.markdown.tree import parse
from qmsdocs.profile.models import Profile, load_profile
from qmsdocs.standards.satisfaction import classify_indicator, parse_scale, satisfaction_plan


def _text(profile: Profile, doc_id: str) -> str:
    library = TemplateLibrary()
    the_plan = plan(profile, library)
    spec = the_plan.get(doc_id)
    assert spec is not None, f"{doc_id} not in the set"
    return render(spec, profile, the_plan, library).text


def _section(text: str, heading: str) -> str:
    """The text under a level-1 heading, up to the next level-1 heading."""
    start = text.index(f"# {heading}\n")
    end = text.find("\n# ", start + 1)
    return text[start : end if end != -1 else None]


def _tables(text: str) -> list[list[list[str]]]:
    """Every table of the Markdown as rows of cell texts (header first)."""
    tables = []
    for node in parse(text).walk():
        if node.type == "table":
            tables.append(
                [
                    [cell.children[0].content if cell.children else "" for cell in row.children]
                    for part in node.children
                    for row in part.children
                ]
            )
    return tables


@pytest.fixture
def edited(profile_copy: Callable[[str], Path]) -> Callable[[Callable[[dict], None]], Profile]:  # type: ignore[type-arg]
    """Load a copy of brightwater.yaml after applying *change* to its data."""

    def load(change: Callable[[dict], None]) -> Profile:  # type: ignore[type-arg]
        path = profile_copy("brightwater.yaml")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return load_profile(path)

    return load


# --- which documents are in the set -------------------------------------------------------------------


def test_minimal_omits_the_iso9004_documents_with_the_reason(minimal: Profile) -> None:
    the_plan = plan(minimal, TemplateLibrary())
    reasons = {o.id: o.reason for o in the_plan.omitted}
    assert reasons["RPT-01"] == "the profile has no 'self_assessment' section"
    assert reasons["PLN-01"] == "the profile has no 'self_assessment' section"
    ids = {spec.meta.id for spec in the_plan.documents}
    assert {"PLN-02", "FRM-01", "QP-15"} <= ids


def test_brightwater_gets_all_issue5_documents(brightwater: Profile) -> None:
    ids = {spec.meta.id for spec in plan(brightwater, TemplateLibrary()).documents}
    assert {"RPT-01", "PLN-01", "PLN-02", "FRM-01", "QP-15"} <= ids


def test_issue5_documents_render_for_minimal(minimal: Profile) -> None:
    for doc_id in ("PLN-02", "FRM-01", "QP-15"):
        text = _text(minimal, doc_id)
        assert "Lindqvist" in text
        for filler in ("TODO", "TBD", "[insert", "None", "N/A"):
            assert filler not in text, (doc_id, filler)


# --- RPT-01 and PLN-01 ---------------------------------------------------------------------------------


def test_report_tables_every_rated_element(brightwater: Profile) -> None:
    text = _text(brightwater, "RPT-01")
    table = next(t for t in _tables(text) if t[0][:5] == ["Clause", "Element", "Level", "Target", "Gap"])
    rows = {row[0]: row for row in table[1:]}
    assert len(rows) == 24
    assert rows["9.6"][2:] == ["2", "4", "2", "Supplier performance not reviewed since 2024"]
    assert rows["9.7"][2:5] == ["1", "3", "2"]
    assert "- 8.4 Managing processes" in _section(text, "Elements not assessed")
    assert "Tomás Ribeiro and Priya Natarajan" in text


def test_plan_table_is_ranked(brightwater: Profile) -> None:
    text = _text(brightwater, "PLN-01")
    table = next(t for t in _tables(text) if t[0][0] == "Rank")
    assert table[0] == [
        "Rank",
        "Clause",
        "Element",
        "Current → target",
        "Priority",
        "Action",
        "Owner",
        "Due",
        "Indicator",
    ]
    first = table[1]
    assert first[:5] == ["1", "10.6", "Self-assessment", "1 → 4", "6"]
    assert first[7] == "2026-04-20"
    nine_six = next(row for row in table[1:] if row[1] == "9.6")
    assert nine_six[6] == "Marek Nowak"
    assert "Supplier on-time delivery (%)" in nine_six[8]
    assert "9.5 Infrastructure and work environment" in _section(text, "Strengths to sustain")


# --- PLN-02 ------------------------------------------------------------------------------------------------


def test_satisfaction_plan_lists_indicators_targets_and_methods(brightwater: Profile) -> None:
    text = _text(brightwater, "PLN-02")
    indicators = next(t for t in _tables(text) if t[0] == ["Indicator", "Source", "Target"])
    assert [row[0] for row in indicators[1:]] == [
        "Overall satisfaction score",
        "Net promoter score",
        "Complaints per 100 orders",
    ]
    assert indicators[1][2] == "at least 4.3"
    methods = _section(text, "Methods")
    direct, indirect = methods.split("## Indirect methods")
    assert (
        "Annual customer survey: annually, on the scale 1 (very dissatisfied) to 5 (very satisfied)" in direct
    )
    assert "Service feedback cards" in direct
    assert "- Complaint analysis" in indirect
    assert "- Repeat-order rate" in indirect
    # sources every organisation has are added, without repeating the profile's own
    assert "- Warranty claims" in indirect
    assert "- Lost customers" in indirect
    assert "Repeat orders" not in indirect
    assert "Keep customers satisfied" in _section(text, "Indicators and targets")


def test_methods_are_classified_by_keywords(edited) -> None:  # type: ignore[no-untyped-def]
    profile = edited(
        lambda d: d["customer_satisfaction"].update(
            methods=["Key-account interviews", "Warranty claim trends", "Trade show chats"]
        )
    )
    sp = satisfaction_plan(profile)
    assert sp.direct == ("Key-account interviews",)
    assert sp.indirect == ("Warranty claim trends",)
    assert sp.other == ("Trade show chats",)
    assert "Warranty claims" not in sp.added_indirect
    assert "Complaints" in sp.added_indirect


def test_no_target_score_is_said_honestly(minimal: Profile) -> None:
    text = _text(minimal, "PLN-02")
    assert "No numeric target is set for the overall score yet" in text


# --- FRM-01 ------------------------------------------------------------------------------------------------


def test_survey_has_a_column_per_scale_point_and_rows_per_product(brightwater: Profile) -> None:
    text = _text(brightwater, "FRM-01")
    products = next(t for t in _tables(text) if t[0][0].startswith("How satisfied are you with our"))
    assert products[0][1:] == ["1 very dissatisfied", "2", "3", "4", "5 very satisfied", "Not used"]
    assert [row[0] for row in products[1:]] == list(brightwater.scope.products_and_services)
    assert all(cell == "☐" for row in products[1:] for cell in row[1:])


def test_net_promoter_question_only_when_an_indicator_asks_for_it(
    brightwater: Profile, minimal: Profile
) -> None:
    with_nps = _text(brightwater, "FRM-01")
    assert "# Recommendation" in with_nps
    nps = next(t for t in _tables(with_nps) if t[0][0] == "0")
    assert nps[0] == [str(n) for n in range(11)]
    assert "# Recommendation" not in _text(minimal, "FRM-01")


def test_survey_follows_the_profile_scale_and_indicators(edited) -> None:  # type: ignore[no-untyped-def]
    profile = edited(
        lambda d: d["customer_satisfaction"].update(
            scale="0 (poor) to 3 (excellent)", indicators=["Satisfaction with technical support"]
        )
    )
    text = _text(profile, "FRM-01")
    overall = next(t for t in _tables(text) if t[0][0] == "Question" and len(t[0]) > 2)
    assert overall[0][1:] == ["0 poor", "1", "2", "3 excellent"]
    assert overall[1][0] == "How satisfied are you with technical support?"
    assert "# Recommendation" not in text


@pytest.mark.parametrize(
    ("scale", "points"),
    [
        (
            "1 (very dissatisfied) to 5 (very satisfied)",
            ["1 very dissatisfied", "2", "3", "4", "5 very satisfied"],
        ),
        ("0-10", [str(n) for n in range(11)]),
        ("stars", ["1", "2", "3", "4", "5"]),
    ],
)
def test_parse_scale(scale: str, points: list[str]) -> None:
    assert [str(p) for p in parse_scale(scale)] == points


@pytest.mark.parametrize(
    ("indicator", "kind"),
    [
        ("Net promoter score", "nps"),
        ("Complaints per 100 orders", "records"),
        ("Repeat-order rate", "records"),
        ("Overall satisfaction score", "survey"),
    ],
)
def test_indicator_kinds(indicator: str, kind: str) -> None:
    assert classify_indicator(indicator).kind == kind


# --- QP-15 -------------------------------------------------------------------------------------------------


def test_complaints_procedure_uses_the_profile_timescales_and_channels(brightwater: Profile) -> None:
    text = _text(brightwater, "QP-15")
    assert "within 2 working\ndays of receipt" in text
    assert "no later than 20 working days after receipt" in text
    assert "https://brightwater.example" in text
    assert "tomas.ribeiro@brightwater.example" in text
    assert "CR2026/001" in text  # a complaint reference that cannot pass for a document number
    assert "ISO 10003" in _section(text, "Procedure")


def test_complaints_timescales_follow_the_profile(edited) -> None:  # type: ignore[no-untyped-def]
    profile = edited(
        lambda d: d["customer_satisfaction"]["complaints"].update(
            acknowledge_within_days=1, resolve_within_days=15
        )
    )
    text = _text(profile, "QP-15")
    assert "within 1 working\nday of receipt" in text
    assert "no later than 15 working days after receipt" in text


def test_complaints_link_to_analysis_and_satisfaction_plan(brightwater: Profile) -> None:
    related = _section(_text(brightwater, "QP-15"), "Related documents")
    assert "BWI-PLN-02 Customer satisfaction monitoring and measuring plan" in related
