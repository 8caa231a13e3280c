"""The data behind the registers: records catalogue, risk bands, process links and clause coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

from qmsdocs.errors import CoverageError
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import check_coverage, plan, uncovered_clauses
from qmsdocs.profile.models import Profile, Risk, load_profile
from qmsdocs.standards import iso
from qmsdocs.standards.processes import ProcessMap, links, same_thing
from qmsdocs.standards.registers import RECORD_TYPES, RISK_BANDS, ranked_risks, records_schedule, risk_band


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (1, "Low"),
        (4, "Low"),
        (5, "Medium"),
        (9, "Medium"),
        (10, "High"),
        (16, "High"),
        (20, "Very high"),
        (25, "Very high"),
    ],
)
def test_risk_band_boundaries(score: int, band: str) -> None:
    assert risk_band(score).name == band


def test_every_possible_score_has_exactly_one_band() -> None:
    scores = {likelihood * impact for likelihood in range(1, 6) for impact in range(1, 6)}
    for score in scores:
        assert sum(band.low <= score <= band.high for band in RISK_BANDS) == 1, score
    assert not {17, 18, 19} & scores  # why the very high band may start at 20


def test_risk_band_rejects_impossible_score() -> None:
    with pytest.raises(ValueError, match="outside 1 to 25"):
        risk_band(26)


def test_ranked_risks_highest_score_first_and_ties_keep_profile_order(profiles_dir: Path) -> None:
    profile = load_profile(profiles_dir / "kestrel-it.yaml")
    ranked = ranked_risks(profile)
    assert [r.score for r in ranked] == sorted((r.score for r in profile.risks), reverse=True)
    assert [r.number for r in ranked] == list(range(1, len(profile.risks) + 1))
    assert ranked[0].risk.description.startswith("Loss of a senior engineer")  # 3 x 4 = 12
    assert ranked[0].owner is not None
    assert ranked[0].band.name == "High"


def test_ranked_risks_ties_keep_profile_order(brightwater: Profile) -> None:
    risks = (
        Risk(description="B", likelihood=2, impact=3),
        Risk(description="A", likelihood=3, impact=2),
        Risk(description="C", likelihood=5, impact=5),
    )
    ranked = ranked_risks(brightwater.model_copy(update={"risks": risks}))
    assert [(r.risk.description, r.score, r.band.name) for r in ranked] == [
        ("C", 25, "Very high"),
        ("B", 6, "Medium"),
        ("A", 6, "Medium"),
    ]
    assert ranked[1].owner is None


def test_records_of_every_clause_kept_when_nothing_is_excluded(brightwater: Profile) -> None:
    kept, removed = records_schedule(brightwater)
    assert removed == []
    assert [r.clause for r in kept] == [r.clause for r in RECORD_TYPES]
    assert all(iso.is_known_9001_clause(r.clause) for r in RECORD_TYPES)


def test_records_of_an_excluded_clause_are_removed_with_the_justification(minimal: Profile) -> None:
    kept, removed = records_schedule(minimal)
    assert {r.clause for r in removed} == {"8.3.2", "8.3.3", "8.3.4", "8.3.5", "8.3.6"}
    assert all(
        r.excluded_clause == "8.3" and "drawings supplied by its customers" in r.justification
        for r in removed
    )
    assert not any(r.clause.startswith("8.3") for r in kept)


def test_excluding_a_sub_clause_removes_only_its_record(profiles_dir: Path) -> None:
    kept, removed = records_schedule(load_profile(profiles_dir / "kestrel-it.yaml"))
    assert [r.clause for r in removed] == ["7.1.5.2"]
    assert "7.1.5.1" in {r.clause for r in kept}


def test_record_keeper_is_the_owner_of_the_matching_process(brightwater: Profile, minimal: Profile) -> None:
    kept = {r.clause: r for r in records_schedule(brightwater)[0]}
    assert kept["8.4.1"].keeper.name == "Marek Nowak"  # owner of "Purchasing and supplier management"
    assert kept["8.3.4"].keeper.name == "Dan Whitfield"  # owner of "Design and development"
    assert kept["7.2"].keeper.name == "Aisha Bello"  # training coordinator
    # without processes the role decides
    assert {r.keeper.name for r in records_schedule(minimal)[0]} == {"Jonas Berg", "Karin Lindqvist"}


@pytest.mark.parametrize(
    ("output", "wanted", "expected"),
    [
        ("Released design files", "Released designs", True),
        ("Objectives", "Quality objectives", True),
        ("Audit reports", "Audit reports", True),
        ("Purchase orders", "Works orders", False),  # the same noun, different things
        ("Approved changes", "Approved solution designs", False),  # a shared qualifier only
        ("Change records", "Approved changes", False),
        ("and", "Orders", False),
    ],
)
def test_same_thing(output: str, wanted: str, expected: bool) -> None:
    assert same_thing(output, wanted) is expected


def test_process_links_of_brightwater(brightwater: Profile) -> None:
    found = [(link.source.id, link.target.id) for link in links(brightwater)]
    assert found == [("design", "production")]
    unlinked = {p.id for p in ProcessMap(brightwater).unlinked}
    assert unlinked == {"leadership", "sales", "service", "purchasing", "people"}


def _library(write_tree, files: dict[str, str]) -> TemplateLibrary:  # type: ignore[no-untyped-def]
    root = write_tree({f"lib/{name}": text for name, text in files.items()})
    return TemplateLibrary([], builtin=root / "lib")


def _template(doc_id: str, clauses: list[str], depends_on: list[str] | None = None) -> str:
    return (
        f"---\nid: {doc_id}\ntitle: Document {doc_id}\ncategory: procedure\nclauses: {clauses}\n"
        f"depends_on: {depends_on or []}\n---\nText.\n"
    )


def test_coverage_names_each_missing_clause_and_where_to_add_it(write_tree, brightwater: Profile) -> None:  # type: ignore[no-untyped-def]
    every = [c for c in iso.ISO9001_CLAUSES if c not in ("6.3", "9.3")]
    library = _library(
        write_tree,
        {
            "a.md.j2": _template("QP-01", [c for c in every if c.startswith(("4", "5", "6", "7"))]),
            "b.md.j2": _template("QP-02", [c for c in every if c.startswith(("8", "9", "10"))]),
            # the manual and the matrix list every clause, and must not hide a gap
            "m.md.j2": _template("QM-01", list(iso.ISO9001_CLAUSES)),
            "r.md.j2": _template("REG-03", list(iso.ISO9001_CLAUSES)),
        },
    )
    the_plan = plan(brightwater, library)
    assert uncovered_clauses(brightwater, the_plan) == ["6.3", "9.3"]
    with pytest.raises(CoverageError) as caught:
        check_coverage(brightwater, the_plan)
    message = str(caught.value)
    assert message.startswith(str(brightwater.source))
    assert "2 applicable ISO 9001:2015 clauses: 6.3, 9.3" in message
    assert (
        '6.3 Planning of changes: add "6.3" to the clauses: front matter of builtin/a.md.j2 (QP-01)'
        in message
    )
    assert "builtin/b.md.j2 (QP-02)" in message
    assert caught.value.clauses == ["6.3", "9.3"]


def test_coverage_ignores_clauses_determined_not_applicable(write_tree, minimal: Profile) -> None:  # type: ignore[no-untyped-def]
    library = _library(
        write_tree,
        {
            "a.md.j2": _template("QP-01", [c for c in iso.ISO9001_CLAUSES if c != "8.3"]),
            "d.md.j2": _template("QP-07", ["8.3"], depends_on=["8.3"]),
        },
    )
    the_plan = plan(minimal, library)
    assert [o.id for o in the_plan.omitted] == ["QP-07"]
    check_coverage(minimal, the_plan)  # 8.3 does not apply: no error


def test_coverage_of_the_builtin_library(brightwater: Profile, minimal: Profile) -> None:
    for profile in (brightwater, minimal):
        assert uncovered_clauses(profile, plan(profile, TemplateLibrary())) == []
