"""Word files and images as untrusted input (issue #18, items 2, 4, 6, 9 and 10 for DOCX).

A consultant's reference .docx and the images a template links come from outside: each hostile input
here must end in a clear error naming the file (and the part, or the template and line), exit 1 from
``qmsdocs build`` with nothing written for that profile, never a traceback, a hang or a blown memory.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import re
import signal
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from docx.enum.section import WD_ORIENT
from docx.shared import Cm
from docx_helpers import check_package, render, sample_meta
from hypothesis import given, settings
from hypothesis import strategies as st

import qmsdocs.writers.meta
from qmsdocs.cli import main
from qmsdocs.errors import DocumentError, ReferenceDocError
from qmsdocs.markdown.tree import parse
from qmsdocs.writers.docx import body, images, prepare_reference, reference, write_docx
from qmsdocs.writers.markdown import write_markdown

ProfileCopy = Callable[[str], Path]


# ---------------------------------------------------------------------------------------------- helpers


def png(width: int, height: int) -> bytes:
    """A complete grey PNG of the given size."""

    def chunk(kind: bytes, content: bytes) -> bytes:
        return (
            struct.pack(">I", len(content)) + kind + content + struct.pack(">I", zlib.crc32(kind + content))
        )

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int) -> bytes:
    """A JPEG skeleton (SOI, APP0, SOF0, SOS, EOI): enough for the header reader."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00" + b"\x00" * 16
    return b"\xff\xd8" + app0 + sof + sos + b"\xff\xd9"


@pytest.fixture(scope="module")
def base_docx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good reference: Word's default template as python-docx saves it, US Letter landscape."""
    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(27.94), Cm(21.59)
    path = tmp_path_factory.mktemp("ref") / "brand.docx"
    document.save(str(path))
    return path


def variant(base: Path, target: Path, parts: dict[str, bytes | None]) -> Path:
    """A copy of the .docx *base* at *target* with *parts* replaced, added or (None) left out."""
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            if item.filename not in parts:
                out.writestr(item.filename, source.read(item))
        for name, content in parts.items():
            if content is not None:
                out.writestr(name, content)
    return target


def part_of(base: Path, name: str) -> str:
    with zipfile.ZipFile(base) as package:
        return package.read(name).decode("utf-8")


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (a FIFO, /dev/zero) when the block takes longer than *seconds*."""

    def expired(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def fresh_reference_cache() -> Iterator[None]:
    """Each test prepares its files from scratch (the cache is keyed by path and mtime)."""
    reference._CACHE.clear()
    reference._FAILED.clear()
    yield
    reference._CACHE.clear()
    reference._FAILED.clear()


def cli_build(runner: CliRunner, profile: Path, out: Path, *options: str) -> tuple[int, str]:
    """``qmsdocs build PROFILE -o OUT -j 1 -q [options]``: (exit code, stderr)."""
    before = set(multiprocessing.active_children())
    result = runner.invoke(main, ["build", str(profile), "-o", str(out), "-j", "1", "-q", *options])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert set(multiprocessing.active_children()) <= before  # no worker left behind
    return result.exit_code, result.stderr


def files_below(folder: Path) -> list[str]:
    return (
        sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        if folder.exists()
        else []
    )


def stamp(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


# ----------------------------------------------------- item 6: a broken reference must not pass through


BROKEN_LINE_3 = '<?xml version="1.0"?>\n<w:{root} xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">\n<w:x></w:y>\n</w:{root}>'


@pytest.mark.parametrize(
    ("part", "content"),
    [
        ("word/numbering.xml", BROKEN_LINE_3.format(root="numbering")),
        ("word/styles.xml", BROKEN_LINE_3.format(root="styles")),
        ("word/fontTable.xml", BROKEN_LINE_3.format(root="fonts")),
        ("word/document.xml", BROKEN_LINE_3.format(root="document")),
        (
            "word/theme/theme1.xml",
            '<?xml version="1.0"?>\n<a:theme xmlns:a="urn:a">\n<a:x></a:y>\n</a:theme>',
        ),
    ],
)
def test_a_part_that_is_not_well_formed_names_file_part_and_line(
    tmp_path: Path, base_docx: Path, part: str, content: str
) -> None:
    path = variant(base_docx, tmp_path / "brand.docx", {part: content.encode()})
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    assert str(caught.value) == f"{path}: {part}: not well-formed XML (line 3)"


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE w:styles [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + ']>\n<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    '<w:style w:styleId="X"><w:name w:val="&j;"/></w:style></w:styles>'
)


@pytest.mark.parametrize(
    "part",
    [
        "word/styles.xml",
        "word/numbering.xml",
        "word/theme/theme1.xml",
        "word/fontTable.xml",
        "word/document.xml",
    ],
)
def test_a_document_type_declaration_is_refused_in_every_part(
    tmp_path: Path, base_docx: Path, part: str
) -> None:
    path = variant(base_docx, tmp_path / "brand.docx", {part: BILLION_LAUGHS.encode()})
    started = time.perf_counter()
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    assert str(caught.value) == (
        f"{path}: {part}: has a document type declaration (<!DOCTYPE>), which Word files never have: refused"
    )
    assert time.perf_counter() - started < 1  # nothing was expanded


def test_a_document_type_declaration_in_utf16_is_refused_too(tmp_path: Path, base_docx: Path) -> None:
    # the check is the parser's, not a search for the bytes "<!DOCTYPE"
    theme = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE t [<!ENTITY x "y">]><a:theme xmlns:a="urn:a"/>'
    path = variant(base_docx, tmp_path / "brand.docx", {"word/theme/theme1.xml": theme.encode("utf-16")})
    with pytest.raises(ReferenceDocError, match=r"theme1\.xml: has a document type declaration"):
        prepare_reference(path)


def test_an_undefined_entity_is_not_well_formed(tmp_path: Path, base_docx: Path) -> None:
    styles = part_of(base_docx, "word/styles.xml").replace('w:val="Normal"', 'w:val="&ext;"', 1)
    path = variant(base_docx, tmp_path / "brand.docx", {"word/styles.xml": styles.encode()})
    with pytest.raises(
        ReferenceDocError, match=r"^.*brand\.docx: word/styles\.xml: not well-formed XML \(line 2\)$"
    ):
        prepare_reference(path)


def test_a_part_with_the_wrong_root_element(tmp_path: Path, base_docx: Path) -> None:
    path = variant(
        base_docx,
        tmp_path / "brand.docx",
        {"word/numbering.xml": part_of(base_docx, "word/fontTable.xml").encode()},
    )
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    assert str(caught.value) == f"{path}: word/numbering.xml: the root element is <fonts>, not <numbering>"


def test_a_part_that_is_not_utf8(tmp_path: Path, base_docx: Path) -> None:
    styles = part_of(base_docx, "word/styles.xml").encode("utf-16")
    path = variant(base_docx, tmp_path / "brand.docx", {"word/styles.xml": styles})
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    assert str(caught.value) == f"{path}: word/styles.xml: not UTF-8 text (byte 0)"


@pytest.mark.parametrize(
    ("size", "margins", "message"),
    [
        (
            'w:w="abc" w:h="15840"',
            "",
            'the page size w:pgSz w:w="abc" is not a whole number of twips (1/1440 inch) from 1440 to 31680',
        ),
        ('w:w="0" w:h="15840"', "", 'the page size w:pgSz w:w="0" is not a whole number'),
        ('w:w="-12240" w:h="15840"', "", 'the page size w:pgSz w:w="-12240" is not a whole number'),
        ('w:w="12240" w:h="99999999999"', "", 'the page size w:pgSz w:h="99999999999" is not a whole number'),
        ('w:w="12240.5" w:h="15840"', "", 'the page size w:pgSz w:w="12240.5" is not a whole number'),
        (
            'w:w="12240" w:h="15840"',
            'w:left="-5"',
            'the page margin w:pgMar w:left="-5" is not a whole number of twips (1/1440 inch) from 0 to 31680',
        ),
        (
            'w:w="12240" w:h="15840"',
            'w:left="6000" w:right="6000"',
            "the page (12240 x 15840 twips) leaves 240 x 12960 twips inside its margins; the text needs at least 1440 (one inch) each way",
        ),
    ],
)
def test_bad_page_geometry(tmp_path: Path, base_docx: Path, size: str, margins: str, message: str) -> None:
    document = part_of(base_docx, "word/document.xml")
    document = re.sub(r"<w:pgSz [^>]*/>", f"<w:pgSz {size}/>", document)
    if margins:
        document = re.sub(r'w:left="\d+"', "", document)
        document = re.sub(r'w:right="\d+"', "", document)
        document = document.replace("<w:pgMar ", f"<w:pgMar {margins} ")
    path = variant(base_docx, tmp_path / "brand.docx", {"word/document.xml": document.encode()})
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    assert str(caught.value).startswith(f"{path}: word/document.xml: {message}")


def test_page_geometry_is_rebuilt_from_numbers(tmp_path: Path, base_docx: Path) -> None:
    """Only checked numbers reach the output: an extra attribute of theirs on w:pgSz is not copied."""
    document = part_of(base_docx, "word/document.xml").replace("<w:pgSz ", '<w:pgSz w:code="9" ')
    path = variant(base_docx, tmp_path / "brand.docx", {"word/document.xml": document.encode()})
    ref = prepare_reference(path)
    assert ref.section == (
        '<w:pgSz w:w="15840" w:h="12240" w:orient="landscape"/><w:pgMar w:top="1440" w:right="1800"'
        ' w:bottom="1440" w:left="1800" w:header="720" w:footer="720" w:gutter="0"/>'
    )
    opened = docx.Document(io.BytesIO(render("# Title\n\ntext\n", ref=ref)))
    assert round(opened.sections[0].page_width.cm, 2) == 27.94


def test_style_ids_needing_escapes_are_escaped_in_every_document(tmp_path: Path, base_docx: Path) -> None:
    styles = part_of(base_docx, "word/styles.xml").replace(
        'w:styleId="Heading1"', 'w:styleId="H&amp;1&lt;\'x"'
    )
    path = variant(base_docx, tmp_path / "brand.docx", {"word/styles.xml": styles.encode()})
    ref = prepare_reference(path)
    data = write_docx(parse("# Purpose\n\ntext\n"), sample_meta(), ref)  # (check_package compares raw ids)
    opened = docx.Document(io.BytesIO(data))
    heading = next(p for p in opened.paragraphs if p.text == "Purpose")
    assert heading.style.style_id == "H&1<'x"
    assert heading.style.name == "Heading 1"


def test_a_reference_whose_documents_python_docx_cannot_open_is_refused(
    tmp_path: Path, base_docx: Path
) -> None:
    """The last check opens a small document written with the reference: python-docx cannot look up a
    style id holding a double quote (Word's own ids never do)."""
    styles = part_of(base_docx, "word/styles.xml").replace('w:styleId="Heading1"', 'w:styleId="H&quot;1"')
    path = variant(base_docx, tmp_path / "brand.docx", {"word/styles.xml": styles.encode()})
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    assert str(caught.value) == (
        f"{path}: the documents written with it cannot be opened (XPathEvalError: Invalid predicate)"
    )


def test_comments_do_not_derail_the_merge(tmp_path: Path, base_docx: Path) -> None:
    """A "<w:num" or "</w:styles>" inside a comment is not where lists start or styles end."""
    numbering = part_of(base_docx, "word/numbering.xml").replace(
        "<w:abstractNum ", '<!-- <w:num w:numId="7"> --><w:abstractNum ', 1
    )
    styles = part_of(base_docx, "word/styles.xml") + "<!-- </w:styles> -->"
    path = variant(
        base_docx,
        tmp_path / "brand.docx",
        {"word/numbering.xml": numbering.encode(), "word/styles.xml": styles.encode()},
    )
    data = render("- one\n- two\n\n1. first\n\n> a note\n", ref=prepare_reference(path))
    check_package(data)
    assert [p.style.name for p in docx.Document(io.BytesIO(data)).paragraphs if p.text == "one"] == [
        "List Bullet"
    ]


def test_a_merge_that_still_fails_is_an_error_not_a_broken_document(tmp_path: Path, base_docx: Path) -> None:
    # CDATA text is no comment: the lists would end up inside it; the merged part is checked and refused
    numbering = part_of(base_docx, "word/numbering.xml").replace(
        "<w:abstractNum ", "<![CDATA[ <w:num ]]><w:abstractNum ", 1
    )
    path = variant(base_docx, tmp_path / "brand.docx", {"word/numbering.xml": numbering.encode()})
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    assert (
        str(caught.value)
        == f"{path}: word/numbering.xml: the writer's list definitions cannot be merged into it"
    )


def test_parts_pointing_at_other_parts_are_left_out(tmp_path: Path, base_docx: Path) -> None:
    """A theme with a picture or a font table with embedded fonts needs relationships that are not
    carried over: the part is left out (Word uses its defaults), the documents still open."""
    r = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    theme = part_of(base_docx, "word/theme/theme1.xml").replace(
        "<a:themeElements>", f'<a:themeElements xmlns:r="{r}" r:id="rId1">', 1
    )
    path = variant(base_docx, tmp_path / "brand.docx", {"word/theme/theme1.xml": theme.encode()})
    ref = prepare_reference(path)
    assert "word/theme/theme1.xml" not in ref.fixed_parts
    assert "word/fontTable.xml" in ref.fixed_parts
    docx.Document(io.BytesIO(render("# A\n", ref=ref)))


def test_cli_broken_numbering_fails_the_profile_and_writes_nothing(
    tmp_path: Path, base_docx: Path, profile_copy: ProfileCopy, runner: CliRunner
) -> None:
    source = profile_copy("minimal.yaml")
    brand = variant(
        base_docx,
        tmp_path / "brand.docx",
        {"word/numbering.xml": BROKEN_LINE_3.format(root="numbering").encode()},
    )
    canary = tmp_path / "canary.txt"
    canary.write_text("keep")
    before = stamp(canary)
    code, err = cli_build(runner, source, tmp_path / "out", "--reference-docx", str(brand))
    assert code == 1
    assert f"{brand}: word/numbering.xml: not well-formed XML (line 3)" in err
    assert "Traceback" not in err
    assert files_below(tmp_path / "out" / "minimal") == []
    assert stamp(canary) == before


def test_cli_good_reference_builds_documents_python_docx_opens(
    tmp_path: Path, base_docx: Path, profile_copy: ProfileCopy, runner: CliRunner
) -> None:
    source = profile_copy("minimal.yaml")
    code, err = cli_build(runner, source, tmp_path / "out", "--reference-docx", str(base_docx), "-f", "docx")
    assert code == 0, err
    written = sorted((tmp_path / "out" / "minimal").glob("*.docx"))
    assert written
    for path in written:
        opened = docx.Document(str(path))
        assert round(opened.sections[0].page_width.cm, 2) == 27.94


# ---------------------------------------------------------- item 4: zip bombs and special files


def test_a_part_over_the_limit_is_refused_before_it_is_read(tmp_path: Path, base_docx: Path) -> None:
    """The default limit (20 MB a part): 21 MB of styles deflate to 21 KB."""
    path = variant(base_docx, tmp_path / "bomb.docx", {"word/styles.xml": b" " * 21_000_000})
    assert path.stat().st_size < 200_000
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    assert (
        str(caught.value)
        == f"{path}: word/styles.xml: decompresses to more than 20 MB; a part may hold at most 20 MB"
    )


def test_a_zip_header_that_lies_about_the_size_cannot_pass(
    tmp_path: Path, base_docx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory says 100 bytes, the data inflates to 2 MB: the bounded reader stops anyway."""
    monkeypatch.setattr(reference, "MAX_PART_BYTES", 100_000)
    path = variant(base_docx, tmp_path / "liar.docx", {"word/numbering.xml": b"<" * 2_000_000})
    data = bytearray(path.read_bytes())
    name = b"word/numbering.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, directory entry
        at = data.find(signature + b"")
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[at + size_at : at + size_at + 4] = struct.pack("<I", 100)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "word/numbering.xml" in message  # a CRC error or not well-formed: either way refused, quickly


def test_the_total_of_the_parts_is_capped(
    tmp_path: Path, base_docx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference, "MAX_TOTAL_BYTES", 300_000)  # styles.xml alone is 349 KB
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(base_docx)
    assert str(caught.value) == f"{base_docx}: its parts decompress to more than 300 KB together"


def test_too_many_members(tmp_path: Path, base_docx: Path) -> None:
    path = variant(base_docx, tmp_path / "many.docx", {f"customXml/x{i}.xml": b"" for i in range(1001)})
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    assert str(caught.value) == (
        f"{path}: not a usable .docx file: it has 1018 ZIP members; a reference may have at most 1000"
    )


def test_the_file_size_is_capped(tmp_path: Path, base_docx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference, "MAX_REFERENCE_BYTES", 10_000)
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(base_docx)
    size = qmsdocs.writers.meta.megabytes(base_docx.stat().st_size)
    assert str(caught.value) == (
        f"{base_docx}: the reference document is {size}; a reference document may be at most 10 KB"
    )


def test_dev_zero_is_refused_at_once() -> None:
    with deadline(5), pytest.raises(ReferenceDocError) as caught:
        prepare_reference(Path("/dev/zero"))
    assert str(caught.value) == "/dev/zero: the reference document is a device, not a regular file"


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "brand.docx"
    os.mkfifo(fifo)
    with deadline(5), pytest.raises(ReferenceDocError) as caught:
        prepare_reference(fifo)
    assert str(caught.value) == f"{fifo}: the reference document is a named pipe (FIFO), not a regular file"


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDocError, match=r"the reference document is a folder, not a regular file"):
        prepare_reference(tmp_path)


def test_cli_zip_bomb_fails_the_profile_and_writes_nothing(
    tmp_path: Path,
    base_docx: Path,
    profile_copy: ProfileCopy,
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reference, "MAX_PART_BYTES", 200_000)
    source = profile_copy("minimal.yaml")
    bomb = variant(base_docx, tmp_path / "bomb.docx", {"word/numbering.xml": b" " * 5_000_000})
    code, err = cli_build(runner, source, tmp_path / "out", "--reference-docx", str(bomb))
    assert code == 1
    assert (
        f"{bomb}: word/numbering.xml: decompresses to more than 200 KB; a part may hold at most 200 KB" in err
    )
    assert files_below(tmp_path / "out" / "minimal") == []


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_cli_special_file_as_reference_fails_at_once(
    tmp_path: Path, profile_copy: ProfileCopy, runner: CliRunner, special: str
) -> None:
    source = profile_copy("minimal.yaml")
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "brand.docx"
        os.mkfifo(path)
    kind = "a device" if special == "/dev/zero" else "a named pipe (FIFO)"
    with deadline(10):
        code, err = cli_build(runner, source, tmp_path / "out", "--reference-docx", str(path))
    assert code == 1
    assert f"    {path}: the reference document is {kind}, not a regular file\n" in err
    assert files_below(tmp_path / "out" / "minimal") == []


def test_a_bad_reference_fails_each_profile_from_the_cache(tmp_path: Path, base_docx: Path) -> None:
    path = variant(base_docx, tmp_path / "brand.docx", {"word/styles.xml": b"<w:styles"})
    messages = []
    for _ in range(2):
        with pytest.raises(ReferenceDocError) as caught:
            prepare_reference(path)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] == f"{path}: word/styles.xml: not well-formed XML (line 1)"


# ------------------------------------------------------------- item 2: which images a template can embed


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    """A profile folder, a template layer and a folder outside both, each holding a good PNG."""
    made = {name: tmp_path / name for name in ("profile", "layer", "outside")}
    for folder in made.values():
        folder.mkdir()
        (folder / "pic.png").write_bytes(png(20, 10))
    return made


def meta_for(folders: dict[str, Path]) -> qmsdocs.writers.meta.DocumentMeta:
    return sample_meta(base_dir=folders["profile"], image_dirs=(folders["layer"],), logo=None)


def both_writers(markdown: str, meta: qmsdocs.writers.meta.DocumentMeta) -> list[str]:
    """The error message of the Markdown writer and of the DOCX writer, in that order."""
    messages = []
    with pytest.raises(DocumentError) as caught:
        write_markdown(markdown, meta)
    messages.append(str(caught.value))
    with pytest.raises(DocumentError) as caught:
        render(markdown, meta=meta)
    messages.append(str(caught.value))
    return messages


PREFIX = "builtin/procedures/internal-audit.md.j2: line 3 of the rendered Markdown: "


def test_images_from_the_profile_folder_and_the_layer_are_embedded(folders: dict[str, Path]) -> None:
    meta = meta_for(folders)
    text = f"![a](pic.png)\n\n![b]({folders['layer'] / 'pic.png'})\n\n![c](sub/%C3%96l.png)\n"
    (folders["profile"] / "sub").mkdir()
    (folders["profile"] / "sub" / "Öl.png").write_bytes(png(5, 5))  # the parser escapes the name
    write_markdown(text, meta)
    data = render(text, meta=meta)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert len([n for n in package.namelist() if n.startswith("word/media/")]) == 3


@pytest.mark.parametrize("link", ["{outside}/pic.png", "../outside/pic.png", "%2E%2E/outside/pic.png"])
def test_an_image_outside_the_allowed_folders_is_an_error_in_both_writers(
    folders: dict[str, Path], link: str
) -> None:
    meta = meta_for(folders)
    src = link.format(outside=folders["outside"])
    expected = (
        f"{PREFIX}the image {src!r} ({folders['outside'] / 'pic.png'}) is outside the folders images may come "
        f"from: the profile's folder {folders['profile']} and the template's layer {folders['layer']}; "
        "copy the image into one of them"
    )
    assert both_writers(f"Text.\n\n![x]({src})\n", meta) == [expected, expected]


def test_a_symlink_out_of_the_profile_folder_is_an_error(folders: dict[str, Path]) -> None:
    (folders["profile"] / "link.png").symlink_to(folders["outside"] / "pic.png")
    messages = both_writers("Text.\n\n![x](link.png)\n", meta_for(folders))
    assert messages[0] == messages[1]
    assert f"the image 'link.png' ({folders['outside'] / 'pic.png'}) is outside the folders" in messages[0]


def test_dev_zero_as_an_image(folders: dict[str, Path]) -> None:
    with deadline(5):
        messages = both_writers("Text.\n\n![x](/dev/zero)\n", meta_for(folders))
    assert messages[0] == messages[1]
    assert messages[0].startswith(f"{PREFIX}the image '/dev/zero' (/dev/zero) is outside the folders")


def test_special_files_inside_the_profile_folder(folders: dict[str, Path]) -> None:
    os.mkfifo(folders["profile"] / "pipe.png")
    (folders["profile"] / "dir.png").mkdir()
    meta = meta_for(folders)
    with deadline(5):
        for name, kind in (("pipe.png", "a named pipe (FIFO)"), ("dir.png", "a folder")):
            expected = (
                f"{PREFIX}the image '{name}' ({folders['profile'] / name}) is {kind}, not a regular file"
            )
            assert both_writers(f"Text.\n\n![x]({name})\n", meta) == [expected, expected]


def test_an_image_over_the_size_limit(folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qmsdocs.writers.meta, "MAX_IMAGE_BYTES", 1000)
    (folders["profile"] / "big.png").write_bytes(png(400, 400))
    size = qmsdocs.writers.meta.megabytes((folders["profile"] / "big.png").stat().st_size)
    expected = f"{PREFIX}the image 'big.png' ({folders['profile'] / 'big.png'}) is {size}; an image may be at most 1 KB"
    assert both_writers("Text.\n\n![x](big.png)\n", meta_for(folders)) == [expected, expected]


def test_a_missing_or_remote_image_is_an_error_in_the_markdown_too(folders: dict[str, Path]) -> None:
    missing, remote = (
        both_writers("Text.\n\n![x](gone.png)\n", meta_for(folders)),
        both_writers("Text.\n\n![x](https://example.com/x.png)\n", meta_for(folders)),
    )
    assert (
        missing[0]
        == missing[1]
        == (
            f"{PREFIX}cannot read the image 'gone.png' ({folders['profile'] / 'gone.png'}): No such file or directory"
        )
    )
    assert (
        remote[0]
        == remote[1]
        == (
            f"{PREFIX}the remote image 'https://example.com/x.png' is not supported: download it and reference a "
            "local file instead"
        )
    )


def test_in_memory_charts_are_not_files(folders: dict[str, Path]) -> None:
    text = "Text.\n\n![Radar](charts/radar.png)\n"
    charts = {"charts/radar.png": png(30, 20)}
    assert "![Radar](charts/radar.png)" in write_markdown(text, meta_for(folders), images=charts)
    render(text, meta=meta_for(folders), images=charts)


def test_a_meta_without_a_profile_folder_embeds_no_local_file(folders: dict[str, Path]) -> None:
    meta = sample_meta(base_dir=None, logo=None)
    src = str(folders["profile"] / "pic.png")
    assert both_writers(f"Text.\n\n![x]({src})\n", meta)[1] == (
        f"{PREFIX}the image {src!r} ({src}) is outside the folders images may come from: "
        "no folder (the profile has none); copy the image into one of them"
    )


LAYER_TEMPLATE = """---
id: WI-99
title: Site plan
category: form
---
Site plan of {{{{ org.name }}}}.

{image}
"""


def test_cli_image_outside_is_a_template_error_and_nothing_is_written(
    tmp_path: Path, profile_copy: ProfileCopy, runner: CliRunner
) -> None:
    source = profile_copy("minimal.yaml")
    secret = tmp_path / "secret" / "scan.png"
    secret.parent.mkdir()
    secret.write_bytes(png(10, 10))
    before = stamp(secret)
    layer = tmp_path / "layer"
    (layer / "forms").mkdir(parents=True)
    template = layer / "forms" / "plan.md.j2"
    template.write_text(LAYER_TEMPLATE.format(image=f"![plan]({secret})"), encoding="utf-8")
    for formats in (["-f", "md"], ["-f", "docx"]):
        code, err = cli_build(runner, source, tmp_path / "out", "-t", str(layer), *formats)
        assert code == 1
        assert (
            f"{template}: line 3 of the rendered Markdown: the image '{secret}' ({secret}) is outside the folders"
            in err
        )
        assert files_below(tmp_path / "out" / "minimal") == []
    assert stamp(secret) == before


def test_cli_image_in_the_layer_is_embedded(
    tmp_path: Path, profile_copy: ProfileCopy, runner: CliRunner
) -> None:
    source = profile_copy("minimal.yaml")
    layer = tmp_path / "layer"
    (layer / "forms").mkdir(parents=True)
    (layer / "forms" / "stamp.png").write_bytes(png(10, 10))
    (layer / "forms" / "plan.md.j2").write_text(
        LAYER_TEMPLATE.format(image=f"![stamp]({layer / 'forms' / 'stamp.png'})"), encoding="utf-8"
    )
    code, err = cli_build(runner, source, tmp_path / "out", "-t", str(layer), "-f", "docx")
    assert code == 0, err
    (built,) = (tmp_path / "out" / "minimal").glob("*WI-99*.docx")
    with zipfile.ZipFile(built) as package:
        assert "word/media/image1.png" in package.namelist()


# ------------------------------------------------------ item 9: damaged images are input errors


def test_a_truncated_png_logo_names_the_logo(tmp_path: Path) -> None:
    for data, reason in (
        (png(10, 10)[:20], "the PNG file is truncated or damaged (no image header)"),
        (png(10, 10)[:-5], "the PNG file is truncated (it does not end with its IEND chunk)"),
    ):
        logo = tmp_path / "logo.png"
        logo.write_bytes(data)
        with pytest.raises(DocumentError) as caught:
            render("text\n", meta=sample_meta(logo=logo))
        assert (
            str(caught.value)
            == f"builtin/procedures/internal-audit.md.j2: the logo {logo} cannot be embedded: {reason}"
        )


def test_a_logo_that_is_a_fifo_or_too_big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "logo.png"
    os.mkfifo(fifo)
    with deadline(5), pytest.raises(DocumentError) as caught:
        render("text\n", meta=sample_meta(logo=fifo))
    assert str(caught.value) == (
        f"builtin/procedures/internal-audit.md.j2: the logo {fifo} is a named pipe (FIFO), not a regular file"
    )
    monkeypatch.setattr(qmsdocs.writers.meta, "MAX_IMAGE_BYTES", 50)
    big = tmp_path / "big.png"
    big.write_bytes(png(30, 30))
    size = qmsdocs.writers.meta.megabytes(big.stat().st_size)
    with pytest.raises(DocumentError) as caught:
        render("text\n", meta=sample_meta(logo=big))
    assert str(caught.value) == (
        f"builtin/procedures/internal-audit.md.j2: the logo {big} is {size}; a logo may be at most 50 bytes"
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (png(20, 0), "the image has no pixels (20 x 0)"),
        (jpeg(20, 0), "the image has no pixels (20 x 0)"),
        (jpeg(0, 20), "the image has no pixels (0 x 20)"),
        (jpeg(20, 20)[:-2], "the JPEG file is truncated (no end-of-image marker after its frame)"),
        (jpeg(20, 20)[:24], "the JPEG file has no frame header (truncated or damaged)"),
        (png(20, 20)[:30], "the PNG file is truncated or damaged (no image header)"),
    ],
)
def test_zero_sized_and_truncated_images_with_a_height_hint(tmp_path: Path, data: bytes, reason: str) -> None:
    (tmp_path / "x.png").write_bytes(data)
    meta = sample_meta(base_dir=tmp_path, logo=None)
    with pytest.raises(DocumentError) as caught:
        render('Text.\n\n![x](x.png "height=2cm")\n', meta=meta)
    assert str(caught.value) == f"{PREFIX}the image 'x.png' is not supported: {reason}"


def test_an_image_declaring_too_many_pixels(tmp_path: Path) -> None:
    header = png(1, 1)
    huge = header[:16] + struct.pack(">II", 50_000, 50_000) + header[24:]  # the CRC is not checked
    (tmp_path / "x.png").write_bytes(huge)
    with pytest.raises(
        DocumentError, match=r"has 50000 x 50000 pixels; at most 89,478,485 pixels can be embedded"
    ):
        render("Text.\n\n![x](x.png)\n", meta=sample_meta(base_dir=tmp_path, logo=None))


def test_cli_zero_height_image_is_an_error(
    tmp_path: Path, profile_copy: ProfileCopy, runner: CliRunner
) -> None:
    source = profile_copy("minimal.yaml")
    (source.parent / "flat.jpg").write_bytes(jpeg(100, 0))
    layer = tmp_path / "layer"
    (layer / "forms").mkdir(parents=True)
    template = layer / "forms" / "plan.md.j2"
    template.write_text(LAYER_TEMPLATE.format(image='![flat](flat.jpg "height=2cm")'), encoding="utf-8")
    code, err = cli_build(runner, source, tmp_path / "out", "-t", str(layer), "-f", "docx")
    assert code == 1
    assert (
        f"{template}: line 3 of the rendered Markdown: the image 'flat.jpg' is not supported: "
        "the image has no pixels (100 x 0)"
    ) in err
    assert "Traceback" not in err
    assert files_below(tmp_path / "out" / "minimal") == []


GOOD = [png(3, 2), png(1, 1), jpeg(7, 5)]


def _mutations() -> st.SearchStrategy[bytes]:
    truncated = st.tuples(st.sampled_from(GOOD), st.integers(0, 200)).map(lambda t: t[0][: t[1]])
    flipped = st.tuples(st.sampled_from(GOOD), st.integers(0, 200), st.integers(0, 255)).map(
        lambda t: t[0][: t[1]] + bytes([t[2]]) + t[0][t[1] + 1 :]
    )
    headed = st.tuples(
        st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"\xff\xd8\xff"]), st.binary(max_size=120)
    )
    return st.one_of(truncated, flipped, headed.map(lambda t: t[0] + t[1]), st.binary(max_size=64))


@settings(max_examples=1000, deadline=None)
@given(_mutations())
def test_fuzz_image_info(data: bytes) -> None:
    try:
        ext, width, height, dpi = images.image_info(data)
    except images.ImageFormatError:
        return
    assert ext in ("png", "jpeg")
    assert 0 < width * height <= images.MAX_PIXELS
    assert dpi > 0


@settings(max_examples=600, deadline=None)
@given(
    st.integers(-5, 2**32),
    st.integers(-5, 2**32),
    st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, 96.0, 1e-300, 1e300])),
    st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from(["width", "height"]),
            st.floats(min_value=0, allow_nan=False),
            st.sampled_from(["cm", "mm", "in", "pt", "px", "%"]),
        ),
        st.text(max_size=30).map(images.parse_hint),
    ),
    st.integers(-(10**7), 10**8),
)
def test_fuzz_extent(
    width: int, height: int, dpi: float, hint: tuple[str, float, str] | None, max_emu: int
) -> None:
    try:
        cx, cy = images.extent(width, height, dpi, hint, max_emu)
    except images.ImageFormatError:
        assert width <= 0 or height <= 0 or not images.DPI_RANGE[0] <= dpi <= images.DPI_RANGE[1]
        return
    assert isinstance(cx, int)
    assert isinstance(cy, int)
    assert 0 <= cx <= max(max_emu, 0)
    assert cx <= images.MAX_EXTENT_EMU
    assert 0 <= cy <= images.MAX_EXTENT_EMU


# ------------------------------------------------ item 10: unique bookmarks, bounded caches


def bookmarks_and_links(data: bytes) -> tuple[list[str], list[str]]:
    """The bookmark names of the headings and the anchors of the body's links (the table of contents,
    when there is one, links every heading first: checked and left out)."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = package.read("word/document.xml").decode()
    names = re.findall(r'<w:bookmarkStart w:id="\d+" w:name="([^"]+)"/>', xml)
    links = re.findall(r'<w:hyperlink w:anchor="([^"]+)"', xml)
    if 'TOC \\o "1-3"' in xml:
        assert links[: len(names)] == names
        links = links[len(names) :]
    return names, links


def test_headings_sharing_their_first_39_characters_get_distinct_bookmarks() -> None:
    stem = "Control of externally provided processes"  # 40 characters: its slug fills a bookmark
    long_a, long_b = f"{stem} and products", f"{stem} and services"
    markdown = (
        f"See [a](#{long_a.lower().replace(' ', '-')}), [b](#{long_b.lower().replace(' ', '-')}), "
        "[c](#a-b), [d](#a_b) and [e](#scope-1).\n\n"
        f"# {long_a}\n\n# {long_b}\n\n# A b\n\n# A_b\n\n# Scope\n\n# Scope\n"
    )
    data = render(markdown)
    names, links = bookmarks_and_links(data)
    assert len(names) == len(set(names)) == 6
    assert all(len(name) <= 40 for name in names)
    assert links == [names[0], names[1], names[2], names[3], names[5]]  # each link finds its own heading
    docx.Document(io.BytesIO(data))


def test_a_link_to_a_missing_anchor_is_still_an_error() -> None:
    with pytest.raises(DocumentError) as caught:
        render("# Scope\n\n[x](#scop_e)\n")
    assert str(caught.value) == (
        "builtin/procedures/internal-audit.md.j2: line 3 of the rendered Markdown: "
        "the link to #scop_e is not supported: no heading has that anchor"
    )


def test_the_run_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(body, "RUNS_LIMIT", 50)
    ref = prepare_reference()
    ref.inline_runs.clear()
    for client in range(30):
        render("".join(f"Paragraph {i} of client {client}.\n\n" for i in range(10)), ref=ref)
        assert len(ref.inline_runs) <= 50
    assert ref.inline_runs  # still a cache


def test_prepared_references_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference, "CACHE_SIZE", 3)
    for red in range(10):
        prepare_reference(primary_colour=f"#{red:02X}0000")
        assert len(reference._CACHE) <= 3
    assert prepare_reference(primary_colour="#090000") is prepare_reference(primary_colour="#090000")


def test_parse_of_hostile_markdown_then_write_keeps_nul_out() -> None:
    """The stand-in of an internal link is a NUL-delimited number: text can never forge one."""
    data = render("# A\n\ntext \x00 0 \x00 [x](#a)\n")
    names, links = bookmarks_and_links(data)
    assert links == names == ["_a"]
    assert b"\x00" not in zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    parse("ok")
