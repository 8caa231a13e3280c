"""Shared helpers of the DOCX writer tests: sample metadata, a writer shortcut and package checks."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from qmsdocs.markdown.tree import parse
from qmsdocs.writers.docx import PreparedReference, prepare_reference, write_docx
from qmsdocs.writers.meta import DocumentMeta, Revision, Signatory

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "bench" / "samples"
LOGO = ROOT / "profiles" / "assets" / "brightwater-logo.png"


def sample_meta(**changes: Any) -> DocumentMeta:
    """The metadata of a typical Brightwater procedure."""
    meta = DocumentMeta(
        id="internal-audit",
        number="BWI-QP-07",
        title="Internal audit",
        category="procedure",
        clauses=("9.2",),
        revision="2",
        effective_date=date(2024, 3, 1),
        next_review=date(2025, 3, 1),
        classification="Internal",
        organisation="Brightwater Instruments Ltd",
        short_name="Brightwater",
        owner=Signatory("Tomás Ribeiro", "Quality Manager"),
        prepared_by=Signatory("Tomás Ribeiro", "Quality Manager"),
        reviewed_by=Signatory("Priya Natarajan", "Operations Manager"),
        approved_by=Signatory("Helen Okafor", "Managing Director"),
        revisions=(
            Revision("1", date(2023, 2, 1), "First issue", "Tomás Ribeiro"),
            Revision("2", date(2024, 3, 1), "Risk-based audit frequency", "Tomás Ribeiro"),
        ),
        template="builtin/procedures/internal-audit.md.j2",
        logo=LOGO,
        base_dir=ROOT,
        keywords=("ISO 9001:2015 9.2",),
    )
    return replace(meta, **changes)


def render(
    markdown: str,
    meta: DocumentMeta | None = None,
    ref: PreparedReference | None = None,
    images: dict[str, bytes] | None = None,
) -> bytes:
    """Markdown text -> .docx bytes, checked for internal consistency."""
    data = write_docx(parse(markdown), meta or sample_meta(), ref or prepare_reference(), images or {})
    check_package(data)
    return data


def check_package(data: bytes) -> None:
    """Every style, numbering and relationship id referenced from document/header/footer exists."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = set(package.namelist())
        parts = {n: package.read(n).decode("utf-8") for n in names if n.endswith((".xml", ".rels"))}
    styles = set(re.findall(r'<w:style\b[^>]*w:styleId="([^"]+)"', parts["word/styles.xml"]))
    nums = set(re.findall(r'<w:num\b[^>]*w:numId="(\d+)"', parts["word/numbering.xml"]))
    abstracts = set(re.findall(r'<w:abstractNum\b[^>]*w:abstractNumId="(\d+)"', parts["word/numbering.xml"]))
    for used in re.findall(r'<w:abstractNumId w:val="(\d+)"', parts["word/numbering.xml"]):
        assert used in abstracts, f"numbering refers to missing abstractNum {used}"
    rels = parts["word/_rels/document.xml.rels"]
    rel_ids = dict(re.findall(r'Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
    for rel_id, target in rel_ids.items():
        if "External" not in rels.split(f'Id="{rel_id}"')[1].split("/>")[0]:
            assert f"word/{target}" in names, f"relationship {rel_id} targets missing part {target}"
    used: set[str] = set()
    for part in ("word/document.xml", "word/header1.xml", "word/footer1.xml"):
        xml = parts[part]
        used.update(re.findall(r'<w:(?:pStyle|rStyle|tblStyle) w:val="([^"]+)"', xml))
        for num in re.findall(r'<w:numId w:val="(\d+)"', xml):
            assert num in nums, f"{part} uses numbering id {num} missing from numbering.xml"
        for rel_id in re.findall(r'r:(?:id|embed)="([^"]+)"', xml):
            assert part != "word/document.xml" or rel_id in rel_ids, (
                f"{part} uses missing relationship {rel_id}"
            )
    # every used style exists, and so does every style it is based on (a consultant's unused styles may
    # carry their own dangling links, as pandoc's reference.docx does: not ours to judge)
    definitions = dict(
        re.findall(r'<w:style\b[^>]*w:styleId="([^"]+)"[^>]*>(.*?)</w:style>', parts["word/styles.xml"], re.S)
    )
    pending, seen = list(used), set()
    while pending:
        style = pending.pop()
        if style in seen:
            continue
        seen.add(style)
        assert style in styles, f"style id {style!r} is used but missing from styles.xml"
        pending += re.findall(r'<w:(?:basedOn|next|link) w:val="([^"]+)"', definitions.get(style, ""))
    types = parts["[Content_Types].xml"]
    for name in names:
        if name.endswith(".xml") and name != "[Content_Types].xml":
            assert f'PartName="/{name}"' in types, f"{name} has no content type"


def outline(data: bytes) -> list[str]:
    """``style name: text`` for every non-empty body paragraph, read back with python-docx."""
    import docx

    document = docx.Document(io.BytesIO(data))
    return [f"{p.style.name}: {p.text}" for p in document.paragraphs if p.text.strip()]
