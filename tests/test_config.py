"""qmsdocs.toml: defaults for the commands, the command line winning, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from qmsdocs.cli import main
from qmsdocs.config import load_config
from qmsdocs.errors import ConfigError

OVERRIDE = (
    '---\nid: QP-12\ntitle: Internal audit\ncategory: procedure\nclauses: ["9.2"]\nowner: internal_audit_lead\n---\n'
    '{{% extends "builtin/procedures/internal-audit.md.j2" %}}\n{{% block purpose %}}{text}{{% endblock %}}\n'
)


@pytest.fixture
def workspace(tmp_path: Path, profile_copy) -> Path:
    profile_copy("minimal.yaml")
    for name in ("house", "other"):
        folder = tmp_path / name / "procedures"
        folder.mkdir(parents=True)
        (folder / "internal-audit.md.j2").write_text(
            OVERRIDE.format(text=f"From the {name} layer."), encoding="utf-8"
        )
    (tmp_path / "qmsdocs.toml").write_text(
        'templates = ["house"]\noutput = "built"\nformats = ["md"]\n', encoding="utf-8"
    )
    return tmp_path


def _audit(folder: Path) -> str:
    return (folder / "minimal/LMA-QP-12 Internal audit.md").read_text(encoding="utf-8")


def test_config_supplies_layers_output_and_formats(runner, workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    result = runner.invoke(main, ["build", "profiles/minimal.yaml"])
    assert result.exit_code == 0, result.output
    assert "From the house layer." in _audit(workspace / "built")
    assert not list((workspace / "built/minimal").glob("*.docx"))  # formats = ["md"]


def test_command_line_wins_over_config(runner, workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    result = runner.invoke(main, ["build", "profiles/minimal.yaml", "-o", "elsewhere", "-t", "other"])
    assert result.exit_code == 0, result.output
    assert "From the other layer." in _audit(workspace / "elsewhere")
    assert not (workspace / "built").exists()


def test_config_option_and_paths_relative_to_the_file(
    runner, workspace: Path, tmp_path: Path, monkeypatch
) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = runner.invoke(
        main, ["--config", str(workspace / "qmsdocs.toml"), "build", str(workspace / "profiles/minimal.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "From the house layer." in _audit(workspace / "built")


def test_config_layers_apply_to_templates_list(runner, workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    result = runner.invoke(main, ["templates", "list"])
    assert result.exit_code == 0, result.output
    assert str(workspace / "house/procedures/internal-audit.md.j2") in result.stdout


def test_unknown_key_has_line_and_hint(tmp_path: Path) -> None:
    (tmp_path / "qmsdocs.toml").write_text(
        'output = "out"\n\ntemplate = ["t"]\nfrobnicate = 1\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{tmp_path / 'qmsdocs.toml'}:3: template: unknown key; did you mean 'templates'?"
    assert lines[1].startswith(
        f"{tmp_path / 'qmsdocs.toml'}:4: frobnicate: unknown key (known keys: templates,"
    )


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "qmsdocs.toml").write_text('output = "out"\nformats = md\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"qmsdocs.toml:2:11: not valid TOML: Invalid value"):
        load_config(cwd=tmp_path)


def test_bad_values_are_reported_together(tmp_path: Path) -> None:
    (tmp_path / "qmsdocs.toml").write_text('templates = ["missing"]\nformats = ["pdf"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path)
    message = str(caught.value)
    assert (
        "qmsdocs.toml:1: templates: folder not found: missing (paths are relative to qmsdocs.toml)" in message
    )
    assert 'qmsdocs.toml:2: formats: must be a list of "docx" and/or "md"' in message


def test_cli_reports_config_errors_without_traceback(runner, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "qmsdocs.toml").write_text("outptu = 'x'\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["templates", "list"])
    assert result.exit_code == 1
    assert "qmsdocs.toml:1: outptu: unknown key; did you mean 'output'?" in result.stderr
    assert "Traceback" not in result.output


def test_no_config_file_means_no_defaults(tmp_path: Path) -> None:
    config = load_config(cwd=tmp_path)
    assert config.source is None
    assert config.default_map()["build"] == {}
