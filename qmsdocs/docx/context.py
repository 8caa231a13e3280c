"""The state of one document being written: relationships, media, list numbering, headings, position."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qmsdocs.docx import images
from qmsdocs.docx.reference import PreparedReference
from qmsdocs.docx.wml import attr
from qmsdocs.document import DocumentMeta
from qmsdocs.errors import DocumentError

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SLUG_DROP = re.compile(r"[^\w\- ]", re.U)


def bookmark_for(slug: str) -> str:
    """A Word bookmark name for a heading anchor: starts with "_" (hidden in Word's bookmark list),
    no hyphens, at most 40 characters."""
    return ("_" + slug.replace("-", "_"))[:40]


def slugify(heading: str) -> str:
    """The anchor GitHub gives a heading ("4.1 Scope & purpose" -> "41-scope--purpose")."""
    return _SLUG_DROP.sub("", heading.strip().lower()).replace(" ", "-")


@dataclass
class ListLevel:
    """One open list: its w:num instance and depth (w:ilvl)."""

    num_id: int
    level: int
    ordered: bool


@dataclass
class Context:
    """Mutable state while one document body is written; handlers append XML strings to :attr:`out`."""

    meta: DocumentMeta
    ref: PreparedReference
    images: Mapping[str, bytes]
    out: list[str] = field(default_factory=list)
    rels: list[str] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)
    nums: list[str] = field(default_factory=list)
    #: (level, text, bookmark) of every heading, for the table of contents
    headings: list[tuple[int, str, str]] = field(default_factory=list)
    anchors_used: dict[str, int] = field(default_factory=dict)  # bookmark -> line of the first link to it
    slugs: dict[str, int] = field(default_factory=dict)
    lists: list[ListLevel] = field(default_factory=list)
    in_quote: bool = False
    indent: int = 0  # left indent (twips) of blocks nested in list items
    line: int = 0  # 1-based line of the block being written, for error messages
    _bullet_num: int = 0
    _image_rels: dict[str, tuple[str, int, int, float]] = field(default_factory=dict)
    _shape_id: int = 0

    def error(self, what: str, hint: str, line: int | None = None) -> DocumentError:
        """The error for a construct the writer cannot represent, located in the rendered Markdown."""
        return DocumentError(
            f"{self.meta.template}: line {line or self.line} of the rendered Markdown: "
            f"{what} is not supported: {hint}"
        )

    def relationship(self, kind: str, target: str, external: bool = False) -> str:
        """Add a relationship of document.xml and return its id (ids below rId10 belong to fixed parts)."""
        rel_id = f"rId{10 + len(self.rels)}"
        mode = ' TargetMode="External"' if external else ""
        self.rels.append(f'<Relationship Id="{rel_id}" Type="{_REL}/{kind}" Target="{attr(target)}"{mode}/>')
        return rel_id

    def new_num(self, ordered: bool, level: int, start: int) -> int:
        """A w:num for one list. Each numbered list gets its own instance with a start override, which is
        the only way Word restarts numbering; bullet lists share one instance."""
        if not ordered and self._bullet_num:
            return self._bullet_num
        num_id = self.ref.first_num_id + len(self.nums)
        if ordered:
            self.nums.append(
                f'<w:num w:numId="{num_id}"><w:abstractNumId w:val="{self.ref.number_abstract}"/>'
                f'<w:lvlOverride w:ilvl="{level}"><w:startOverride w:val="{start}"/></w:lvlOverride></w:num>'
            )
        else:
            self.nums.append(f'<w:num w:numId="{num_id}"><w:abstractNumId w:val="{self.ref.bullet_abstract}"/></w:num>')
            self._bullet_num = num_id
        return num_id

    def heading_bookmark(self, text: str) -> str:
        """A unique bookmark for a heading, derived from its GitHub anchor so ``[x](#anchor)`` links work."""
        slug = slugify(text)
        seen = self.slugs.get(slug, 0)
        self.slugs[slug] = seen + 1
        return bookmark_for(slug if not seen else f"{slug}-{seen}")

    def image(self, src: str, title: str, description: str, max_width_emu: int | None = None) -> str:
        """The run embedding image *src* (from the in-memory charts, else a file below meta.base_dir)."""
        if src not in self._image_rels:
            data = self.images.get(src)
            if data is None:
                data = self._read_image(src)
            try:
                ext, width, height, dpi = images.image_info(data)
            except images.ImageFormatError as error:
                raise self.error(f"the image {src!r}", str(error)) from None
            name = f"media/image{len(self.media) + 1}.{ext}"
            self.media[f"word/{name}"] = data
            self._image_rels[src] = (self.relationship("image", name), width, height, dpi)
        rel_id, width, height, dpi = self._image_rels[src]
        hint = images.parse_hint(title) if title else None
        max_emu = max_width_emu or (self.ref.text_width - self.indent) * images.EMU_PER_TWIP
        cx, cy = images.extent(width, height, dpi, hint, max_emu)
        self._shape_id += 1
        return images.drawing(rel_id, cx, cy, self._shape_id, Path(src).name, description)

    def _read_image(self, src: str) -> bytes:
        if "://" in src:
            raise self.error(f"the remote image {src!r}", "download it and reference a local file instead")
        path = Path(src) if self.meta.base_dir is None else self.meta.base_dir / src
        try:
            return path.read_bytes()
        except OSError as error:
            raise DocumentError(
                f"{self.meta.template}: line {self.line} of the rendered Markdown: "
                f"cannot read the image {src!r} ({path}): {error.strerror}"
            ) from None
