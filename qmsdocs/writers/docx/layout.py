"""What every controlled document gets around its body: first-page block, document-control table,
table of contents, revision history, header and footer."""

from __future__ import annotations

from datetime import date

from qmsdocs.writers.docx.context import Context
from qmsdocs.writers.docx.wml import PART_NAMESPACES, XML_DECL, attr, column_widths, field, para, run, table
from qmsdocs.writers.meta import Signatory

#: documents with at least this many Heading 1 sections get a table of contents (a two-section
#: procedure fits on a page or two, where a contents list only pushes the text down)
TOC_MIN_SECTIONS = 3
LOGO_MAX_EMU = 1800000  # 5 cm: a letterhead-sized logo, whatever the file's resolution


def _day(value: date) -> str:
    return value.isoformat()  # ISO 8601 reads the same in every country the QMS is audited in


def first_page(ctx: Context) -> str:
    """Logo, organisation, title, identity line and the document-control table."""
    meta, ref = ctx.meta, ctx.ref
    out = []
    if meta.logo is not None:
        out.append(para(ctx.logo(meta.logo, f"{meta.organisation} logo", LOGO_MAX_EMU), ref.style("Normal")))
    out.append(para(run(meta.organisation), ref.style("Subtitle")))
    out.append(para(run(meta.title), ref.style("Title")))
    identity = (
        f"{meta.number}  \u00b7  Revision {meta.revision}  \u00b7  Effective {_day(meta.effective_date)}"
    )
    out.append(para(run(identity), ref.style("Subtitle")))
    out.append(control_table(ctx))
    return "".join(out)


def control_table(ctx: Context) -> str:
    """Who prepared, reviewed and approved the document, when it applies and how it is classified."""
    meta, ref = ctx.meta, ctx.ref
    head, cell = ref.style("Table Heading"), ref.style("Table Contents")

    def person(who: Signatory) -> str:
        return para(run(who.name), cell) + (para(run(who.title), cell) if who.title else "")

    rows = [
        [para(run(label), head) for label in ("Prepared by", "Reviewed by", "Approved by")],
        [person(meta.prepared_by), person(meta.reviewed_by), person(meta.approved_by)],
        [para(run(label), head) for label in ("Effective date", "Next review", "Classification")],
        [
            para(run(v), cell)
            for v in (_day(meta.effective_date), _day(meta.next_review), meta.classification)
        ],
    ]
    widths = column_widths([1, 1, 1], ref.text_width)
    # the label rows are styled by paragraph style, so only the first row is the repeating header
    return table(rows, widths, ref.style("Table Grid"), header_rows=1) + para("", ref.style("Normal"))


def toc(ctx: Context) -> str:
    """A TOC field over Heading 1-3, pre-filled with the headings for readers that never update fields
    (LibreOffice's PDF export, pandoc); Word refreshes it on open because settings.xml asks it to."""
    ref = ctx.ref
    if sum(1 for level, _, _ in ctx.headings if level == 1) < TOC_MIN_SECTIONS:
        return ""
    entries = [(level, text, mark) for level, text, mark in ctx.headings if level <= 3]
    # No page numbers in the pre-filled result: the writer cannot know them, and LibreOffice shows an
    # empty PAGEREF result as a dot leader to nowhere. Word adds them when it updates the field on open.
    tabs = f'<w:tabs><w:tab w:val="right" w:leader="dot" w:pos="{ref.text_width}"/></w:tabs>'
    begin = (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:instrText xml:space="preserve"> TOC \\o "1-3" \\h \\z \\u </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
    )
    out = [para(run("Contents"), ref.style("TOC Heading"))]
    for index, (level, text, mark) in enumerate(entries):
        link = f'<w:hyperlink w:anchor="{attr(mark)}" w:history="1">{run(text)}</w:hyperlink>'
        out.append(para((begin if index == 0 else "") + link, ref.style(f"toc {level}"), tabs))
    out.append(para('<w:r><w:fldChar w:fldCharType="end"/></w:r>', ref.style("Normal")))
    return "".join(out)


def revision_history(ctx: Context) -> str:
    """The revision history as the last section (ISO 9001 7.5.3.2 c: control of changes)."""
    ref = ctx.ref
    head, cell = ref.style("Table Heading"), ref.style("Table Contents")
    out = [para(run("Revision history"), ref.style("heading 1"))]
    texts = [["Revision", "Date", "Description of change", "Author"]]
    texts += [[r.revision, _day(r.date), r.description, r.author] for r in ctx.meta.revisions]
    if len(texts) == 1:  # a document never revised still shows its first issue
        texts.append([ctx.meta.revision, _day(ctx.meta.effective_date), "First issue", ""])
    rows = [[para(run(v), head if i == 0 else cell) for v in row] for i, row in enumerate(texts)]
    lengths = [max(len(row[i]) for row in texts) for i in range(4)]
    out.append(table(rows, column_widths(lengths, ref.text_width), ref.style("Table Grid")))
    return "".join(out)


def header(ctx: Context) -> str:
    """Header part: short name left, document title right."""
    meta, ref = ctx.meta, ctx.ref
    ppr = (
        '<w:pBdr><w:bottom w:val="single" w:sz="4" w:space="4" w:color="A6A6A6"/></w:pBdr>'
        f'<w:tabs><w:tab w:val="right" w:pos="{ref.text_width}"/></w:tabs>'
    )
    content = run(meta.short_name) + "<w:r><w:tab/></w:r>" + run(meta.title)
    return f"{XML_DECL}<w:hdr {PART_NAMESPACES}>{para(content, ref.style('header'), ppr)}</w:hdr>"


def footer(ctx: Context) -> str:
    """Footer part: number, revision, classification and "Page X of Y"; then the print warning."""
    meta, ref = ctx.meta, ctx.ref
    ppr = (
        '<w:pBdr><w:top w:val="single" w:sz="4" w:space="4" w:color="A6A6A6"/></w:pBdr>'
        f'<w:tabs><w:tab w:val="right" w:pos="{ref.text_width}"/></w:tabs>'
    )
    first = (
        run(f"{meta.number}  \u00b7  Revision {meta.revision}  \u00b7  {meta.classification}")
        + "<w:r><w:tab/></w:r>"
        + run("Page ")
        + field("PAGE", "1")
        + run(" of ")
        + field("NUMPAGES", "1")
    )
    second = run("Uncontrolled when printed")
    style = ref.style("footer")
    return f"{XML_DECL}<w:ftr {PART_NAMESPACES}>{para(first, style, ppr)}{para(second, style)}</w:ftr>"
