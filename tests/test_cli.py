"""The command line: exit codes, messages, and the main job with no arguments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from qmsdocs import __version__
from qmsdocs.cli import main


def test_version(runner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"qmsdocs {__version__}\n"


def test_build_with_no_arguments_builds_the_bundled_example(runner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["build", "-f", "md"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "output" / "brightwater"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["organisation"] == "Brightwater Instruments Ltd"
    assert manifest["generator"] == f"qmsdocs {__version__}"
    audit = next(d for d in manifest["documents"] if d["id"] == "QP-12")
    assert {
        key: audit[key] for key in ("id", "number", "title", "category", "clauses", "revision", "files")
    } == {
        "id": "QP-12",
        "number": "BWI-QP-12",
        "title": "Internal audit",
        "category": "procedure",
        "clauses": ["9.2"],
        "revision": "1",
        "files": {"md": "BWI-QP-12 Internal audit.md"},
    }
    assert (
        (out / "BWI-QP-12 Internal audit.md")
        .read_text(encoding="utf-8")
        .startswith("---\ndocument: BWI-QP-12\n")
    )
    assert "1 profile built, 0 failed" in result.stdout


def test_excluded_clause_is_in_the_manifest_with_its_reason(runner, tmp_path: Path, profiles_dir) -> None:
    result = runner.invoke(
        main, ["build", str(profiles_dir / "minimal.yaml"), "-o", str(tmp_path), "-f", "md"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "minimal" / "manifest.json").read_text(encoding="utf-8"))
    assert "QP-07" not in [d["id"] for d in manifest["documents"]]
    omitted = {o["id"]: o["reason"] for o in manifest["omitted"]}
    assert omitted["QP-07"].startswith(
        "clause 8.3 is determined not applicable: Lindqvist Machining makes parts"
    )
    assert not list(tmp_path.glob("minimal/*QP-07*"))
    assert "not applicable: QP-07 Design and development: clause 8.3" in result.stdout


def test_invalid_profile_exits_1_with_located_message_and_writes_nothing(runner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\norganisation: {name: X}\n", encoding="utf-8")
    result = runner.invoke(main, ["build", str(bad), "-o", str(tmp_path / "out"), "-f", "md"])
    assert result.exit_code == 1
    assert f"{bad}:1:1: scope: required field is missing" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "bad").exists()


def test_one_bad_profile_does_not_stop_the_others(runner, tmp_path: Path, profiles_dir) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: [\n", encoding="utf-8")
    result = runner.invoke(
        main, ["build", str(bad), str(profiles_dir / "minimal.yaml"), "-o", str(tmp_path / "out"), "-f", "md"]
    )
    assert result.exit_code == 1
    assert (tmp_path / "out" / "minimal" / "manifest.json").is_file()
    assert "1 profile built, 1 failed" in result.stdout
    assert f"{bad}:2:1: YAML syntax error" in result.stderr


def test_template_error_exits_1_with_template_and_line(
    runner, tmp_path: Path, profiles_dir, write_tree
) -> None:
    layer = write_tree(
        {
            "t/policy/quality-policy.md.j2": "---\nid: POL-01\ntitle: P\ncategory: policy\nclauses: ['5.2']\n---\n{{ nope }}\n"
        }
    )
    result = runner.invoke(
        main,
        [
            "build",
            str(profiles_dir / "minimal.yaml"),
            "-o",
            str(tmp_path / "o"),
            "-f",
            "md",
            "-t",
            str(layer / "t"),
        ],
    )
    assert result.exit_code == 1
    assert f"{layer / 't/policy/quality-policy.md.j2'}:7: 'nope' is undefined" in result.stderr
    assert not (tmp_path / "o" / "minimal").exists()


def test_usage_errors_exit_2(runner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["build", "--bogus"]).exit_code == 2
    missing = runner.invoke(main, ["build", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr
    assert runner.invoke(main, ["build", "-f", "pdf"]).exit_code == 2
    assert runner.invoke(main, ["validate"]).exit_code == 2


def test_validate_prints_warnings_and_strict_fails(runner, profiles_dir) -> None:
    minimal = str(profiles_dir / "minimal.yaml")
    result = runner.invoke(main, ["validate", minimal])
    assert result.exit_code == 0
    assert (
        "quality_objectives: no quality objectives: clause 6.2 requires measurable objectives"
        in result.stderr
    )
    assert runner.invoke(main, ["validate", "--strict", minimal]).exit_code == 1
    assert runner.invoke(main, ["validate", str(profiles_dir / "brightwater.yaml")]).exit_code == 0


def test_templates_list_shows_layer(runner, write_tree) -> None:
    layer = write_tree(
        {"t/extra/new.md.j2": "---\nid: WI-01\ntitle: Work instruction\ncategory: procedure\n---\n# X\n"}
    )
    result = runner.invoke(main, ["templates", "list", "-t", str(layer / "t")])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "TITLE", "CLAUSES", "SOURCE"]
    assert any(
        line.startswith("QP-12") and "builtin/procedures/internal-audit.md.j2" in line for line in lines
    )
    assert any(line.startswith("WI-01") and str(layer / "t" / "extra/new.md.j2") in line for line in lines)


def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qmsdocs", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "Usage:" in done.stdout
    assert "build" in done.stdout
