"""Write one profile's rendered files and its manifest so that the folder is consistent at every moment.

Called where the profile was rendered: in a worker process of a parallel build (each worker writes the
profiles it renders, so no file content crosses between processes), or in the qmsdocs process itself
for ``--jobs 1``. The build's lock on the output folder (:mod:`qmsdocs.batch.lock`) is held for the whole
build, and the worker processes stop before it is released (see :func:`qmsdocs.batch.builder.build`).

Order of writes, so that an interrupted build (Ctrl-C, SIGKILL, power cut after the final sync) leaves
a consistent folder: each file is replaced atomically; the manifest (also replaced atomically) never
records a hash for a file that is about to change, and records the new hashes once the files are
written (see :func:`write_profile`); files of documents that left the set are deleted last, and only
when the manifest says qmsdocs wrote them and their content is unchanged. A document without a
recorded hash is simply rebuilt by the next build.

The folder is the client's deliverable and may have been changed by hand: the profile's folder and
every folder a file goes into must be real folders, not symbolic links (checked before the first file
is written, so such a profile fails with nothing written); files are written by
:func:`qmsdocs.paths.atomic_write`, which never follows a link; a manifest that is not exactly as
qmsdocs writes it, or names a file outside the folder, is not used (one warning; every document is
rebuilt and nothing is removed, see :func:`qmsdocs.batch.manifest.load_manifest`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qmsdocs.batch.manifest import (
    MANIFEST,
    file_hash,
    file_stamp,
    load_manifest,
    manifest_bytes,
    sha256,
    written_files,
)
from qmsdocs.batch.tasks import DocOutcome, OmissionLike, ProfileOutcome, ProfileTask
from qmsdocs.errors import QmsDocsError
from qmsdocs.paths import Below, UnsafePathError, atomic_write, remove_temporaries

#: Test hook: seconds to sleep after each file written, so a test can kill a build half-way.
DELAY_ENV = "QMSDOCS_TEST_WRITE_DELAY"
#: While a profile's files are written, its manifest is brought up to date at most this often.
CHECKPOINT_SECONDS = 0.5


@dataclass
class DocumentResult:
    """One document of a profile's set."""

    id: str
    number: str
    title: str
    files: dict[str, str]  # format -> path relative to the profile's output folder


@dataclass
class ProfileResult:
    """What happened to one profile."""

    profile: Path
    out_dir: Path | None = None
    organisation: str | None = None
    documents: list[DocumentResult] = field(default_factory=list)
    omitted: list[OmissionLike] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # ids of documents rendered (inputs or files changed)
    written: list[str] = field(default_factory=list)  # ids of documents whose files were (re)written
    unchanged: list[str] = field(default_factory=list)  # ids of documents already up to date
    removed: list[str] = field(default_factory=list)  # files of documents no longer in the set
    kept: list[str] = field(default_factory=list)  # such files left alone because they were edited

    @property
    def ok(self) -> bool:
        """True when the profile built without errors."""
        return not self.errors


def _manifest(
    task: ProfileTask,
    outcome: ProfileOutcome,
    docs: list[dict[str, Any]],
    previous: dict[str, str],
    *,
    final: bool,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "organisation": outcome.organisation,
        "profile": str(task.source),
        "generator": f"qmsdocs {task.version}",
        "documents": docs,
        "omitted": [{"id": o.id, "title": o.title, "reason": o.reason} for o in outcome.omitted],
    }
    if outcome.quick and final:
        # Only a complete manifest may vouch for the whole profile: an interrupted build's partial
        # manifest must send the next build through the full check.
        data["quick"] = outcome.quick
    if previous:
        # Files of documents that left the set, not yet deleted: recorded so that a build interrupted
        # before it deleted them still knows they are qmsdocs' to delete.
        data["previous"] = previous
    return data


def write_profile(task: ProfileTask, outcome: ProfileOutcome, result: ProfileResult) -> None:
    """Write the rendered files of one profile, with a manifest that matches the disk at every moment.

    Before any file is replaced, an interim manifest drops the hashes of the documents about to be
    rewritten (their old files stay listed under ``previous``, so qmsdocs may still delete them later);
    during the writes it is refreshed at most every :data:`CHECKPOINT_SECONDS` with the documents done;
    the final manifest is written last. A build killed at any point leaves a manifest whose every hash
    matches its file, and the next build redoes only the documents without one.
    """
    writer = _ProfileWriter(task, outcome, result)
    if any(doc.blobs is not None for doc in outcome.documents):
        writer.checkpoint()
    last = time.monotonic()
    for doc in outcome.documents:
        writer.write(doc)
        if time.monotonic() - last >= CHECKPOINT_SECONDS:
            writer.checkpoint()
            last = time.monotonic()
    writer.remove_leftovers()
    writer.final_manifest()


class _ProfileWriter:
    """The state of writing one profile: its folders, the earlier manifest and the entries so far."""

    def __init__(self, task: ProfileTask, outcome: ProfileOutcome, result: ProfileResult) -> None:
        self.task, self.outcome, self.result = task, outcome, result
        self.delay = float(os.environ.get(DELAY_ENV) or 0)
        self.below = Below(task.out_dir)
        # The profile's folder and every folder a file goes into (charts/) must be real folders, not
        # links: all checked (and created) before the first file is written, so such a profile writes
        # nothing.
        self.base = self.below.folder()
        self.targets = {rel: self.below(rel) for doc in outcome.documents for rel in doc.blobs or ()}
        old, problem = load_manifest(self.base)
        if problem:
            result.warnings.append(
                f"{self.base / MANIFEST}: not used, because {problem}; "
                "every document is rebuilt and no file of an earlier build is removed"
            )
        self.previous = written_files(old)  # relative path -> hash, for everything qmsdocs wrote before
        remove_temporaries(self.base, {*self.targets, *self.previous})
        self.entries = {d.id: d.entry for d in outcome.documents if d.blobs is None}
        self.order = [d.id for d in outcome.documents]

    def current(self) -> list[dict[str, Any]]:
        return [self.entries[i] for i in self.order if i in self.entries]

    def leftovers(self) -> dict[str, str]:
        """Files qmsdocs wrote before that no document of this build has."""
        keep = {name for e in self.entries.values() for name in e.get("hashes", {})}
        return {name: h for name, h in self.previous.items() if name not in keep}

    def checkpoint(self) -> None:
        """An interim manifest (compact JSON: the C encoder, ~20x faster than the indented form)."""
        data = _manifest(self.task, self.outcome, self.current(), self.leftovers(), final=False)
        atomic_write(self.base / MANIFEST, manifest_bytes(data, indent=None), durable=False)

    def write(self, doc: DocOutcome) -> None:
        """Write the files of *doc* whose bytes changed; an up-to-date document keeps its entry."""
        if doc.blobs is None:
            if "stamps" not in doc.entry:  # a manifest from before stamps: its files were just hashed
                doc.entry["stamps"] = {name: file_stamp(self.base / name) for name in doc.entry["hashes"]}
            self.result.unchanged.append(doc.id)
            return
        self.result.rendered.append(doc.id)
        hashes: dict[str, str] = {}
        stamps: dict[str, list[int] | None] = {}
        changed = False
        for relative, data in doc.blobs.items():
            digest = sha256(data)
            hashes[relative] = digest
            path = self.targets[relative]
            # same bytes already there, in a regular file: leave it (and its mtime) alone
            if file_stamp(path) is None or file_hash(path) != digest:
                atomic_write(path, data, durable=False)
                changed = True
                if self.delay:
                    time.sleep(self.delay)
            stamps[relative] = file_stamp(path)
        doc.entry["hashes"] = hashes
        doc.entry["stamps"] = stamps
        self.entries[doc.id] = doc.entry
        (self.result.written if changed else self.result.unchanged).append(doc.id)

    def remove_leftovers(self) -> None:
        """Delete the files of documents that left the set, only where they still hold what qmsdocs wrote."""
        result = self.result
        for relative, expected in sorted(self.leftovers().items()):
            try:
                path = self.below(relative, create=False)
            except FileNotFoundError:  # its folder is gone, so is the file
                continue
            except UnsafePathError as error:  # a folder on the way became a link: nothing is followed
                result.warnings.append(f"{error}; {relative} left in place")
                continue
            if file_stamp(path) is not None and file_hash(path) == expected:
                path.unlink()
                result.removed.append(relative)
            elif path.is_symlink() or path.exists():
                result.kept.append(relative)
                result.warnings.append(
                    f"{path}: left in place although its document is no longer in the set, "
                    "because it was changed after qmsdocs wrote it"
                )

    def final_manifest(self) -> None:
        final = manifest_bytes(_manifest(self.task, self.outcome, self.current(), {}, final=True))
        path = self.base / MANIFEST
        if file_stamp(path) is not None and file_hash(path) == sha256(final):
            return
        atomic_write(path, final, durable=False)


def finish(task: ProfileTask, outcome: ProfileOutcome, result: ProfileResult) -> None:
    result.organisation = outcome.organisation
    result.omitted = outcome.omitted
    result.warnings.extend(dict.fromkeys(outcome.warnings))
    result.errors.extend(outcome.errors)
    if outcome.errors:
        return
    try:
        if outcome.from_manifest:  # the quick check found everything as the manifest records it
            result.unchanged.extend(d.id for d in outcome.documents)
        else:
            write_profile(task, outcome, result)
    except QmsDocsError as error:  # a folder that is a link or not a folder
        result.errors.append(str(error))
        return
    except OSError as error:
        result.errors.append(f"{error.filename or task.out_dir}: cannot write: {error.strerror or error}")
        return
    result.out_dir = task.out_dir
    result.documents = [
        DocumentResult(d.id, d.entry["number"], d.entry["title"], dict(d.entry["files"]))
        for d in outcome.documents
    ]
