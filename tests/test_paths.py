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


@pytest.mark.parametrize("inside_too", [False, True], ids=["linked outside", "linked inside"])
def test_below_refuses_a_linked_folder_wherever_it_points(tmp_path: Path, inside_too: bool) -> None:
    # Any link is refused, not only one leading out: a link to another profile's folder would let two
    # profiles write (and delete) each other's files.
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "charts").symlink_to(out / "real" if inside_too else elsewhere)
    (out / "real").mkdir()
    with pytest.raises(ValueError, match=r"/out/charts: is a symbolic link; qmsdocs does not write"):
        Below(out)("charts/radar.png")
    if not inside_too:
        with pytest.raises(ValueError, match="would leave"):
            inside(out, "charts", "radar.png")
    assert list(elsewhere.iterdir()) == []


def test_below_agrees_with_inside_on_ordinary_names(tmp_path: Path) -> None:
    below = Below(tmp_path)
    for relative in ["a.md", "charts/b.png", "sub/dir/c.docx"]:
        assert below(relative) == inside(tmp_path, *relative.split("/"))
