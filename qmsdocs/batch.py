"""Build document sets: profiles x documents -> files on disk, in parallel, incrementally and safely.

Worker processes (:mod:`qmsdocs.workers`) load each profile, decide which documents are out of date
(:mod:`qmsdocs.manifest`) and render only those; the main process, which alone holds the output
folder's lock (:mod:`qmsdocs.lock`), writes the files. A profile is rendered completely before any of
its files is written, so a profile with an error writes nothing and the others still build.

Order of writes, so that an interrupted build (Ctrl-C, SIGKILL, power cut after the final sync) leaves
a consistent folder: each file is replaced atomically; the manifest (also replaced atomically) never
records a hash for a file that is about to change, and records the new hashes once the files are
written (see :func:`_write_profile`); files of documents that left the set are deleted last, and only
when the manifest says qmsdocs wrote them and their content is unchanged. A document without a
recorded hash is simply rebuilt by the next build.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import qmsdocs
from qmsdocs.errors import BuildError
from qmsdocs.lock import OutputLock
from qmsdocs.manifest import (
    MANIFEST,
    file_hash,
    file_stamp,
    manifest_bytes,
    read_manifest,
    remove_temporaries,
    sha256,
    sync,
    written_files,
)
from qmsdocs.paths import Below, atomic_write, inside, safe_filename
from qmsdocs.progress import Progress
from qmsdocs.tasks import OmissionLike, ProfileOutcome, ProfileTask, quick_outcome, reset_hashes

FORMATS = ("docx", "md")
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


@dataclass
class BuildReport:
    """The outcome of a build: one result per profile (in the order given), counts and time."""

    profiles: list[ProfileResult] = field(default_factory=list)
    seconds: float = 0.0
    jobs: int = 1
    #: largest peak resident memory of any process that rendered (KiB; 0 when unknown)
    peak_rss_kib: int = 0

    @property
    def ok(self) -> bool:
        """True when every profile built."""
        return all(result.ok for result in self.profiles)

    @property
    def failed(self) -> list[ProfileResult]:
        """The profiles that did not build."""
        return [result for result in self.profiles if not result.ok]

    @property
    def written(self) -> int:
        """Documents whose files were written."""
        return sum(len(r.written) for r in self.profiles)

    @property
    def unchanged(self) -> int:
        """Documents that were already up to date."""
        return sum(len(r.unchanged) for r in self.profiles)

    @property
    def omitted(self) -> int:
        """Documents left out of their profile's set (not applicable)."""
        return sum(len(r.omitted) for r in self.profiles if r.ok)

    @property
    def removed(self) -> int:
        """Files deleted because their document left the set."""
        return sum(len(r.removed) for r in self.profiles)


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


def _write_profile(task: ProfileTask, outcome: ProfileOutcome, result: ProfileResult) -> None:
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
        path = below(relative)
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


def _finish(task: ProfileTask, outcome: ProfileOutcome, result: ProfileResult) -> None:
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
            _write_profile(task, outcome, result)
    except OSError as error:
        result.errors.append(f"{task.out_dir}: cannot write the documents: {error.strerror or error}")
        return
    result.out_dir = task.out_dir
    result.documents = [
        DocumentResult(d.id, d.entry["number"], d.entry["title"], dict(d.entry["files"]))
        for d in outcome.documents
    ]


def build(
    profiles: Sequence[Path | str],
    out: Path | str = "output",
    *,
    formats: Sequence[str] | None = None,
    templates: Sequence[Path | str] = (),
    reference_docx: Path | str | None = None,
    jobs: int | None = None,
    force: bool = False,
    progress: Callable[[Progress], None] | None = None,
    lock_timeout: float = 30.0,
) -> BuildReport:
    """Build every profile into ``out/<profile file stem>/``; a failing profile is reported in its result
    and the others still build.

    *jobs* worker processes render (default: the CPU count; 1 renders in this process). Documents whose
    inputs and files are unchanged since the last build are not rendered or rewritten unless *force*.
    *progress* is called with a :class:`~qmsdocs.progress.Progress` as profiles finish. Raises
    :class:`~qmsdocs.errors.BuildError` when another build holds *out* for longer than *lock_timeout*
    seconds.
    """
    started = time.perf_counter()
    out_path = Path(out)
    jobs = max(1, jobs or os.cpu_count() or 1)
    report = BuildReport(jobs=jobs)
    layers = tuple(Path(t) for t in templates)
    reference = Path(reference_docx) if reference_docx else None
    version = qmsdocs.__version__
    pending: list[tuple[ProfileTask, ProfileResult]] = []
    used: dict[Path, Path] = {}
    for given in profiles:
        source = Path(given)
        result = ProfileResult(profile=source)
        report.profiles.append(result)
        out_dir = inside(out_path, safe_filename(source.stem))
        if out_dir in used:
            result.errors.append(
                f"{source}: its output folder {out_dir} is already used by {used[out_dir]} "
                "(profiles built together need different file names)"
            )
            continue
        used[out_dir] = source
        task = ProfileTask(
            source, out_dir, layers, tuple(formats) if formats else None, reference, force, version
        )
        pending.append((task, result))

    done = len(report.profiles) - len(pending)  # refused before any work
    documents = 0

    def tell(waiting_for: str | None = None) -> None:
        if progress is not None:
            progress(
                Progress(done, len(report.profiles), documents, time.perf_counter() - started, waiting_for)
            )

    def finished(task: ProfileTask, result: ProfileResult, outcome: ProfileOutcome) -> None:
        nonlocal done, documents
        _finish(task, outcome, result)
        report.peak_rss_kib = max(report.peak_rss_kib, outcome.peak_rss_kib)
        done += 1
        documents += len(result.written) + len(result.unchanged)
        tell()

    with OutputLock(out_path, lock_timeout, on_wait=lambda holder: tell(holder)):
        tell()
        reset_hashes()
        todo = []
        for task, result in pending:  # cheap check first: unchanged profiles never reach a worker
            quick = quick_outcome(task)
            if quick is None:
                todo.append((task, result))
            else:
                finished(task, result, quick)
        pending = todo
        if pending and (jobs == 1 or len(pending) == 1):
            from qmsdocs import (
                workers,
            )  # rendering needs Jinja, pydantic...: imported only when there is work

            workers.reset()
            with workers.rendering_gc():
                for task, result in pending:
                    finished(task, result, workers.process_profile(task))
        elif pending:
            _run_pool(pending, min(jobs, len(pending)), finished)
        if any(r.written or r.removed for r in report.profiles):
            sync()  # once for the whole build; nothing to flush when nothing was written
    report.seconds = time.perf_counter() - started
    return report


def _run_pool(
    pending: list[tuple[ProfileTask, ProfileResult]],
    jobs: int,
    finished: Callable[[ProfileTask, ProfileResult, ProfileOutcome], None],
) -> None:
    """Render *pending* in *jobs* worker processes, writing each profile as soon as it is rendered."""
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from qmsdocs import workers

    pool = ProcessPoolExecutor(max_workers=jobs, initializer=workers.init_worker)
    try:
        futures: dict[Future[ProfileOutcome], tuple[ProfileTask, ProfileResult]] = {
            pool.submit(workers.process_profile, task): (task, result) for task, result in pending
        }
        remaining = set(futures)
        while remaining:
            ready, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for future in ready:
                task, result = futures[future]
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    raise BuildError(
                        "a worker process died (out of memory?); run with --jobs 1 to see why"
                    ) from None
                finished(task, result, outcome)
    except BaseException:
        # Ctrl-C or a fatal error: drop the queued profiles; files already written are complete.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def build_profile(
    source: Path,
    out: Path,
    *,
    formats: Sequence[str] | None = None,
    templates: Sequence[Path] = (),
    reference_docx: Path | None = None,
    force: bool = False,
) -> ProfileResult:
    """Build one profile's document set into ``out/<profile stem>/``, in this process."""
    report = build(
        [source],
        out,
        formats=formats,
        templates=templates,
        reference_docx=reference_docx,
        jobs=1,
        force=force,
    )
    return report.profiles[0]
