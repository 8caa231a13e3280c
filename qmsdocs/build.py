"""Build document sets: profiles x documents -> files on disk, with a manifest and a report.

Each profile is built completely in memory first (render every document, convert every format); only
then are its files written, each atomically, and the manifest last. A profile with any error writes
nothing and does not stop the other profiles.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qmsdocs import __version__
from qmsdocs.errors import QmsDocsError
from qmsdocs.library import TemplateLibrary
from qmsdocs.markdown import parse
from qmsdocs.md_writer import write_markdown
from qmsdocs.paths import atomic_write, inside, safe_filename
from qmsdocs.plan import Omission, check_coverage, plan
from qmsdocs.profile import Profile, load_profile
from qmsdocs.render import render

FORMATS = ("docx", "md")
MANIFEST = "manifest.json"


@dataclass
class DocumentResult:
    """One document written for a profile."""

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
    omitted: list[Omission] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the profile built without errors."""
        return not self.errors


@dataclass
class BuildReport:
    """The outcome of a build: one result per profile, and the time it took."""

    profiles: list[ProfileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every profile built."""
        return all(result.ok for result in self.profiles)

    @property
    def failed(self) -> list[ProfileResult]:
        """The profiles that did not build."""
        return [result for result in self.profiles if not result.ok]


def _manifest(profile: Profile, source: Path, result: ProfileResult, docs: list[dict[str, object]]) -> bytes:
    data = {
        "organisation": profile.organisation.name,
        "profile": str(source),
        "generator": f"qmsdocs {__version__}",
        "documents": docs,
        "omitted": [{"id": o.id, "title": o.title, "reason": o.reason} for o in result.omitted],
    }
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build_profile(
    source: Path,
    out: Path,
    *,
    formats: Sequence[str] | None = None,
    templates: Sequence[Path] = (),
    reference_docx: Path | None = None,
) -> ProfileResult:
    """Build one profile's document set into ``out/<profile stem>/``."""
    result = ProfileResult(profile=source)
    try:
        profile = load_profile(source)
        result.organisation = profile.organisation.name
        layers = [profile.templates, *templates] if profile.templates else list(templates)
        library = TemplateLibrary(layers)
        the_plan = plan(profile, library)
        check_coverage(profile, the_plan)
        result.omitted = list(the_plan.omitted)
        wanted = tuple(formats or profile.output.formats)
        out_dir = inside(out, safe_filename(source.stem))
        reference = None
        if "docx" in wanted:
            from qmsdocs.docx import prepare_reference  # lazy: python-docx only when DOCX is asked for

            reference = prepare_reference(reference_docx or profile.branding.reference_docx,
                                          profile.branding.primary_colour)
            result.warnings.extend(reference.warnings)
        pending: dict[Path, bytes] = {}
        manifest_docs: list[dict[str, object]] = []
        for spec in the_plan.documents:
            rendered = render(spec, profile, the_plan, library)
            meta = spec.meta
            files: dict[str, str] = {}
            for relative, data in rendered.images.items():
                pending[inside(out_dir, relative)] = data
            if "md" in wanted:
                files["md"] = f"{meta.file_stem}.md"
                pending[inside(out_dir, files["md"])] = write_markdown(rendered.text, meta).encode("utf-8")
            if reference is not None:
                from qmsdocs.docx import write_docx

                files["docx"] = f"{meta.file_stem}.docx"
                pending[inside(out_dir, files["docx"])] = write_docx(
                    parse(rendered.text), meta, reference, rendered.images
                )
            result.documents.append(DocumentResult(meta.id, meta.number, meta.title, files))
            manifest_docs.append(
                {
                    "id": meta.id,
                    "number": meta.number,
                    "title": meta.title,
                    "category": meta.category,
                    "clauses": list(meta.clauses),
                    "revision": meta.revision,
                    "files": files,
                }
            )
        for path, data in pending.items():
            atomic_write(path, data)
        atomic_write(out_dir / MANIFEST, _manifest(profile, source, result, manifest_docs))
        result.out_dir = out_dir
    except QmsDocsError as error:
        result.errors.append(str(error))
        result.documents.clear()
    return result


def build(
    profiles: Sequence[Path | str],
    out: Path | str = "output",
    *,
    formats: Sequence[str] | None = None,
    templates: Sequence[Path | str] = (),
    reference_docx: Path | str | None = None,
) -> BuildReport:
    """Build every profile into *out*; a failing profile is reported and the others still build."""
    started = time.perf_counter()
    report = BuildReport()
    out_path = Path(out)
    layers = [Path(t) for t in templates]
    reference = Path(reference_docx) if reference_docx else None
    for source in profiles:
        report.profiles.append(
            build_profile(Path(source), out_path, formats=formats, templates=layers, reference_docx=reference)
        )
    report.seconds = time.perf_counter() - started
    return report
