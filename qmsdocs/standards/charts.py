"""PNG charts of the self-assessment: a maturity radar per clause group and a bar chart of gaps.

Drawn with Pillow in 8-bit grey at 300 dpi, so they print well in grey-scale (line styles, markers and
hatching carry the meaning, not colour), and byte-for-byte reproducible (fixed size and dpi, Pillow's
bundled font, no text or time chunks). Pillow is imported only inside the drawing functions, so
``qmsdocs --help`` stays fast. Parts that recur from chart to chart in a batch (titles, ticks, legends,
dashed grids, hatching) are kept, bounded, as the masks and tiles Pillow draws for them and stamped into
each new chart with the same pixels (the tests compare them).
"""

from __future__ import annotations

import math
import struct
import textwrap
import zlib
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qmsdocs.standards.maturity import Assessment

#: Chart kinds a template can ask for, with the alternative text of the image.
KINDS: dict[str, str] = {
    "radar": "Maturity radar: current and target level per ISO 9004 clause group",
    "gaps": "Gap to target per ISO 9004 element",
}

_DPI = 300  # written to the PNG's pHYs chunk: the DOCX writer sizes the image from it
_WIDTH = 1800  # pixels: 6 in (15.2 cm) at 300 dpi
_RADAR_HEIGHT = 1500
_PT = _DPI / 72  # pixels per typographic point

# Grey levels of the "L" (8-bit grey) image: 0 black, 255 white. The PNG keeps 16 evenly spaced levels
# (multiples of 17) as a 4-bit palette: enough for anti-aliased text, smaller and faster to encode.
_BLACK, _DARK, _GRID, _FILL, _WHITE = 0, 85, 170, 221, 255
_GRID_WIDTH = max(1, round(0.8 * _PT))  # pixels: the dashed grid lines
_INDEX = [round(v / 17) for v in range(256)]  # grey value -> palette index 0..15
_PALETTE = bytes(i * 17 for i in range(16) for _ in "RGB")
_IMPORTANCE_HATCH = {1: "", 2: "/", 3: "x"}
_IMPORTANCE_NAME = {1: "low importance", 2: "medium importance", 3: "high importance"}

RadarData = tuple[tuple[str, float, float], ...]  # (group label, mean level, mean target)
GapData = tuple[tuple[str, int, int], ...]  # (element label, gap, importance)
Point = tuple[float, float]
Stamp = tuple[Any, tuple[int, int]]  # a mask ("L" image, 255 = ink) and where its top left corner goes


@lru_cache(maxsize=8)
def _font(points: float) -> Any:
    """Pillow's bundled scalable font (no system font involved) at *points* on the drawing scale."""
    from PIL import ImageFont

    return ImageFont.load_default(size=round(points * _PT))


#: zlib level of the PNG data. Level 3 encodes a chart in 5-6 ms, level 6 (zlib's default) in 11-15 ms
#: for files about 20% smaller (radar 41 KB instead of 51, gaps 46 KB instead of 55); in a batch every
#: full profile draws two charts, so the faster level saves more time than the bytes are worth. Level 9
#: is ten times slower again.
_ZLIB_LEVEL = 3


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(image: Any) -> bytes:
    """Encode the drawing as a 16-grey palette PNG (IHDR, PLTE, pHYs, IDAT, IEND: no text chunks, no
    time stamp).

    Written here rather than by Pillow's PNG plugin, which tries all five row filters on every row and
    spent more than half of a chart's time on it: for a palette image the PNG specification recommends
    no filter, and zlib alone then encodes a chart in about half of the time, into a file no larger.
    """
    from PIL import Image

    width, height = image.size
    # Each PNG row starts with its filter type, 0 (none): two more pixels of index 0 on the left are
    # exactly that byte once the palette indices are packed two to a byte (rows padded to whole bytes).
    rows = Image.new("L", (width + 2, height), 0)
    rows.paste(image.point(_INDEX), (2, 0))
    per_metre = round(_DPI / 0.0254)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 4, 3, 0, 0, 0)),  # 4-bit, palette
            _chunk(b"PLTE", _PALETTE),
            _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),  # unit 1: metre
            _chunk(b"IDAT", zlib.compress(rows.tobytes("raw", "L;4"), _ZLIB_LEVEL)),
            _chunk(b"IEND", b""),
        )
    )


def _dashed(draw: Any, points: list[Point], dash: float, gap: float, fill: int, width: int) -> None:
    """A dashed polyline through *points*; the dash pattern runs on across the corners."""
    period = dash + gap
    phase = 0.0  # distance into the current period where the next segment starts
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        at = 0.0
        while at < length:
            if phase < dash:  # inside a dash: draw up to its end or the segment's
                step = min(dash - phase, length - at)
                draw.line(
                    [(x0 + ux * at, y0 + uy * at), (x0 + ux * (at + step), y0 + uy * (at + step))],
                    fill=fill,
                    width=width,
                )
            else:
                step = min(period - phase, length - at)
            at += step
            phase = (phase + step) % period


def _circle(cx: float, cy: float, radius: float, steps: int = 180) -> list[Point]:
    """A closed polygon approximating a circle (for dashed rings)."""
    return [
        (cx + radius * math.cos(2 * math.pi * i / steps), cy + radius * math.sin(2 * math.pi * i / steps))
        for i in range(steps + 1)
    ]


def _marker(draw: Any, shape: str, x: float, y: float, size: float, fill: int) -> None:
    half = size / 2
    box = (x - half, y - half, x + half, y + half)
    if shape == "o":
        draw.ellipse(box, fill=fill)
    else:
        draw.rectangle(box, fill=fill)


def _line_sample(draw: Any, x: float, y: float, length: float, style: str, shape: str, fill: int) -> None:
    """A legend entry's line and marker."""
    width = round(2 * _PT) if style == "-" else round(1.6 * _PT)
    if style == "-":
        draw.line([(x, y), (x + length, y)], fill=fill, width=width)
    else:
        _dashed(draw, [(x, y), (x + length, y)], 4 * _PT, 2.2 * _PT, fill, width)
    _marker(draw, shape, x + length / 2, y, 6 * _PT, fill)


def _hatch(image: Any, box: tuple[float, float, float, float], pattern: str, spacing: float) -> None:
    """Hatch lines in *box*, clipped to it: "/" diagonal, "x" cross-hatch; anchored to the image origin
    so neighbouring bars line up."""
    x0, y0, x1, y1 = (round(v) for v in box)
    w, h = x1 - x0, y1 - y0
    if not pattern or w <= 0 or h <= 0:
        return
    # "/" lines: x + y = k * spacing (image coordinates, y down); "\\" lines: x - y = k * spacing; each
    # kept as its offset in the tile, the x where it meets the tile's top edge
    slashes = []
    k = math.floor((x0 + y0) / spacing) * spacing
    while k <= x1 + y1 + spacing:
        slashes.append(k - x0 - y0)
        k += spacing
    backslashes = []
    if pattern == "x":
        k = math.floor((x0 - y1) / spacing) * spacing
        while k <= x1 - y0 + spacing:
            backslashes.append(k - x0 + y0)
            k += spacing
    image.paste(_hatch_tile(w, h, tuple(slashes), tuple(backslashes)), (x0, y0))


@lru_cache(maxsize=128)
def _hatch_tile(w: int, h: int, slashes: tuple[float, ...], backslashes: tuple[float, ...]) -> Any:
    """A *w* x *h* tile of bar fill with the hatch lines at these offsets. The same bar in the same place
    (the same row and gap in the charts of a batch) gives the same offsets, and drawing each tile's
    lines one by one was a tenth of the bar chart's time. Holds up to 128 tiles of at most 1800 x 60 px,
    about 30 kB on average: 4 MB when full."""
    from PIL import Image, ImageDraw

    tile = Image.new("L", (w, h), _FILL)
    pen = ImageDraw.Draw(tile)
    width = max(1, round(0.9 * _PT))
    for at in slashes:
        pen.line([(at - h, h), (at, 0)], fill=_BLACK, width=width)
    for at in backslashes:
        pen.line([(at, 0), (at + h, h)], fill=_BLACK, width=width)
    return tile


@lru_cache(maxsize=1024)
def _length(text: str, points: float) -> float:
    """The advance width of *text* in pixels (Pillow's ``getlength``): the labels recur in every chart
    of a batch. Holds one float per (text, size): a few kB."""
    return float(_font(points).getlength(text))


def _text(draw: Any, xy: Point, text: str, size: float, anchor: str, fill: int = _BLACK) -> None:
    """One line of text at *xy*; *anchor* is Pillow's two-letter text anchor ("lm", "ma", ...)."""
    x, y = xy
    stamp = _text_stamp(text, size, anchor, math.modf(x)[0], math.modf(y)[0])
    if stamp is not None:
        mask, (dx, dy) = stamp
        draw.bitmap((int(x) + dx, int(y) + dy), mask, fill=fill)


@lru_cache(maxsize=512)
def _text_stamp(text: str, size: float, anchor: str, fx: float, fy: float) -> Stamp | None:
    """The ink of one line of *text* as Pillow draws it at a position whose fractional parts are *fx*,
    *fy* (they shift the glyphs within a pixel), as a mask and its offset from the position's integer
    part. Drawn by Pillow's own ``text`` on a black canvas, an integer distance from the origin so the
    glyphs are the same; stamping a colour through it blends exactly as ``text`` does on the chart.
    Rendering the glyphs is most of a chart's text time and the labels recur (every client's bar chart
    has the same element titles, ticks and legend at the same places). Holds up to 512 masks of one
    line, 1-30 kB each."""
    from PIL import Image, ImageDraw

    font = _font(size)
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox(
        (fx, fy), text, font=font, anchor=anchor
    )
    # shifted by whole pixels, and never to a negative position (Pillow truncates towards zero, which
    # would change the fractional part that places the glyphs)
    ox, oy = max(0, 2 - math.floor(left)), max(0, 2 - math.floor(top))
    canvas = Image.new("L", (math.ceil(right) + ox + 2, math.ceil(bottom) + oy + 2), 0)
    ImageDraw.Draw(canvas).text((fx + ox, fy + oy), text, font=font, fill=255, anchor=anchor)
    stamp = _inked(canvas)
    if stamp is None:
        return None
    mask, (x0, y0) = stamp
    return mask, (x0 - ox, y0 - oy)


def _align(horizontal: str) -> str:
    return {"l": "left", "r": "right"}.get(horizontal, "center")


def _polar(cx: float, cy: float, radius: float, angle: float, level: float) -> Point:
    """The point at *level* (0 centre, 5 outer ring) on the spoke at *angle*, clockwise from 12 o'clock."""
    r = radius * level / 5
    return (cx + r * math.sin(angle), cy - r * math.cos(angle))


def _radar_geometry(count: int) -> tuple[int, int, float, float, float]:
    """(width, height, centre x, centre y, radius of level 5) of a radar chart."""
    width, height = _WIDTH, _RADAR_HEIGHT
    return width, height, width / 2, height * 0.46, height * 0.31


def _inked(mask: Any, box: tuple[int, int, int, int] | None = None) -> Stamp | None:
    """The part of *mask* (or of its *box*, which must hold all the ink looked for) that is inked, and
    where it goes; None if nothing is. Stamping a colour through it changes the pixels that stamping
    through the whole mask would, without blending the blank rest."""
    if box is not None:
        part, (left, top) = mask.crop(box), box[:2]
    else:
        part, left, top = mask, 0, 0
    ink = part.getbbox()
    return None if ink is None else (part.crop(ink), (left + ink[0], top + ink[1]))


def _grid_canvas(size: tuple[int, int], lines: list[list[Point]]) -> Any:
    """The dashed grid *lines* drawn with ink 255 on a blank canvas of the chart's *size*: the same dashes
    on a canvas of the same size give the same pixels, so stamping the grid colour through this mask
    gives what drawing the dashes in that colour on the chart gives."""
    from PIL import Image, ImageDraw

    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for points in lines:
        _dashed(draw, points, 1.2 * _PT, 2 * _PT, 255, _GRID_WIDTH)
    return mask


@lru_cache(maxsize=8)
def _radar_grid(count: int) -> Stamp | None:
    """The dashed level rings and spokes of a radar with *count* groups, as an inked mask. They depend
    only on the number of groups, and dashing them point by point was half of the radar's drawing time.
    Holds one mask of the rings' square (about 930 x 930 px, 0.9 MB) per group count."""
    width, height, cx, cy, radius = _radar_geometry(count)
    rings = [_circle(cx, cy, radius * level / 5) for level in (1, 2, 3, 4)]
    spokes = [[(cx, cy), _polar(cx, cy, radius, 2 * math.pi * i / count, 5)] for i in range(count)]
    return _inked(_grid_canvas((width, height), rings + spokes))


@lru_cache(maxsize=16)
def _gaps_grid(
    size: tuple[int, int], xs: tuple[float, ...], top: float, bottom: float
) -> tuple[Stamp | None, ...]:
    """The dashed vertical grid lines of the bar chart at *xs*, one inked mask each (cropped apart, so
    that stamping them does not blend the plot between them). Their hundreds of dashes were a tenth of
    the chart's drawing time, and the charts with the same widest label and number of elements (the
    clients of a batch) share them. Holds four masks of about 3 x 2000 px (6 kB) per layout."""
    canvas = _grid_canvas(size, [[(x, top), (x, bottom)] for x in xs])
    reach = 2 * _GRID_WIDTH + 1  # beyond a dash's half width: a line's band holds all of its ink
    y0, y1 = int(top) - reach, int(bottom) + reach + 1
    return tuple(_inked(canvas, (int(x) - reach, y0, int(x) + reach + 1, y1)) for x in xs)


def _stamp_grid(draw: Any, grid: Stamp | None) -> None:
    """Ink the grid colour through a cached grid mask (nothing for None: an empty grid)."""
    if grid is not None:
        mask, origin = grid
        draw.bitmap(origin, mask, fill=_GRID)


@lru_cache(maxsize=32)
def radar_png(groups: RadarData) -> bytes:
    """A radar chart of current (solid, filled, circles) and target (dashed, squares) mean maturity per
    clause group, on level rings 1 to 5."""
    from PIL import Image, ImageDraw

    count = len(groups)
    width, height, cx, cy, radius = _radar_geometry(count)
    image = Image.new("L", (width, height), _WHITE)
    draw = ImageDraw.Draw(image)
    label_size = 9.0
    line_gap = label_size * _PT * 0.25
    angles = [2 * math.pi * i / count for i in range(count)]  # clockwise from 12 o'clock

    def at(angle: float, level: float) -> Point:
        return _polar(cx, cy, radius, angle, level)

    current = [at(a, g[1]) for a, g in zip(angles, groups, strict=True)]
    target = [at(a, g[2]) for a, g in zip(angles, groups, strict=True)]
    if count >= 3:
        draw.polygon(current, fill=_FILL)
    _stamp_grid(draw, _radar_grid(count))  # the dashed rings and spokes
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=_BLACK, width=round(0.8 * _PT))
    # target: dashed, dark grey squares; current: solid black circles (drawn last, on top)
    dash_width = round(1.6 * _PT)
    _dashed(draw, [*target, target[0]], 4 * _PT, 2.2 * _PT, _DARK, dash_width)
    for x, y in target:
        _marker(draw, "s", x, y, 6 * _PT, _DARK)
    draw.line([*current, current[0]], fill=_BLACK, width=round(2 * _PT), joint="curve")
    for x, y in current:
        _marker(draw, "o", x, y, 6.5 * _PT, _BLACK)
    # level labels between the first two spokes, like a polar axis
    ring_angle = math.pi / count if count > 1 else math.pi / 8
    for level in (1, 2, 3, 4, 5):
        x, y = at(ring_angle, level - 0.22)
        draw.text(  # a white halo keeps the number readable where a data line crosses it
            (x, y),
            str(level),
            font=_font(label_size),
            fill=_DARK,
            anchor="mm",
            stroke_width=round(1.2 * _PT),
            stroke_fill=_WHITE,
        )
    # group labels outside the ring, anchored away from the centre
    for angle, (label, _, _) in zip(angles, groups, strict=True):
        x, y = at(angle, 5)
        sx, sy = math.sin(angle), -math.cos(angle)
        pad = 14 * _PT
        x, y = x + sx * pad, y + sy * pad
        horizontal = "l" if sx > 0.25 else "r" if sx < -0.25 else "m"
        vertical = "d" if sy < -0.6 else "a" if sy > 0.6 else "m"
        text = textwrap.fill(label, 18)
        draw.multiline_text(
            (x, y),
            text,
            font=_font(label_size),
            fill=_BLACK,
            anchor=horizontal + vertical,
            align=_align(horizontal),
            spacing=line_gap,
        )
    # legend below the chart
    sample = 22 * _PT
    entries = [("Current level", "-", "o", _BLACK), ("Target level", "--", "s", _DARK)]
    widths = [sample + 6 * _PT + _length(name, label_size) for name, *_ in entries]
    spacing = 18 * _PT
    x = (width - sum(widths) - spacing * (len(entries) - 1)) / 2
    y = height - 14 * _PT
    for (name, style, shape, fill), entry in zip(entries, widths, strict=True):
        _line_sample(draw, x, y, sample, style, shape, fill)
        _text(draw, (x + sample + 6 * _PT, y), name, label_size, "lm")
        x += entry + spacing
    return _png(image)


@lru_cache(maxsize=32)
def gaps_png(elements: GapData) -> bytes:
    """A horizontal bar chart of the gap to target per element, hatched by importance (none, diagonal,
    cross-hatch) with a legend of the importances in use."""
    from PIL import Image, ImageDraw

    label_size, tick_size = 8.0, 9.0
    tick_font = _font(tick_size)
    row = 0.28 * _DPI  # pixels per element
    top = 0.2 * _DPI
    bottom = 0.95 * _DPI  # tick labels, axis title and legend
    width = _WIDTH
    height = round(top + row * max(len(elements), 1) + bottom)
    image = Image.new("L", (width, height), _WHITE)
    draw = ImageDraw.Draw(image)

    labels = [label for label, _, _ in elements]
    widest = max((_length(label, label_size) for label in labels), default=0)
    left = min(widest + 8 * _PT, width * 0.55)
    right = width - 8 * _PT
    bottom_axis = top + row * len(elements)
    x_max = 4.5

    def x_of(value: float) -> float:
        return left + (right - left) * value / x_max

    for rule in _gaps_grid((width, height), tuple(x_of(tick) for tick in (1, 2, 3, 4)), top, bottom_axis):
        _stamp_grid(draw, rule)
    bar = 0.7 * row
    for index, (label, gap, importance) in enumerate(elements):
        middle = top + row * (index + 0.5)
        _text(draw, (left - 4 * _PT, middle), label, label_size, "rm")
        y0, y1 = middle - bar / 2, middle + bar / 2
        if gap > 0:
            box = (x_of(0), y0, x_of(gap), y1)
            draw.rectangle(box, fill=_FILL)
            _hatch(image, box, _IMPORTANCE_HATCH[importance], 6 * _PT)
            draw.rectangle(box, outline=_BLACK, width=round(1 * _PT))
        _text(draw, (x_of(gap) + 3 * _PT, middle), str(gap), label_size, "lm")
    # axes: frame, ticks, tick labels and title
    draw.rectangle((left, top, right, bottom_axis), outline=_BLACK, width=round(0.8 * _PT))
    for tick in (0, 1, 2, 3, 4):
        x = x_of(tick)
        draw.line([(x, bottom_axis), (x, bottom_axis + 3.5 * _PT)], fill=_BLACK, width=round(0.8 * _PT))
        _text(draw, (x, bottom_axis + 5 * _PT), str(tick), tick_size, "ma")
    title_y = bottom_axis + 5 * _PT + tick_font.size * 1.35
    _text(draw, ((left + right) / 2, title_y), "Gap to target (levels)", tick_size, "ma")
    # legend: the importances in use, in a row under the axis title
    used = sorted({importance for _, _, importance in elements})
    swatch_w, swatch_h = 20 * _PT, 10 * _PT
    entries = [(i, swatch_w + 5 * _PT + _length(_IMPORTANCE_NAME[i], label_size)) for i in used]
    spacing = 16 * _PT
    total = sum(w for _, w in entries) + spacing * max(len(entries) - 1, 0)
    x = max(8 * _PT, min((left + right - total) / 2, width - 8 * _PT - total))  # under the plot if it fits
    y = title_y + tick_font.size * 1.35 + 8 * _PT + swatch_h / 2
    for importance, entry in entries:
        box = (x, y - swatch_h / 2, x + swatch_w, y + swatch_h / 2)
        draw.rectangle(box, fill=_FILL)
        _hatch(image, box, _IMPORTANCE_HATCH[importance], 6 * _PT)
        draw.rectangle(box, outline=_BLACK, width=round(1 * _PT))
        _text(draw, (x + swatch_w + 5 * _PT, y), _IMPORTANCE_NAME[importance], label_size, "lm")
        x += entry + spacing
    return _png(image)


def radar_data(assessment: Assessment) -> RadarData:
    """The radar's input: one point per clause group with at least one rated element."""
    return tuple(
        (f"{g.group} {g.title}".replace(" of an organization", ""), g.mean_level, g.mean_target)
        for g in assessment.assessed_groups
    )


def gap_data(assessment: Assessment) -> GapData:
    """The bar chart's input: every rated element in clause order."""
    return tuple((f"{e.clause} {e.title}", e.gap, e.importance) for e in assessment.elements)


_DRAW: dict[str, Callable[[Assessment], bytes]] = {
    "radar": lambda a: radar_png(radar_data(a)),
    "gaps": lambda a: gaps_png(gap_data(a)),
}


def clear_caches() -> None:
    """Forget every chart and every kept part (text, grids, hatch tiles), as in a new process: for
    benchmarks that time drawing from cold."""
    for cached in (radar_png, gaps_png, _text_stamp, _length, _hatch_tile, _radar_grid, _gaps_grid):
        cached.cache_clear()


def draw(kind: str, assessment: Assessment) -> bytes:
    """The PNG bytes of chart *kind* ("radar" or "gaps"); ValueError for another kind."""
    if kind not in _DRAW:
        raise ValueError(f"unknown chart '{kind}'; charts: {', '.join(KINDS)}")
    return _DRAW[kind](assessment)
