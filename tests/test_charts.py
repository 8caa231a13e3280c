"""Self-assessment charts: in the rendered Markdown and the images dict, grey-scale, reproducible, lazy."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from pathlib import Path

import pytest

from qmsdocs import charts
from qmsdocs.batch import build_profile
from qmsdocs.library import TemplateLibrary
from qmsdocs.markdown import parse
from qmsdocs.maturity import assess
from qmsdocs.plan import plan
from qmsdocs.profile import Profile, load_profile
from qmsdocs.render import Rendered, render

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _render(profile: Profile, doc_id: str) -> Rendered:
    library = TemplateLibrary()
    the_plan = plan(profile, library)
    spec = the_plan.get(doc_id)
    assert spec is not None
    return render(spec, profile, the_plan, library)


def _image_links(text: str) -> list[tuple[str, str]]:
    """(src, title) of every image in the Markdown."""
    return [
        (node.attrs["src"], str(node.attrs.get("title", "")))
        for node in parse(text).walk()
        if node.type == "image"
    ]


def test_report_links_both_charts_and_registers_their_png(brightwater: Profile) -> None:
    rendered = _render(brightwater, "RPT-01")
    links = _image_links(rendered.text)
    assert links == [
        ("charts/BWI-RPT-01-radar.png", "width=15cm"),
        ("charts/BWI-RPT-01-gaps.png", "width=15cm"),
    ]
    assert set(rendered.images) == {src for src, _ in links}
    for data in rendered.images.values():
        assert data.startswith(PNG_SIGNATURE)


def test_documents_without_charts_register_no_images(brightwater: Profile) -> None:
    assert _render(brightwater, "PLN-01").images == {}


def test_build_writes_charts_beside_the_markdown(profile_copy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = build_profile(profile_copy("brightwater.yaml"), tmp_path / "out", formats=["md"])
    assert result.ok, result.errors
    assert result.out_dir is not None
    report = next(d for d in result.documents if d.id == "RPT-01")
    markdown = (result.out_dir / report.files["md"]).read_text(encoding="utf-8")
    for src, _ in _image_links(markdown):
        assert (result.out_dir / src).read_bytes().startswith(PNG_SIGNATURE)
    assert len(_image_links(markdown)) == 2


def test_charts_are_grey_scale(brightwater: Profile) -> None:
    from PIL import Image

    a = assess(brightwater)
    assert a is not None
    for kind in charts.KINDS:
        with Image.open(io.BytesIO(charts.draw(kind, a))) as png:
            red, green, blue = png.convert("RGB").split()
        assert red.tobytes() == green.tobytes() == blue.tobytes(), kind


@pytest.mark.parametrize("width", [1800, 7, 1])  # even, odd (a half-filled last byte per row), one pixel
def test_png_encoder_keeps_every_pixel_and_the_resolution(width: int) -> None:
    """Our PNG writer, read back by Pillow, gives the drawing's grey levels rounded to the 16 kept, at
    300 dpi, as a 4-bit palette image."""
    from PIL import Image

    grey = bytes((7 * i + 31 * (i // width)) % 256 for i in range(width * 5))
    drawing = Image.frombytes("L", (width, 5), grey)
    with Image.open(io.BytesIO(charts._png(drawing))) as png:
        png.load()
        assert (png.mode, png.size, png.info["dpi"]) == ("P", (width, 5), pytest.approx((300, 300), abs=0.01))
        assert png.getpalette()[:48] == [i * 17 for i in range(16) for _ in "RGB"]
        assert png.convert("L").tobytes() == bytes(round(v / 17) * 17 for v in grey)


def test_each_chart_is_drawn_once_per_content(brightwater: Profile) -> None:
    charts.radar_png.cache_clear()
    charts.gaps_png.cache_clear()
    first = _render(brightwater, "RPT-01")
    second = _render(brightwater, "RPT-01")
    assert charts.radar_png.cache_info().misses == 1
    assert charts.gaps_png.cache_info().misses == 1
    assert first.images == second.images


def test_different_ratings_give_a_different_chart(brightwater: Profile) -> None:
    a = assess(brightwater)
    assert a is not None
    data = charts.radar_data(a)
    changed = ((data[0][0], data[0][1] + 1.0, data[0][2]), *data[1:])
    assert charts.radar_png(changed) != charts.radar_png(data)


def test_unknown_chart_kind_names_the_known_ones(brightwater: Profile) -> None:
    a = assess(brightwater)
    assert a is not None
    with pytest.raises(ValueError, match="unknown chart 'pie'; charts: radar, gaps"):
        charts.draw("pie", a)


_DRAW_SCRIPT = """
import hashlib, sys
from qmsdocs.profile import load_profile
from qmsdocs.maturity import assess
from qmsdocs import charts
a = assess(load_profile(sys.argv[1]))
print(" ".join(hashlib.sha256(charts.draw(k, a)).hexdigest() for k in charts.KINDS))
"""


def test_png_bytes_identical_across_processes(profiles_dir: Path) -> None:
    runs = [
        subprocess.run(
            [sys.executable, "-c", _DRAW_SCRIPT, str(profiles_dir / "brightwater.yaml")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert len(runs[0].split()) == len(charts.KINDS)


def test_png_has_no_software_or_time_metadata(brightwater: Profile) -> None:
    a = assess(brightwater)
    assert a is not None
    data = charts.draw("radar", a)
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"tIME"):
        assert chunk not in data
    assert b"software" not in data.lower()


def test_importing_charts_does_not_import_pillow() -> None:
    code = "import sys, qmsdocs.charts, qmsdocs.render; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_charts_end_up_in_the_docx(profile_copy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    result = build_profile(profile_copy("brightwater.yaml"), tmp_path / "out", formats=["docx"])
    assert result.ok, result.errors
    assert result.out_dir is not None
    report = next(d for d in result.documents if d.id == "RPT-01")
    a = assess(load_profile(profile_copy("brightwater.yaml")))
    assert a is not None
    pngs = {charts.draw(kind, a) for kind in charts.KINDS}
    with zipfile.ZipFile(result.out_dir / report.files["docx"]) as package:
        media = {name: package.read(name) for name in package.namelist() if name.startswith("word/media/")}
    assert pngs <= set(media.values())


def test_radar_rings_are_dashed_in_the_grid_grey() -> None:
    """The level rings come out dashed in the grid colour, over the white background and the fill."""
    from PIL import Image

    groups = tuple((f"{n} group", 2.0 + n % 3, 4.0) for n in range(4, 11))
    with Image.open(io.BytesIO(charts.radar_png(groups))) as png:
        grey = png.convert("L")
    _, _, cx, cy, radius = charts._radar_geometry(len(groups))
    grid = round(charts._GRID / 17) * 17
    for level in (1, 3):  # inside the filled polygon (current level >= 2) and outside it
        ring = radius * level / 5
        samples = [
            grey.getpixel(
                (
                    round(cx + ring * math.cos(t / 180 * math.pi)),
                    round(cy + ring * math.sin(t / 180 * math.pi)),
                )
            )
            for t in range(0, 360, 2)
        ]
        inked = sum(value == grid for value in samples) / len(samples)
        assert 0.2 < inked < 0.7, (level, inked)
