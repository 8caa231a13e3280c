"""End-to-end checks with other readers: pandoc's DOCX reader and LibreOffice's PDF export."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from docx_helpers import SAMPLES, render, sample_meta

from qmsdocs.markdown.tree import parse

pytestmark = pytest.mark.slow


def _text(inlines: list[dict[str, Any]]) -> str:
    """Plain text of pandoc inline elements."""
    out = []
    for item in inlines:
        kind, content = item["t"], item.get("c")
        if kind == "Str":
            out.append(content)
        elif kind in ("Space", "SoftBreak"):
            out.append(" ")
        elif kind == "LineBreak":
            out.append("\n")
        elif kind == "Code":
            out.append(content[1])
        elif kind in ("Emph", "Strong", "Strikeout", "Underline", "SmallCaps"):
            out.append(_text(content))
        elif kind in ("Link", "Span"):
            out.append(_text(content[1]))
    return "".join(out)


def _walk(blocks: list[dict[str, Any]], found: dict[str, list[str]]) -> None:
    for block in blocks:
        kind, content = block["t"], block.get("c")
        if kind == "Header":
            found["headings"].append(_text(content[2]))
        elif kind in ("BulletList", "OrderedList"):
            for item in content if kind == "BulletList" else content[1]:
                first = item[0] if item else None
                if first and first["t"] in ("Plain", "Para"):
                    found["items"].append(_text(first["c"]))
                _walk(item[1:] if first and first["t"] in ("Plain", "Para") else item, found)
        elif kind == "Table":
            head, bodies = content[3], content[4]
            rows = head[1] + [row for body in bodies for row in body[2] + body[3]]
            for row in rows:
                for cell in row[1]:
                    found["cells"].append(
                        " ".join(_text(b["c"]) for b in cell[4] if b["t"] in ("Plain", "Para"))
                    )
        elif kind == "BlockQuote" or kind == "Div":
            _walk(content if kind == "BlockQuote" else content[1], found)


def _expected(markdown: str) -> dict[str, list[str]]:
    """Headings, list-item first paragraphs and table cells of the Markdown, via markdown-it."""
    found: dict[str, list[str]] = {"headings": [], "items": [], "cells": []}
    for node in parse(markdown).walk():
        inline = node.children[0] if node.children else None
        text = "" if inline is None else "".join(
            c.content if c.type in ("text", "code_inline") else " " if c.type == "softbreak" else "\n"
            if c.type == "hardbreak" else "" for c in inline.walk()
        )  # fmt: skip
        if node.type == "heading":
            found["headings"].append(text)
        elif node.type == "list_item" and node.children[0].type == "paragraph":
            found["items"].append(
                "".join(
                    c.content if c.type in ("text", "code_inline") else " " if c.type == "softbreak" else ""
                    for c in node.children[0].children[0].walk()
                )
            )
        elif node.type in ("th", "td"):
            found["cells"].append(text)
    return found


def test_pandoc_reads_the_same_structure(tmp_path: Path) -> None:
    if shutil.which("pandoc") is None:
        pytest.skip("pandoc is not installed: cannot check the DOCX with another reader")
    markdown = (SAMPLES / "internal-audit.md").read_text()
    path = tmp_path / "doc.docx"
    path.write_bytes(render(markdown))
    ast = json.loads(subprocess.run(["pandoc", "-f", "docx", "-t", "json", str(path)], check=True,
                                    capture_output=True, text=True).stdout)  # fmt: skip
    found: dict[str, list[str]] = {"headings": [], "items": [], "cells": []}
    _walk(ast["blocks"], found)
    expected = _expected(markdown)
    assert found["headings"] == [*expected["headings"], "Revision history"]
    assert found["items"] == expected["items"]
    # the body's cells, between the document-control table (12) and the revision history (12)
    assert found["cells"][12:-12] == expected["cells"]


def test_libreoffice_renders_pdfs(tmp_path: Path) -> None:
    for program in ("soffice", "pdftotext"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed: cannot render the DOCX to PDF")
    documents = {
        "procedure": ((SAMPLES / "internal-audit.md").read_text(), sample_meta()),
        "policy": ("# Policy\n\nWe **commit** to quality.\n", sample_meta(title="Quality policy", logo=None)),
        "escapes": ("Tom & Jerry <3\n", sample_meta(title="Ampersands & <angles>")),
    }
    paths = []
    for name, (markdown, meta) in documents.items():
        path = tmp_path / f"{name}.docx"
        path.write_bytes(render(markdown, meta=meta))
        paths.append(str(path))
    outdir = tmp_path / "pdf"
    # one soffice process for all documents: starting LibreOffice dominates the cost
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
         "--convert-to", "pdf", "--outdir", str(outdir), *paths],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    for name, (_, meta) in documents.items():
        pdf = outdir / f"{name}.pdf"
        assert pdf.exists(), f"LibreOffice did not convert {name}.docx"
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
        assert text.count("\f") >= 1
        assert meta.title in text
        assert "Uncontrolled when printed" in text
    procedure = subprocess.run(
        ["pdftotext", str(outdir / "procedure.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert procedure.count("\f") >= 3
    assert "Page 2 of" in procedure
