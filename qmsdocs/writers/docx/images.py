"""Images: pixel sizes read from the file headers (no Pillow), size hints, and the inline drawing XML."""

from __future__ import annotations

import re
import struct

from qmsdocs.writers.docx.wml import attr

EMU_PER_INCH = 914400
EMU_PER_TWIP = 635
_UNITS = {"cm": 360000.0, "mm": 36000.0, "in": 914400.0, "pt": 12700.0, "px": 9525.0}
_HINT = re.compile(r"\s*(width|height)\s*=\s*(\d+(?:\.\d+)?)\s*(cm|mm|in|pt|px|%)\s*", re.I)


class ImageFormatError(ValueError):
    """The bytes are not a PNG or JPEG image this writer can size."""


#: Most pixels an embedded image may have: Word decodes the whole picture when it shows the page, and
#: a small file can declare a huge one (a decompression bomb for whoever opens the document). The same
#: figure as Pillow's own warning threshold (about 9500 x 9500).
MAX_PIXELS = 89_478_485
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def image_info(data: bytes) -> tuple[str, int, int, float]:
    """(extension, width px, height px, dots per inch) of a PNG or JPEG image.

    Reads the headers only (no decoding), and raises :class:`ImageFormatError`, never anything else, for
    bytes that are not a complete PNG or JPEG file with a plausible size.
    """
    if data[:8] == _PNG_SIGNATURE:
        if len(data) < 33 or data[12:16] != b"IHDR":
            raise ImageFormatError("the PNG file is truncated or damaged (no image header)")
        if not data.endswith(_PNG_END):
            raise ImageFormatError("the PNG file is truncated (it does not end with its IEND chunk)")
        width, height = struct.unpack(">II", data[16:24])
        ext, dpi = "png", _png_dpi(data)
    elif data[:2] == b"\xff\xd8":
        width, height, end = _jpeg_size(data)
        if data.rfind(b"\xff\xd9") < end:
            raise ImageFormatError("the JPEG file is truncated (no end-of-image marker after its frame)")
        ext, dpi = "jpeg", 96.0
    else:
        raise ImageFormatError("only PNG and JPEG images can be embedded")
    if not width or not height:
        raise ImageFormatError(f"the image has no pixels ({width} x {height})")
    if width * height > MAX_PIXELS:
        raise ImageFormatError(
            f"the image has {width} x {height} pixels; at most {MAX_PIXELS:,} pixels can be embedded"
        )
    return ext, width, height, dpi


def _png_dpi(data: bytes) -> float:
    # pHYs (pixels per metre) lets a chart rendered at 300 dpi come out at its intended physical size
    at = data.find(b"pHYs", 33, 4096)
    if at > 0 and at + 13 <= len(data):
        per_metre, _, unit = struct.unpack(">IIB", data[at + 4 : at + 13])
        if unit == 1 and per_metre > 0:
            return float(per_metre * 0.0254)
    return 96.0


def _jpeg_size(data: bytes) -> tuple[int, int, int]:
    """(width, height, offset after the frame header) from the first SOF marker."""
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height, at + 2 + length
        at += 2 + length
    raise ImageFormatError("the JPEG file has no frame header (truncated or damaged)")


def parse_hint(title: str) -> tuple[str, float, str] | None:
    """``width=14cm`` -> ("width", 14.0, "cm"); None when the title is no size hint (a real title)."""
    match = _HINT.fullmatch(title)
    return (match.group(1).lower(), float(match.group(2)), match.group(3).lower()) if match else None


#: Largest side of a drawing (EMU): 22 inches, Word's largest page.
MAX_EXTENT_EMU = 22 * EMU_PER_INCH
#: resolutions (dots per inch) :func:`extent` accepts: a PNG's pHYs chunk gives 0.0254 to 1.1e8
DPI_RANGE = (0.01, 1e9)


def extent(
    width_px: int, height_px: int, dpi: float, hint: tuple[str, float, str] | None, max_emu: int
) -> tuple[int, int]:
    """Display size in EMU: the hint if given, else the natural size; never wider than *max_emu*, never
    a side longer than :data:`MAX_EXTENT_EMU` (the aspect ratio is kept).

    Raises :class:`ImageFormatError` for a size that is no image (no pixels, or a resolution outside
    :data:`DPI_RANGE`, which covers every resolution a PNG header can declare).
    """
    if width_px <= 0 or height_px <= 0 or not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]:
        raise ImageFormatError(f"the image has no usable size ({width_px} x {height_px} pixels at {dpi} dpi)")
    natural_w = width_px / dpi * EMU_PER_INCH
    ratio = height_px / dpi * EMU_PER_INCH / natural_w
    cx = natural_w
    if hint is not None:
        which, value, unit = hint
        length = value / 100 * max_emu if unit == "%" else value * _UNITS[unit]
        cx = length if which == "width" else length / ratio
    cx = max(0.0, min(cx, max_emu, MAX_EXTENT_EMU, MAX_EXTENT_EMU / ratio))
    return int(cx), int(cx * ratio)


def drawing(rel_id: str, cx: int, cy: int, shape_id: int, name: str, description: str) -> str:
    """An inline picture run (the DrawingML Word writes for an in-line image)."""
    return (
        f'<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/>'
        f'<wp:docPr id="{shape_id}" name="{attr(name)}" descr="{attr(description)}"/>'
        '<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>'
        f'<pic:nvPicPr><pic:cNvPr id="{shape_id}" name="{attr(name)}" descr="{attr(description)}"/>'
        f'<pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="{rel_id}"/>'
        "<a:stretch><a:fillRect/></a:stretch>"
        f'</pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>'
        "</wp:inline></w:drawing></w:r>"
    )
