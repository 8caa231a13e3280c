"""The built-in house style: every style, numbering definition and setting the writer relies on.

Generated from code instead of shipping a binary .docx: the XML is reviewable, the heading colour is a
parameter, and the same definitions are the source for styles a consultant's reference lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from qmsdocs.writers.docx.wml import W_NS, XML_DECL

FONT = "Calibri"  # LibreOffice substitutes the metric-compatible Carlito, so page breaks agree
MONO = "Consolas"
GREY = "595959"

#: A4 portrait with 2 cm top/bottom and 2.2 cm side margins (twips); header/footer 1 cm from the edge
SECTION = (
    '<w:pgSz w:w="11906" w:h="16838"/>'
    '<w:pgMar w:top="1134" w:right="1247" w:bottom="1134" w:left="1247" w:header="567" w:footer="567"'
    ' w:gutter="0"/>'
)


@dataclass(frozen=True)
class StyleDef:
    """One style of the built-in reference; links to other styles are by *name* so they can be
    re-pointed at a consultant's style ids."""

    kind: str  # paragraph | character | table
    style_id: str
    name: str
    body: str  # pPr / rPr / tblPr ... in schema order, may contain {colour}
    based_on: str | None = None
    next_style: str | None = None
    ui_priority: int = 99

    def xml(self, ids: dict[str, str], colour: str) -> str:
        """The ``w:style`` element, with style links resolved through *ids* (name -> id); a link to a
        style that does not exist is dropped rather than left dangling."""
        links = ""
        if self.based_on and self.based_on.lower() in ids:
            links += f'<w:basedOn w:val="{ids[self.based_on.lower()]}"/>'
        if self.next_style and self.next_style.lower() in ids:
            links += f'<w:next w:val="{ids[self.next_style.lower()]}"/>'
        return (
            f'<w:style w:type="{self.kind}" w:customStyle="1" w:styleId="{ids[self.name.lower()]}">'
            f'<w:name w:val="{self.name}"/>{links}<w:uiPriority w:val="{self.ui_priority}"/><w:qFormat/>'
            f"{self.body.replace('{colour}', colour)}</w:style>"
        )


def _heading(level: int, size: int, before: int, colour: str = "{colour}") -> StyleDef:
    return StyleDef(
        "paragraph",
        f"Heading{level}",
        f"heading {level}",
        f'<w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="{before}" w:after="80"/>'
        f'<w:outlineLvl w:val="{level - 1}"/></w:pPr>'
        f'<w:rPr><w:b/><w:color w:val="{colour}"/><w:sz w:val="{size}"/><w:szCs w:val="{size}"/></w:rPr>',
        based_on="Normal",
        next_style="Normal",
        ui_priority=9,
    )


def _toc(level: int) -> StyleDef:
    return StyleDef(
        "paragraph",
        f"TOC{level}",
        f"toc {level}",
        f'<w:pPr><w:spacing w:before="{60 if level == 1 else 0}" w:after="40"/>'
        f'<w:ind w:left="{(level - 1) * 284}"/></w:pPr>' + ("<w:rPr><w:b/></w:rPr>" if level == 1 else ""),
        based_on="Normal",
        next_style="Normal",
        ui_priority=39,
    )


_CELL_MARGINS = (
    '<w:tblCellMar><w:top w:w="40" w:type="dxa"/><w:left w:w="100" w:type="dxa"/>'
    '<w:bottom w:w="40" w:type="dxa"/><w:right w:w="100" w:type="dxa"/></w:tblCellMar>'
)
_BORDERS = "".join(
    f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="A6A6A6"/>'
    for side in ("top", "left", "bottom", "right", "insideH", "insideV")
)

#: Every style the writer refers to, by name (matching is case-insensitive, as Word's names are).
STYLES: tuple[StyleDef, ...] = (
    StyleDef(
        "paragraph",
        "Normal",
        "Normal",
        '<w:pPr><w:spacing w:after="120" w:line="264" w:lineRule="auto"/></w:pPr>',
        ui_priority=0,
    ),
    StyleDef(
        "paragraph",
        "Title",
        "Title",
        '<w:pPr><w:spacing w:before="240" w:after="120"/></w:pPr>'
        '<w:rPr><w:b/><w:color w:val="{colour}"/><w:sz w:val="48"/><w:szCs w:val="48"/></w:rPr>',
        based_on="Normal",
        next_style="Normal",
        ui_priority=10,
    ),
    StyleDef(
        "paragraph",
        "Subtitle",
        "Subtitle",
        f'<w:pPr><w:spacing w:after="60"/></w:pPr><w:rPr><w:color w:val="{GREY}"/><w:sz w:val="24"/>'
        '<w:szCs w:val="24"/></w:rPr>',
        based_on="Normal",
        next_style="Normal",
        ui_priority=11,
    ),
    _heading(1, 32, 360),
    _heading(2, 26, 240),
    _heading(3, 23, 200),
    _heading(4, 22, 160),
    StyleDef(
        "paragraph",
        "TOCHeading",
        "TOC Heading",
        '<w:pPr><w:keepNext/><w:spacing w:before="240" w:after="120"/></w:pPr>'
        '<w:rPr><w:b/><w:color w:val="{colour}"/><w:sz w:val="28"/><w:szCs w:val="28"/></w:rPr>',
        based_on="Normal",
        next_style="Normal",
        ui_priority=39,
    ),
    _toc(1),
    _toc(2),
    _toc(3),
    StyleDef(
        "paragraph",
        "Header",
        "header",
        f'<w:pPr><w:spacing w:after="0"/></w:pPr><w:rPr><w:color w:val="{GREY}"/><w:sz w:val="18"/>'
        '<w:szCs w:val="18"/></w:rPr>',
        based_on="Normal",
    ),
    StyleDef(
        "paragraph",
        "Footer",
        "footer",
        f'<w:pPr><w:spacing w:after="0"/></w:pPr><w:rPr><w:color w:val="{GREY}"/><w:sz w:val="16"/>'
        '<w:szCs w:val="16"/></w:rPr>',
        based_on="Normal",
    ),
    StyleDef(
        "paragraph",
        "ListBullet",
        "List Bullet",
        '<w:pPr><w:spacing w:after="60"/></w:pPr>',
        based_on="Normal",
    ),
    StyleDef(
        "paragraph",
        "ListNumber",
        "List Number",
        '<w:pPr><w:spacing w:after="60"/></w:pPr>',
        based_on="Normal",
    ),
    StyleDef(
        "paragraph",
        "ListContinue",
        "List Continue",
        '<w:pPr><w:spacing w:after="60"/><w:ind w:left="432"/></w:pPr>',
        based_on="Normal",
    ),
    StyleDef(
        "paragraph",
        "Note",
        "Note",
        '<w:pPr><w:pBdr><w:left w:val="single" w:sz="18" w:space="8" w:color="{colour}"/></w:pBdr>'
        '<w:shd w:val="clear" w:color="auto" w:fill="F2F2F2"/><w:spacing w:before="60" w:after="120"/>'
        '<w:ind w:left="284" w:right="284"/></w:pPr><w:rPr><w:i/></w:rPr>',
        based_on="Normal",
        next_style="Normal",
    ),
    StyleDef(
        "paragraph",
        "SourceCode",
        "Source Code",
        '<w:pPr><w:shd w:val="clear" w:color="auto" w:fill="F2F2F2"/><w:spacing w:after="120" w:line="240"'
        ' w:lineRule="auto"/></w:pPr>'
        f'<w:rPr><w:rFonts w:ascii="{MONO}" w:hAnsi="{MONO}" w:cs="{MONO}"/><w:sz w:val="19"/>'
        '<w:szCs w:val="19"/></w:rPr>',
        based_on="Normal",
    ),
    StyleDef(
        "paragraph",
        "TableContents",
        "Table Contents",
        '<w:pPr><w:spacing w:before="0" w:after="0"/></w:pPr>'
        '<w:rPr><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr>',
        based_on="Normal",
    ),
    StyleDef(
        "paragraph",
        "TableHeading",
        "Table Heading",
        '<w:pPr><w:keepNext/><w:spacing w:before="0" w:after="0"/></w:pPr>'
        '<w:rPr><w:b/><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr>',
        based_on="Table Contents",
    ),
    StyleDef(
        "character",
        "Hyperlink",
        "Hyperlink",
        '<w:rPr><w:color w:val="0563C1"/><w:u w:val="single"/></w:rPr>',
        ui_priority=99,
    ),
    StyleDef(
        "character",
        "VerbatimChar",
        "Verbatim Char",
        f'<w:rPr><w:rFonts w:ascii="{MONO}" w:hAnsi="{MONO}" w:cs="{MONO}"/><w:sz w:val="20"/></w:rPr>',
    ),
    StyleDef(
        "table",
        "TableGrid",
        "Table Grid",
        '<w:pPr><w:spacing w:after="0"/></w:pPr>'
        f"<w:tblPr><w:tblBorders>{_BORDERS}</w:tblBorders>{_CELL_MARGINS}</w:tblPr>"
        '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/></w:rPr>'
        '<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="DEE6EF"/></w:tcPr></w:tblStylePr>',
        ui_priority=59,
    ),
)

#: names of the styles the writer needs (lower case, as matched)
REQUIRED = tuple(s.name.lower() for s in STYLES)


def styles_xml(colour: str) -> str:
    """The complete styles part of the built-in reference."""
    ids = {s.name.lower(): s.style_id for s in STYLES}
    defaults = (
        f'<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}"'
        f' w:cs="{FONT}"/><w:sz w:val="21"/><w:szCs w:val="21"/><w:lang w:val="en-GB"/></w:rPr>'
        '</w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="120" w:line="264" w:lineRule="auto"/>'
        "</w:pPr></w:pPrDefault></w:docDefaults>"
    )
    # Word's own defaults (default paragraph font, normal table, no list) so the file is self-contained
    base = (
        '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont">'
        '<w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/></w:style>'
        '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/>'
        '<w:semiHidden/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/>'
        '<w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/>'
        "</w:tblCellMar></w:tblPr></w:style>"
    )
    body = "".join(s.xml(ids, colour) for s in STYLES).replace(
        '<w:style w:type="paragraph" w:customStyle="1" w:styleId="Normal">',
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal">',
    )
    return f'{XML_DECL}<w:styles xmlns:w="{W_NS}">{defaults}{base}{body}</w:styles>'


def abstract_numbering(bullet_id: int, number_id: int) -> str:
    """The two list definitions (bullets, decimal numbers) with 9 levels each."""
    bullets = ("\u2022", "\u2013", "\u25aa")
    formats = ("decimal", "lowerLetter", "lowerRoman")
    out = []
    for abstract_id, kind in ((bullet_id, "bullet"), (number_id, "number")):
        levels = []
        for level in range(9):
            left = 432 * (level + 1)
            if kind == "bullet":
                fmt, lvl_text = "bullet", bullets[level % 3]
                rpr = f'<w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}"/></w:rPr>'
            else:
                fmt, lvl_text, rpr = formats[level % 3], f"%{level + 1}.", ""
            levels.append(
                f'<w:lvl w:ilvl="{level}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
                f'<w:lvlText w:val="{lvl_text}"/><w:lvlJc w:val="left"/>'
                f'<w:pPr><w:ind w:left="{left}" w:hanging="288"/></w:pPr>{rpr}</w:lvl>'
            )
        out.append(
            f'<w:abstractNum w:abstractNumId="{abstract_id}"><w:multiLevelType w:val="hybridMultilevel"/>'
            f"{''.join(levels)}</w:abstractNum>"
        )
    return "".join(out)


def list_indent(level: int) -> int:
    """Left indent (twips) of list text at *level*, matching :func:`abstract_numbering`."""
    return 432 * (level + 1)


SETTINGS = (
    f'{XML_DECL}<w:settings xmlns:w="{W_NS}">'
    '<w:defaultTabStop w:val="709"/><w:characterSpacingControl w:val="doNotCompress"/>'
    # updateFields: Word fills the TOC and page references when the document is opened
    '<w:updateFields w:val="true"/>'
    '<w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word"'
    ' w:val="15"/></w:compat></w:settings>'
)
