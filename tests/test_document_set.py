"""Build every bundled profile and check the document sets: completeness, content, cross-references,
applicability, coverage and that nothing reads like an unfinished template."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from qmsdocs.batch.builder import build
from qmsdocs.cli import bundled_profiles_dir
from qmsdocs.profile.models import Profile, load_profile
from qmsdocs.standards import iso

PROFILES = sorted(p.stem for p in bundled_profiles_dir().glob("*.yaml"))
#: Documents every profile gets (the rest depend on clauses or profile sections).
CORE = [
    "QM-01",
    "QS-01",
    "CTX-01",
    "ROL-01",
    "POL-01",
    "POL-02",
    "QP-01",
    "QP-02",
    "QP-03",
    "QP-05",
    "QP-06",
    "QP-08",
    "QP-09",
    "QP-10",
    "QP-11",
    "QP-12",
    "QP-13",
    "QP-14",
    "REG-01",
    "REG-02",
    "REG-03",
    "REG-04",
]
ABSENT = {"minimal": ["QP-07"], "brightwater": [], "kestrel-it": [], "caledon-packaging": []}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every bundled profile built once, Markdown only."""
    out = tmp_path_factory.mktemp("out")
    report = build([bundled_profiles_dir() / f"{name}.yaml" for name in PROFILES], out, formats=["md"])
    assert report.ok, "\n".join(e for p in report.failed for e in p.errors)
    return out


def _profile(name: str) -> Profile:
    return load_profile(bundled_profiles_dir() / f"{name}.yaml")


def _docs(built: Path, name: str) -> dict[str, str]:
    """Document id -> text of the profile's built set."""
    manifest = json.loads((built / name / "manifest.json").read_text(encoding="utf-8"))
    return {
        d["id"]: (built / name / d["files"]["md"]).read_text(encoding="utf-8") for d in manifest["documents"]
    }


def _section(text: str, heading: str) -> str:
    """The body of the level-2 section *heading* (the writer demotes template headings by one)."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no section '{heading}'"
    return match.group(1)


def _rows(text: str) -> list[list[str]]:
    """The cells of every body row of every table in *text*."""
    rows, lines = [], text.splitlines()
    for index, line in enumerate(lines):
        if (
            line.startswith("|")
            and index > 0
            and lines[index - 1].startswith("|")
            and not set(line) <= set("|- ")
        ):
            rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def test_the_bundled_profiles_are_the_four_examples() -> None:
    assert PROFILES == ["brightwater", "caledon-packaging", "kestrel-it", "minimal"]


@pytest.mark.parametrize("name", PROFILES)
def test_complete_set(built: Path, name: str) -> None:
    ids = set(_docs(built, name))
    assert set(CORE) <= ids, sorted(set(CORE) - ids)
    assert not ids & set(ABSENT[name])
    manifest = json.loads((built / name / "manifest.json").read_text(encoding="utf-8"))
    assert [o["id"] for o in manifest["omitted"] if not o["id"].startswith(("PLN", "RPT"))] == ABSENT[name]


@pytest.mark.parametrize("name", PROFILES)
def test_manual_lists_every_process_and_every_clause_group(built: Path, name: str) -> None:
    profile, manual = _profile(name), _docs(built, name)["QM-01"]
    table = _section(manual, "Processes and their interactions")
    for process in profile.processes:
        assert f"| {process.name} | {process.type.capitalize()} |" in table
    for group in (
        "4 Context of the organisation",
        "5 Leadership",
        "6 Planning",
        "7 Support",
        "8 Operation",
        "9 Performance evaluation",
        "10 Improvement",
    ):
        assert f"### Clause {group}" in manual
    clause_rows = [r for r in _rows(_section(manual, "How the system meets ISO 9001:2015")) if len(r) == 3]
    assert [r[0].split(" ", 1)[0] for r in clause_rows] == list(iso.ISO9001_CLAUSES)


def test_manual_process_interactions_of_brightwater(built: Path) -> None:
    manual = _docs(built, "brightwater")["QM-01"]
    assert (
        "| Design and development | Released design files | Assembly and test | Released designs |" in manual
    )
    assert "- Purchasing and supplier management serves Sales and contract review" in manual


@pytest.mark.parametrize("name", PROFILES)
def test_master_list_lists_every_document(built: Path, name: str) -> None:
    docs = _docs(built, name)
    master = _section(docs["REG-01"], "Controlled documents")
    manifest = json.loads((built / name / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["documents"]:
        front = yaml.safe_load(docs[entry["id"]].split("---\n")[1])
        review = front["next_review"]
        assert re.search(rf"^\| {entry['number']} \| .+ \| {review} \|$", master, re.MULTILINE), entry["id"]
    assert f"{len(manifest['documents'])} documents" in master


@pytest.mark.parametrize("name", PROFILES)
def test_risk_register_scores_bands_and_order(built: Path, name: str) -> None:
    profile, text = _profile(name), _docs(built, name)["REG-04"]
    rows = [r for r in _rows(_section(text, "Risks")) if r[0].startswith("R")]
    assert len(rows) == len(profile.risks)
    scores = [int(r[4]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    for row in rows:
        likelihood, impact, score, band = int(row[2]), int(row[3]), int(row[4]), row[5]
        assert score == likelihood * impact
        assert band == (
            "Low" if score <= 4 else "Medium" if score <= 9 else "High" if score <= 16 else "Very high"
        )
    if not profile.risks:
        assert "No risks have been recorded yet" in text
    assert "| Very high | 20 to 25 |" in text


def test_caledon_highest_risk_is_the_corrugator(built: Path) -> None:
    rows = _rows(_section(_docs(built, "caledon-packaging")["REG-04"], "Risks"))
    assert rows[0][:6] == [
        "R1",
        "Corrugator breakdown at Livingston stops board supply to Dundee",
        "4",
        "5",
        "20",
        "Very high",
    ]
    assert rows[0][7] == "Andrew Baird"


@pytest.mark.parametrize("name", PROFILES)
def test_clause_matrix_has_a_row_per_clause(built: Path, name: str) -> None:
    profile, text = _profile(name), _docs(built, name)["REG-03"]
    rows = _rows(_section(text, "Clause matrix"))
    assert [r[0] for r in rows] == list(iso.ISO9001_CLAUSES)
    for row in rows:
        if profile.applies(row[0]):
            assert row[2].startswith(profile.document_control.prefix + "-"), row
        else:
            assert row[3].startswith("Not applicable ("), row


def test_exclusion_of_design_is_justified_everywhere_and_leaves_no_trace(built: Path) -> None:
    docs = _docs(built, "minimal")
    why = "makes parts only to drawings supplied by its customers"
    matrix_row = next(r for r in _rows(docs["REG-03"]) if r[0] == "8.3")
    assert matrix_row[2] == "Not required"
    assert why in matrix_row[3]
    assert why in _section(docs["QS-01"], "Applicability of ISO 9001:2015")
    assert why in _section(docs["QM-01"], "Scope of the quality management system")
    assert any(r[0].startswith("8.3 ") and why in r[1] for r in _rows(docs["QM-01"]))
    removed = _section(docs["REG-02"], "Records not kept")
    assert [r[0] for r in _rows(removed)] == ["8.3.2", "8.3.3", "8.3.4", "8.3.5", "8.3.6"]
    assert not any(r[0].startswith("8.3") for r in _rows(_section(docs["REG-02"], "Retention schedule")))
    assert "Design and development" in _section(docs["REG-01"], "Documents not in the set")
    for doc_id, text in docs.items():
        assert "LMA-QP-07" not in text, doc_id


def test_partial_exclusion_keeps_the_parent_clause(built: Path) -> None:
    docs = _docs(built, "kestrel-it")
    assert "QP-04" in docs  # 7.1.5 still applies; only 7.1.5.2 does not
    row = next(r for r in _rows(docs["REG-03"]) if r[0] == "7.1.5")
    assert row[3].startswith("Applies, except 7.1.5.2: Kestrel verifies its services")
    assert [r[0] for r in _rows(_section(docs["REG-02"], "Records not kept"))] == ["7.1.5.2"]


@pytest.mark.parametrize("name", PROFILES)
def test_every_document_number_refers_to_a_document_of_the_set(built: Path, name: str) -> None:
    docs = _docs(built, name)
    prefix = _profile(name).document_control.prefix
    pattern = re.compile(rf"\b{re.escape(prefix)}-([A-Z][A-Z0-9]*-[0-9A-Z]+)\b")
    for doc_id, text in docs.items():
        for ref in pattern.findall(text):
            assert ref in docs, f"{doc_id} refers to {prefix}-{ref}, which is not in the set"


def test_context_and_objectives_follow_the_profile(built: Path) -> None:
    kestrel = _docs(built, "kestrel-it")
    climate = _section(kestrel["CTX-01"], "Climate change")
    assert "has determined that climate change is relevant" in climate
    assert "climate commitments ask for lower-energy hosting" in climate
    minimal = _docs(built, "minimal")
    assert "is not recorded as a relevant issue" in _section(minimal["CTX-01"], "Climate change")
    objectives = _section(minimal["POL-02"], "Quality objectives")
    assert "Karin Lindqvist sets them at the first" in objectives
    assert "Jonas Berg" in objectives
    caledon = _docs(built, "caledon-packaging")["POL-02"]
    rows = [r for r in _rows(_section(caledon, "Quality objectives")) if r[0].startswith("O")]
    assert len(rows) == len(_profile("caledon-packaging").quality_objectives)
    assert rows[2][1:] == [
        "Cut board waste at Livingston",
        "Board waste as a share of board produced",
        "\\<= 6 %",
        "monthly",
        "Stuart Kerr",
        "Corrugated board production",
    ]
    assert "### O3 Cut board waste at Livingston" in caledon


def test_roles_name_every_person_and_process_owner(built: Path) -> None:
    profile, text = _profile("caledon-packaging"), _docs(built, "caledon-packaging")["ROL-01"]
    people = _section(text, "People and their responsibilities")
    for person in profile.people.values():
        assert f"| {person.name} |" in people
    assert "owner of Corrugated board production" in people
    assert len(_rows(_section(text, "Process owners"))) == len(profile.processes)


#: Unfinished-template markers (any case) and Python/YAML empty values printed as text (exact case).
PLACEHOLDERS = re.compile(r"(?i:TODO|TBD|\[insert|lorem ipsum|xxx)|\{\{|\{%|\bNone\b|\bN/A\b|\bnull\b")


@pytest.mark.parametrize("name", PROFILES)
def test_no_placeholder_or_empty_value_in_any_document(built: Path, name: str) -> None:
    for path in sorted((built / name).glob("*.md")):
        text = path.read_text(encoding="utf-8")
        found = PLACEHOLDERS.findall(text)
        assert not found, f"{path.name}: {found}"
        lines = text.splitlines()
        for index, line in enumerate(lines):
            is_header = index + 1 < len(lines) and lines[index + 1].startswith("| ---")
            if line.startswith("|") and not is_header:
                cells = [c.strip() for c in line.strip()[1:-1].split(" | ")]
                assert all(cells), f"{path.name}:{index + 1}: empty table cell: {line}"
        for heading in re.finditer(r"^(#{2,}) (.+)\n\n(?=#{2,} )", text, re.MULTILINE):
            deeper = text[heading.end() :].startswith(heading.group(1) + "#")
            assert deeper, f"{path.name}: empty section '{heading.group(2)}'"


def test_a_layer_that_drops_a_clause_fails_the_build(write_tree, profiles_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    layer = (
        write_tree(
            {
                "layer/plan/objectives.md.j2": """
        ---
        id: POL-02
        title: Quality objectives
        category: plan
        clauses: ["6.2"]
        ---
        # Objectives

        Our objectives.
        """
            }
        )
        / "layer"
    )
    report = build([profiles_dir / "brightwater.yaml"], tmp_path / "out", formats=["md"], templates=[layer])
    assert not report.ok
    (error,) = report.profiles[0].errors
    assert "no document of the set addresses 1 applicable ISO 9001:2015 clause: 6.3" in error
    assert (
        f'6.3 Planning of changes: add "6.3" to the clauses: front matter of {layer / "plan/objectives.md.j2"} (POL-02)'
        in error
    )
    assert not (tmp_path / "out" / "brightwater").exists()
