"""The work items of a batch build and the quick up-to-date check, kept free of heavy imports.

Nothing here imports pydantic or Jinja: a rebuild in which nothing changed is decided from the manifest
and file hashes alone, so it does not pay for loading the libraries that rendering needs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from qmsdocs.batch.manifest import FileHashes, entry_is_current, quick_key, read_manifest

_file_hashes = FileHashes()


def file_hashes() -> FileHashes:
    """The file-hash cache of the current build in this process."""
    return _file_hashes


def reset_hashes() -> None:
    """Start a new build: forget every file hash."""
    global _file_hashes
    _file_hashes = FileHashes()


class OmissionLike(Protocol):
    """A document left out of a set (:class:`qmsdocs.library.plan.Omission` or :class:`RecordedOmission`)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class RecordedOmission:
    """An omission as the manifest recorded it."""

    id: str
    title: str
    reason: str


@dataclass(frozen=True)
class ProfileTask:
    """Bring one profile's documents up to date (the worker renders; the main process writes)."""

    source: Path
    out_dir: Path
    templates: tuple[Path, ...]
    formats: tuple[str, ...] | None
    reference_docx: Path | None
    force: bool
    version: str


@dataclass
class DocOutcome:
    """One document of the set: its manifest entry, and its files' content when it was re-rendered."""

    id: str
    entry: dict[str, Any]  # manifest entry without "hashes" when re-rendered
    blobs: dict[str, bytes] | None  # relative path -> content; None when the files on disk are current


@dataclass
class ProfileOutcome:
    """What a worker sends back for one profile."""

    source: Path
    organisation: str | None = None
    documents: list[DocOutcome] = field(default_factory=list)
    omitted: list[OmissionLike] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    peak_rss_kib: int = 0
    #: the manifest's "quick" record: key over the raw inputs, the layers and reference document used
    quick: dict[str, Any] | None = None
    #: True when the quick check found the whole profile up to date: nothing to write, not even the manifest
    from_manifest: bool = False


def peak_rss_kib() -> int:
    """This process's peak resident memory in KiB (0 where the platform cannot tell)."""
    try:
        import resource
    except ImportError:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def quick_outcome(task: ProfileTask) -> ProfileOutcome | None:
    """The outcome of a profile whose raw inputs and files are exactly as the last build left them
    (see :func:`qmsdocs.batch.manifest.quick_key`), found without loading it; None when it needs the full
    check."""
    manifest = None if task.force else read_manifest(task.out_dir)
    quick = (manifest or {}).get("quick")
    if manifest is None or not isinstance(quick, dict):
        return None
    layers, reference = quick.get("layers"), quick.get("reference")
    if not isinstance(layers, list) or not (reference is None or isinstance(reference, str)):
        return None
    key = quick_key(task.version, task.formats, task.templates, task.source, layers, reference, _file_hashes)
    if key != quick.get("key"):
        return None
    documents = []
    for entry in manifest["documents"]:
        names = list(entry.get("hashes", {})) if isinstance(entry, dict) else []
        if not names or not entry_is_current(
            entry, entry.get("inputs", ""), names, task.out_dir, _file_hashes
        ):
            return None
        documents.append(DocOutcome(str(entry["id"]), entry, None))
    omitted: list[OmissionLike] = [
        RecordedOmission(str(o.get("id")), str(o.get("title", "")), str(o.get("reason", "")))
        for o in manifest.get("omitted", [])
        if isinstance(o, dict)
    ]
    stamped = all("stamps" in d.entry for d in documents)  # else the manifest is rewritten with them
    return ProfileOutcome(
        task.source, manifest.get("organisation"), documents, omitted, quick=quick, from_manifest=stamped
    )
