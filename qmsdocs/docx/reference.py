"""Reference documents: the package parts that are the same for every document, prepared once.

A reference is either the built-in house style (:mod:`qmsdocs.docx.builtin`) or a consultant's .docx. From
a consultant's file we take styles, theme, fonts, numbering and page geometry; any style the writer needs
that the file lacks is added from the built-in reference (one warning names them all).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qmsdocs.docx import builtin
from qmsdocs.docx.wml import W_NS, XML_DECL
from qmsdocs.docx.zipwriter import SMALLEST, Entry, entry
from qmsdocs.errors import ReferenceDocError

DEFAULT_COLOUR = "1F4E79"
_W = f"{{{W_NS}}}"
_COLOUR = re.compile(r"#?([0-9A-Fa-f]{6})")
_NUM_START = re.compile(r"<w:num[\s>]")
_NUM_END = re.compile(r"<w:numIdMacAtCleanup|</w:numbering>")
_PIC_BULLETS = re.compile(r"<w:numPicBullet\b.*?</w:numPicBullet>|<w:lvlPicBulletId\b[^>]*/>", re.S)
_SECT = re.compile(r"<w:sectPr\b.*?</w:sectPr>", re.S)
_TWIPS_ATTR = r'\bw:{}="(-?\d+)"'


@dataclass
class PreparedReference:
    """Everything a document shares with the others written from the same reference."""

    source: str  # "built-in" or the path of the consultant's file, for messages
    style_ids: dict[str, str]  # style name (lower case) -> style id in this package
    fixed_parts: dict[str, bytes]  # part name -> content, written unchanged into every package
    fixed_entries: list[Entry]  # the same, deflated once
    content_types: bytes
    fixed_rels: str  # <Relationship> elements for the fixed parts of document.xml.rels
    numbering_head: str  # numbering.xml up to where per-document w:num elements go
    numbering_tail: str
    bullet_abstract: int
    number_abstract: int
    first_num_id: int
    section: str  # w:pgSz + w:pgMar
    text_width: int  # twips between the side margins
    warnings: list[str] = field(default_factory=list)
    #: runs of inline text already written with these styles (see :func:`qmsdocs.docx.body.runs`)
    inline_runs: dict[int, tuple[Any, str]] = field(default_factory=dict, repr=False)

    def style(self, name: str) -> str:
        """The style id for a style *name* (one the writer needs, so it is always present)."""
        return self.style_ids[name.lower()]


_CACHE: dict[tuple[str | None, int, str], PreparedReference] = {}


def prepare_reference(
    reference_docx: Path | None = None, primary_colour: str | None = None
) -> PreparedReference:
    """Prepare the fixed package parts of *reference_docx* (the built-in house style when None).

    Cached per process per (path, modification time, colour). A consultant's styles win over
    *primary_colour*, which then only colours the styles added from the built-in reference.
    Raises :class:`ReferenceDocError` when the file is missing or not a readable Word document.
    """
    match = _COLOUR.fullmatch(primary_colour or DEFAULT_COLOUR)
    colour = (match.group(1) if match else DEFAULT_COLOUR).upper()
    if reference_docx is None:
        key: tuple[str | None, int, str] = (None, 0, colour)
    else:
        try:
            key = (str(reference_docx.resolve()), reference_docx.stat().st_mtime_ns, colour)
        except OSError as error:
            raise ReferenceDocError(
                reference_docx, f"cannot read the reference document: {error.strerror}"
            ) from None
    if key not in _CACHE:
        _CACHE[key] = _builtin(colour) if reference_docx is None else _consultant(reference_docx, colour)
    return _CACHE[key]


def _builtin(colour: str) -> PreparedReference:
    bullet, number = 1, 2
    numbering = f'{XML_DECL}<w:numbering xmlns:w="{W_NS}">{builtin.abstract_numbering(bullet, number)}'
    return _assemble(
        source="built-in",
        style_ids={s.name.lower(): s.style_id for s in builtin.STYLES},
        styles=builtin.styles_xml(colour),
        extra_parts={},
        numbering=(numbering, "</w:numbering>", bullet, number, 1),
        section=builtin.SECTION,
        warnings=[],
    )


def _consultant(path: Path, colour: str) -> PreparedReference:
    from xml.etree import ElementTree as ET  # only consultants' files need parsing

    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            if "word/document.xml" not in names:
                raise ReferenceDocError(path, "not a Word document (the package has no word/document.xml)")
            read = {n: package.read(n).decode("utf-8") for n in names if n in _WANTED}
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, EOFError) as error:
        raise ReferenceDocError(path, f"not a readable .docx file ({error})") from None

    styles = read.get("word/styles.xml", f'{XML_DECL}<w:styles xmlns:w="{W_NS}"></w:styles>')
    try:
        root = ET.fromstring(styles.encode("utf-8"))
    except ET.ParseError as error:
        raise ReferenceDocError(path, f"word/styles.xml is not valid XML ({error})") from None
    if root.tag != f"{_W}styles" or "</w:styles>" not in styles:
        raise ReferenceDocError(path, "word/styles.xml does not use the usual 'w' namespace prefix")

    # Their style ids by (type, name): ids are language-dependent ("Überschrift1"), names are not.
    theirs: dict[tuple[str, str], str] = {}
    used_ids: set[str] = set()
    for element in root.iter(f"{_W}style"):
        style_id = element.get(f"{_W}styleId", "")
        name_element = element.find(f"{_W}name")
        name = name_element.get(f"{_W}val", "") if name_element is not None else style_id
        theirs.setdefault((element.get(f"{_W}type", "paragraph"), name.lower()), style_id)
        used_ids.add(style_id)

    style_ids: dict[str, str] = {}
    missing: list[builtin.StyleDef] = []
    for style in builtin.STYLES:
        key = (style.kind, style.name.lower())
        if key in theirs:
            style_ids[style.name.lower()] = theirs[key]
        else:
            missing.append(style)
            new_id = style.style_id if style.style_id not in used_ids else f"Qms{style.style_id}"
            used_ids.add(new_id)
            style_ids[style.name.lower()] = new_id
    warnings = []
    if missing:
        added = "".join(style.xml(style_ids, colour) for style in missing)
        cut = styles.rindex("</w:styles>")
        styles = styles[:cut] + added + styles[cut:]
        # the names Word shows: "heading 1" -> "Heading 1", "toc 1" -> "TOC 1"
        listed = ", ".join(
            s.name.replace("toc", "TOC")[0].upper() + s.name.replace("toc", "TOC")[1:] for s in missing
        )
        warnings.append(
            f"{path}: the reference document lacks {len(missing)} style(s) the writer needs; "
            f"added them from the built-in reference: {listed}"
        )

    section = builtin.SECTION
    sections = _SECT.findall(read["word/document.xml"])
    if sections:
        size = re.search(r"<w:pgSz\b[^>]*/>", sections[-1])
        margins = re.search(r"<w:pgMar\b[^>]*/>", sections[-1])
        if size and margins:
            section = size.group(0) + margins.group(0)

    extra = {
        name: content.encode("utf-8")
        for name, content in read.items()
        # embedded fonts would need the font table's own relationships; Word falls back without it
        if name in ("word/theme/theme1.xml", "word/fontTable.xml") and "w:embed" not in content
    }
    return _assemble(
        source=str(path),
        style_ids=style_ids,
        styles=styles,
        extra_parts=extra,
        numbering=_merge_numbering(read.get("word/numbering.xml")),
        section=section,
        warnings=warnings,
    )


_WANTED = frozenset(
    (
        "word/document.xml",
        "word/styles.xml",
        "word/numbering.xml",
        "word/theme/theme1.xml",
        "word/fontTable.xml",
    )
)


def _merge_numbering(numbering: str | None) -> tuple[str, str, int, int, int]:
    """Their numbering part with our two abstract definitions added under fresh ids.

    Returns (head, tail, bullet abstract id, number abstract id, first free w:numId); per-document
    ``w:num`` elements go between head and tail. Schema order: every abstractNum precedes every num.
    """
    if not numbering or "</w:numbering>" not in numbering:
        numbering = f'{XML_DECL}<w:numbering xmlns:w="{W_NS}"></w:numbering>'
    # picture bullets point at images through numbering.xml.rels, which we do not carry over
    numbering = _PIC_BULLETS.sub("", numbering)
    abstract_ids = [int(v) for v in re.findall(r'w:abstractNumId="(\d+)"', numbering)]
    num_ids = [int(v) for v in re.findall(r'<w:num\b[^>]*w:numId="(\d+)"', numbering)]
    bullet = max(abstract_ids, default=0) + 1
    number = bullet + 1
    ours = builtin.abstract_numbering(bullet, number)
    start = _NUM_START.search(numbering)
    cut = start.start() if start else numbering.rindex("</w:numbering>")
    numbering = numbering[:cut] + ours + numbering[cut:]
    end = _NUM_END.search(numbering)
    assert end is not None  # the closing tag is there: checked above
    return numbering[: end.start()], numbering[end.start() :], bullet, number, max(num_ids, default=0) + 1


def _assemble(
    *,
    source: str,
    style_ids: dict[str, str],
    styles: str,
    extra_parts: dict[str, bytes],
    numbering: tuple[str, str, int, int, int],
    section: str,
    warnings: list[str],
) -> PreparedReference:
    parts = {"word/styles.xml": styles.encode("utf-8"), "word/settings.xml": builtin.SETTINGS.encode("utf-8")}
    parts.update(extra_parts)
    parts["docProps/app.xml"] = _APP.encode("utf-8")
    overrides = dict(_BASE_OVERRIDES)
    rels = [
        ("rId1", "styles", "styles.xml"),
        ("rId2", "settings", "settings.xml"),
        ("rId3", "numbering", "numbering.xml"),
        ("rId4", "header", "header1.xml"),
        ("rId5", "footer", "footer1.xml"),
    ]
    if "word/theme/theme1.xml" in parts:
        overrides["/word/theme/theme1.xml"] = "application/vnd.openxmlformats-officedocument.theme+xml"
        rels.append(("rId6", "theme", "theme/theme1.xml"))
    if "word/fontTable.xml" in parts:
        overrides["/word/fontTable.xml"] = f"{_WML}.fontTable+xml"
        rels.append(("rId7", "fontTable", "fontTable.xml"))
    content_types = (
        f'{XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="png" ContentType="image/png"/>'
        '<Default Extension="jpeg" ContentType="image/jpeg"/>'
        + "".join(f'<Override PartName="{k}" ContentType="{v}"/>' for k, v in overrides.items())
        + "</Types>"
    )
    width = int(_twips(section, "pgSz", "w", 11906))
    text_width = (
        width - abs(_twips(section, "pgMar", "left", 1247)) - abs(_twips(section, "pgMar", "right", 1247))
    )
    return PreparedReference(
        source=source,
        style_ids=style_ids,
        fixed_parts=parts,
        fixed_entries=[entry(name, content, level=SMALLEST) for name, content in parts.items()],
        content_types=content_types.encode("utf-8"),
        fixed_rels="".join(
            f'<Relationship Id="{rid}" Type="{_REL}/{kind}" Target="{target}"/>' for rid, kind, target in rels
        ),
        numbering_head=numbering[0],
        numbering_tail=numbering[1],
        bullet_abstract=numbering[2],
        number_abstract=numbering[3],
        first_num_id=numbering[4],
        section=section,
        text_width=max(text_width, 1440),
        warnings=warnings,
    )


def _twips(section: str, element: str, name: str, default: int) -> int:
    found = re.search(rf"<w:{element}\b[^>]*" + _TWIPS_ATTR.format(name), section)
    return int(found.group(1)) if found else default


_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml"
_BASE_OVERRIDES = {
    "/word/document.xml": f"{_WML}.document.main+xml",
    "/word/styles.xml": f"{_WML}.styles+xml",
    "/word/settings.xml": f"{_WML}.settings+xml",
    "/word/numbering.xml": f"{_WML}.numbering+xml",
    "/word/header1.xml": f"{_WML}.header+xml",
    "/word/footer1.xml": f"{_WML}.footer+xml",
    "/docProps/core.xml": "application/vnd.openxmlformats-package.core-properties+xml",
    "/docProps/app.xml": "application/vnd.openxmlformats-officedocument.extended-properties+xml",
}
_APP = (
    f'{XML_DECL}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>qmsdocs</Application></Properties>"
)
