"""``qmsdocs check``: every problem of a template library at once, each with its file and line.

Compiles every template file of every layer (shadowed ones too), validates front matter and ids,
finds override blocks that do not exist in their parent, reads of profile fields that do not exist,
and finally renders every document for each given profile, so that render-time errors show up too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import TemplateSyntaxError

from qmsdocs.errors import ProfileError, QmsDocsError, TemplateError
from qmsdocs.library.fieldcheck import field_problems
from qmsdocs.library.layers import TemplateLibrary, split_front_matter
from qmsdocs.library.plan import plan
from qmsdocs.library.render import configure, render
from qmsdocs.profile.models import load_profile


@dataclass
class CheckReport:
    """What a check found: problems as finished messages, and what was looked at."""

    problems: list[str] = field(default_factory=list)
    templates: int = 0
    profiles: int = 0
    rendered: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.problems

    def summary(self) -> str:
        """One line for the end of the report."""
        looked = (
            f"{self.templates} templates checked, {self.rendered} documents rendered "
            f"for {self.profiles} profiles"
        )
        if self.ok:
            return f"{looked}: no problems"
        return f"{looked}: {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"


class _Collector:
    """Problems in the order found, each once; render errors say which profiles they occur with."""

    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = {}
        self.order: dict[str, tuple[str, int]] = {}
        self.files: set[str] = set()  # templates with a problem: not rendered, to avoid repeats

    def add(self, error: QmsDocsError | str, profile: str | None = None) -> None:
        key = str(error)
        names = self.seen.setdefault(key, [])
        if profile and profile not in names:
            names.append(profile)
        if isinstance(error, TemplateError):
            self.files.add(error.template)
            self.order.setdefault(key, (error.template, error.line or 0))
        else:
            self.order.setdefault(key, ("", len(self.order)))

    def messages(self) -> list[str]:
        """Grouped by file, in line order."""
        keys = sorted(self.seen, key=lambda k: self.order[k])
        return [key + (f" (rendering {', '.join(self.seen[key])})" if self.seen[key] else "") for key in keys]


def _check_files(library: TemplateLibrary, found: _Collector) -> int:
    count = 0
    for layer, file, relative in library.all_files():
        count += 1
        display = library.display_name(layer, relative)
        try:
            text = library.read(file, display)
        except TemplateError as error:  # a broken link, a folder, not UTF-8 ...: nothing more to check
            found.add(error)
            continue
        try:
            library.front_matter_of(text, display)
        except TemplateError as error:
            found.add(error)
        try:
            tree = library.parse(file, display)
        except TemplateError as error:
            found.add(error)
            continue
        try:  # compiling finds what parsing does not: unknown filters and tests
            source = split_front_matter(text, display)[1]
            library.env.compile(source, name=display, filename=str(file))
        except TemplateSyntaxError as syntax:
            found.add(
                TemplateError(display, syntax.lineno, syntax.message or "the template does not compile")
            )
        if layer != "builtin":
            for problem in library.block_problems(file, display):
                found.add(problem)
        for problem in field_problems(tree, display):
            found.add(problem)
    return count


def check_library(layers: Sequence[Path], profiles: Sequence[Path]) -> CheckReport:
    """Check the library made of *layers* over the built-in one, rendering it for each of *profiles*."""
    library = TemplateLibrary(list(layers))
    configure(library)  # qmsdocs' filters, so that compiling knows them
    found = _Collector()
    report = CheckReport()
    report.templates = _check_files(library, found)
    for error in library.set_aside_problems():  # duplicate ids and the rest found while loading
        found.add(error)
    for source in profiles:
        report.profiles += 1
        try:
            profile = load_profile(source)
        except ProfileError as error:
            for problem in error.problems:
                found.add(str(problem))
            continue
        layered = library
        if profile.templates:  # the client's own layer sits above the others
            layered = TemplateLibrary([profile.templates, *layers])
            configure(layered)
            _check_files(layered, found)
            for loading_error in layered.set_aside_problems():
                found.add(loading_error)
        try:
            the_plan = plan(profile, layered)
        except TemplateError as error:
            found.add(error, source.name)
            continue
        for spec in the_plan.documents:
            if spec.meta.template in found.files:
                continue  # its problem is reported already; rendering would repeat it
            try:
                render(spec, profile, the_plan, layered)
                report.rendered += 1
            except QmsDocsError as error:
                found.add(error, source.name)
    report.problems = found.messages()
    return report
