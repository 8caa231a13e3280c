"""Paths below the output folder: nothing qmsdocs writes or deletes may leave it."""

from __future__ import annotations

from pathlib import Path

import pytest

from qmsdocs.paths import Below, inside


def test_below_joins_names_and_sub_folders(tmp_path: Path) -> None:
    below = Below(tmp_path)
    assert below("BWI-QP-12 Internal audit.md") == tmp_path.resolve() / "BWI-QP-12 Internal audit.md"
    assert below("charts/BWI-RPT-01-radar.png") == tmp_path.resolve() / "charts" / "BWI-RPT-01-radar.png"


@pytest.mark.parametrize("relative", ["../x.md", "charts/../../x.md", "/etc/passwd", "..", ".", ""])
def test_below_refuses_what_would_leave_the_folder(tmp_path: Path, relative: str) -> None:
    with pytest.raises(ValueError, match="would leave"):
        Below(tmp_path / "out")(relative)


def test_below_refuses_a_folder_linked_outside(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "charts").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="would leave"):
        Below(out)("charts/radar.png")
    with pytest.raises(ValueError, match="would leave"):
        inside(out, "charts", "radar.png")


def test_below_agrees_with_inside_on_ordinary_names(tmp_path: Path) -> None:
    below = Below(tmp_path)
    for relative in ["a.md", "charts/b.png", "sub/dir/c.docx"]:
        assert below(relative) == inside(tmp_path, *relative.split("/"))
