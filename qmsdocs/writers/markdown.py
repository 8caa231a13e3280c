"""The Markdown writer: a document-control front matter block, the title, the body, the revision history.

The body's headings move one level down so the document title is the only level-1 heading; the body is
otherwise written as the template rendered it (CommonMark + GFM tables, readable on a code host).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from qmsdocs.markdown.escape import escape_markdown
from qmsdocs.markdown.nodes import Node, headings
from qmsdocs.markdown.tree import parse
from qmsdocs.writers.meta import DocumentMeta

# Text YAML reads back unchanged as a string when written plain; anything else is written as a JSON
# string, which is also a valid YAML double-quoted scalar (PyYAML's own emitter costs ~30x more).
_PLAIN = re.compile(r"[^\W\d_][\w .,()'/&+-]*")
_YAML_WORDS = {"yes", "no", "on", "off", "true", "false", "null", "y", "n"}


def _row(*cells: str) -> str:
    return "| " + " | ".join(escape_markdown(" ".join(c.split())) for c in cells) + " |"


def shift_headings(body: str, tree: Node | None = None) -> str:
    """Demote every ATX heading of *body* by one level (``#`` -> ``##``), using the parser's line map.

    *tree* is ``parse(body)`` when the caller has it already (the DOCX writer needs it too).
    """
    lines = body.split("\n")
    for node in headings(tree or parse(body)):
        if node.map and node.markup.startswith("#") and len(node.markup) < 6:
            # Only container markers (spaces, ">", list bullets and numbers) can come before the
            # heading's own "#" run, so the line's first "#" is where it starts.
            line = lines[node.map[0]]
            mark = line.index("#")
            lines[node.map[0]] = f"{line[:mark]}#{line[mark:]}"
    return "\n".join(lines)


def front_matter(meta: DocumentMeta) -> dict[str, Any]:
    """The document-control data written as YAML front matter."""
    return {
        "document": meta.number,
        "title": meta.title,
        "revision": meta.revision,
        "effective_date": meta.effective_date.isoformat(),
        "next_review": meta.next_review.isoformat(),
        "owner": str(meta.owner),
        "prepared_by": str(meta.prepared_by),
        "reviewed_by": str(meta.reviewed_by),
        "approved_by": str(meta.approved_by),
        "classification": meta.classification,
        "iso_9001_clauses": list(meta.clauses),
    }


def _scalar(value: str) -> str:
    plain = _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS and not value.endswith(" ")
    return value if plain else json.dumps(value, ensure_ascii=False)


def yaml_block(data: dict[str, Any]) -> str:
    """A flat mapping of text and lists of text as YAML (read back by any YAML parser unchanged)."""
    lines = []
    for key, value in data.items():
        if isinstance(value, list):
            lines.append(f"{key}: [{', '.join(json.dumps(str(v), ensure_ascii=False) for v in value)}]")
        else:
            lines.append(f"{key}: {_scalar(str(value))}")
    return "\n".join(lines) + "\n"


def check_images(tree: Node, meta: DocumentMeta, images: Mapping[str, bytes]) -> None:
    """Refuse the image links the DOCX writer refuses for where they point (a URL, a file outside the
    profile's folder and the template's layer, a missing, special or oversized file), so a document's
    Markdown never links what its Word file cannot show. *images* (the in-memory charts) are fine.
    The file's content is not read here: the Markdown only links to it."""
    line = 0
    for node in tree.walk():
        if node.map:
            line = node.map[0] + 1
        elif node.type == "image":
            src = str(node.attrs.get("src", ""))
            if src not in images:
                meta.local_image(src, line)


def write_markdown(
    body: str, meta: DocumentMeta, tree: Node | None = None, images: Mapping[str, bytes] | None = None
) -> str:
    """The complete Markdown file of one document; *tree* is ``parse(body)`` if already made.

    *images* are the in-memory images (charts) keyed by the ``src`` the body uses; every other image
    link must name a local file :meth:`DocumentMeta.local_image` accepts, or this raises
    :class:`~qmsdocs.errors.DocumentError` naming the template and line.
    """
    if "![" in body:  # no image syntax, no image: skip walking every node of the tree
        tree = tree or parse(body)
        check_images(tree, meta, images or {})
    block = yaml_block(front_matter(meta))
    control = [
        _row("Document control", ""),
        "| --- | --- |",
        _row("Document number", meta.number),
        _row("Revision", meta.revision),
        _row("Effective date", meta.effective_date.isoformat()),
        _row("Next review", meta.next_review.isoformat()),
        _row("Prepared by", str(meta.prepared_by)),
        _row("Reviewed by", str(meta.reviewed_by)),
        _row("Approved by", str(meta.approved_by)),
        _row("Classification", meta.classification),
    ]
    history = [_row("Revision", "Date", "Description", "Author"), "| --- | --- | --- | --- |"]
    history += [_row(r.revision, r.date.isoformat(), r.description, r.author) for r in meta.revisions]
    parts = [
        f"---\n{block}---",
        f"# {escape_markdown(meta.number)} {escape_markdown(meta.title)}",
        f"**{escape_markdown(meta.organisation)}**",
        "\n".join(control),
        shift_headings(body.strip(), tree),
        "## Revision history",
        "\n".join(history),
    ]
    return "\n\n".join(parts) + "\n"
