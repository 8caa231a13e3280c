"""Reference documents: the package parts that are the same for every document, prepared once.

A reference is either the built-in house style (:mod:`qmsdocs.writers.docx.builtin`) or a consultant's
.docx. From a consultant's file we take styles, theme, fonts, numbering and page geometry; any style the
writer needs that the file lacks is added from the built-in reference (one warning names them all).

A consultant's file comes from outside and is read as untrusted input: a regular file of bounded size, a
bounded number of ZIP members, every part read with a bounded reader whatever its header claims, every
part carried into the output checked to be well-formed XML without a document type declaration (so no
entity can expand), the page geometry checked and rebuilt from numbers, and the result opened once with
python-docx. Any problem is a :class:`ReferenceDocError` naming the file and the part.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qmsdocs.errors import ReferenceDocError
from qmsdocs.writers.docx import builtin
from qmsdocs.writers.docx.prepared import PreparedReference
from qmsdocs.writers.docx.probe import check_opens
from qmsdocs.writers.docx.wml import W_NS, XML_DECL, attr
from qmsdocs.writers.docx.zipwriter import SMALLEST, entry
from qmsdocs.writers.meta import UnusableFile, megabytes, read_regular_file

#: Limits on a consultant's reference document (change them here, e.g. ``qmsdocs.writers.docx.reference.
#: MAX_REFERENCE_BYTES``). A real house-style file is well under a megabyte; these only stop a broken or
#: hostile file from exhausting memory (a ZIP "bomb" deflates 1 GB of XML into a 1 MB file).
MAX_REFERENCE_BYTES = 20_000_000  # the .docx file itself
MAX_MEMBERS = 1000  # ZIP members (parts) in the file
MAX_PART_BYTES = 20_000_000  # each part qmsdocs reads from it, uncompressed
MAX_TOTAL_BYTES = 50_000_000  # all the parts qmsdocs reads from it together, uncompressed
#: Page geometry in twips (1/1440 inch): Word's largest page is 22 inches; the text needs an inch at least.
MAX_PAGE_TWIPS = 31680
MIN_TEXT_TWIPS = 1440

DEFAULT_COLOUR = "1F4E79"
_W = f"{W_NS} "  # how expat names the WordprocessingML namespace: "uri local"
_COLOUR = re.compile(r"#?([0-9A-Fa-f]{6})")
_NUM_START = re.compile(r"<w:num[\s>]")
_NUM_END = re.compile(r"<w:numIdMacAtCleanup|</w:numbering>")
_PIC_BULLETS = re.compile(r"<w:numPicBullet\b.*?</w:numPicBullet>|<w:lvlPicBulletId\b[^>]*/>", re.S)
_TWIPS_ATTR = r'\bw:{}="(-?\d+)"'
_A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_INTEGER = re.compile(r"-?\d{1,9}")
#: ids Word reads as 32-bit numbers; ours are added above theirs, with room for every document's lists
_MAX_LIST_ID = 2**31 - 1 - 1_000_000


_CACHE: dict[tuple[Any, ...], PreparedReference] = {}
_FAILED: dict[tuple[Any, ...], ReferenceDocError] = {}  # a bad file fails every profile the same way, once
#: Prepared references kept per process, the oldest forgotten first. Each holds its parts and up to
#: :data:`qmsdocs.writers.docx.body.RUNS_LIMIT` runs (about 9 MiB): a batch whose profiles each have their own
#: colour kept one per profile (0.7 MiB more per profile; 1000 profiles would need 800 MiB). Preparing
#: the built-in style again costs 0.25 ms, a consultant's file some 50 ms.
CACHE_SIZE = 4


def prepare_reference(
    reference_docx: Path | None = None, primary_colour: str | None = None
) -> PreparedReference:
    """Prepare the fixed package parts of *reference_docx* (the built-in house style when None).

    Cached per process per (path, modification time, size, colour), the last :data:`CACHE_SIZE` of them,
    and so is the error of a file that cannot be used. A consultant's styles win over
    *primary_colour*, which then only colours the styles added from the built-in reference.
    Raises :class:`ReferenceDocError` when the file is missing or not a readable Word document.
    """
    match = _COLOUR.fullmatch(primary_colour or DEFAULT_COLOUR)
    colour = (match.group(1) if match else DEFAULT_COLOUR).upper()
    if reference_docx is None:
        key: tuple[Any, ...] = (None, 0, colour)
    else:
        try:
            info = reference_docx.stat()
            key = (str(reference_docx.resolve()), info.st_mtime_ns, info.st_size, info.st_ino, colour)
        except OSError as error:
            raise ReferenceDocError(
                reference_docx, f"cannot read the reference document: {error.strerror}"
            ) from None
    if key in _FAILED:  # a new exception each time: re-raising one would grow its traceback
        failed = _FAILED[key]
        raise ReferenceDocError(failed.path, str(failed).removeprefix(f"{failed.path}: "))
    if key not in _CACHE:
        try:
            prepared = _builtin(colour) if reference_docx is None else _consultant(reference_docx, colour)
        except ReferenceDocError as error:
            _remember(_FAILED, key, error)
            raise
        _remember(_CACHE, key, prepared)
    return _CACHE[key]


def _remember(cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...], value: Any) -> None:
    """Keep *value* under *key*, forgetting the oldest entry beyond :data:`CACHE_SIZE`."""
    while len(cache) >= CACHE_SIZE:
        del cache[next(iter(cache))]
    cache[key] = value


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
    read = _read_package(path)

    def fail(part: str, message: str) -> ReferenceDocError:
        return ReferenceDocError(path, f"{part}: {message}")

    # Their style ids by (type, name): ids are language-dependent ("Überschrift1"), names are not.
    theirs: dict[tuple[str, str], str] = {}
    used_ids: set[str] = set()
    styles = _text(path, "word/styles.xml", read.get("word/styles.xml"))
    if styles is None:
        styles = f'{XML_DECL}<w:styles xmlns:w="{W_NS}"></w:styles>'
    else:
        _scan(
            path, "word/styles.xml", read["word/styles.xml"], f"{_W}styles", _style_reader(theirs, used_ids)
        )
    styles = _COMMENT.sub("", styles)  # so "</w:styles>" in a comment is not taken for the end
    if "</w:styles>" not in styles:
        raise fail("word/styles.xml", "does not use the usual 'w' namespace prefix")

    raw_ids: dict[str, str] = {}  # style name -> id as in the file (unescaped)
    missing: list[builtin.StyleDef] = []
    for style in builtin.STYLES:
        key = (style.kind, style.name.lower())
        if key in theirs:
            raw_ids[style.name.lower()] = theirs[key]
        else:
            missing.append(style)
            new_id = style.style_id if style.style_id not in used_ids else f"Qms{style.style_id}"
            used_ids.add(new_id)
            raw_ids[style.name.lower()] = new_id
    # their ids go into attributes of every document: escaped once here ("A&B" -> "A&amp;B")
    style_ids = {name: attr(style_id) for name, style_id in raw_ids.items()}
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
    # whatever the file holds (a comment, odd markup), the merged part must define every style we use
    defined: set[str] = set()
    _scan(path, "word/styles.xml", styles.encode("utf-8"), f"{_W}styles", _style_reader({}, defined))
    lacking = sorted(set(raw_ids.values()) - defined)
    if lacking:
        raise fail(
            "word/styles.xml",
            f"the writer's styles cannot be merged into it (missing after the merge: {', '.join(lacking)})",
        )

    geometry: dict[str, dict[str, str]] = {}
    _scan(path, "word/document.xml", read["word/document.xml"], f"{_W}document", _section_reader(geometry))
    section = _section(geometry, lambda message: fail("word/document.xml", message))

    extra: dict[str, bytes] = {}
    for name, root in (("word/theme/theme1.xml", f"{_A_NS} theme"), ("word/fontTable.xml", f"{_W}fonts")):
        if name in read:
            related: list[bool] = []
            _scan(path, name, read[name], root, _relationship_finder(related))
            # embedded fonts or theme pictures would need the part's own relationships, which are not
            # carried over: Word falls back to its defaults without the part
            if not related:
                extra[name] = read[name]

    if "word/numbering.xml" in read:
        _scan(path, "word/numbering.xml", read["word/numbering.xml"], f"{_W}numbering")
    numbering = _merge_numbering(_text(path, "word/numbering.xml", read.get("word/numbering.xml")))
    _check_numbering(path, numbering)
    prepared = _assemble(
        source=str(path),
        style_ids=style_ids,
        styles=styles,
        extra_parts=extra,
        numbering=numbering,
        section=section,
        warnings=warnings,
    )
    check_opens(path, prepared)
    return prepared


_WANTED = frozenset(
    (
        "word/document.xml",
        "word/styles.xml",
        "word/numbering.xml",
        "word/theme/theme1.xml",
        "word/fontTable.xml",
    )
)


def _read_package(path: Path) -> dict[str, bytes]:
    """The parts of the .docx at *path* that qmsdocs uses, read within the limits above."""
    try:
        data = read_regular_file(path, MAX_REFERENCE_BYTES, "a reference document")
    except UnusableFile as error:
        raise ReferenceDocError(path, f"the reference document {error}") from None
    # The member count from the end-of-directory record, before zipfile builds an object per member.
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if end >= 0 and end + 22 <= len(data):
        count, directory = struct.unpack("<HI", data[end + 10 : end + 16])
        if count > MAX_MEMBERS or directory > MAX_MEMBERS * 1024:
            raise _too_many(path, count)
    read: dict[str, bytes] = {}
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
            if len(members) > MAX_MEMBERS:
                raise _too_many(path, len(members))
            names = {member.filename for member in members}
            if "word/document.xml" not in names:
                raise ReferenceDocError(path, "not a Word document (the package has no word/document.xml)")
            for name in sorted(names & _WANTED):
                info = package.getinfo(name)
                limit = megabytes(MAX_PART_BYTES)
                too_big = f"{name}: decompresses to more than {limit}; a part may hold at most {limit}"
                if info.file_size > MAX_PART_BYTES:
                    raise ReferenceDocError(path, too_big)
                with package.open(info) as stream:
                    content = stream.read(MAX_PART_BYTES + 1)  # bounded, whatever the header claims
                if len(content) > MAX_PART_BYTES:
                    raise ReferenceDocError(path, too_big)
                total += len(content)
                if total > MAX_TOTAL_BYTES:
                    raise ReferenceDocError(
                        path, f"its parts decompress to more than {megabytes(MAX_TOTAL_BYTES)} together"
                    )
                read[name] = content
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error) as error:
        raise ReferenceDocError(path, f"not a readable .docx file ({error})") from None
    except (RuntimeError, NotImplementedError) as error:  # encrypted, or an unknown compression method
        raise ReferenceDocError(path, f"not a readable .docx file ({error})") from None
    return read


def _too_many(path: Path, count: int) -> ReferenceDocError:
    return ReferenceDocError(
        path,
        f"not a usable .docx file: it has {count} ZIP members; a reference may have at most {MAX_MEMBERS}",
    )


def _text(path: Path, part: str, data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReferenceDocError(path, f"{part}: not UTF-8 text (byte {error.start})") from None


class _Refused(Exception):
    """Raised inside the XML parser to stop at a document type declaration."""


def _refuse(*_: Any) -> None:
    raise _Refused


StartHandler = Callable[[str, dict[str, str], int], None]


def _scan(path: Path, part: str, data: bytes, root: str, start: StartHandler | None = None) -> None:
    """Parse *data* (the part *part*) with expat, streaming, and check it is well-formed XML whose root
    element is *root* ("namespace local"), with no document type declaration (which is where entities,
    and entity expansion bombs, are declared: Word never writes one). *start* sees every element:
    (name, attributes, depth), names as "namespace local"."""
    from xml.parsers import expat  # only consultants' files need parsing

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    depth = 0
    roots: list[str] = []

    def opened(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        if depth == 0:
            roots.append(name)
        if start is not None:
            start(name, attributes, depth)
        depth += 1

    def closed(name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = opened
    parser.EndElementHandler = closed
    try:
        parser.Parse(data, True)
    except _Refused:
        raise ReferenceDocError(
            path,
            f"{part}: has a document type declaration (<!DOCTYPE>), which Word files never have: refused",
        ) from None
    except expat.ExpatError as error:
        raise ReferenceDocError(path, f"{part}: not well-formed XML (line {error.lineno})") from None
    if roots[0] != root:
        found = roots[0].rpartition(" ")[2]
        raise ReferenceDocError(
            path, f"{part}: the root element is <{found}>, not <{root.rpartition(' ')[2]}>"
        )


def _style_reader(theirs: dict[tuple[str, str], str], ids: set[str]) -> StartHandler:
    """A :func:`_scan` handler collecting the styles (direct children of w:styles) by (type, name) and id."""
    current: list[tuple[str, str]] = []

    def start(name: str, attributes: dict[str, str], depth: int) -> None:
        if depth == 1:
            current.clear()
            if name == f"{_W}style" and attributes.get(f"{_W}styleId"):
                style_id = attributes[f"{_W}styleId"]
                current.append((attributes.get(f"{_W}type", "paragraph"), style_id))
                ids.add(style_id)
                theirs.setdefault((current[0][0], style_id.lower()), style_id)  # unnamed: its id is its name
        elif depth == 2 and current and name == f"{_W}name":
            kind, style_id = current[0]
            named = (kind, attributes.get(f"{_W}val", "").lower())
            if theirs.get((kind, style_id.lower())) == style_id:
                del theirs[(kind, style_id.lower())]
            theirs.setdefault(named, style_id)

    return start


def _section_reader(geometry: dict[str, dict[str, str]]) -> StartHandler:
    """A :func:`_scan` handler keeping the attributes of the body's w:sectPr (the last section's)
    page size and margins."""
    in_section = [False]

    def start(name: str, attributes: dict[str, str], depth: int) -> None:
        if depth == 2:
            in_section[0] = name == f"{_W}sectPr"
            if in_section[0]:
                geometry.clear()
        elif depth == 3 and in_section[0] and name in (f"{_W}pgSz", f"{_W}pgMar"):
            geometry[name.rpartition(" ")[2]] = {
                key.rpartition(" ")[2]: value for key, value in attributes.items() if key.startswith(_W)
            }

    return start


def _relationship_finder(found: list[bool]) -> StartHandler:
    def start(name: str, attributes: dict[str, str], depth: int) -> None:
        if not found and any(key.startswith(f"{_R_NS} ") for key in attributes):
            found.append(True)

    return start


_DEFAULT_SIZE = {"w": "11906", "h": "16838"}
_DEFAULT_MARGINS = {"top": "1134", "right": "1247", "bottom": "1134", "left": "1247", "header": "567",
                    "footer": "567", "gutter": "0"}  # fmt: skip


def _section(geometry: dict[str, dict[str, str]], fail: Callable[[str], ReferenceDocError]) -> str:
    """The w:pgSz and w:pgMar of the writer's documents, rebuilt from the checked numbers of theirs
    (the built-in page when their last section has no page size or no margins)."""
    if "pgSz" not in geometry or "pgMar" not in geometry:
        return builtin.SECTION

    def number(element: str, name: str, default: str, low: int) -> int:
        value = geometry[element].get(name, default)
        if not _INTEGER.fullmatch(value.strip()) or not low <= int(value) <= MAX_PAGE_TWIPS:
            what = "size" if element == "pgSz" else "margin"
            raise fail(
                f'the page {what} w:{element} w:{name}="{value}" is not a whole number of twips '
                f"(1/1440 inch) from {low} to {MAX_PAGE_TWIPS}"
            )
        return int(value)

    width = number("pgSz", "w", _DEFAULT_SIZE["w"], MIN_TEXT_TWIPS)
    height = number("pgSz", "h", _DEFAULT_SIZE["h"], MIN_TEXT_TWIPS)
    margins = {
        name: number("pgMar", name, default, -MAX_PAGE_TWIPS if name in ("top", "bottom") else 0)
        for name, default in _DEFAULT_MARGINS.items()
    }
    across = width - margins["left"] - margins["right"] - margins["gutter"]
    down = height - abs(margins["top"]) - abs(margins["bottom"])
    if across < MIN_TEXT_TWIPS or down < MIN_TEXT_TWIPS:
        raise fail(
            f"the page ({width} x {height} twips) leaves {across} x {down} twips inside its margins; "
            f"the text needs at least {MIN_TEXT_TWIPS} (one inch) each way"
        )
    orient = geometry["pgSz"].get("orient", "")
    orientation = f' w:orient="{orient}"' if orient in ("portrait", "landscape") else ""
    return (
        f'<w:pgSz w:w="{width}" w:h="{height}"{orientation}/><w:pgMar'
        + "".join(f' w:{name}="{value}"' for name, value in margins.items())
        + "/>"
    )


def _check_numbering(path: Path, numbering: tuple[str, str, int, int, int]) -> None:
    """The merged numbering part, with a list of each kind in it, must be well-formed, hold our two
    definitions and the lists as its own children, and point at no other part."""
    head, tail, bullet, number, first = numbering
    if first + 1 > _MAX_LIST_ID or number > _MAX_LIST_ID:
        raise ReferenceDocError(
            path, "word/numbering.xml: its list ids are too large to add the writer's lists"
        )
    lists = (
        f'<w:num w:numId="{first}"><w:abstractNumId w:val="{bullet}"/></w:num>'
        f'<w:num w:numId="{first + 1}"><w:abstractNumId w:val="{number}"/></w:num>'
    )
    children: set[tuple[str, str]] = set()
    related: list[bool] = []
    find_related = _relationship_finder(related)

    def start(name: str, attributes: dict[str, str], depth: int) -> None:
        find_related(name, attributes, depth)
        if depth == 1:
            children.add((name, attributes.get(f"{_W}abstractNumId") or attributes.get(f"{_W}numId", "")))

    _scan(path, "word/numbering.xml", (head + lists + tail).encode("utf-8"), f"{_W}numbering", start)
    expected = {
        (f"{_W}abstractNum", str(bullet)),
        (f"{_W}abstractNum", str(number)),
        (f"{_W}num", str(first)),
        (f"{_W}num", str(first + 1)),
    }
    if not expected <= children:
        raise ReferenceDocError(
            path, "word/numbering.xml: the writer's list definitions cannot be merged into it"
        )
    if related:
        raise ReferenceDocError(
            path,
            "word/numbering.xml: refers to other parts of the file (pictures), which are not carried over",
        )


def _merge_numbering(numbering: str | None) -> tuple[str, str, int, int, int]:
    """Their numbering part with our two abstract definitions added under fresh ids.

    Returns (head, tail, bullet abstract id, number abstract id, first free w:numId); per-document
    ``w:num`` elements go between head and tail. Schema order: every abstractNum precedes every num.
    """
    if not numbering or "</w:numbering>" not in numbering:
        numbering = f'{XML_DECL}<w:numbering xmlns:w="{W_NS}"></w:numbering>'
    # comments carry nothing, and a "<w:num" in one must not be taken for where the lists start
    numbering = _COMMENT.sub("", numbering)
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
