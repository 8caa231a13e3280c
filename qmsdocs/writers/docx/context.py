"""The state of one document being written: relationships, media, list numbering, headings, position."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qmsdocs.errors import DocumentError
from qmsdocs.writers import meta as document
from qmsdocs.writers.docx import images
from qmsdocs.writers.docx.prepared import PreparedReference
from qmsdocs.writers.docx.wml import attr
from qmsdocs.writers.meta import DocumentMeta, UnusableFile, read_regular_file

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SLUG_DROP = re.compile(r"[^\w\- ]", re.U)
#: Word keeps only the first 40 characters of a bookmark name
BOOKMARK_LENGTH = 40
#: stands for the bookmark of an internal link until every heading is known (see :meth:`Context.anchor_link`);
#: no text reaches the document with a NUL in it (:func:`qmsdocs.writers.docx.wml.text` drops it)
LINK_MARK = re.compile("\0(\\d+)\0")


def bookmark_for(slug: str) -> str:
    """A Word bookmark name for a heading anchor: starts with "_" (hidden in Word's bookmark list),
    no hyphens, at most 40 characters. Not unique by itself: :meth:`Context.heading_bookmark` makes it so."""
    return ("_" + slug.replace("-", "_"))[:BOOKMARK_LENGTH]


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
    #: anchor -> line of the first link to it, in the order first linked (the marks of anchor_link)
    anchors_used: dict[str, int] = field(default_factory=dict)
    slugs: dict[str, int] = field(default_factory=dict)  # GitHub anchor -> how often its base text came
    anchors: dict[str, str] = field(default_factory=dict)  # heading anchor -> its bookmark
    bookmarks: set[str] = field(default_factory=set)
    lists: list[ListLevel] = field(default_factory=list)
    in_quote: bool = False
    indent: int = 0  # left indent (twips) of blocks nested in list items
    line: int = 0  # 1-based line of the block being written, for error messages
    _bullet_num: int = 0
    _image_rels: dict[str, tuple[str, int, int, float]] = field(default_factory=dict)
    _shape_id: int = 0
    _link_ids: dict[str, int] = field(default_factory=dict)  # anchor -> number of its stand-in

    def error(self, what: str, hint: str, line: int | None = None) -> DocumentError:
        """The error for a construct the writer cannot represent, located in the rendered Markdown."""
        return self.meta.error(line or self.line, f"{what} is not supported: {hint}")

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
            self.nums.append(
                f'<w:num w:numId="{num_id}"><w:abstractNumId w:val="{self.ref.bullet_abstract}"/></w:num>'
            )
            self._bullet_num = num_id
        return num_id

    def heading_bookmark(self, text: str) -> str:
        """A bookmark for a heading, unique in the document, and its GitHub anchor (made unique as GitHub
        does: "scope", "scope-1", ...) mapped to it so ``[x](#anchor)`` links work.

        The bookmark is the anchor cut to Word's 40 characters; when two anchors give the same name (they
        share their first 39 characters, or differ only in "-" against "_"), the later one ends in "_2",
        "_3"... instead.
        """
        base = slugify(text)
        anchor = base
        while anchor in self.anchors:
            self.slugs[base] = self.slugs.get(base, 0) + 1
            anchor = f"{base}-{self.slugs[base]}"
        bookmark = bookmark_for(anchor)
        count = 1
        while bookmark in self.bookmarks:
            count += 1
            suffix = f"_{count}"
            bookmark = bookmark_for(anchor)[: BOOKMARK_LENGTH - len(suffix)] + suffix
        self.anchors[anchor] = bookmark
        self.bookmarks.add(bookmark)
        return bookmark

    def anchor_link(self, anchor: str) -> str:
        """A stand-in for the bookmark of *anchor* in a link: the heading may come later in the document;
        :meth:`resolve_links` replaces it once every heading is known."""
        self.anchors_used.setdefault(anchor, self.line)
        index = self._link_ids.setdefault(anchor, len(self._link_ids))
        return f"\0{index}\0"

    def resolve_links(self, xml: str) -> str:
        """*xml* with the stand-ins of :meth:`anchor_link` replaced by bookmarks; an error names the first
        link to an anchor no heading has."""
        if not self.anchors_used:
            return xml
        names = []
        for anchor, line in self.anchors_used.items():
            if anchor not in self.anchors:
                raise self.error(f"the link to #{anchor}", "no heading has that anchor", line)
            names.append(self.anchors[anchor])
        return LINK_MARK.sub(lambda match: names[int(match.group(1))], xml)

    def image(self, src: str, title: str, description: str, max_width_emu: int | None = None) -> str:
        """The run embedding image *src* (from the in-memory charts, else a checked local file)."""
        if src not in self._image_rels:
            data = self.images.get(src)
            if data is None:
                data = self._read_image(src)
            try:
                ext, width, height, dpi = images.image_info(data)
            except images.ImageFormatError as error:
                raise self.error(f"the image {src!r}", str(error)) from None
            self._image_rels[src] = self._embed(data, ext, width, height, dpi)
        return self._drawing(src, title, description, max_width_emu)

    def logo(self, path: Path, description: str, max_width_emu: int) -> str:
        """The run embedding the profile's logo (a file the profile names, not a template)."""
        key = f"\0logo:{path}"  # cannot collide with a Markdown image src
        if key not in self._image_rels:
            try:
                data = read_regular_file(path, document.MAX_IMAGE_BYTES, "a logo")
                info = images.image_info(data)
            except UnusableFile as error:
                raise DocumentError(f"{self.meta.template}: the logo {path} {error}") from None
            except images.ImageFormatError as error:
                raise DocumentError(
                    f"{self.meta.template}: the logo {path} cannot be embedded: {error}"
                ) from None
            self._image_rels[key] = self._embed(data, *info)
        return self._drawing(key, "", description, max_width_emu, name=path.name)

    def _embed(
        self, data: bytes, ext: str, width: int, height: int, dpi: float
    ) -> tuple[str, int, int, float]:
        name = f"media/image{len(self.media) + 1}.{ext}"
        self.media[f"word/{name}"] = data
        return self.relationship("image", name), width, height, dpi

    def _drawing(
        self, key: str, title: str, description: str, max_width_emu: int | None, name: str = ""
    ) -> str:
        rel_id, width, height, dpi = self._image_rels[key]
        hint = images.parse_hint(title) if title else None
        # never less than an inch: a list nested deep on a narrow page leaves no room at all
        max_emu = max(
            max_width_emu or (self.ref.text_width - self.indent) * images.EMU_PER_TWIP, images.EMU_PER_INCH
        )
        # cannot raise: image_info only gives sizes and resolutions extent accepts
        cx, cy = images.extent(width, height, dpi, hint, max_emu)
        self._shape_id += 1
        return images.drawing(rel_id, cx, cy, self._shape_id, name or Path(key).name, description)

    def _read_image(self, src: str) -> bytes:
        path = self.meta.local_image(src, self.line)
        try:
            return read_regular_file(path, document.MAX_IMAGE_BYTES, "an image")
        except UnusableFile as error:  # changed since local_image looked at it
            raise self.meta.error(self.line, f"the image {src!r} ({path}) {error}") from None
