"""Images: pixel sizes read from the file headers (no Pillow), size hints, and the inline drawing XML."""

from __future__ import annotations

import re
import struct

from qmsdocs.docx.wml import attr

EMU_PER_INCH = 914400
EMU_PER_TWIP = 635
_UNITS = {"cm": 360000.0, "mm": 36000.0, "in": 914400.0, "pt": 12700.0, "px": 9525.0}
_HINT = re.compile(r"\s*(width|height)\s*=\s*(\d+(?:\.\d+)?)\s*(cm|mm|in|pt|px|%)\s*", re.I)


class ImageFormatError(ValueError):
    """The bytes are not a PNG or JPEG image this writer can size."""


def image_info(data: bytes) -> tuple[str, int, int, float]:
    """(extension, width px, height px, dots per inch) of a PNG or JPEG image."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height, _png_dpi(data)
    if data[:2] == b"\xff\xd8":
        width, height = _jpeg_size(data)
        return "jpeg", width, height, 96.0
    raise ImageFormatError("only PNG and JPEG images can be embedded")


def _png_dpi(data: bytes) -> float:
    # pHYs (pixels per metre) lets a chart rendered at 300 dpi come out at its intended physical size
    at = data.find(b"pHYs", 33, 4096)
    if at > 0:
        per_metre, _, unit = struct.unpack(">IIB", data[at + 4 : at + 13])
        if unit == 1 and per_metre > 0:
            return per_metre * 0.0254
    return 96.0


def _jpeg_size(data: bytes) -> tuple[int, int]:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise ImageFormatError("the JPEG file has no frame header")


def parse_hint(title: str) -> tuple[str, float, str] | None:
    """``width=14cm`` -> ("width", 14.0, "cm"); None when the title is no size hint (a real title)."""
    match = _HINT.fullmatch(title)
    return (match.group(1).lower(), float(match.group(2)), match.group(3).lower()) if match else None


def extent(width_px: int, height_px: int, dpi: float, hint: tuple[str, float, str] | None, max_emu: int) -> tuple[int, int]:
    """Display size in EMU: the hint if given, else the natural size; never wider than *max_emu*."""
    natural_w = width_px / dpi * EMU_PER_INCH
    natural_h = height_px / dpi * EMU_PER_INCH
    ratio = natural_h / natural_w if natural_w else 1.0
    cx = natural_w
    if hint is not None:
        which, value, unit = hint
        length = value / 100 * max_emu if unit == "%" else value * _UNITS[unit]
        cx = length if which == "width" else length / ratio
    cx = min(cx, max_emu)
    return int(cx), int(cx * ratio)


def drawing(rel_id: str, cx: int, cy: int, shape_id: int, name: str, description: str) -> str:
    """An inline picture run (the DrawingML Word writes for an in-line image)."""
    return (
        f'<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/>'
        f'<wp:docPr id="{shape_id}" name="{attr(name)}" descr="{attr(description)}"/>'
        '<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>'
        f'<pic:nvPicPr><pic:cNvPr id="{shape_id}" name="{attr(name)}" descr="{attr(description)}"/><pic:cNvPicPr/>'
        f'</pic:nvPicPr><pic:blipFill><a:blip r:embed="{rel_id}"/><a:stretch><a:fillRect/></a:stretch>'
        f'</pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>'
        "</wp:inline></w:drawing></w:r>"
    )
