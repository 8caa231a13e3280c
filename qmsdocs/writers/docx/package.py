"""Assembling one .docx package: the per-document parts plus the reference's prepared fixed parts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import TYPE_CHECKING

from qmsdocs.writers.docx import layout
from qmsdocs.writers.docx.context import Context
from qmsdocs.writers.docx.prepared import PreparedReference
from qmsdocs.writers.docx.wml import PAGE_BREAK, PART_NAMESPACES, XML_DECL, text
from qmsdocs.writers.docx.zipwriter import archive, entry
from qmsdocs.writers.meta import DocumentMeta

if TYPE_CHECKING:
    from qmsdocs.markdown.nodes import Node

_PACKAGE_RELS = (
    f'{XML_DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'extended-properties" Target="docProps/app.xml"/></Relationships>'
).encode()


def write_docx(
    body: Node,
    meta: DocumentMeta,
    ref: PreparedReference,
    images: Mapping[str, bytes] | None = None,
) -> bytes:
    """The .docx bytes of one controlled document.

    *body* is the parsed Markdown (:func:`qmsdocs.markdown.tree.parse`); *images* holds in-memory images (PNG
    charts) keyed by the ``src`` used in the Markdown, other sources are read relative to
    ``meta.base_dir``. Raises :class:`~qmsdocs.errors.DocumentError` for Markdown the writer cannot
    represent, naming the template and line.
    """
    # imported here, not at module level: the body handlers pull in markdown-it, and importing
    # qmsdocs.writers.docx must stay cheap for `qmsdocs --help`
    from qmsdocs.writers.docx.body import render_blocks

    ctx = Context(meta=meta, ref=ref, images=images or {})
    render_blocks(list(body.children), ctx)
    main = ctx.resolve_links("".join(ctx.out))
    ctx.out = []
    front = layout.first_page(ctx)
    contents = layout.toc(ctx)
    section = (
        f'<w:sectPr><w:headerReference w:type="default" r:id="rId4"/>'
        f'<w:footerReference w:type="default" r:id="rId5"/>{ref.section}</w:sectPr>'
    )
    document = (
        f"{XML_DECL}<w:document {PART_NAMESPACES}><w:body>{front}"
        f"{contents + PAGE_BREAK if contents else ''}{main}{layout.revision_history(ctx)}{section}"
        "</w:body></w:document>"
    )
    rels = (
        f'{XML_DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{ref.fixed_rels}{''.join(ctx.rels)}</Relationships>"
    )
    parts: list[tuple[str, bytes]] = [
        ("[Content_Types].xml", ref.content_types),
        ("_rels/.rels", _PACKAGE_RELS),
        ("docProps/core.xml", _core(meta).encode("utf-8")),
        ("word/document.xml", document.encode("utf-8")),
        ("word/_rels/document.xml.rels", rels.encode("utf-8")),
        ("word/numbering.xml", (ref.numbering_head + "".join(ctx.nums) + ref.numbering_tail).encode("utf-8")),
        ("word/header1.xml", layout.header(ctx).encode("utf-8")),
        ("word/footer1.xml", layout.footer(ctx).encode("utf-8")),
    ]
    entries = [entry(name, data) for name, data in parts]
    entries += ref.fixed_entries  # deflated once per reference, not once per document
    # PNG/JPEG are already compressed: storing them saves time and changes nothing
    entries += [entry(name, data, compress=False) for name, data in ctx.media.items()]
    return archive(entries)


def _core(meta: DocumentMeta) -> str:
    stamp = datetime.combine(meta.effective_date, time()).strftime("%Y-%m-%dT%H:%M:%SZ")
    keywords = ", ".join(meta.keywords or tuple(f"ISO 9001:2015 {c}" for c in meta.clauses))
    return (
        f"{XML_DECL}<cp:coreProperties"
        ' xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{text(meta.title)}</dc:title><dc:subject>{text(meta.subject)}</dc:subject>"
        f"<dc:creator>{text(meta.organisation)}</dc:creator><cp:keywords>{text(keywords)}</cp:keywords>"
        f"<cp:lastModifiedBy>{text(meta.organisation)}</cp:lastModifiedBy>"
        f"<dc:identifier>{text(meta.number)}</dc:identifier>"
        f"<cp:contentStatus>{text(meta.classification)}</cp:contentStatus>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )
