"""Template layers: block overrides, the unknown-block error, new documents, eject, show, list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qmsdocs.batch.builder import build
from qmsdocs.cli import main
from qmsdocs.errors import TemplateError
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.library.render import DocumentSet, render
from qmsdocs.profile.models import Profile

AUDIT_FRONT = """\
---
id: QP-12
title: Internal audit
category: procedure
clauses: ["9.2"]
owner: internal_audit_lead
---
"""


def _render(library: TemplateLibrary, profile: Profile, doc_id: str) -> str:
    the_plan = plan(profile, library)
    spec = the_plan.get(doc_id)
    assert spec is not None
    return render(spec, profile, the_plan, library).text


def test_block_override_replaces_one_section(write_tree, brightwater) -> None:
    root = write_tree(
        {
            "house/procedures/internal-audit.md.j2": AUDIT_FRONT
            + """\
            {% extends "builtin/procedures/internal-audit.md.j2" %}
            {% block purpose %}
            Audits at {{ org.short_name }} follow the house method.
            {% endblock %}
            """,
        }
    )
    library = TemplateLibrary([root / "house"])
    text = _render(library, brightwater, "QP-12")
    builtin = _render(TemplateLibrary(), brightwater, "QP-12")
    assert "Audits at Brightwater follow the house method." in text
    assert "plans and carries out internal audits" in builtin
    assert "plans and carries out internal audits" not in text
    # every other section is the built-in one
    assert text.split("# Scope", 1)[1] == builtin.split("# Scope", 1)[1]
    assert library.templates()["QP-12"].layer == str(root / "house")


def test_layout_override_applies_to_every_procedure(write_tree, brightwater) -> None:
    layout = (TemplateLibrary().builtin / "layouts/procedure.md.j2").read_text(encoding="utf-8")
    root = write_tree({"house/layouts/procedure.md.j2": layout.replace("# Records", "# Records kept")})
    library = TemplateLibrary([root / "house"])
    for doc_id in ("QP-07", "QP-12"):
        assert "# Records kept" in _render(library, brightwater, doc_id)


def test_unknown_block_is_an_error_with_file_line_and_hint(write_tree) -> None:
    root = write_tree(
        {
            "house/procedures/internal-audit.md.j2": AUDIT_FRONT
            + """\
            {% extends "builtin/procedures/internal-audit.md.j2" %}
            {% block purpose %}Fine.{% endblock %}

            {% block recrods %}Never shown.{% endblock %}
            """,
        }
    )
    library = TemplateLibrary([root / "house"])
    with pytest.raises(TemplateError) as caught:
        library.templates()
    error = caught.value
    assert error.template == str(root / "house/procedures/internal-audit.md.j2")
    assert error.line == 11
    assert "block 'recrods' does not exist" in str(error)
    assert "did you mean 'records'?" in str(error)
    assert str(error).startswith(f"{root / 'house/procedures/internal-audit.md.j2'}:11: ")


def test_unknown_block_fails_the_build_with_its_location(write_tree, profile_copy, tmp_path) -> None:
    root = write_tree(
        {
            "house/procedures/internal-audit.md.j2": AUDIT_FRONT
            + '{% extends "builtin/procedures/internal-audit.md.j2" %}\n{% block purpse %}x{% endblock %}\n',
        }
    )
    report = build(
        [profile_copy("minimal.yaml")], tmp_path / "out", formats=["md"], templates=[root / "house"]
    )
    assert not report.ok
    assert "internal-audit.md.j2:9: block 'purpse' does not exist" in report.profiles[0].errors[0]
    assert "did you mean 'purpose'?" in report.profiles[0].errors[0]


def test_blocks_nested_inside_an_override_are_allowed(write_tree, brightwater) -> None:
    root = write_tree(
        {
            "house/procedures/internal-audit.md.j2": AUDIT_FRONT
            + """\
            {% extends "builtin/procedures/internal-audit.md.j2" %}
            {% block purpose %}{% block purpose_intro %}Nested text.{% endblock %}{% endblock %}
            """,
        }
    )
    assert "Nested text." in _render(TemplateLibrary([root / "house"]), brightwater, "QP-12")


def test_override_extending_itself_is_explained(write_tree) -> None:
    root = write_tree(
        {
            "house/procedures/internal-audit.md.j2": AUDIT_FRONT
            + '{% extends "procedures/internal-audit.md.j2" %}\n{% block purpose %}x{% endblock %}\n',
        }
    )
    with pytest.raises(
        TemplateError,
        match=r"internal-audit.md.j2:8: extends .*extend \"builtin/procedures/internal-audit.md.j2\"",
    ):
        TemplateLibrary([root / "house"]).templates()


def test_higher_layer_wins(write_tree, brightwater) -> None:
    override = (
        AUDIT_FRONT
        + '{% extends "builtin/procedures/internal-audit.md.j2" %}\n{% block purpose %}{} layer.{% endblock %}\n'
    )
    root = write_tree(
        {
            "client/procedures/internal-audit.md.j2": override.replace("{}", "Client"),
            "house/procedures/internal-audit.md.j2": override.replace("{}", "House"),
        }
    )
    text = _render(TemplateLibrary([root / "client", root / "house"]), brightwater, "QP-12")
    assert "Client layer." in text
    assert "House layer." not in text


NEW_DOC = """\
---
id: WI-01
title: Calibration of gas detectors
category: procedure
clauses: ["7.1.5", "8.5.1"]
---
{% extends "layouts/procedure.md.j2" %}
{% block purpose %}How {{ org.short_name }} calibrates its gas detectors.{% endblock %}
{% block scope %}All portable and fixed gas detectors.{% endblock %}
{% block responsibilities %}{{ m.responsibilities([("quality_manager", "Keeps the calibration plan.")]) }}{% endblock %}
{% block procedure %}Detectors are calibrated against certified gas every six months.{% endblock %}
{% block records %}{{ m.records([("Calibration certificates", "7.1.5.1", role("quality_manager").name)]) }}{% endblock %}
{% block related %}{{ m.related(["QP-12"]) }}{% endblock %}
"""


def test_new_consultant_document_joins_the_set(write_tree, profile_copy, tmp_path, brightwater) -> None:
    root = write_tree({"house/procedures/gas-calibration.md.j2": NEW_DOC})
    library = TemplateLibrary([root / "house"])
    the_plan = plan(brightwater, library)
    documents = DocumentSet(the_plan)
    assert "WI-01" in [meta.id for meta in documents.all]
    assert "WI-01" in [meta.id for meta in documents.addressing("7.1.5")]
    assert documents.ref("WI-01") == "BWI-WI-01 Calibration of gas detectors"

    report = build([profile_copy()], tmp_path / "out", formats=["md"], templates=[root / "house"])
    assert report.ok, report.profiles[0].errors
    manifest = json.loads((report.profiles[0].out_dir / "manifest.json").read_text(encoding="utf-8"))
    entry = next(doc for doc in manifest["documents"] if doc["id"] == "WI-01")
    assert entry["number"] == "BWI-WI-01"
    assert entry["clauses"] == ["7.1.5", "8.5.1"]
    body = (report.profiles[0].out_dir / entry["files"]["md"]).read_text(encoding="utf-8")
    assert "certified gas every six months" in body
    assert "BWI-QP-12 Internal audit" in body


def test_new_document_with_an_id_already_used_is_an_error(write_tree) -> None:
    root = write_tree({"house/procedures/audit2.md.j2": NEW_DOC.replace("WI-01", "QP-12")})
    with pytest.raises(TemplateError) as caught:
        TemplateLibrary([root / "house"]).templates()
    assert str(caught.value) == (
        f"{root / 'house/procedures/audit2.md.j2'}:2: id 'QP-12' is already used by "
        "builtin/procedures/internal-audit.md.j2; to replace it, put your template at procedures/internal-audit.md.j2"
    )


def test_blocks_include_inherited_layout_blocks() -> None:
    library = TemplateLibrary()
    assert library.blocks("builtin/procedures/internal-audit.md.j2") == [
        "purpose",
        "scope",
        "definitions",
        "responsibilities",
        "procedure",
        "records",
        "related",
    ]
    assert library.blocks("statement/scope.md.j2")[:2] == ["scope", "products"]


def test_every_builtin_document_exposes_blocks() -> None:
    library = TemplateLibrary()
    for info in library.templates().values():
        assert library.blocks(f"builtin/{info.path}"), info.path


# -- commands -------------------------------------------------------------------------------------


def test_templates_show_prints_source_and_origin(runner) -> None:
    result = runner.invoke(main, ["templates", "show", "QP-12"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# builtin/procedures/internal-audit.md.j2\n")
    assert "{% block purpose %}" in result.stdout


def test_templates_show_names_the_overridden_builtin(runner, write_tree) -> None:
    root = write_tree({"house/procedures/internal-audit.md.j2": AUDIT_FRONT + "Ours.\n"})
    result = runner.invoke(main, ["templates", "show", "QP-12", "--templates", str(root / "house")])
    assert result.exit_code == 0, result.output
    assert f"# {root / 'house/procedures/internal-audit.md.j2'}" in result.stdout
    assert "# replaces: builtin/procedures/internal-audit.md.j2" in result.stdout


def test_templates_show_unknown_id_suggests(runner) -> None:
    result = runner.invoke(main, ["templates", "show", "QP-13x"])
    assert result.exit_code == 1
    assert "error: QP-13x: no template has this id or path; did you mean 'QP-13'?" in result.stderr
    assert "Traceback" not in result.output


def test_templates_list_shows_the_layer(runner, write_tree) -> None:
    root = write_tree({"house/procedures/gas-calibration.md.j2": NEW_DOC})
    result = runner.invoke(main, ["templates", "list", "-t", str(root / "house")])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("WI-01"))
    assert str(root / "house/procedures/gas-calibration.md.j2") in line
    assert "builtin/procedures/internal-audit.md.j2" in result.stdout


def test_eject_copies_the_builtin_source(runner, tmp_path) -> None:
    result = runner.invoke(main, ["templates", "eject", "QP-12", "--to", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    copy = tmp_path / "t/procedures/internal-audit.md.j2"
    assert copy.read_text(encoding="utf-8") == (
        TemplateLibrary().builtin / "procedures/internal-audit.md.j2"
    ).read_text(encoding="utf-8")


def test_eject_refuses_to_overwrite_without_force(runner, tmp_path) -> None:
    target = tmp_path / "t/procedures/internal-audit.md.j2"
    target.parent.mkdir(parents=True)
    target.write_text("mine\n", encoding="utf-8")
    result = runner.invoke(main, ["templates", "eject", "QP-12", "--to", str(tmp_path / "t")])
    assert result.exit_code == 1
    assert "the file exists; use --force" in result.stderr
    assert target.read_text(encoding="utf-8") == "mine\n"
    result = runner.invoke(main, ["templates", "eject", "QP-12", "--to", str(tmp_path / "t"), "--force"])
    assert result.exit_code == 0
    assert "{% block purpose %}" in target.read_text(encoding="utf-8")


def test_eject_extends_skeleton_renders_like_the_builtin(runner, tmp_path, brightwater) -> None:
    result = runner.invoke(main, ["templates", "eject", "QP-12", "--extends", "--to", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "t/procedures/internal-audit.md.j2").read_text(encoding="utf-8")
    assert text.startswith(AUDIT_FRONT)
    assert '{% extends "builtin/procedures/internal-audit.md.j2" %}' in text
    for block in ("purpose", "scope", "definitions", "responsibilities", "procedure", "records", "related"):
        assert f"{{% block {block} %}}{{{{ super() }}}}{{% endblock %}}" in text
    library = TemplateLibrary([tmp_path / "t"])
    assert library.templates()["QP-12"].layer == str(tmp_path / "t")
    assert _render(library, brightwater, "QP-12") == _render(TemplateLibrary(), brightwater, "QP-12")


def test_eject_default_folder_is_templates_of_the_working_folder(runner, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["templates", "eject", "layouts/procedure.md.j2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "templates/layouts/procedure.md.j2").is_file()


def test_eject_default_folder_is_the_first_configured_layer(runner, tmp_path, monkeypatch) -> None:
    (tmp_path / "house").mkdir()
    (tmp_path / "qmsdocs.toml").write_text('templates = ["house"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["templates", "eject", "POL-01", "--extends"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "house/policy/quality-policy.md.j2").is_file()
    assert not Path(tmp_path / "templates").exists()
