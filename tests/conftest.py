"""Shared fixtures: the bundled profiles, a file-tree helper and a CLI runner."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from qmsdocs.cli import bundled_profiles_dir
from qmsdocs.profile.models import Profile, load_profile

PROFILES = bundled_profiles_dir()


@pytest.fixture
def profiles_dir() -> Path:
    """The bundled example profiles (read-only: copy before changing)."""
    return PROFILES


@pytest.fixture
def brightwater() -> Profile:
    """The full reference profile."""
    return load_profile(PROFILES / "brightwater.yaml")


@pytest.fixture
def minimal() -> Profile:
    """The smallest profile (excludes clause 8.3)."""
    return load_profile(PROFILES / "minimal.yaml")


WriteTree = Callable[[dict[str, str | bytes]], Path]


@pytest.fixture
def write_tree(tmp_path: Path) -> WriteTree:
    """Write ``{relative path: text}`` below tmp_path (text is dedented) and return tmp_path."""

    def write(files: dict[str, str | bytes]) -> Path:
        for relative, content in files.items():
            target = tmp_path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return tmp_path

    return write


@pytest.fixture
def profile_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a bundled profile (and its assets) into tmp_path and return the copy's path."""

    def copy(name: str = "brightwater.yaml") -> Path:
        folder = tmp_path / "profiles"
        if not folder.exists():
            shutil.copytree(PROFILES, folder)
        return folder / name

    return copy


@pytest.fixture
def runner() -> CliRunner:
    """A click runner (stderr kept apart from stdout)."""
    return CliRunner()
