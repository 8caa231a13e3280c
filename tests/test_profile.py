"""Loading profiles: the bundled examples, defaults, and every kind of mistake with its exact location."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qmsdocs.errors import ProfileError
from qmsdocs.profile.models import load_profile

MINIMAL = """\
schema_version: 1
organisation:
  name: Lindqvist Machining AB
scope:
  statement: Machining of parts.
people:
  ceo: {name: Karin Lindqvist, title: Managing Director}
  qm: {name: Jonas Berg, title: Quality Manager}
roles:
  top_management: ceo
  quality_manager: qm
"""


def test_brightwater_loads_with_its_data(brightwater) -> None:
    assert brightwater.organisation.short_name == "Brightwater"
    assert [p.id for p in brightwater.processes][:3] == ["leadership", "sales", "design"]
    assert brightwater.document_control.effective_date == dt.date(2026, 2, 1)
    element = brightwater.self_assessment.elements["9.3"]
    assert (element.level, element.target, element.importance) == (2, 4, 2)
    assert brightwater.risks[1].score == 10
    assert brightwater.branding.logo is not None
    assert brightwater.branding.logo.is_file()


def test_minimal_takes_documented_defaults(minimal) -> None:
    assert minimal.organisation.short_name == "Lindqvist Machining AB"
    assert minimal.document_control.prefix == "LMA"
    assert minimal.document_control.approver == "ceo"
    assert minimal.document_control.reviewer == "qm"
    assert minimal.roles.document_controller == "qm"
    assert minimal.internal_audit.lead_auditor == "qm"
    assert minimal.management_review.chair == "ceo"
    assert minimal.quality_policy.approved_by == "ceo"
    assert minimal.output.formats == ("docx", "md")
    assert minimal.self_assessment is None


def test_minimal_excludes_design(minimal) -> None:
    assert list(minimal.excluded) == ["8.3"]
    assert not minimal.applies("8.3")
    assert not minimal.applies("8.3.4")
    assert minimal.applies("8.4")


def test_profiles_are_frozen(minimal) -> None:
    with pytest.raises(ValueError, match="frozen"):
        minimal.organisation.name = "Other"  # type: ignore[misc]


def _errors(tmp_path: Path, text: str, name: str = "p.yaml", raw: bytes | None = None) -> list[str]:
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    prefix = f"{path}:"
    lines = str(caught.value).splitlines()
    assert all(line.startswith(prefix) for line in lines), lines
    return [line.removeprefix(prefix) for line in lines]


# Each case: what to change in MINIMAL, and the exact "LINE:COL: field: message" expected.
CASES = {
    "misspelt key": (
        ("  name: Lindqvist Machining AB", "  nmae: Lindqvist Machining AB"),
        [
            "3:3: organisation.name: required field is missing",
            "3:3: organisation.nmae: unknown field; did you mean 'name'?",
        ],
    ),
    "dangling person reference": (
        ("  top_management: ceo", "  top_management: coe"),
        ["10:19: roles.top_management: 'coe' is not a key of people; did you mean 'ceo'? (people: ceo, qm)"],
    ),
    "wrong type": (
        ("  name: Lindqvist Machining AB", "  name: Lindqvist Machining AB\n  employees: many"),
        [
            "4:14: organisation.employees: input should be a valid integer, unable to parse string as an"
            " integer, got 'many'"
        ],
    ),
    "wrong schema version": (
        ("schema_version: 1", "schema_version: 2"),
        ["1:17: schema_version: input should be 1, got 2"],
    ),
    "missing section": (
        ("scope:\n  statement: Machining of parts.\n", ""),
        ["1:1: scope: required field is missing"],
    ),
    "exclusion that can never apply": (
        (
            "  statement: Machining of parts.",
            "  statement: x\n  exclusions:\n    - {clause: '9.2', justification: None kept}",
        ),
        [
            "7:16: scope.exclusions[0].clause: clause 9.2 cannot be determined not applicable: clauses 4 to 6,"
            " 9 and 10, and 8.1, 8.2, 8.4 and 8.5.1 as a whole apply to every organisation (ISO 9001:2015 4.3);"
            " requirements that can be not applicable: 7.1.5, 7.1.5.1, 7.1.5.2, 8.3, 8.5.1 f, 8.5.3, 8.5.5"
        ],
    ),
    "exclusion without justification": (
        ("  statement: Machining of parts.", "  statement: x\n  exclusions:\n    - clause: '8.3'"),
        ["7:7: scope.exclusions[0].justification: required field is missing"],
    ),
    "unknown ISO 9004 element": (
        ("roles:", "self_assessment:\n  date: 2026-01-20\n  elements:\n    '9.8': {level: 3}\nroles:"),
        [
            "12:5: self_assessment.elements[\"9.8\"]: '9.8' is not an ISO 9004:2018 self-assessment element;"
            " did you mean '9.7'?"
        ],
    ),
    "maturity level out of range": (
        ("roles:", "self_assessment:\n  date: 2026-01-20\n  elements:\n    '5.2': {level: 6}\nroles:"),
        ['12:20: self_assessment.elements["5.2"].level: input should be less than or equal to 5, got 6'],
    ),
    "bad colour": (
        ("roles:", "branding:\n  primary_colour: navy\nroles:"),
        ["10:19: branding.primary_colour: 'navy' is not a colour like \"#1F4E79\""],
    ),
    "missing logo file": (
        ("roles:", "branding:\n  logo: assets/nope.png\nroles:"),
        ["10:9: branding.logo: file not found: {dir}/assets/nope.png (paths are relative to the profile)"],
    ),
    "impossible date": (
        ("roles:", "document_control:\n  effective_date: 2026-02-30\nroles:"),
        ["10:19: document_control.effective_date: invalid date: day is out of range for month"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_profile_reports_exact_location(tmp_path: Path, case: str) -> None:
    (old, new), expected = CASES[case]
    assert old in MINIMAL
    found = _errors(tmp_path, MINIMAL.replace(old, new, 1))
    assert found == [line.replace("{dir}", str(tmp_path)) for line in expected]


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace("  top_management: ceo", "  top_management: boss").replace(
        "  qm: {name: Jonas Berg, title: Quality Manager}", "  qm: {name: Jonas Berg, titel: Quality Manager}"
    )
    found = _errors(tmp_path, text)
    assert found == [
        "8:26: people.qm.titel: unknown field; did you mean 'title'?",
        "10:19: roles.top_management: 'boss' is not a key of people (people: ceo, qm)",
    ]


def test_yes_no_is_explained(tmp_path: Path) -> None:
    text = MINIMAL.replace("  statement: Machining of parts.", "  statement: no")
    assert _errors(tmp_path, text) == [
        "5:14: scope.statement: input should be a valid string, got no (a yes/no value: put text in quotes)"
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    found = _errors(tmp_path, MINIMAL.replace("  name: Lindqvist Machining AB", "  name: [Lindqvist"))
    assert found == [
        "4:6: YAML syntax error: while parsing a flow sequence: expected ',' or ']', but got ':'"
        " (it starts at line 3)"
    ]


def test_duplicate_key(tmp_path: Path) -> None:
    found = _errors(tmp_path, MINIMAL + "roles:\n  top_management: qm\n")
    assert found == [
        "12:1: roles: duplicate key 'roles' (first given at line 9); YAML keeps only one: merge the two entries"
    ]


def test_unsafe_tag(tmp_path: Path) -> None:
    found = _errors(tmp_path, MINIMAL.replace("Machining of parts.", "!!python/object/apply:os.system [ls]"))
    assert found == [
        "5:14: scope.statement: unsupported YAML tag '!!python/object/apply:os.system': profiles hold plain data"
        " (text, numbers, dates, lists, mappings); remove the tag"
    ]


def test_not_utf8(tmp_path: Path) -> None:
    found = _errors(tmp_path, "", raw=MINIMAL.replace("Karin", "K\u00e4rin").encode("latin-1"))
    assert found == ["7:16: the file is not UTF-8 text (byte 0xe4); save it as UTF-8 in your editor"]


def test_empty_file(tmp_path: Path) -> None:
    found = _errors(tmp_path, "# nothing yet\n")
    assert found == ["1:1: the profile is empty; start from the bundled profiles/minimal.yaml"]


def test_not_a_mapping(tmp_path: Path) -> None:
    found = _errors(tmp_path, "- just\n- a list\n")
    assert found == ["1:1: a profile is a mapping of fields (organisation:, scope:, ...)"]
