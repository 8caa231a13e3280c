"""qmsdocs init: a ready consultant workspace that builds with its own override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qmsdocs.cli import main


def test_init_then_build_uses_the_override(runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = tmp_path / "acme"
    result = runner.invoke(main, ["init", str(workspace)])
    assert result.exit_code == 0, result.output
    for relative in (
        "qmsdocs.toml",
        "qmsdocs.schema.json",
        "templates/README.md",
        "templates/procedures/internal-audit.md.j2",
        "profiles/brightwater.yaml",
        "profiles/minimal.yaml",
        "profiles/assets/brightwater-logo.png",
    ):
        assert (workspace / relative).is_file(), relative
    assert json.loads((workspace / "qmsdocs.schema.json").read_text(encoding="utf-8"))["title"]
    profile_text = (workspace / "profiles/brightwater.yaml").read_text(encoding="utf-8")
    assert profile_text.startswith("# yaml-language-server: $schema=../qmsdocs.schema.json\n")

    monkeypatch.chdir(workspace)
    built = runner.invoke(main, ["build", "profiles/brightwater.yaml", "profiles/minimal.yaml", "-f", "md"])
    assert built.exit_code == 0, built.output
    audit = (workspace / "output/brightwater/BWI-QP-12 Internal audit.md").read_text(encoding="utf-8")
    assert "Internal audits give Brightwater Instruments Ltd an independent view" in audit
    assert "plans and carries out internal audits" not in audit  # the built-in purpose was replaced
    assert "# Records" in audit or "## Records" in audit  # the other sections are still there
    assert (workspace / "output/minimal/manifest.json").is_file()

    checked = runner.invoke(main, ["check", "profiles/brightwater.yaml"])
    assert checked.exit_code == 0, checked.output


def test_init_refuses_a_non_empty_folder(runner, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me\n", encoding="utf-8")
    result = runner.invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert f"error: {tmp_path}: the folder is not empty; use --force" in result.stderr
    assert not (tmp_path / "qmsdocs.toml").exists()
    forced = runner.invoke(main, ["init", str(tmp_path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "qmsdocs.toml").is_file()
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me\n"
