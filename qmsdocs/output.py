"""Write one profile's rendered files and its manifest so that the folder is consistent at every moment.

Called where the profile was rendered: in a worker process of a parallel build (each worker writes the
profiles it renders, so no file content crosses between processes), or in the qmsdocs process itself
for ``--jobs 1``. The build's lock on the output folder (:mod:`qmsdocs.lock`) is held for the whole
build, and the worker processes stop before it is released (see :func:`qmsdocs.batch.build`).

Order of writes, so that an interrupted build (Ctrl-C, SIGKILL, power cut after the final sync) leaves
a consistent folder: each file is replaced atomically; the manifest (also replaced atomically) never
records a hash for a file that is about to change, and records the new hashes once the files are
written (see :func:`write_profile`); files of documents that left the set are deleted last, and only
when the manifest says qmsdocs wrote them and their content is unchanged. A document without a
recorded hash is simply rebuilt by the next build.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qmsdocs.manifest import (
    MANIFEST,
    file_hash,
    file_stamp,
    manifest_bytes,
    read_manifest,
    remove_temporaries,
    sha256,
    written_files,
)
from qmsdocs.paths import Below, atomic_write
from qmsdocs.tasks import OmissionLike, ProfileOutcome, ProfileTask

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
    out_dir = task.out_dir
    delay = float(os.environ.get(DELAY_ENV) or 0)
    old = read_manifest(out_dir)
    below = Below(out_dir)
    previous = written_files(old)  # relative path -> hash, for everything qmsdocs wrote before
    remove_temporaries(out_dir)
    entries: dict[str, dict[str, Any]] = {d.id: d.entry for d in outcome.documents if d.blobs is None}
    order = [d.id for d in outcome.documents]

    def current() -> list[dict[str, Any]]:
        return [entries[i] for i in order if i in entries]

    def leftovers() -> dict[str, str]:
        keep = {name for e in entries.values() for name in e.get("hashes", {})}
        return {name: h for name, h in previous.items() if name not in keep}

    def checkpoint() -> None:  # compact JSON: the C encoder, ~20x faster than the indented form
        data = _manifest(task, outcome, current(), leftovers(), final=False)
        atomic_write(out_dir / MANIFEST, manifest_bytes(data, indent=None), durable=False)

    rendered = [doc for doc in outcome.documents if doc.blobs is not None]
    if rendered:
        checkpoint()
    last = time.monotonic()
    for doc in outcome.documents:
        if doc.blobs is None:
            if "stamps" not in doc.entry:  # a manifest from before stamps: its files were just hashed
                doc.entry["stamps"] = {name: file_stamp(out_dir / name) for name in doc.entry["hashes"]}
            result.unchanged.append(doc.id)
            continue
        result.rendered.append(doc.id)
        hashes: dict[str, str] = {}
        stamps: dict[str, list[int] | None] = {}
        changed = False
        for relative, data in doc.blobs.items():
            digest = sha256(data)
            hashes[relative] = digest
            path = below(relative)
            if file_hash(path) != digest:  # same bytes already there: leave the file (and its mtime) alone
                atomic_write(path, data, durable=False)
                changed = True
                if delay:
                    time.sleep(delay)
            stamps[relative] = file_stamp(path)
        doc.entry["hashes"] = hashes
        doc.entry["stamps"] = stamps
        entries[doc.id] = doc.entry
        (result.written if changed else result.unchanged).append(doc.id)
        if time.monotonic() - last >= CHECKPOINT_SECONDS:
            checkpoint()
            last = time.monotonic()
    for relative, expected in sorted(leftovers().items()):
        try:
            path = below(relative)
        except ValueError:  # a manifest edited by hand: nothing outside the folder is ever touched
            result.warnings.append(f"{out_dir / MANIFEST}: ignored {relative!r}, which is outside the folder")
            continue
        if not path.exists():
            continue
        if file_hash(path) == expected:
            path.unlink()
            result.removed.append(relative)
        else:
            result.kept.append(relative)
            result.warnings.append(
                f"{path}: left in place although its document is no longer in the set, "
                "because it was changed after qmsdocs wrote it"
            )
    final = manifest_bytes(_manifest(task, outcome, current(), {}, final=True))
    if (out_dir / MANIFEST).is_file() and (out_dir / MANIFEST).read_bytes() == final:
        return
    atomic_write(out_dir / MANIFEST, final, durable=False)


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
    except OSError as error:
        result.errors.append(f"{task.out_dir}: cannot write the documents: {error.strerror or error}")
        return
    result.out_dir = task.out_dir
    result.documents = [
        DocumentResult(d.id, d.entry["number"], d.entry["title"], dict(d.entry["files"]))
        for d in outcome.documents
    ]
