"""Rendering and writing work, run in worker processes (or in-process for ``--jobs 1``).

Each process keeps what is expensive to prepare and the same for many documents: one
:class:`~qmsdocs.library.layers.TemplateLibrary` per set of template layers (its Jinja environment caches
every compiled template), each profile loaded once, and the DOCX reference document (``prepare_reference``
caches per process). The caches live for one build: :func:`reset` clears them, so a long-lived process
never renders from templates it read during an earlier build.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qmsdocs.batch.manifest import TemplateHashes, digest, entry_is_current, quick_key, read_manifest
from qmsdocs.batch.output import ProfileResult, finish
from qmsdocs.batch.tasks import (
    DocOutcome,
    ProfileOutcome,
    ProfileTask,
    file_hashes,
    peak_rss_kib,
    reset_hashes,
)
from qmsdocs.config import RenderLimits
from qmsdocs.errors import QmsDocsError
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import DocumentSpec, Plan, check_coverage, plan
from qmsdocs.profile.models import Profile, load_profile

_libraries: dict[tuple[Path, ...], TemplateLibrary] = {}
_profiles: dict[Path, Profile] = {}
_template_hashes_cache: dict[int, TemplateHashes] = {}
#: the render limits of the current build (None: qmsdocs.config.DEFAULT_LIMITS when rendering)
_limits: RenderLimits | None = None
#: Most profiles and template libraries a process keeps (the most recent): a process that builds
#: hundreds of profiles must not keep them all (each profile is prepared once per build anyway; a
#: library with its compiled templates is several MB, and each client folder of templates makes one).
KEEP_PROFILES = 4
KEEP_LIBRARIES = 4


def reset(limits: RenderLimits | None = None) -> None:
    """Forget the libraries, profiles and file hashes of an earlier build; render within *limits*."""
    global _limits
    _libraries.clear()
    _profiles.clear()
    _template_hashes_cache.clear()
    reset_hashes()
    _limits = limits


def _exit_with_parent(parent: int) -> None:
    # A worker inherits both ends of the pool's task pipe, so it never sees end-of-file when the main
    # process is killed (SIGKILL): without this watch it would wait for work forever.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker the moment the process that forked it dies: a worker
    writes files, and must not go on writing after a killed build (the watch thread would take up to
    half a second to notice)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with suppress(OSError, AttributeError):  # no prctl (another C library): the watch thread remains
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


#: Young-generation threshold of the garbage collector while rendering. Parsing allocates tens of
#: thousands of short-lived objects per document, and at Python's default (700) the collector ran
#: thousands of times per profile: over 10 interleaved runs of parse + write_docx on the example set,
#: the median went from 10.3 to 9.1 ms per document. Nearly all of that garbage is freed by reference
#: counting anyway; cycles are still collected, only in larger batches.
GC_THRESHOLD = (50_000, 20, 20)


@contextmanager
def rendering_gc() -> Iterator[None]:
    """Run the block with :data:`GC_THRESHOLD`, restoring the caller's thresholds after it."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def init_worker(limits: RenderLimits | None = None) -> None:
    """Pool initializer: a fresh cache, the build's render limits, the rendering GC threshold, Ctrl-C
    left to the main process (which stops the pool), and an exit as soon as the main process is gone."""
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    reset(limits)
    gc.set_threshold(*GC_THRESHOLD)  # a worker process only ever renders
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


@dataclass(frozen=True)
class Prepared:
    """A loaded profile with its template library and document set."""

    profile: Profile
    library: TemplateLibrary
    plan: Plan


def layers_of(profile: Profile, templates: tuple[Path, ...]) -> tuple[Path, ...]:
    """The template layers of *profile*, highest first: its own folder, then the ``--templates`` ones."""
    return (profile.templates, *templates) if profile.templates else templates


def _bytecode_cache() -> Any:
    """Jinja's on-disk cache of compiled templates (keyed by template and source checksum), so each
    worker of each build does not compile the same templates again; None when there is no writable
    cache folder. The folder is per qmsdocs version and sandbox code version because the generated code
    depends on qmsdocs' environment settings (its filters, the checks the sandbox compiles in)."""
    from jinja2 import FileSystemBytecodeCache

    from qmsdocs._version import __version__
    from qmsdocs.library.sandbox import CODE_VERSION

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "qmsdocs" / __version__ / f"jinja-{CODE_VERSION}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


def library_for(layers: tuple[Path, ...]) -> TemplateLibrary:
    """The template library over *layers*, built once per process and build."""
    if layers not in _libraries:
        while len(_libraries) >= KEEP_LIBRARIES:  # the oldest goes, with the hashes kept by its id
            _template_hashes_cache.pop(id(_libraries.pop(next(iter(_libraries)))), None)
        library = TemplateLibrary(list(layers))
        library.env.bytecode_cache = _bytecode_cache()
        # no stat of the template file at every get_template: the library lives for one build only
        library.env.auto_reload = False
        _libraries[layers] = library
    return _libraries[layers]


def prepare(source: Path, templates: tuple[Path, ...]) -> Prepared:
    """Load *source* (once per process and build), its library and its plan."""
    if source not in _profiles:
        while len(_profiles) >= KEEP_PROFILES:
            _profiles.pop(next(iter(_profiles)))
        _profiles[source] = load_profile(source)
    profile = _profiles[source]
    library = library_for(layers_of(profile, templates))
    the_plan = plan(profile, library)
    check_coverage(profile, the_plan)  # an applicable clause without a document fails the profile
    return Prepared(profile, library, the_plan)


def _template_hashes(library: TemplateLibrary) -> TemplateHashes:
    key = id(library)
    if key not in _template_hashes_cache:
        _template_hashes_cache[key] = TemplateHashes(library)
    return _template_hashes_cache[key]


def document_inputs(task: ProfileTask, prepared: Prepared, formats: tuple[str, ...]) -> dict[str, str]:
    """Per document id, one hash of everything its files are made from: the qmsdocs version, the
    formats, the whole validated profile, the set plan (numbers and titles used in cross-references),
    the template with everything it extends/includes/imports, and the reference document for DOCX."""
    profile, the_plan = prepared.profile, prepared.plan
    common = digest(
        task.version,
        formats,
        profile.model_dump_json(),
        [
            (s.meta.id, s.meta.number, s.meta.title, s.meta.category, s.meta.clauses)
            for s in the_plan.documents
        ],
        [o.id for o in the_plan.omitted],
    )
    reference = ""
    if "docx" in formats:
        path = task.reference_docx or profile.branding.reference_docx
        reference = f"{path}={file_hashes()(path)}" if path else "builtin"
    templates = _template_hashes(prepared.library)
    return {
        spec.meta.id: digest(common, reference, templates.closure(spec.template.path))
        for spec in the_plan.documents
    }


def _render(spec: DocumentSpec, prepared: Prepared, formats: tuple[str, ...], reference: Any) -> DocOutcome:
    from qmsdocs.batch import pipeline  # Jinja, markdown-it and the writers: only when there is work

    written = pipeline.run(
        spec,
        prepared.profile,
        prepared.plan,
        prepared.library,
        markdown="md" in formats,
        reference=reference,
        limits=_limits,
    )
    entry = identity(spec)
    entry["files"] = written.files
    entry["assets"] = {str(path): file_hashes()(path) or "" for path in written.images}
    return DocOutcome(spec.meta.id, entry, written.blobs)


def identity(spec: DocumentSpec) -> dict[str, Any]:
    """The manifest keys that say which document this is."""
    meta = spec.meta
    return {
        "id": meta.id,
        "number": meta.number,
        "title": meta.title,
        "category": meta.category,
        "clauses": list(meta.clauses),
        "revision": meta.revision,
    }


def process_profile(task: ProfileTask) -> ProfileOutcome:
    """Load, plan and hash one profile, and render the documents whose inputs or files changed.

    Errors are collected in the outcome, never raised: one bad profile must not stop the others.
    """
    outcome = ProfileOutcome(task.source)
    try:
        prepared = prepare(task.source, task.templates)
        profile = prepared.profile
        outcome.organisation = profile.organisation.name
        outcome.omitted = list(prepared.plan.omitted)
        formats = tuple(task.formats or profile.output.formats)
        inputs = document_inputs(task, prepared, formats)
        old = (
            {}
            if task.force
            else {
                str(e.get("id")): e
                for e in (read_manifest(task.out_dir) or {}).get("documents", [])
                if isinstance(e, dict)
            }
        )
        layers = [str(folder) for _, folder in prepared.library.layers]
        reference_path = task.reference_docx or profile.branding.reference_docx if "docx" in formats else None
        ref_text = str(reference_path) if reference_path else None
        outcome.quick = {
            "key": quick_key(
                task.version, task.formats, task.templates, task.source, layers, ref_text, file_hashes()
            ),
            "layers": layers,
            "reference": ref_text,
        }
        reference = None
        for spec in prepared.plan.documents:
            entry = old.get(spec.meta.id)
            wanted = [f"{spec.meta.file_stem}.{fmt}" for fmt in formats]
            if entry is not None and entry_is_current(
                entry, inputs[spec.meta.id], wanted, task.out_dir, file_hashes()
            ):
                current = {**entry, **identity(spec)}
                outcome.documents.append(DocOutcome(spec.meta.id, current, None))
                continue
            if reference is None and "docx" in formats:
                from qmsdocs.writers.docx import (
                    prepare_reference,  # lazy: python-docx only when DOCX is asked for
                )

                reference = prepare_reference(
                    task.reference_docx or profile.branding.reference_docx, profile.branding.primary_colour
                )
                outcome.warnings.extend(reference.warnings)
            rendered = _render(spec, prepared, formats, reference)
            rendered.entry["inputs"] = inputs[spec.meta.id]
            outcome.documents.append(rendered)
    except QmsDocsError as error:
        outcome.errors.append(str(error))
        outcome.documents.clear()
    except Exception as error:  # a bug must not take the other profiles down; say what it was
        outcome.errors.append(f"{task.source}: internal error ({type(error).__name__}: {error})")
        outcome.documents.clear()
    outcome.peak_rss_kib = peak_rss_kib()
    return outcome


def build_one(task: ProfileTask) -> tuple[ProfileResult, int]:
    """Render one profile and write its files here, where they were rendered (no file content goes
    back to the main process); returns what happened and this process's peak memory in KiB."""
    outcome = process_profile(task)
    result = ProfileResult(profile=task.source)
    try:
        finish(task, outcome, result)
    except Exception as error:  # a bug must not take the other profiles down; say what it was
        result.errors.append(f"{task.source}: internal error while writing ({type(error).__name__}: {error})")
    return result, outcome.peak_rss_kib
