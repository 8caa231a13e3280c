"""The template library: layers of folders over the built-in templates, in one sandboxed Jinja environment.

A layer higher in the list wins: a template at the same relative path replaces the lower one. Every
built-in template is also reachable as ``builtin/<path>``, so an override can ``{% extends
"builtin/procedures/internal-audit.md.j2" %}`` and replace a single ``{% block %}``.

A template is a *document* when its YAML front matter has an ``id``; other templates (partials, layouts)
are only included or extended. A document template in any layer joins the set.

Templates are untrusted input: the environment is sandboxed (sandbox.py), the loaders serve only ``.j2``
files that really lie inside their layer (no symlink escapes), file-system paths in the context expose no
methods, and string/list repetition and powers are capped so a template cannot exhaust memory. A file of a
layer that cannot be a template (a broken link, a folder or a pipe named ``*.md.j2``, text that is not
UTF-8, a link out of the layer) is a TemplateError naming it (:func:`read_template`), reported with the
other problems of the library: it fails the profiles that use the layer, never the whole batch.

Jinja silently ignores a ``{% block %}`` that the parent template does not have, so an override with a
misspelt block name would change nothing. :meth:`TemplateLibrary.block_problems` parses an override and
its parent chain and reports such blocks with a did-you-mean hint; the library runs it for every
template of a non-builtin layer when it loads.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    PrefixLoader,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
)
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qmsdocs.errors import TemplateError, TemplateProblems
from qmsdocs.library.sandbox import MarkdownUndefined, Sandbox

SUFFIX = ".md.j2"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)---[ \t]*(?:\r?\n|\Z)", re.DOTALL)

Category = Literal["manual", "policy", "statement", "plan", "procedure", "register", "form", "report"]
#: Order of categories in the document set and the master list.
CATEGORY_ORDER: tuple[str, ...] = (
    "manual",
    "statement",
    "policy",
    "plan",
    "procedure",
    "register",
    "form",
    "report",
)


def builtin_dir() -> Path:
    """The built-in template folder: inside the installed wheel, or at the top of a source checkout."""
    packaged = Path(str(resources.files("qmsdocs"))) / "_data" / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


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
    requires: tuple[str, ...] = Field(
        (), description="Profile sections that must be present (e.g. self_assessment)."
    )
    owner: str = Field("quality_manager", description="Role (a key of `roles`) that owns the document.")


@dataclass(frozen=True)
class TemplateInfo:
    """One document template as the library resolved it."""

    path: str  # relative path inside its layer, with forward slashes: "procedures/internal-audit.md.j2"
    layer: str  # "builtin", or the folder of a higher layer
    file: Path
    front: FrontMatter


#: libyaml's loader where PyYAML was built with it (about 8 times faster), else the pure-Python one.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Front matter already parsed in this process, by its YAML text. A template is read several times per
#: build (the library's scan, the manifest's template hashes, Jinja's loader), and each read finds its
#: front matter here: parsed once per process and file version. Keyed by the text itself, so an edited
#: file is never served stale data, whatever its modification time. At most MAX_FRONT_MATTER_CACHE
#: entries (the oldest go first): a process building for many client template folders stays bounded.
_front_matter_cache: dict[str, Any] = {}
MAX_FRONT_MATTER_CACHE = 2048


def _front_matter_data(text: str, name: str) -> Any:
    """The YAML data of the front matter *text* (cached; the caller must not change it)."""
    try:
        return _front_matter_cache[text]
    except KeyError:
        pass
    try:
        data = yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - a safe loader (C or Python)
    except yaml.YAMLError:
        # libyaml refused it: the pure-Python loader decides, and words the message as it always did
        try:
            data = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - the safe loader
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 2 if mark else 1
            raise TemplateError(
                name, line, f"front matter is not valid YAML: {getattr(error, 'problem', error)}"
            ) from None
    if len(_front_matter_cache) >= MAX_FRONT_MATTER_CACHE:
        del _front_matter_cache[next(iter(_front_matter_cache))]
    _front_matter_cache[text] = data
    return data


def split_front_matter(source: str, name: str) -> tuple[dict[str, Any] | None, str]:
    """Return (front matter data or None, source with the front matter blanked to keep line numbers)."""
    match = _FRONT_MATTER.match(source)
    if not match:
        return None, source
    data = _front_matter_data(match.group(1), name)
    if not isinstance(data, dict):
        raise TemplateError(name, 1, "front matter must be a YAML mapping (id:, title:, category:, ...)")
    blank = "\n" * match.group(0).count("\n")
    return dict(data), blank + source[match.end() :]


_READ_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def read_template(file: Path, display: str, root: Path | None = None) -> str:
    """The text of the template file *file*, or a TemplateError naming *display* that says why it is not
    one: a broken symbolic link, a folder, not a regular file (a named pipe is never read: that would
    block), not UTF-8 text (with its line), or, when its layer's resolved *root* is given, a symbolic
    link to a file outside the layer (the loaders refuse to load those).
    """
    try:
        if root is not None and not file.resolve().is_relative_to(root) and file.exists():
            raise TemplateError(
                display,
                None,
                "is a symbolic link to a file outside its template folder, which qmsdocs does not read",
            )
        handle = os.open(file, _READ_FLAGS)
    except FileNotFoundError:
        if file.is_symlink():
            raise TemplateError(display, None, "a broken symbolic link (its target does not exist)") from None
        raise TemplateError(display, None, "file not found") from None
    except OSError as error:
        raise TemplateError(display, None, f"cannot be read: {error.strerror}") from None
    try:
        mode = os.fstat(handle).st_mode
        if stat.S_ISDIR(mode):
            raise TemplateError(
                display, None, "is a folder, not a template (a template is a file whose name ends in .md.j2)"
            )
        if not stat.S_ISREG(mode):
            raise TemplateError(display, None, "is not a regular file")
    except BaseException:
        os.close(handle)
        raise
    with open(handle, "rb", buffering=0) as stream:  # noqa: PTH123 - a descriptor, not a path
        try:
            data = stream.readall()
        except OSError as error:
            raise TemplateError(display, None, f"cannot be read: {error.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        column = len(data[start : error.start].decode("utf-8", "replace")) + 1
        raise TemplateError(
            display,
            line,
            f"not UTF-8 text (byte 0x{data[error.start]:02x} in column {column}); save the file as UTF-8",
        ) from None


def _mtime(file: Path) -> int:
    try:
        return file.stat().st_mtime_ns
    except OSError:
        return -1  # read_template says what is wrong with it


def front_matter_block(source: str) -> str:
    """The front matter of *source* as written, ``---`` lines included (``""`` when it has none)."""
    match = _FRONT_MATTER.match(source)
    return match.group(0) if match else ""


class _FrontMatterLoader(FileSystemLoader):
    """A file loader that hides the front matter from Jinja but keeps the template's line numbers.

    It serves only ``.j2`` files that resolve to a place inside its folder: Jinja's own loader already
    refuses ``..`` and absolute names, and this also stops a symlink in a layer from reaching files
    outside it and an ``{% include %}`` from reading a layer's non-template files.
    """

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        if not template.endswith(".j2"):
            raise TemplateNotFound(
                template, f"{template} (only .j2 templates of the template folders can be loaded)"
            )
        try:
            source, filename, uptodate = super().get_source(environment, template)
        except UnicodeDecodeError:  # say which file and where, as for the templates the library scans
            file = posixpath.join(self.searchpath[0], *split_template_path(template))
            try:
                read_template(Path(file), file)
            except TemplateError as error:
                raise JinjaTemplateError(str(error)) from None
            raise
        root = Path(self.searchpath[0]).resolve()
        if not Path(filename).resolve().is_relative_to(root):
            raise TemplateNotFound(template, f"{template} (it lies outside its template folder)")
        return split_front_matter(source, filename or template)[1], filename, uptodate


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
        self._problems: list[TemplateError] = []
        # parsed templates and block problems, per file and modification time
        self._parsed: dict[tuple[str, int], tuple[nodes.Template, str]] = {}
        self._block_checks: dict[tuple[str, int], list[TemplateError]] = {}
        # each layer's folder as resolved, to refuse links out of it (the built-in one is trusted)
        self._roots = [(folder, folder.resolve()) for name, folder in self.layers if name != "builtin"]

    @property
    def env(self) -> SandboxedEnvironment:
        """The sandboxed Jinja environment (built on first use)."""
        if self._env is None:
            loaders: list[BaseLoader] = [_FrontMatterLoader(str(folder)) for _, folder in self.layers]
            loaders.append(PrefixLoader({"builtin": _FrontMatterLoader(str(self.builtin))}))
            self._env = Sandbox(
                loader=ChoiceLoader(loaders),
                undefined=MarkdownUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
                # finalize (render.py) escapes profile values for Markdown and returns Markup, which
                # autoescape then leaves alone; macro output stays Markup and is never escaped twice.
                autoescape=True,
            )
        return self._env

    def layer_of(self, relative: str) -> tuple[str, Path]:
        """The (layer name, file) that supplies the template at *relative*, as the environment finds it."""
        # The same rules as the loaders: no "..", no absolute names, only .j2 files inside their layer.
        pieces = split_template_path(relative)
        if not relative.endswith(".j2"):
            raise TemplateNotFound(relative)
        candidates = [(name, folder) for name, folder in self.layers]
        if pieces[0] == "builtin" and len(pieces) > 1:
            candidates, pieces = [("builtin", self.builtin)], pieces[1:]
        for name, folder in candidates:
            candidate = folder.joinpath(*pieces)
            if candidate.is_file() and candidate.resolve().is_relative_to(folder.resolve()):
                return name, candidate
        raise TemplateNotFound(relative)

    def read(self, file: Path, display: str) -> str:
        """The text of a template file of this library (see :func:`read_template`)."""
        root = next((resolved for folder, resolved in self._roots if file.is_relative_to(folder)), None)
        return read_template(file, display, root)

    def _walk(self) -> Iterator[tuple[str, Path, str]]:
        for name, folder in self.layers:
            for file in sorted(folder.rglob(f"*{SUFFIX}")):
                yield name, file, file.relative_to(folder).as_posix()

    def templates(self) -> dict[str, TemplateInfo]:
        """Every document template by id, the highest layer winning for each relative path.

        Raises the problem found (or :class:`TemplateProblems` with all of them) when a template has
        invalid front matter, an id used twice, or an override block its parent does not have.
        """
        found, problems = self.scan()
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise TemplateProblems(problems)
        return found

    def scan(self) -> tuple[dict[str, TemplateInfo], list[TemplateError]]:
        """The document templates that load, and every problem found while loading (never raises)."""
        if self._templates is not None:
            return self._templates, self._problems
        seen_paths: set[str] = set()
        by_id: dict[str, TemplateInfo] = {}
        problems: list[TemplateError] = []
        for layer, file, relative in self._walk():
            if relative in seen_paths:
                continue  # a higher layer already supplies this path
            seen_paths.add(relative)
            display = self.display_name(layer, relative)
            try:
                source = self.read(file, display)
            except TemplateError as error:  # a broken link, a folder, not UTF-8 ...: reported, skipped
                problems.append(error)
                continue
            if layer != "builtin":
                problems.extend(self.block_problems(file, display))
            try:
                front = self.front_matter_of(source, display)
            except TemplateError as error:
                problems.append(error)
                continue
            if front is None:
                continue
            info = TemplateInfo(relative, layer, file, front)
            if front.id in by_id:
                # Layers are walked highest first: blame the file in the higher layer, which is the
                # one a consultant added (a built-in template is never the one to change).
                other = by_id[front.id]
                replace = f"; to replace it, put your template at {relative}" if layer == "builtin" else ""
                problems.append(
                    TemplateError(
                        self.display_name(other.layer, other.path),
                        2,
                        f"id '{front.id}' is already used by {display}{replace}",
                    )
                )
                continue
            by_id[front.id] = info
        self._templates, self._problems = by_id, problems
        return by_id, problems

    def set_aside_problems(self) -> list[TemplateError]:
        """Return the loading problems and go on with the templates that loaded (for ``qmsdocs check``,
        which reports every problem and still renders the rest)."""
        _, problems = self.scan()
        self._problems = []
        return problems

    def parse(self, file: Path, display: str) -> nodes.Template:
        """The syntax tree of a template file; a syntax error is a TemplateError with file:line."""
        return self._parse_file(file, display)

    def find(self, name: str) -> tuple[str, str, Path]:
        """(layer, relative path, file) of a document id or a template path ("layouts/procedure.md.j2").

        Raises a TemplateError with a did-you-mean hint for an unknown name.
        """
        found, _ = self.scan()
        if name in found:
            info = found[name]
            return info.layer, info.path, info.file
        relative = name.removeprefix("builtin/")
        try:
            layer, file = self.layer_of(name)
            return layer, relative, file
        except TemplateNotFound:
            pass
        paths = {rel for _, _, rel in self._walk()}
        close = difflib.get_close_matches(name, [*found, *paths], n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise TemplateError(
            name, None, f"no template has this id or path{hint} (see: qmsdocs templates list)"
        )

    # -- blocks -------------------------------------------------------------------------------------

    def _parse_file(self, file: Path, display: str) -> nodes.Template:
        """The Jinja syntax tree of *file* (front matter blanked, so lines match the file)."""
        key = (str(file), _mtime(file))
        if key not in self._parsed:
            source = split_front_matter(self.read(file, display), display)[1]
            try:
                tree = self.env.parse(source, name=display, filename=str(file))
            except TemplateSyntaxError as error:
                raise TemplateError(display, error.lineno, f"syntax error: {error.message}") from None
            self._parsed[key] = (tree, display)
        return self._parsed[key][0]

    def _resolve(self, name: str) -> tuple[Path, str]:
        """File and display name of the template the environment would load for *name*."""
        layer, file = self.layer_of(name)
        relative = name.removeprefix("builtin/") if layer == "builtin" else name
        return file, self.display_name(layer, relative)

    @staticmethod
    def _own_blocks(tree: nodes.Template) -> list[nodes.Block]:
        """The blocks a template defines at its top level (not nested in another block)."""
        found: list[nodes.Block] = []

        def walk(node: nodes.Node) -> None:
            for child in node.iter_child_nodes():
                if isinstance(child, nodes.Block):
                    found.append(child)
                else:
                    walk(child)

        walk(tree)
        return found

    @staticmethod
    def _parent_name(tree: nodes.Template) -> str | None:
        """The template a tree extends, when it names it with a constant string."""
        for node in tree.find_all(nodes.Extends):
            if isinstance(node.template, nodes.Const) and isinstance(node.template.value, str):
                return node.template.value
        return None

    def _chain(self, file: Path, display: str) -> list[tuple[nodes.Template, str]]:
        """The template at *file* and the templates it extends, child first."""
        chain = [(self._parse_file(file, display), display)]
        seen = {str(file.resolve())}
        while (parent := self._parent_name(chain[-1][0])) is not None:
            try:
                parent_file, parent_display = self._resolve(parent)
            except TemplateNotFound:
                line = next(chain[-1][0].find_all(nodes.Extends)).lineno
                raise TemplateError(
                    chain[-1][1], line, f"extends '{parent}', which is not a template"
                ) from None
            if str(parent_file.resolve()) in seen:
                line = next(chain[-1][0].find_all(nodes.Extends)).lineno
                raise TemplateError(
                    chain[-1][1],
                    line,
                    f"extends '{parent}', which extends this template again: "
                    f'extend "builtin/{parent.removeprefix("builtin/")}" to build on the built-in template',
                )
            seen.add(str(parent_file.resolve()))
            chain.append((self._parse_file(parent_file, parent_display), parent_display))
        return chain

    def blocks(self, name: str) -> list[str]:
        """Every block of the template *name*, including the ones of the templates it extends.

        Ordered as a reader meets them: the root layout's blocks first, then each child's own.
        """
        file, display = self._resolve(name)
        names: list[str] = []
        for tree, _ in reversed(self._chain(file, display)):
            for block in tree.find_all(nodes.Block):
                if block.name not in names:
                    names.append(block.name)
        return names

    def block_problems(self, file: Path, display: str) -> list[TemplateError]:
        """Blocks that *file* defines but the template it extends does not have (Jinja ignores them)."""
        key = (str(file), _mtime(file))
        if key in self._block_checks:
            return self._block_checks[key]
        try:
            chain = self._chain(file, display)
        except TemplateError as error:
            problems = [error]
        else:
            problems = []
            tree = chain[0][0]
            if len(chain) > 1:
                inherited = [b.name for parent, _ in chain[1:] for b in parent.find_all(nodes.Block)]
                for block in self._own_blocks(tree):
                    if block.name in inherited:
                        continue
                    close = difflib.get_close_matches(block.name, inherited, n=1, cutoff=0.6)
                    hint = f"did you mean '{close[0]}'? " if close else ""
                    known = ", ".join(dict.fromkeys(inherited))
                    problems.append(
                        TemplateError(
                            display,
                            block.lineno,
                            f"block '{block.name}' does not exist in {chain[1][1]}, "
                            "so it would never be shown; "
                            f"{hint}(blocks: {known})",
                        )
                    )
        self._block_checks[key] = problems
        return problems

    def all_files(self) -> Iterator[tuple[str, Path, str]]:
        """(layer, file, relative path) of every template file of every layer, shadowed ones too."""
        yield from self._walk()

    @staticmethod
    def display_name(layer: str, relative: str) -> str:
        """How a template is named in messages: "builtin/policy/x.md.j2" or "/path/to/layer/x.md.j2"."""
        return f"builtin/{relative}" if layer == "builtin" else str(Path(layer) / relative)

    @staticmethod
    def front_matter(file: Path, display: str) -> FrontMatter | None:
        """Parse the front matter of *file*; None for a partial without an id."""
        return TemplateLibrary.front_matter_of(read_template(file, display), display)

    @staticmethod
    def front_matter_of(source: str, display: str) -> FrontMatter | None:
        """Parse the front matter of the template text *source*; None for a partial without an id."""
        data, _ = split_front_matter(source, display)
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
