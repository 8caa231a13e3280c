"""Self-assessment charts: in the rendered Markdown and the images dict, grey-scale, reproducible, lazy."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from pathlib import Path

import pytest

from qmsdocs.batch.builder import build_profile
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.library.render import Rendered, render
from qmsdocs.markdown.tree import parse
from qmsdocs.profile.models import Profile, load_profile
from qmsdocs.standards import charts
from qmsdocs.standards.maturity import assess

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
from qmsdocs.profile.models import load_profile
from qmsdocs.standards.maturity import assess
from qmsdocs.standards import charts
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
    code = "import sys, qmsdocs.standards.charts, qmsdocs.library.render; print('PIL' in sys.modules)"
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


def _grey_ramp(size: tuple[int, int]):  # type: ignore[no-untyped-def]
    """An "L" image whose every pixel differs from its neighbours: nothing drawn over it goes unseen."""
    from PIL import Image

    width, height = size
    return Image.frombytes(
        "L", size, bytes((3 * x + 5 * y) % 256 for y in range(height) for x in range(width))
    )


@pytest.mark.parametrize("pattern", ["/", "x"])
def test_hatch_tiles_from_the_cache_match_lines_drawn_in_place(pattern: str) -> None:
    """A cached hatch tile gives the pixels of the hatch lines drawn afresh into the box, at any phase of
    the pattern and in boxes reused from the cache."""
    from PIL import Image, ImageDraw

    spacing, width = 25.0, 4
    boxes = [(103.4, 72.6, 412.2, 131.4), (103.4, 156.6, 987.5, 215.4), (41.0, 7.0, 60.0, 49.0), (0, 0, 7, 3)]
    charts._hatch_tile.cache_clear()
    for box in boxes * 2:  # the second round from the cache
        x0, y0, x1, y1 = (round(v) for v in box)
        w, h = x1 - x0, y1 - y0
        tile = Image.new("L", (w, h), charts._FILL)
        pen = ImageDraw.Draw(tile)
        k = math.floor((x0 + y0) / spacing) * spacing
        while k <= x1 + y1 + spacing:  # "/": x + y = k, in image coordinates
            pen.line([(k - x0 - y0 - h, h), (k - x0 - y0, 0)], fill=charts._BLACK, width=width)
            k += spacing
        k = math.floor((x0 - y1) / spacing) * spacing
        while pattern == "x" and k <= x1 - y0 + spacing:  # "\": x - y = k
            pen.line([(k - x0 + y0, 0), (k - x0 + y0 + h, h)], fill=charts._BLACK, width=width)
            k += spacing
        expected, drawn = _grey_ramp((1000, 240)), _grey_ramp((1000, 240))
        expected.paste(tile, (x0, y0))
        charts._hatch(drawn, box, pattern, spacing)
        assert drawn.tobytes() == expected.tobytes(), box
    assert charts._hatch_tile.cache_info().hits == len(boxes)


def test_grid_masks_give_the_pixels_of_dashes_drawn_in_place() -> None:
    """The cached grids (radar rings and spokes, the bar chart's vertical lines) stamped in the grid grey
    change exactly the pixels that dashing the lines in that grey changes, over any background."""
    from PIL import ImageDraw

    dash, gap = 1.2 * charts._PT, 2 * charts._PT
    width, height, cx, cy, radius = charts._radar_geometry(5)
    expected, drawn = _grey_ramp((width, height)), _grey_ramp((width, height))
    pen = ImageDraw.Draw(expected)
    for level in (1, 2, 3, 4):
        charts._dashed(
            pen, charts._circle(cx, cy, radius * level / 5), dash, gap, charts._GRID, charts._GRID_WIDTH
        )
    for i in range(5):
        end = charts._polar(cx, cy, radius, 2 * math.pi * i / 5, 5)
        charts._dashed(pen, [(cx, cy), end], dash, gap, charts._GRID, charts._GRID_WIDTH)
    charts._stamp_grid(ImageDraw.Draw(drawn), charts._radar_grid(5))
    assert drawn.tobytes() == expected.tobytes()

    size, xs, top, bottom = (900, 700), (310.25, 477.5, 644.75, 812.0000000001), 60.0, 648.0000000001
    expected, drawn = _grey_ramp(size), _grey_ramp(size)
    for x in xs:
        charts._dashed(
            ImageDraw.Draw(expected), [(x, top), (x, bottom)], dash, gap, charts._GRID, charts._GRID_WIDTH
        )
    for rule in charts._gaps_grid(size, xs, top, bottom):
        charts._stamp_grid(ImageDraw.Draw(drawn), rule)
    assert drawn.tobytes() == expected.tobytes()


def test_charts_drawn_from_warm_part_caches_are_identical(brightwater: Profile) -> None:
    """Redrawing a chart from the cached text, grids and hatch tiles gives the same PNG as drawing it with every
    cache empty (the cached parts are never drawn over)."""
    a = assess(brightwater)
    assert a is not None
    charts.clear_caches()
    cold = [charts.draw(kind, a) for kind in charts.KINDS]
    charts.radar_png.cache_clear()
    charts.gaps_png.cache_clear()
    assert [charts.draw(kind, a) for kind in charts.KINDS] == cold
    assert charts._hatch_tile.cache_info().hits > 0
    assert charts._text_stamp.cache_info().hits > 0


@pytest.mark.parametrize(
    ("xy", "anchor"),
    [
        ((1378.3333333333335, 216.13333333333335), "ma"),  # the bar chart's axis title
        ((412.37, 25.5), "rm"),
        ((300.0, 99.91), "lm"),
        ((3.2, 0.6), "lm"),  # at the image's edge: part of the text falls outside
    ],
)
def test_text_stamped_from_the_cache_gives_the_pixels_pillow_draws(
    xy: tuple[float, float], anchor: str
) -> None:
    """Text drawn through the mask cache (a miss, then a hit) is pixel for pixel Pillow's own text."""
    from PIL import ImageDraw

    text = "Gap to target (levels) 8.3 Wg"
    expected = _grey_ramp((1600, 300))
    ImageDraw.Draw(expected).text(xy, text, font=charts._font(9.0), fill=charts._DARK, anchor=anchor)
    charts._text_stamp.cache_clear()
    for _ in ("miss", "hit"):
        drawn = _grey_ramp((1600, 300))
        charts._text(ImageDraw.Draw(drawn), xy, text, 9.0, anchor, charts._DARK)
        assert drawn.tobytes() == expected.tobytes()
    assert charts._text_stamp.cache_info().hits == 1
