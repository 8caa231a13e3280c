"""What every document written from one reference document shares: :class:`PreparedReference`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qmsdocs.writers.docx.zipwriter import Entry


@dataclass
class PreparedReference:
    """Everything a document shares with the others written from the same reference."""

    source: str  # "built-in" or the path of the consultant's file, for messages
    style_ids: dict[str, str]  # style name (lower case) -> style id in this package
    fixed_parts: dict[str, bytes]  # part name -> content, written unchanged into every package
    fixed_entries: list[Entry]  # the same, deflated once
    content_types: bytes
    fixed_rels: str  # <Relationship> elements for the fixed parts of document.xml.rels
    numbering_head: str  # numbering.xml up to where per-document w:num elements go
    numbering_tail: str
    bullet_abstract: int
    number_abstract: int
    first_num_id: int
    section: str  # w:pgSz + w:pgMar
    text_width: int  # twips between the side margins
    warnings: list[str] = field(default_factory=list)
    #: runs of inline text already written with these styles (see :func:`qmsdocs.writers.docx.body.runs`)
    inline_runs: dict[int, tuple[Any, str]] = field(default_factory=dict, repr=False)

    def style(self, name: str) -> str:
        """The style id for a style *name* (one the writer needs, so it is always present)."""
        return self.style_ids[name.lower()]
