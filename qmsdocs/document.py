"""What both writers know about one document besides its body: identity and document control."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path


@dataclass(frozen=True)
class Signatory:
    """A person as they appear in a document-control block."""

    name: str
    title: str

    def __str__(self) -> str:
        return f"{self.name}, {self.title}" if self.title else self.name


@dataclass(frozen=True)
class Revision:
    """One line of a document's revision history."""

    revision: str
    date: date
    description: str
    author: str


@dataclass(frozen=True)
class DocumentMeta:
    """Identity and document-control data of one generated document (ISO 9001:2015 7.5.2, 7.5.3)."""

    id: str
    number: str
    title: str
    category: str
    clauses: tuple[str, ...]
    revision: str
    effective_date: date
    next_review: date
    classification: str
    organisation: str
    short_name: str
    owner: Signatory
    prepared_by: Signatory
    reviewed_by: Signatory
    approved_by: Signatory
    revisions: tuple[Revision, ...]
    #: the template the body came from, for error messages ("builtin/policy/quality-policy.md.j2")
    template: str
    subject: str = "Quality management system"
    logo: Path | None = None
    primary_colour: str = "#1F4E79"
    #: folder that relative image paths in the body are resolved against
    base_dir: Path | None = None
    keywords: tuple[str, ...] = field(default=())

    @cached_property
    def file_stem(self) -> str:
        """File name (without extension) a person can find: "BWI-QP-07 Internal audit"."""
        from qmsdocs.paths import safe_filename

        return safe_filename(f"{self.number} {self.title}")
