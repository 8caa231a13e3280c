"""The ISO 9004 self-assessment model: ratings, groups, strengths, and the ranked improvement plan."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qmsdocs.errors import ProfileError
from qmsdocs.profile.models import Profile, load_profile
from qmsdocs.standards import iso
from qmsdocs.standards.maturity import assess, due_date

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def ranking() -> Profile:
    """A profile whose elements exercise ties, importance weighting and explicit actions."""
    return load_profile(FIXTURES / "ranking.yaml")


def test_profile_without_self_assessment_has_no_model(minimal: Profile) -> None:
    assert assess(minimal) is None


def test_elements_carry_level_target_and_gap(brightwater: Profile) -> None:
    a = assess(brightwater)
    assert a is not None
    by_clause = {e.clause: e for e in a.elements}
    assert (by_clause["9.7"].level, by_clause["9.7"].target, by_clause["9.7"].gap) == (1, 3, 2)
    assert (by_clause["10.6"].level, by_clause["10.6"].target, by_clause["10.6"].gap) == (1, 4, 3)
    assert by_clause["9.5"].gap == 0
    assert by_clause["9.6"].evidence == "Supplier performance not reviewed since 2024"


def test_unrated_elements_are_listed_not_invented(brightwater: Profile) -> None:
    a = assess(brightwater)
    assert a is not None
    assert [n.clause for n in a.not_assessed] == ["8.4"]
    assert "8.4" not in {e.clause for e in a.elements}
    group8 = next(g for g in a.groups if g.group == "8")
    assert [n.clause for n in group8.not_assessed] == ["8.4"]
    assert len(a.elements) + len(a.not_assessed) == len(iso.ISO9004_ELEMENTS)


def test_group_summary_means_and_lowest(brightwater: Profile) -> None:
    a = assess(brightwater)
    assert a is not None
    groups = {g.group: g for g in a.groups}
    # group 9: 9.2=3, 9.3=2, 9.4=3, 9.5=4, 9.6=2, 9.7=1 -> 15/6; targets 4,4,4,4,4,3 -> 23/6
    assert groups["9"].mean_level == 2.5
    assert groups["9"].mean_target == 3.8
    assert [e.clause for e in groups["9"].lowest] == ["9.7"]
    assert [e.clause for e in groups["11"].lowest] == ["11.3", "11.4"]


def test_group_with_no_rated_element_is_not_averaged(ranking: Profile) -> None:
    a = assess(ranking)
    assert a is not None
    context = next(g for g in a.groups if g.group == "5")
    assert context.assessed
    # only 5.2 is rated in group 5; 5.3 is listed as not assessed, not averaged in as zero
    assert context.mean_level == 2.0
    assert [n.clause for n in context.not_assessed] == ["5.3"]


def test_strengths_and_weaknesses(ranking: Profile) -> None:
    a = assess(ranking)
    assert a is not None
    assert [e.clause for e in a.strengths] == ["6.2", "11.4"]
    # gap >= 2 (5.2, 7.3, 9.6, 10.2) or level <= 2 below target; 8.2 (3 -> 5) has gap 2 too
    assert [e.clause for e in a.weaknesses] == ["5.2", "7.3", "8.2", "9.6", "10.2"]
    assert [e.clause for e in a.sustain] == ["6.2", "11.4"]


def test_ranking_by_gap_times_importance_with_numeric_clause_ties(ranking: Profile) -> None:
    a = assess(ranking)
    assert a is not None
    order = [(row.rank, row.element.clause, row.element.priority) for row in a.plan]
    assert order == [
        (1, "5.2", 6),  # gap 2 x importance 3
        (2, "9.6", 6),  # tie: clause order, numeric (9.6 before 10.2)
        (3, "10.2", 6),  # gap 3 x importance 2
        (4, "7.3", 4),  # gap 2 x 2: importance weighting puts it below 5.2's equal gap
        (5, "8.2", 4),
        (6, "9.2", 3),  # gap 1 x importance 3 beats ...
        (7, "9.7", 1),  # ... gap 1 x importance 1
    ]
    assert all(row.element.gap > 0 for row in a.plan)


def test_profile_actions_win_over_suggestions(ranking: Profile) -> None:
    a = assess(ranking)
    assert a is not None
    rows = {row.element.clause: row for row in a.plan}
    assert rows["9.2"].actions == ("Build a welding skills matrix", "Qualify two more welders")
    assert rows["9.2"].suggested is False
    assert rows["5.2"].suggested is True


def test_suggestions_are_specific_to_the_profile(ranking: Profile, brightwater: Profile) -> None:
    rows = {row.element.clause: row for row in assess(ranking).plan}  # type: ignore[union-attr]
    assert "customers and regulators" in rows["5.2"].actions[0]
    assert "Lena Fischer (Purchasing)" in rows["9.6"].actions[0]
    assert "Steel plate lead times have doubled" in rows["9.6"].actions[0]
    bw = {row.element.clause: row for row in assess(brightwater).plan}  # type: ignore[union-attr]
    assert "Reliance on two senior calibration technicians" in bw["9.3"].actions[0]
    assert "Marek Nowak" in bw["9.6"].actions[0]


def test_owner_rule(ranking: Profile) -> None:
    rows = {row.element.clause: row for row in assess(ranking).plan}  # type: ignore[union-attr]
    assert rows["9.6"].owner.name == "Lena Fischer"  # purchasing process owner
    assert rows["9.2"].owner.name == "Sam Price"  # people/training process owner
    assert rows["9.7"].owner.name == "Kofi Mensah"  # production process owner
    assert rows["5.2"].owner.name == "Ruth Hale"  # context and leadership: top management
    assert rows["7.3"].owner.name == "Ruth Hale"
    assert rows["10.2"].owner.name == "Omar Said"  # nothing fits: the quality manager
    # process management: the quality manager leads, with every process owner
    assert [p.name for p in rows["8.2"].owners] == ["Omar Said", "Lena Fischer", "Sam Price", "Kofi Mensah"]


def test_owner_falls_back_to_roles_without_processes(minimal: Profile) -> None:
    data = minimal.model_dump(exclude_none=True)
    data["self_assessment"] = {
        "date": dt.date(2026, 1, 1),
        "elements": {"9.6": {"level": 1}, "9.2": {"level": 1}},
    }
    rows = {row.element.clause: row for row in assess(Profile.model_validate(data)).plan}  # type: ignore[union-attr]
    assert rows["9.6"].owner.name == "Jonas Berg"  # quality manager
    assert rows["9.2"].owner.name == "Jonas Berg"  # training coordinator defaults to the quality manager


def test_due_dates_by_priority_from_the_assessment_date(ranking: Profile) -> None:
    rows = {row.element.clause: row.due for row in assess(ranking).plan}  # type: ignore[union-attr]
    assert rows["5.2"] == dt.date(2026, 6, 30)  # priority 6: 3 months
    assert rows["7.3"] == dt.date(2026, 9, 30)  # priority 4: 6 months
    assert rows["9.2"] == dt.date(2026, 12, 31)  # priority 3: 9 months
    assert rows["9.7"] == dt.date(2027, 3, 31)  # priority 1: 12 months


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        (12, dt.date(2026, 4, 30)),
        (6, dt.date(2026, 4, 30)),
        (5, dt.date(2026, 7, 31)),
        (4, dt.date(2026, 7, 31)),
        (3, dt.date(2026, 10, 31)),
        (2, dt.date(2026, 10, 31)),
        (1, dt.date(2027, 1, 31)),
    ],
)
def test_due_date_boundaries(priority: int, expected: dt.date) -> None:
    assert due_date(dt.date(2026, 1, 31), priority) == expected


def test_indicator_names_target_and_a_process_kpi(ranking: Profile) -> None:
    rows = {row.element.clause: row for row in assess(ranking).plan}  # type: ignore[union-attr]
    assert rows["9.6"].indicator == "Level 4 at the next self-assessment; Supplier on-time delivery (%)"
    assert rows["8.2"].indicator.startswith("Level 5 at the next self-assessment;")
    assert "2 of 3 now" in rows["8.2"].indicator


def test_unknown_element_is_a_located_error(write_tree) -> None:  # type: ignore[no-untyped-def]
    folder = write_tree(
        {
            "p.yaml": """
        schema_version: 1
        organisation: {name: X Ltd}
        scope: {statement: Things.}
        people: {a: {name: A}}
        roles: {top_management: a, quality_manager: a}
        self_assessment:
          date: 2026-01-01
          elements:
            "9.9": {level: 3}
            "10.3": {level: 6}
            "7.4": {level: 2, target: 0}
        """
        }
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(folder / "p.yaml")
    file = folder / "p.yaml"
    elements = "self_assessment.elements"
    assert str(caught.value).splitlines() == [
        f"{file}:9:5: {elements}[\"9.9\"]: '9.9' is not an ISO 9004:2018 self-assessment element;"
        " did you mean '9.7'?",
        f'{file}:10:21: {elements}["10.3"].level: input should be less than or equal to 5, got 6',
        f'{file}:11:31: {elements}["7.4"].target: input should be greater than or equal to 1, got 0',
    ]
