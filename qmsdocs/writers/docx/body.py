"""The document body: one handler per Markdown node type, writing WordprocessingML strings.

A table ``{node type: handler(node, ctx)}`` rather than an if-ladder (the markdown-it / mdformat
renderer pattern): adding a construct means adding one function. Unknown node types raise
:class:`DocumentError` so no text is ever dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from qmsdocs.markdown.nodes import PAGE_BREAK as PAGE_BREAK_MARKER
from qmsdocs.markdown.nodes import Node
from qmsdocs.writers.docx.builtin import list_indent
from qmsdocs.writers.docx.context import Context, ListLevel
from qmsdocs.writers.docx.wml import PAGE_BREAK, column_widths, para, run, table

Handler = Callable[[Node, Context], None]

#: character formatting carried down the inline tree: (character style id, bold, italic, strike)
Format = tuple[str | None, bool, bool, bool]
PLAIN: Format = (None, False, False, False)


def render_blocks(nodes: list[Node], ctx: Context) -> None:
    """Write a sequence of block nodes into ``ctx.out``."""
    for node in nodes:
        if node.map:
            ctx.line = node.map[0] + 1
        handler = BLOCK_HANDLERS.get(node.type)
        if handler is None:
            raise ctx.error(
                f"a Markdown {node.type.replace('_', ' ')}", "remove it or rewrite it as plain Markdown"
            )
        handler(node, ctx)


def _rpr(fmt: Format) -> str:
    style, bold, italic, strike = fmt
    # rPr children in schema order: rStyle, b, i, strike
    return (
        (f'<w:rStyle w:val="{style}"/>' if style else "")
        + ("<w:b/>" if bold else "")
        + ("<w:i/>" if italic else "")
        + ("<w:strike/>" if strike else "")
    )


def inline(node: Node, ctx: Context, fmt: Format = PLAIN) -> str:
    """The runs of an inline node's children."""
    out: list[str] = []
    for child in node.children:
        kind = child.type
        if kind == "text":
            out.append(run(child.content, _rpr(fmt)))
        elif kind == "softbreak":
            out.append(run(" ", _rpr(fmt)))  # a soft line break is a space, as in every Markdown renderer
        elif kind == "hardbreak":
            out.append("<w:r><w:br/></w:r>")
        elif kind == "strong":
            out.append(inline(child, ctx, (fmt[0], True, fmt[2], fmt[3])))
        elif kind == "em":
            out.append(inline(child, ctx, (fmt[0], fmt[1], True, fmt[3])))
        elif kind == "s":
            out.append(inline(child, ctx, (fmt[0], fmt[1], fmt[2], True)))
        elif kind == "code_inline":
            out.append(run(child.content, _rpr((ctx.ref.style("Verbatim Char"), *fmt[1:]))))
        elif kind == "link":
            out.append(_link(child, ctx, fmt))
        elif kind == "image":
            alt = "".join(c.content for c in child.walk() if c.type == "text")
            out.append(ctx.image(str(child.attrs["src"]), str(child.attrs.get("title") or ""), alt))
        elif kind == "html_inline":
            raise ctx.error(f"the inline HTML {child.content!r}", "use Markdown formatting instead")
        else:
            raise ctx.error(f"the inline element {kind!r}", "rewrite it as plain Markdown")
    return "".join(out)


#: Inline nodes whose runs depend on the document being written (a relationship, a bookmark used,
#: a drawing id) or that are an error: their runs are never kept.
_STATEFUL = frozenset({"link", "image", "html_inline"})
#: Runs kept per prepared reference (:attr:`PreparedReference.inline_runs`); when full the cache starts
#: again empty. About 0.45 KB an entry (the runs and the parsed nodes they hold): 9 MiB at most per
#: reference, and :data:`qmsdocs.writers.docx.reference.CACHE_SIZE` references at most per process.
RUNS_LIMIT = 20_000


def runs(node: Node, ctx: Context) -> str:
    """The runs of a block's ``inline`` node, as :func:`inline` writes them.

    The parser hands every document with the same inline text the same (shared) list of nodes, so
    the runs made from that list are kept per reference document (style ids come from it) and reused:
    a batch writes the same role names, table cells and sentences for every client. Text with links
    or images is written afresh each time.
    """
    kids = node.children
    kept = ctx.ref.inline_runs.get(id(kids))
    if kept is not None and kept[0] is kids:  # the list is held by the entry, so its id is not reused
        return kept[1]
    xml = inline(node, ctx)
    if all(child.type not in _STATEFUL for child in node.walk()):
        if len(ctx.ref.inline_runs) >= RUNS_LIMIT:
            ctx.ref.inline_runs.clear()
        ctx.ref.inline_runs[id(kids)] = (kids, xml)
    return xml


def _link(node: Node, ctx: Context, fmt: Format) -> str:
    href = str(node.attrs["href"])
    content = inline(node, ctx, (fmt[0] or ctx.ref.style("Hyperlink"), *fmt[1:]))
    if href.startswith("#"):
        # the parser percent-escapes the anchor (#%C3%BCbersicht); headings' anchors are plain text
        bookmark = ctx.anchor_link(unquote(href[1:]))
        return f'<w:hyperlink w:anchor="{bookmark}" w:history="1">{content}</w:hyperlink>'
    rel_id = ctx.relationship("hyperlink", href, external=True)
    return f'<w:hyperlink r:id="{rel_id}" w:history="1">{content}</w:hyperlink>'


def _ind(ctx: Context) -> str:
    return f'<w:ind w:left="{ctx.indent}"/>' if ctx.indent else ""


def heading(node: Node, ctx: Context) -> None:
    level = int(node.tag[1])
    if level > 4:
        raise ctx.error(
            f"a level-{level} heading ({'#' * level})", "use at most four levels (#### = Heading 4)"
        )
    content = node.children[0]
    title = "".join(c.content for c in content.walk() if c.type in ("text", "code_inline"))
    bookmark = ctx.heading_bookmark(title)
    ctx.headings.append((level, title, bookmark))
    mark = len(ctx.headings)
    ctx.out.append(
        para(
            f'<w:bookmarkStart w:id="{mark}" w:name="{bookmark}"/>{runs(content, ctx)}'
            f'<w:bookmarkEnd w:id="{mark}"/>',
            ctx.ref.style(f"heading {level}"),
        )
    )


def paragraph(node: Node, ctx: Context) -> None:
    content = node.children[0]
    kids = content.children
    if len(kids) == 1 and kids[0].type == "html_inline" and kids[0].content.strip() == PAGE_BREAK_MARKER:
        ctx.out.append(PAGE_BREAK)
        return
    style = ctx.ref.style("Note" if ctx.in_quote else ("List Continue" if ctx.indent else "Normal"))
    ctx.out.append(para(runs(content, ctx), style, _ind(ctx)))


def _list(node: Node, ctx: Context) -> None:
    ordered = node.type == "ordered_list"
    level = len(ctx.lists)
    start = int(node.attrs.get("start", 1) or 1)
    ctx.lists.append(ListLevel(ctx.new_num(ordered, level, start), level, ordered))
    style = ctx.ref.style("List Number" if ordered else "List Bullet")
    outer_indent = ctx.indent
    numpr = f'<w:numPr><w:ilvl w:val="{level}"/><w:numId w:val="{ctx.lists[-1].num_id}"/></w:numPr>'
    for item in node.children:
        if item.map:
            ctx.line = item.map[0] + 1
        children = list(item.children)
        first = children[0] if children and children[0].type == "paragraph" else None
        text = runs(first.children[0], ctx) if first is not None else ""
        ctx.out.append(para(text, style, numpr))
        # further paragraphs, code, tables and nested lists of the item align with the item's text
        ctx.indent = list_indent(level)
        render_blocks(children[1:] if first is not None else children, ctx)
        ctx.indent = outer_indent
    ctx.lists.pop()


def blockquote(node: Node, ctx: Context) -> None:
    outer = ctx.in_quote
    ctx.in_quote = True
    render_blocks(list(node.children), ctx)
    ctx.in_quote = outer


def code(node: Node, ctx: Context) -> None:
    # one paragraph with line breaks keeps the shaded block in one piece; spaces survive via xml:space
    ctx.out.append(para(run(node.content.rstrip("\n")), ctx.ref.style("Source Code"), _ind(ctx)))


def rule(node: Node, ctx: Context) -> None:
    ctx.out.append(
        para(
            "",
            ctx.ref.style("Normal"),
            '<w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="A6A6A6"/></w:pBdr>',
        )
    )


def html_block(node: Node, ctx: Context) -> None:
    if node.content.strip() == PAGE_BREAK_MARKER:
        ctx.out.append(PAGE_BREAK)
        return
    snippet = node.content.strip().splitlines()[0][:60]
    raise ctx.error(
        f"the raw HTML {snippet!r}",
        f"use Markdown instead (the only HTML allowed is the page-break line {PAGE_BREAK_MARKER})",
    )


_ALIGN = {"text-align:left": "left", "text-align:center": "center", "text-align:right": "right"}


def gfm_table(node: Node, ctx: Context) -> None:
    rows = [(section.type == "thead", row) for section in node.children for row in section.children]
    columns = max(len(row.children) for _, row in rows)
    lengths = [0] * columns  # longest cell text per column
    words = [0] * columns  # longest word per column
    cells: list[list[str]] = []
    heading_style, body_style = ctx.ref.style("Table Heading"), ctx.ref.style("Table Contents")
    outer_indent, ctx.indent = ctx.indent, 0
    for is_header, row in rows:
        if row.map:
            ctx.line = row.map[0] + 1  # an error in a cell names its row's line
        style = heading_style if is_header else body_style
        out = []
        for i, cell in enumerate(row.children):
            content = ""
            if cell.children:
                text = cell.children[0].content
                lengths[i] = max(lengths[i], len(text))
                words[i] = max(words[i], max(map(len, text.split()), default=0))
                content = runs(cell.children[0], ctx)
            align = _ALIGN.get(str(cell.attrs.get("style", "")), "")
            jc = f'<w:jc w:val="{align}"/>' if align and align != "left" else ""
            out.append(para(content, style, jc))
        out += [para("", body_style)] * (columns - len(out))
        cells.append(out)
    ctx.indent = outer_indent
    widths = column_widths(lengths, ctx.ref.text_width - ctx.indent, words)
    header_rows = sum(1 for is_header, _ in rows if is_header)
    ctx.out.append(table(cells, widths, ctx.ref.style("Table Grid"), header_rows, ctx.indent))
    # a thin spacer keeps the next paragraph (or a following table) from touching the table's border
    ctx.out.append(
        para(
            "",
            ctx.ref.style("Normal"),
            '<w:spacing w:before="0" w:after="0" w:line="120" w:lineRule="exact"/>',
        )
    )


BLOCK_HANDLERS: dict[str, Handler] = {
    "heading": heading,
    "paragraph": paragraph,
    "bullet_list": _list,
    "ordered_list": _list,
    "blockquote": blockquote,
    "fence": code,
    "code_block": code,
    "hr": rule,
    "html_block": html_block,
    "table": gfm_table,
}
