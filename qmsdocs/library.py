"""The template library: layers of folders over the built-in templates, in one sandboxed Jinja environment.

A layer higher in the list wins: a template at the same relative path replaces the lower one. Every
built-in template is also reachable as ``builtin/<path>``, so an override can ``{% extends
"builtin/procedures/internal-audit.md.j2" %}`` and replace a single ``{% block %}``.

A template is a *document* when its YAML front matter has an ``id``; other templates (partials, layouts)
are only included or extended.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import missing
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qmsdocs.errors import TemplateError

SUFFIX = ".md.j2"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)---[ \t]*(?:\r?\n|\Z)", re.DOTALL)

Category = Literal["manual", "policy", "statement", "plan", "procedure", "register", "form", "report"]
#: Order of categories in the document set and the master list.
CATEGORY_ORDER: tuple[str, ...] = ("manual", "statement", "policy", "plan", "procedure", "register", "form", "report")


def builtin_dir() -> Path:
    """The built-in template folder: inside the installed wheel, or at the top of a source checkout."""
    packaged = Path(str(resources.files("qmsdocs"))) / "_data" / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


class FrontMatter(BaseModel):
    """What a document template declares about itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*-[0-9A-Z]+$", description='Stable id, e.g. "QP-09".')
    title: str = Field(min_length=1)
    category: Category
    clauses: tuple[str, ...] = Field((), description="ISO 9001:2015 clauses the document addresses.")
    depends_on: tuple[str, ...] = Field(
        (), description="Clauses whose being not applicable removes the document from the set."
    )
    requires: tuple[str, ...] = Field((), description="Profile sections that must be present (e.g. self_assessment).")
    owner: str = Field("quality_manager", description="Role (a key of `roles`) that owns the document.")


@dataclass(frozen=True)
class TemplateInfo:
    """One document template as the library resolved it."""

    path: str  # relative path inside its layer, with forward slashes: "procedures/internal-audit.md.j2"
    layer: str  # "builtin", or the folder of a higher layer
    file: Path
    front: FrontMatter


def split_front_matter(source: str, name: str) -> tuple[dict[str, Any] | None, str]:
    """Return (front matter data or None, source with the front matter blanked to keep line numbers)."""
    match = _FRONT_MATTER.match(source)
    if not match:
        return None, source
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        raise TemplateError(name, line, f"front matter is not valid YAML: {getattr(error, 'problem', error)}") from None
    if not isinstance(data, dict):
        raise TemplateError(name, 1, "front matter must be a YAML mapping (id:, title:, category:, ...)")
    blank = "\n" * match.group(0).count("\n")
    return data, blank + source[match.end() :]


class _FrontMatterLoader(FileSystemLoader):
    """A file loader that hides the front matter from Jinja but keeps the template's line numbers."""

    def get_source(
        self, environment: Any, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = super().get_source(environment, template)
        return split_front_matter(source, filename or template)[1], filename, uptodate


class _MarkdownUndefined(StrictUndefined):
    """StrictUndefined with messages in the profile's terms, not Python's."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_obj is not missing and self._undefined_name is not None:
            owner = type(self._undefined_obj).__name__
            return f"{owner} has no field '{self._undefined_name}'"
        if self._undefined_name is not None:
            return f"'{self._undefined_name}' is undefined"
        return super()._undefined_message


class TemplateLibrary:
    """Template layers (highest first) above the built-in library, and the Jinja environment over them."""

    def __init__(self, layers: list[Path] | tuple[Path, ...] = (), *, builtin: Path | None = None) -> None:
        self.builtin = builtin or builtin_dir()
        self.layers: list[tuple[str, Path]] = [(str(p), Path(p)) for p in layers]
        for _, folder in self.layers:
            if not folder.is_dir():
                raise TemplateError(str(folder), None, "template folder not found")
        self.layers.append(("builtin", self.builtin))
        self._env: SandboxedEnvironment | None = None
        self._templates: dict[str, TemplateInfo] | None = None

    @property
    def env(self) -> SandboxedEnvironment:
        """The sandboxed Jinja environment (built on first use)."""
        if self._env is None:
            loaders: list[BaseLoader] = [_FrontMatterLoader(str(folder)) for _, folder in self.layers]
            loaders.append(PrefixLoader({"builtin": _FrontMatterLoader(str(self.builtin))}))
            self._env = SandboxedEnvironment(
                loader=ChoiceLoader(loaders),
                undefined=_MarkdownUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
                # finalize (render.py) escapes profile values for Markdown and returns Markup, which
                # autoescape then leaves alone; macro output stays Markup and is never escaped twice.
                autoescape=True,
            )
        return self._env

    def layer_of(self, relative: str) -> tuple[str, Path]:
        """The (layer name, file) that supplies the template at *relative*."""
        if relative.startswith("builtin/"):
            return "builtin", self.builtin / relative.removeprefix("builtin/")
        for name, folder in self.layers:
            candidate = folder / relative
            if candidate.is_file():
                return name, candidate
        raise TemplateNotFound(relative)

    def _walk(self) -> Iterator[tuple[str, Path, str]]:
        for name, folder in self.layers:
            for file in sorted(folder.rglob(f"*{SUFFIX}")):
                yield name, file, file.relative_to(folder).as_posix()

    def templates(self) -> dict[str, TemplateInfo]:
        """Every document template by id, the highest layer winning for each relative path."""
        if self._templates is not None:
            return self._templates
        seen_paths: set[str] = set()
        by_id: dict[str, TemplateInfo] = {}
        for layer, file, relative in self._walk():
            if relative in seen_paths:
                continue  # a higher layer already supplies this path
            seen_paths.add(relative)
            front = self.front_matter(file, display=self.display_name(layer, relative))
            if front is None:
                continue
            info = TemplateInfo(relative, layer, file, front)
            if front.id in by_id:
                other = by_id[front.id]
                raise TemplateError(
                    self.display_name(layer, relative),
                    2,
                    f"id '{front.id}' is already used by {self.display_name(other.layer, other.path)}",
                )
            by_id[front.id] = info
        self._templates = by_id
        return by_id

    @staticmethod
    def display_name(layer: str, relative: str) -> str:
        """How a template is named in messages: "builtin/policy/x.md.j2" or "/path/to/layer/x.md.j2"."""
        return f"builtin/{relative}" if layer == "builtin" else str(Path(layer) / relative)

    @staticmethod
    def front_matter(file: Path, display: str) -> FrontMatter | None:
        """Parse the front matter of *file*; None for a partial without an id."""
        data, _ = split_front_matter(file.read_text(encoding="utf-8"), display)
        if data is None or "id" not in data:
            return None
        try:
            return FrontMatter.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'front matter'}: {e['msg'][0].lower()}{e['msg'][1:]}"
                for e in error.errors(include_url=False)
            )
            raise TemplateError(display, 2, f"front matter: {problems}") from None
