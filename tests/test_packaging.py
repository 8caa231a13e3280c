"""The installed wheel (not only a source checkout) finds its templates and the bundled examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_templates_and_examples_and_builds(tmp_path: Path) -> None:
    pytest.importorskip("hatchling", reason="hatchling (the build backend) is needed to build the wheel")
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
        ],
        check=True,
    )
    wheel = next(dist.glob("qmsdocs-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "qmsdocs/_data/templates/procedures/internal-audit.md.j2" in names
    assert "qmsdocs/_data/profiles/brightwater.yaml" in names
    assert "qmsdocs/_data/profiles/assets/brightwater-logo.png" in names

    # Install the wheel alone into a folder that shadows the source checkout, and build from elsewhere.
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import qmsdocs, qmsdocs.library.layers as l; print(qmsdocs.__file__); print(l.builtin_dir())",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    module_file, templates = probe.stdout.split()
    assert module_file.startswith(str(site))
    assert templates.startswith(str(site))
    done = subprocess.run(
        [sys.executable, "-m", "qmsdocs", "build", "-f", "md"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((work / "output" / "brightwater" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["organisation"] == "Brightwater Instruments Ltd"
