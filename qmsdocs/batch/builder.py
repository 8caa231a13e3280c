"""Build document sets: profiles x documents -> files on disk, in parallel, incrementally and safely.

Worker processes (:mod:`qmsdocs.batch.workers`) load each profile, decide which documents are out of date
(:mod:`qmsdocs.batch.manifest`), render only those and write them (:mod:`qmsdocs.batch.output`); the main
process holds the output folder's lock (:mod:`qmsdocs.batch.lock`) for the whole build, checks which
profiles are up to date without loading them, and collects the results. On Linux the workers are forked
from it, so they hold the lock with it and die with it; on an interrupt they are stopped before the lock is
released. A profile is rendered completely before any of its files is written, so a profile with an
error writes nothing and the others still build.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qmsdocs._version import __version__
from qmsdocs.batch.lock import OutputLock
from qmsdocs.batch.manifest import sync
from qmsdocs.batch.output import DocumentResult, ProfileResult, finish
from qmsdocs.batch.progress import Progress
from qmsdocs.batch.tasks import ProfileTask, quick_outcome, reset_hashes
from qmsdocs.config import RenderLimits
from qmsdocs.errors import BuildError
from qmsdocs.paths import UnsafePathError, real_folder, safe_filename

__all__ = ["BuildReport", "DocumentResult", "ProfileResult", "build", "build_profile"]


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
    limits: RenderLimits | None = None,
) -> BuildReport:
    """Build every profile into ``out/<profile file stem>/``; a failing profile is reported in its result
    and the others still build.

    *jobs* worker processes render (default: the CPU count; 1 renders in this process). Documents whose
    inputs and files are unchanged since the last build are not rendered or rewritten unless *force*.
    *progress* is called with a :class:`~qmsdocs.batch.progress.Progress` as profiles finish. Raises
    :class:`~qmsdocs.errors.BuildError` when another build holds *out* for longer than *lock_timeout*
    seconds. Each document's render stays within *limits* (default:
    :data:`qmsdocs.config.DEFAULT_LIMITS`); a render past one fails its profile with the template's
    file and line.
    """
    started = time.perf_counter()
    out_path = Path(out)
    jobs = max(1, jobs or os.cpu_count() or 1)
    report = BuildReport(jobs=jobs)
    settings = (
        tuple(Path(t) for t in templates),
        tuple(formats) if formats else None,
        Path(reference_docx) if reference_docx else None,
        force,
    )
    pending = _tasks(profiles, out_path, settings, report)
    tracker = _Tracker(report, progress, started, done=len(report.profiles) - len(pending))
    with OutputLock(out_path, lock_timeout, on_wait=tracker.tell):
        tracker.tell()
        reset_hashes()
        pending = _quick_pass(pending, report, tracker)
        if pending and (jobs == 1 or len(pending) == 1):
            # rendering needs Jinja, pydantic...: imported only when there is work
            from qmsdocs.batch import workers

            workers.reset(limits)
            with workers.rendering_gc():
                for index, task in pending:
                    tracker.finished(index, *workers.build_one(task))
        elif pending:
            _run_pool(pending, min(jobs, len(pending)), tracker.finished, limits)
        if any(r.written or r.removed for r in report.profiles):
            sync()  # once for the whole build; nothing to flush when nothing was written
    report.seconds = time.perf_counter() - started
    return report


def _tasks(
    profiles: Sequence[Path | str],
    out: Path,
    settings: tuple[tuple[Path, ...], tuple[str, ...] | None, Path | None, bool],
    report: BuildReport,
) -> list[tuple[int, ProfileTask]]:
    """One task per profile (its result added to *report*); a profile whose output folder another
    profile of the build already uses is refused there."""
    # The output folder is the user's choice (it may be a link); each profile's folder below it must be
    # a real folder, which is checked under the lock (see _folder_problem) and again as it is written.
    out_root = out.resolve()
    layers, formats, reference, force = settings
    pending: list[tuple[int, ProfileTask]] = []
    used: dict[Path, Path] = {}
    for index, given in enumerate(profiles):
        source = Path(given)
        result = ProfileResult(profile=source)
        report.profiles.append(result)
        out_dir = out_root / safe_filename(source.stem)
        if out_dir in used:
            result.errors.append(
                f"{source}: its output folder {out_dir} is already used by {used[out_dir]} "
                "(profiles built together need different file names)"
            )
            continue
        used[out_dir] = source
        pending.append((index, ProfileTask(source, out_dir, layers, formats, reference, force, __version__)))
    return pending


class _Tracker:
    """Counts finished profiles and documents into the report and tells *progress*."""

    def __init__(
        self,
        report: BuildReport,
        progress: Callable[[Progress], None] | None,
        started: float,
        done: int,
    ) -> None:
        self.report, self.progress, self.started = report, progress, started
        self.done, self.documents = done, 0

    def tell(self, waiting_for: str | None = None) -> None:
        if self.progress is not None:
            elapsed = time.perf_counter() - self.started
            total = len(self.report.profiles)
            self.progress(Progress(self.done, total, self.documents, elapsed, waiting_for))

    def finished(self, index: int, result: ProfileResult, peak_rss_kib: int) -> None:
        report = self.report
        report.profiles[index] = result
        report.peak_rss_kib = max(report.peak_rss_kib, peak_rss_kib)
        self.done += 1
        self.documents += len(result.written) + len(result.unchanged)
        self.tell()


def _quick_pass(
    pending: list[tuple[int, ProfileTask]], report: BuildReport, tracker: _Tracker
) -> list[tuple[int, ProfileTask]]:
    """Finish the profiles that need no worker (an unusable folder, or nothing changed); the rest."""
    todo = []
    for index, task in pending:
        problem = _folder_problem(task.out_dir)
        if problem:
            report.profiles[index].errors.append(problem)
            tracker.finished(index, report.profiles[index], 0)
            continue
        try:
            quick = quick_outcome(task)
        except Exception:  # only a shortcut: the full check in a worker finds and reports any problem
            quick = None
        if quick is None:
            todo.append((index, task))
        else:
            finish(task, quick, report.profiles[index])
            tracker.finished(index, report.profiles[index], 0)
    return todo


def _folder_problem(out_dir: Path) -> str | None:
    """Why a profile cannot be written into *out_dir* (a symbolic link, a file), or None."""
    try:
        real_folder(out_dir, create=False)
    except FileNotFoundError:
        return None  # created when its files are written
    except UnsafePathError as error:
        return str(error)
    except OSError as error:
        return f"{out_dir}: cannot use the folder: {error.strerror}"
    return None


def _run_pool(
    pending: list[tuple[int, ProfileTask]],
    jobs: int,
    finished: Callable[[int, ProfileResult, int], None],
    limits: RenderLimits | None,
) -> None:
    """Render and write *pending* in *jobs* worker processes, each document within *limits*."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from qmsdocs.batch import workers

    # Forked workers share the output folder's lock (an OS lock on an inherited file) and can be told
    # to die with this process; elsewhere _stop still ends them before the lock is released.
    context = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
    watchdog = sys.modules.get("qmsdocs.library.watchdog")  # no thread of this process into the fork
    if watchdog is not None:
        watchdog.stop_watchdog()
    others = set(multiprocessing.active_children())  # children that are not this pool's workers
    pool = ProcessPoolExecutor(
        max_workers=jobs, initializer=workers.init_worker, initargs=(limits,), mp_context=context
    )
    try:
        futures: dict[Future[tuple[ProfileResult, int]], int] = {
            pool.submit(workers.build_one, task): index for index, task in pending
        }
        remaining = set(futures)
        while remaining:
            ready, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for future in ready:
                try:
                    result, peak_rss_kib = future.result()
                except BrokenProcessPool:
                    raise BuildError(
                        "a worker process died (out of memory?); run with --jobs 1 to see why"
                    ) from None
                finished(futures[future], result, peak_rss_kib)
    except BaseException:
        _stop(pool, [p for p in multiprocessing.active_children() if p not in others])
        raise
    pool.shutdown()


def _stop(pool: Any, processes: list[Any]) -> None:
    """Ctrl-C or a fatal error: drop the queued profiles and end the workers now, waiting for them,
    because they write files and the output folder's lock must outlive every writer. A worker ended
    in the middle of a profile leaves complete files, a manifest that matches them and at most one
    temporary file, which the next build removes."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()


def build_profile(
    source: Path,
    out: Path,
    *,
    formats: Sequence[str] | None = None,
    templates: Sequence[Path] = (),
    reference_docx: Path | None = None,
    force: bool = False,
    limits: RenderLimits | None = None,
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
        limits=limits,
    )
    return report.profiles[0]
