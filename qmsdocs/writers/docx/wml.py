"""WordprocessingML as strings: XML escaping and the few element builders every part uses.

The writer emits body XML directly as strings (no DOM) because that is ~30x faster than python-docx; the
price is that *every* piece of user text must pass through :func:`text` or :func:`attr` here.
"""

from __future__ import annotations

import re

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

#: namespace declarations of document.xml, header and footer parts (drawing namespaces for images)
PART_NAMESPACES = (
    f'xmlns:w="{W_NS}" xmlns:r="{R_NS}" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"'
)
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Characters XML 1.0 forbids (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/U+FFFF):
# Word refuses to open a file containing one, so they are dropped rather than escaped.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})


def text(value: str) -> str:
    """*value* made safe as XML character data."""
    return _ILLEGAL.sub("", value).translate(_TEXT_ESCAPES)


def attr(value: str) -> str:
    """*value* made safe inside a double- or single-quoted XML attribute."""
    return _ILLEGAL.sub("", value).translate(_ATTR_ESCAPES)


def run(value: str, rpr: str = "") -> str:
    """A run of plain text; tabs and newlines become ``w:tab`` / ``w:br`` so they survive."""
    props = f"<w:rPr>{rpr}</w:rPr>" if rpr else ""
    if "\t" not in value and "\n" not in value:
        return f'<w:r>{props}<w:t xml:space="preserve">{text(value)}</w:t></w:r>'
    pieces: list[str] = []
    for i, line in enumerate(value.split("\n")):
        if i:
            pieces.append("<w:br/>")
        for j, chunk in enumerate(line.split("\t")):
            if j:
                pieces.append("<w:tab/>")
            if chunk:
                pieces.append(f'<w:t xml:space="preserve">{text(chunk)}</w:t>')
    return f"<w:r>{props}{''.join(pieces)}</w:r>"


def para(content: str, style_id: str | None = None, ppr_extra: str = "") -> str:
    """A paragraph with an optional style id and extra paragraph properties (already in schema order)."""
    style = f'<w:pStyle w:val="{style_id}"/>' if style_id else ""
    ppr = f"<w:pPr>{style}{ppr_extra}</w:pPr>" if style or ppr_extra else ""
    return f"<w:p>{ppr}{content}</w:p>"


def field(instruction: str, result: str = "", rpr: str = "") -> str:
    """A complex field (PAGE, NUMPAGES, TOC...) with a pre-filled result so readers that never update
    fields still show something."""
    props = f"<w:rPr>{rpr}</w:rPr>" if rpr else ""
    return (
        f'<w:r>{props}<w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r>{props}<w:instrText xml:space="preserve"> {text(instruction)} </w:instrText></w:r>'
        f'<w:r>{props}<w:fldChar w:fldCharType="separate"/></w:r>'
        f"{run(result, rpr) if result else ''}"
        f'<w:r>{props}<w:fldChar w:fldCharType="end"/></w:r>'
    )


PAGE_BREAK = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'


def table(
    rows: list[list[str]],
    widths: list[int],
    style_id: str,
    header_rows: int = 1,
    indent: int = 0,
) -> str:
    """A full-width table; *rows* hold finished cell contents (paragraph XML), *widths* are twips.

    Header rows repeat on every page (``w:tblHeader``) and no row splits across pages (``w:cantSplit``).
    """
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    out = [
        f'<w:tbl><w:tblPr><w:tblStyle w:val="{style_id}"/>'
        # full text width; a table inside a list item starts at the item's text instead
        + (
            f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:tblInd w:w="{indent}" w:type="dxa"/>'
            if indent
            else '<w:tblW w:w="5000" w:type="pct"/>'
        )
        + '<w:tblLayout w:type="fixed"/>'
        + f'<w:tblLook w:val="04A0" w:firstRow="{1 if header_rows else 0}" w:lastRow="0" w:firstColumn="0"'
        ' w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>' + f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>"
    ]
    for index, cells in enumerate(rows):
        header = "<w:tblHeader/>" if index < header_rows else ""
        out.append(f"<w:tr><w:trPr><w:cantSplit/>{header}</w:trPr>")
        for width, cell in zip(widths, cells, strict=True):
            out.append(f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>{cell or para("")}</w:tc>')
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


#: Twips one character of table text needs (10-11 pt body font, bold headers), and a cell's padding.
_CHAR_TWIPS = 120
_CELL_PADDING = 230


def column_widths(lengths: list[int], total: int, longest_words: list[int] | None = None) -> list[int]:
    """Split *total* twips between columns in proportion to their longest text, within sane bounds.

    Square roots damp one very long cell so short columns (numbers, dates) stay readable. No column is
    made narrower than its longest word ("Likelihood" must not break into "Likelihoo" / "d"): the
    width it lacks is taken from columns that have room to spare.
    """
    weights = [max(3.0, min(float(n), 60.0)) ** 0.5 for n in lengths] or [1.0]
    scale = total / sum(weights)
    widths = [w * scale for w in weights]
    if longest_words:
        minimum = [n * _CHAR_TWIPS + _CELL_PADDING for n in longest_words]
        if sum(minimum) >= total:  # even the words do not fit: share the page by word length
            widths = [total * m / sum(minimum) for m in minimum]
        else:
            for _ in range(len(widths)):  # each pass fixes at least one column; a few passes suffice
                short = [i for i, w in enumerate(widths) if w < minimum[i]]
                if not short:
                    break
                lacking = sum(minimum[i] - widths[i] for i in short)
                spare = {i: widths[i] - minimum[i] for i in range(len(widths)) if i not in short}
                room = sum(v for v in spare.values() if v > 0)
                for i in short:
                    widths[i] = minimum[i]
                for i, extra in spare.items():
                    if extra > 0:
                        widths[i] -= lacking * extra / room
    result = [int(w) for w in widths]
    result[-1] += total - sum(result)
    return result
