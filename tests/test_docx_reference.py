"""Reference documents: the built-in house style and consultants' .docx files."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from docx.shared import Cm
from docx_helpers import SAMPLES, outline, render

from qmsdocs.errors import ReferenceDocError
from qmsdocs.writers.docx import prepare_reference
from qmsdocs.writers.docx.builtin import REQUIRED


def part(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return package.read(name).decode("utf-8")


def test_builtin_reference_is_cached_and_complete() -> None:
    ref = prepare_reference()
    assert prepare_reference() is ref
    assert ref.warnings == []
    assert set(REQUIRED) <= set(ref.style_ids)
    assert prepare_reference(primary_colour="#AA0000") is not ref


def test_primary_colour_colours_headings() -> None:
    data = render("# Heading\n", ref=prepare_reference(primary_colour="#aa3300"))
    styles = part(data, "word/styles.xml")
    heading = re.search(r'<w:style [^>]*w:styleId="Heading1">.*?</w:style>', styles)
    assert heading
    assert '<w:color w:val="AA3300"/>' in heading.group(0)


@pytest.fixture(scope="module")
def python_docx_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference made by python-docx (Word's default template) with US Letter landscape pages."""
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(27.94), Cm(21.59)
    section.left_margin = section.right_margin = Cm(1.5)
    path = tmp_path_factory.mktemp("ref") / "letter.docx"
    document.save(str(path))
    return path


def test_python_docx_reference_page_size_and_styles(python_docx_reference: Path) -> None:
    ref = prepare_reference(python_docx_reference)
    assert abs(ref.text_width - Cm(27.94 - 3).twips) <= 1  # page geometry comes from their file
    # Word's own styles are used (by name), the writer's extra styles are added with one warning
    assert ref.style("heading 1") == "Heading1"
    assert ref.style("List Bullet") == "ListBullet"
    assert len(ref.warnings) == 1
    assert "Note" in ref.warnings[0]
    assert "Source Code" in ref.warnings[0]
    assert "Heading 1," not in ref.warnings[0]
    data = render((SAMPLES / "internal-audit.md").read_text(), ref=ref)
    document = docx.Document(io.BytesIO(data))
    assert round(document.sections[0].page_width.cm, 2) == 27.94
    assert "Heading 1: Purpose" in outline(data)


def test_styles_are_mapped_by_name_not_id(tmp_path: Path, python_docx_reference: Path) -> None:
    # a German Word file: same style names, different ids
    german = tmp_path / "de.docx"
    with zipfile.ZipFile(python_docx_reference) as source, zipfile.ZipFile(german, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/styles.xml":
                data = data.replace(b'"Heading1"', b'"berschrift1"')
            target.writestr(item, data)
    ref = prepare_reference(german)
    assert ref.style("heading 1") == "berschrift1"
    data = render("# Zweck\n", ref=ref)
    assert '<w:pStyle w:val="berschrift1"/>' in part(data, "word/document.xml")


@pytest.mark.slow
def test_pandoc_reference(tmp_path: Path) -> None:
    if shutil.which("pandoc") is None:
        pytest.skip("pandoc is not installed")
    path = tmp_path / "pandoc-ref.docx"
    path.write_bytes(
        subprocess.run(
            ["pandoc", "--print-default-data-file", "reference.docx"], check=True, capture_output=True
        ).stdout
    )
    ref = prepare_reference(path, primary_colour="#123456")
    assert len(ref.warnings) == 1
    for missing in ("TOC 1", "List Bullet", "List Number", "Table Grid", "Note"):
        assert missing in ref.warnings[0]
    data = render((SAMPLES / "internal-audit.md").read_text(), ref=ref)
    lines = outline(data)
    assert "Heading 1: Purpose" in lines
    assert "List Bullet: the Cambridge headquarters" in lines


def test_reference_is_not_a_docx(tmp_path: Path) -> None:
    bad = tmp_path / "house-style.docx"
    bad.write_text("not a zip")
    with pytest.raises(ReferenceDocError, match=r"house-style\.docx: not a readable \.docx file"):
        prepare_reference(bad)


def test_reference_zip_without_document(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("hello.txt", "hi")
    with pytest.raises(ReferenceDocError, match="not a Word document"):
        prepare_reference(path)


def test_reference_missing(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDocError, match="cannot read the reference document"):
        prepare_reference(tmp_path / "nope.docx")


def test_reference_with_broken_styles(tmp_path: Path, python_docx_reference: Path) -> None:
    path = tmp_path / "broken.docx"
    with zipfile.ZipFile(python_docx_reference) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = b"<w:styles" if item.filename == "word/styles.xml" else source.read(item)
            target.writestr(item, data)
    # the message names the part the way every reference document problem does (file: part: problem)
    with pytest.raises(ReferenceDocError) as caught:
        prepare_reference(path)
    assert str(caught.value) == f"{path}: word/styles.xml: not well-formed XML (line 1)"


def test_importing_the_writer_is_cheap() -> None:
    # `qmsdocs --help` must stay instant: no python-docx, markdown-it or XML parser at import time
    heavy = "{'docx', 'markdown_it', 'xml.etree.ElementTree'}"
    code = f"import sys, qmsdocs.writers.docx; print(sorted({heavy} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert result.stdout.strip() == "[]"
