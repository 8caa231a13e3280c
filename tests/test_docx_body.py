"""The DOCX writer's Markdown coverage, read back with python-docx and from the package XML."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import docx
import pytest
from docx_helpers import SAMPLES, check_package, outline, render, sample_meta

from qmsdocs.errors import DocumentError
from qmsdocs.writers.docx import prepare_reference


def part(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return package.read(name).decode("utf-8")


def png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size (no Pillow needed)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_sample_procedure_outline() -> None:
    lines = outline(render((SAMPLES / "internal-audit.md").read_text()))
    assert lines[:3] == [
        "Subtitle: Brightwater Instruments Ltd",
        "Title: Internal audit",
        "Subtitle: BWI-QP-07  ·  Revision 2  ·  Effective 2024-03-01",
    ]
    headings = [line for line in lines if line.startswith("Heading")]
    assert headings[:4] == [
        "Heading 1: Purpose",
        "Heading 1: Scope",
        "Heading 1: Responsibilities",
        "Heading 1: Procedure",
    ]
    assert "Heading 3: Checklists" in headings
    assert headings[-1] == "Heading 1: Revision history"
    assert "List Bullet: the Cambridge headquarters" in lines
    assert "List Number: water quality sondes" in lines
    assert (
        "List Continue: The approved programme is published on the intranet and kept as documented "
        "information." in lines
    )
    assert any(line.startswith("Note: Auditors shall not audit their own work.") for line in lines)
    assert any(line.startswith("toc 2: Audit programme") for line in lines)


def test_inline_formatting_and_breaks() -> None:
    data = render("Plain **bold** *italic* `code` ~~gone~~ end\nsoft  \nhard")
    body = [p for p in docx.Document(io.BytesIO(data)).paragraphs if p.text.startswith("Plain")][0]
    runs = {r.text: r for r in body.runs}
    assert runs["bold"].bold
    assert not runs["bold"].italic
    assert runs["italic"].italic
    assert runs["code"].style.name == "Verbatim Char"
    assert runs["gone"].font.strike
    assert body.text == "Plain bold italic code gone end soft\nhard"


def test_external_hyperlink_has_relationship_and_style() -> None:
    data = render("See [ISO](https://www.iso.org/a?b=1&c=2) now.")
    rels = part(data, "word/_rels/document.xml.rels")
    assert 'Target="https://www.iso.org/a?b=1&amp;c=2" TargetMode="External"' in rels
    assert re.search(
        r'<w:hyperlink r:id="rId\d+"[^>]*><w:r><w:rPr><w:rStyle w:val="Hyperlink"/>',
        part(data, "word/document.xml"),
    )


def test_internal_link_targets_heading_bookmark() -> None:
    xml = part(render("# Scope & purpose\n\nSee [scope](#scope--purpose)."), "word/document.xml")
    assert 'w:bookmarkStart w:id="1" w:name="_scope__purpose"' in xml
    assert 'w:hyperlink w:anchor="_scope__purpose"' in xml


def test_nested_lists_use_ilvl_and_each_numbered_list_restarts() -> None:
    markdown = "1. one\n2. two\n   - a\n     1. deep\n        - deeper\n\npara\n\n1. again\n"
    data = render(markdown)
    xml = part(data, "word/document.xml")
    levels = re.findall(r'<w:ilvl w:val="(\d)"/><w:numId w:val="(\d+)"/>', xml)
    assert [int(level) for level, _ in levels] == [0, 0, 1, 2, 3, 0]
    first, again = levels[0][1], levels[-1][1]
    assert first != again  # a new w:num instance per list
    numbering = part(data, "word/numbering.xml")
    for num_id in (first, again):
        instance = re.search(rf'<w:num w:numId="{num_id}">.*?</w:num>', numbering)
        assert instance
        assert '<w:startOverride w:val="1"/>' in instance.group(0)


def test_ordered_list_start_number_is_kept() -> None:
    numbering = part(render("3. three\n4. four\n"), "word/numbering.xml")
    assert '<w:startOverride w:val="3"/>' in numbering


def test_table_header_alignment_and_cells() -> None:
    data = render("| Left | Centre | Right |\n|:--|:-:|--:|\n| a & b | c | 1.5 |\n| d | e | 20 |\n")
    document = docx.Document(io.BytesIO(data))
    table = document.tables[1]  # [0] is the document-control table
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["Left", "Centre", "Right"],
        ["a & b", "c", "1.5"],
        ["d", "e", "20"],
    ]
    assert table.style.name == "Table Grid"
    assert table.rows[0].cells[0].paragraphs[0].style.name == "Table Heading"
    assert table.rows[1].cells[0].paragraphs[0].style.name == "Table Contents"
    xml = part(data, "word/document.xml")
    body_table = xml.split("<w:tbl>")[2]
    assert body_table.count("<w:tblHeader/>") == 1
    assert body_table.count("<w:cantSplit/>") == 3
    assert '<w:tblW w:w="5000" w:type="pct"/>' in body_table
    assert body_table.count('<w:jc w:val="center"/>') == 3
    assert body_table.count('<w:jc w:val="right"/>') == 3


def test_code_block_keeps_spaces_and_lines() -> None:
    data = render("```\nline  one\n    indented\n\tTab\n```\n")
    lines = outline(data)
    assert "Source Code: line  one\n    indented\n\tTab" in lines


def test_rule_and_page_break() -> None:
    xml = part(render("one\n\n---\n\n<!-- pagebreak -->\n\ntwo\n"), "word/document.xml")
    assert '<w:pBdr><w:bottom w:val="single"' in xml
    assert xml.count('<w:br w:type="page"/>') == 1


def test_images_from_memory_and_disk_with_size_hint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "disk.png").write_bytes(png(200, 100))
    meta = sample_meta(base_dir=tmp_path, logo=None)
    markdown = '![Radar](radar.png "width=14cm")\n\n![Disk](charts/disk.png)\n\n![Wide](radar.png)\n'
    data = render(markdown, meta=meta, images={"radar.png": png(4000, 2000)})
    xml = part(data, "word/document.xml")
    extents = [(int(a), int(b)) for a, b in re.findall(r'<wp:extent cx="(\d+)" cy="(\d+)"/>', xml)]
    assert extents[0] == (5040000, 2520000)  # 14 cm wide, aspect kept
    assert extents[1] == (1905000, 952500)  # natural size at 96 dpi
    assert extents[2][0] <= (11906 - 2 * 1247) * 635  # scaled to the text width
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert sorted(n for n in package.namelist() if n.startswith("word/media/")) == [
            "word/media/image1.png",
            "word/media/image2.png",
        ]
    assert 'descr="Radar"' in xml


def test_escaping_survives_round_trip() -> None:
    nasty = "Tom & Jerry <b>not html</b> \"quoted\" 'single' ]]> ctrl\x01end"
    meta = sample_meta(title=nasty, organisation="A & B <Ltd>")
    markdown = "Text: Tom &amp; Jerry \\<b\\>not html\\</b\\> \"quoted\" 'single' ]]> ctrl\x01end\n"
    data = render(markdown, meta=meta)
    document = docx.Document(io.BytesIO(data))
    expected = nasty.replace("\x01", "")
    assert f"Text: {expected}" in [p.text for p in document.paragraphs]
    assert f"Title: {expected}" in outline(data)
    assert document.core_properties.title == expected
    assert document.sections[0].header.paragraphs[0].text.endswith(expected)


def test_header_footer_and_core_properties() -> None:
    data = render("# One\n\ntext\n")
    document = docx.Document(io.BytesIO(data))
    section = document.sections[0]
    assert section.header.paragraphs[0].text == "Brightwater\tInternal audit"
    footer = "\n".join(p.text for p in section.footer.paragraphs)
    assert "BWI-QP-07" in footer
    assert "Revision 2" in footer
    assert "Internal" in footer
    assert "Page 1 of 1" in footer
    assert "Uncontrolled when printed" in footer
    footer_xml = part(data, "word/footer1.xml")
    assert " PAGE " in footer_xml
    assert " NUMPAGES " in footer_xml
    props = document.core_properties
    assert (props.title, props.author, props.keywords) == (
        "Internal audit",
        "Brightwater Instruments Ltd",
        "ISO 9001:2015 9.2",
    )
    assert props.created.date().isoformat() == "2024-03-01"


def test_control_table_and_revision_history() -> None:
    document = docx.Document(io.BytesIO(render("Body\n")))
    control = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert control[0] == ["Prepared by", "Reviewed by", "Approved by"]
    assert control[1][2] == "Helen Okafor\nManaging Director"
    assert control[3] == ["2024-03-01", "2025-03-01", "Internal"]
    history = [[c.text for c in row.cells] for row in document.tables[-1].rows]
    assert history[0] == ["Revision", "Date", "Description of change", "Author"]
    assert history[2] == ["2", "2024-03-01", "Risk-based audit frequency", "Tomás Ribeiro"]


def test_toc_only_for_three_or_more_sections() -> None:
    few = part(render("# A\n\n# B\n"), "word/document.xml")
    many = render("# A\n\n## A1\n\n# B\n\n# C\n\n#### deep\n")
    assert "TOC \\o" not in few
    xml = part(many, "word/document.xml")
    assert 'TOC \\o "1-3"' in xml
    assert [line for line in outline(many) if line.startswith("toc")] == [
        "toc 1: A",
        "toc 2: A1",
        "toc 1: B",
        "toc 1: C",
    ]
    assert '<w:updateFields w:val="true"/>' in part(many, "word/settings.xml")


def test_identical_inputs_give_identical_bytes() -> None:
    text = (SAMPLES / "internal-audit.md").read_text()
    assert render(text) == render(text)


@pytest.mark.parametrize(
    ("markdown", "line", "what"),
    [
        ("text\n\n<div>raw</div>\n", 3, "the raw HTML '<div>raw</div>' is not supported"),
        ("a\n\nsome <b>bold</b> text\n", 3, "the inline HTML '<b>' is not supported"),
        ("# ok\n\n##### five\n", 3, "a level-5 heading (#####) is not supported"),
        ("- item\n\n  <span>x</span>\n", 3, "the inline HTML '<span>'"),
        ("x\n\n![x](missing.png)\n", 3, "cannot read the image 'missing.png'"),
        ("[x](#nowhere)\n", 1, "the link to #nowhere is not supported"),
        ("![x](https://example.com/x.png)\n", 1, "the remote image"),
    ],
)
def test_unsupported_constructs_raise_with_template_and_line(markdown: str, line: int, what: str) -> None:
    with pytest.raises(DocumentError) as caught:
        render(markdown)
    message = str(caught.value)
    assert message.startswith(
        f"builtin/procedures/internal-audit.md.j2: line {line} of the rendered Markdown: "
    )
    assert what in message


def test_not_an_image_is_an_error() -> None:
    with pytest.raises(DocumentError, match="only PNG and JPEG"):
        render("![x](chart.png)\n", images={"chart.png": b"GIF89a...."})


def test_columns_never_narrower_than_their_longest_word() -> None:
    from qmsdocs.writers.docx.wml import _CELL_PADDING, _CHAR_TWIPS, column_widths

    lengths, words = [3, 40, 10, 9, 5, 6, 40, 15], [2, 11, 10, 6, 5, 6, 12, 8]
    widths = column_widths(lengths, 10000, words)
    assert sum(widths) == 10000
    for width, word in zip(widths, words, strict=True):
        assert width >= word * _CHAR_TWIPS + _CELL_PADDING - 1
    # long text still gets the most room
    assert widths[1] > widths[5]
    assert widths[6] > widths[4]


def test_repeated_text_gives_the_same_runs_and_links_stay_per_document() -> None:
    """Runs of repeated inline text are reused; a link or an image in repeated text still gets its own
    relationship in every document."""
    text = "A *shared* sentence.\n\nSee [ISO](https://www.iso.org/) and ![logo](profiles/assets/brightwater-logo.png).\n"
    ref = prepare_reference()
    first, second = render(text, ref=ref), render(text, ref=ref)
    for data in (first, second):
        rels = part(data, "word/_rels/document.xml.rels")
        assert 'Target="https://www.iso.org/" TargetMode="External"' in rels
        assert re.search(r'Target="media/image\d+\.png"', rels)
        check_package(data)
    shared = [p for p in docx.Document(io.BytesIO(second)).paragraphs if p.text == "A shared sentence."]
    assert [(r.text, bool(r.italic)) for r in shared[0].runs] == [
        ("A ", False),
        ("shared", True),
        (" sentence.", False),
    ]


def test_runs_follow_the_reference_styles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same inline code written with two references uses each one's own style id."""
    builtin_ref = prepare_reference()
    render("Use `qmsdocs build` here.", ref=builtin_ref)
    german = tmp_path / "german.docx"
    with (
        zipfile.ZipFile(io.BytesIO(render("x", ref=builtin_ref))) as source,
        zipfile.ZipFile(german, "w") as out,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/styles.xml":
                data = data.replace(b'w:styleId="VerbatimChar"', b'w:styleId="Quelltext"')
            out.writestr(item, data)
    data = render("Use `qmsdocs build` here.", ref=prepare_reference(german))
    assert '<w:rStyle w:val="Quelltext"/>' in part(data, "word/document.xml")
