"""qmsdocs check: every problem of a library at once, with file:line; exit 1 on problems, 0 when clean."""

from __future__ import annotations

from pathlib import Path

from qmsdocs.cli import main
from qmsdocs.library.check import check_library

FRONT = "---\nid: {id}\ntitle: {title}\ncategory: procedure\n---\n"


def test_builtin_library_is_clean(runner, profiles_dir: Path) -> None:
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.stdout
    bundled = len(list(profiles_dir.glob("*.yaml")))
    assert bundled >= 2
    assert f"documents rendered for {bundled} profiles" in result.stdout


def test_every_kind_of_problem_is_reported_at_once(write_tree, profiles_dir: Path) -> None:
    root = write_tree(
        {
            "house/procedures/internal-audit.md.j2": FRONT.format(id="QP-12", title="Internal audit")
            + """\
            {% extends "builtin/procedures/internal-audit.md.j2" %}
            {% block purpose %}{{ org.nmae }} and {{ profile.scope.statment }}{% endblock %}
            {% block recrods %}x{% endblock %}
            """,
            "house/procedures/broken.md.j2": FRONT.format(id="WI-01", title="Broken") + "Text\n{% if %}\n",
            "house/procedures/copy.md.j2": FRONT.format(id="WI-02", title="Copy") + "{{ doc.titel }}\n",
            "house/procedures/again.md.j2": FRONT.format(id="WI-02", title="Again") + "Fine.\n",
            "house/procedures/front.md.j2": "---\nid: lower-case\ntitle: Bad id\ncategory: memo\n---\nx\n",
            "house/procedures/filter.md.j2": FRONT.format(id="WI-03", title="Filter")
            + "{{ org.name | shout }}\n",
            "house/procedures/runtime.md.j2": FRONT.format(id="WI-04", title="Runtime")
            + "Line\n{{ documents.ref('QP-99') }}\n",
        }
    )
    house = root / "house/procedures"
    report = check_library([root / "house"], [profiles_dir / "minimal.yaml"])
    assert not report.ok
    text = "\n".join(report.problems)
    expected = [
        f"{house / 'internal-audit.md.j2'}:7: org.nmae: Organisation has no field 'nmae'; did you mean 'name'?",
        f"{house / 'internal-audit.md.j2'}:7: profile.scope.statment: Scope has no field 'statment'; "
        "did you mean 'statement'?",
        f"{house / 'internal-audit.md.j2'}:8: block 'recrods' does not exist",
        f"{house / 'broken.md.j2'}:7: syntax error: Expected an expression",
        f"{house / 'copy.md.j2'}:6: doc.titel: DocumentMeta has no field 'titel'; did you mean 'title'?",
        f"{house / 'again.md.j2'}:2: id 'WI-02' is already used by {house / 'copy.md.j2'}",
        f"{house / 'front.md.j2'}:2: front matter: id: string should match pattern",
        "category: input should be 'manual'",
        f"{house / 'filter.md.j2'}:6: No filter named 'shout'.",
        f"{house / 'runtime.md.j2'}:7: document 'QP-99' is not in this set; guard the reference with "
        "documents.has('QP-99') (rendering minimal.yaml)",
    ]
    for line in expected:
        assert line in text
    assert len(report.problems) == 9
    assert report.summary().endswith(": 9 problems")


def test_profile_problems_are_reported_too(tmp_path: Path, profile_copy) -> None:
    source = profile_copy("minimal.yaml")
    source.write_text(
        source.read_text(encoding="utf-8").replace("name: Lindqvist", "nam: Lindqvist"), encoding="utf-8"
    )
    report = check_library([], [source])
    assert any(
        f"{source}:5:3: organisation.nam: unknown field; did you mean 'name'?" in p for p in report.problems
    )


def test_client_layer_named_in_the_profile_is_checked(profile_copy, tmp_path: Path) -> None:
    source = profile_copy("minimal.yaml")
    client = source.parent / "client"
    (client / "policy").mkdir(parents=True)
    (client / "policy/quality-policy.md.j2").write_text(
        "---\nid: POL-01\ntitle: Quality policy\ncategory: policy\n---\n"
        '{% extends "builtin/policy/quality-policy.md.j2" %}\n{% block commitmens %}x{% endblock %}\n',
        encoding="utf-8",
    )
    source.write_text(source.read_text(encoding="utf-8") + "templates: client\n", encoding="utf-8")
    report = check_library([], [source])
    assert any(
        p.startswith(f"{client / 'policy/quality-policy.md.j2'}:7: block 'commitmens'")
        and "did you mean 'commitments'?" in p
        for p in report.problems
    )


def test_cli_check_exits_1_and_lists_problems(runner, write_tree) -> None:
    root = write_tree(
        {
            "house/procedures/a.md.j2": FRONT.format(id="WI-01", title="A") + "{{ org.nmae }}\n",
            "house/procedures/b.md.j2": FRONT.format(id="WI-02", title="B") + "{% for %}\n",
        }
    )
    result = runner.invoke(main, ["check", "--templates", str(root / "house")])
    assert result.exit_code == 1
    assert f"{root / 'house/procedures/a.md.j2'}:6: org.nmae" in result.stderr
    assert f"{root / 'house/procedures/b.md.j2'}:6: syntax error" in result.stderr
    assert "2 problems" in result.stderr
    assert "Traceback" not in result.output


def test_loop_variables_are_checked_against_the_item_model(write_tree, profiles_dir: Path) -> None:
    root = write_tree(
        {
            "house/procedures/a.md.j2": FRONT.format(id="WI-01", title="A")
            + """\
            {% for p in profile.processes | selectattr("type", "equalto", "core") %}
            {{ p.name }} {{ p.ower }}
            {% endfor %}
            {% for key, person in profile.people.items() %}{{ person.titel }}{% endfor %}
            {% set ia = profile.internal_audit %}{{ ia.frequency }}
            """,
        }
    )
    report = check_library([root / "house"], [])
    assert report.problems == [
        f"{root / 'house/procedures/a.md.j2'}:7: p.ower: Process has no field 'ower'; did you mean 'owner'?",
        f"{root / 'house/procedures/a.md.j2'}:9: person.titel: Person has no field 'titel'; did you mean 'title'?",
    ]
