"""Warnings for valid but incomplete profiles: each names the field, its line and the clause."""

from __future__ import annotations

from pathlib import Path

import pytest

from qmsdocs.profile.advice import advise
from qmsdocs.profile.models import load_profile

BASE = """
schema_version: 1
organisation: {name: Acme Widgets Ltd}
scope: {statement: Widgets.}
people:
  boss: {name: Ann Boss, title: Director}
  qm: {name: Quentin Manager, title: Quality Manager}
roles: {top_management: boss, quality_manager: qm}
"""


def _warnings(write_tree, extra: str) -> list[str]:  # type: ignore[no-untyped-def]
    root: Path = write_tree({"p.yaml": BASE + extra})
    return [str(w) for w in advise(load_profile(root / "p.yaml"))]


@pytest.mark.parametrize("name", ["brightwater.yaml", "kestrel-it.yaml", "caledon-packaging.yaml"])
def test_complete_example_profiles_have_no_warnings(profiles_dir: Path, name: str) -> None:
    assert advise(load_profile(profiles_dir / name)) == []


def test_minimal_profile_warns_about_objectives_and_single_auditor(minimal) -> None:  # type: ignore[no-untyped-def]
    messages = [w.message for w in advise(minimal)]
    assert any("no quality objectives: clause 6.2" in m for m in messages)
    assert any("only one internal auditor: clause 9.2.2 c)" in m for m in messages)


def test_objective_without_owner(write_tree) -> None:  # type: ignore[no-untyped-def]
    warnings = _warnings(
        write_tree,
        """
quality_objectives:
  - {objective: Ship on time, indicator: On-time orders, target: ">= 95 %"}
""",
    )
    hit = [w for w in warnings if "has no owner: clause 6.2.2 c)" in w]
    assert len(hit) == 1
    assert hit[0].startswith(f"{write_tree({})}/p.yaml:10:")
    assert "quality_objectives[0]" in hit[0]
    assert "'Ship on time'" in hit[0]


def test_risk_without_owner_or_treatment(write_tree) -> None:  # type: ignore[no-untyped-def]
    warnings = _warnings(
        write_tree,
        """
risks:
  - {description: Fire in the store, likelihood: 2, impact: 5}
  - {description: Late supplier, likelihood: 3, impact: 2, treatment: Second source, owner: qm}
""",
    )
    fire = [w for w in warnings if "'Fire in the store'" in w]
    assert any("has no owner: clause 6.1.2" in w for w in fire)
    assert any("has no treatment: clause 6.1.2 a)" in w for w in fire)
    assert not any("'Late supplier'" in w for w in warnings)


def test_opportunity_and_interested_party_without_details(write_tree) -> None:  # type: ignore[no-untyped-def]
    warnings = _warnings(
        write_tree,
        """
context:
  interested_parties:
    - party: Neighbours
opportunities:
  - description: Export to Norway
""",
    )
    assert any("interested party 'Neighbours' has no needs: clause 4.2" in w for w in warnings)
    assert any("opportunity 'Export to Norway' has no owner: clause 6.1.2" in w for w in warnings)


def test_second_auditor_removes_the_independence_warning(write_tree) -> None:  # type: ignore[no-untyped-def]
    alone = _warnings(write_tree, "internal_audit: {frequency: yearly}\n")
    assert any("only one internal auditor" in w for w in alone)
    two = _warnings(write_tree, "internal_audit: {frequency: yearly, auditors: [qm, boss]}\n")
    assert not any("only one internal auditor" in w for w in two)


def test_process_contradicting_an_exclusion(write_tree) -> None:  # type: ignore[no-untyped-def]
    root = write_tree(
        {
            "p.yaml": BASE.replace(
                "scope: {statement: Widgets.}",
                "scope:\n  statement: Widgets.\n  exclusions: [{clause: '8.3', justification: We make to print.}]",
            )
            + "processes:\n  - {id: nd, name: New product design, owner: qm}\n  - {id: make, name: Machining, owner: qm}\n"
        }
    )
    warnings = [str(w) for w in advise(load_profile(root / "p.yaml"))]
    hit = [w for w in warnings if "looks like an activity of clause 8.3" in w]
    assert len(hit) == 1
    assert "'nd' (New product design)" in hit[0]
    assert "processes[0]" in hit[0]
