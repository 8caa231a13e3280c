"""The workspace configuration, ``qmsdocs.toml``: a consultant's defaults for every command.

Example::

    templates = ["house-templates"]   # template libraries, highest first, relative to this file
    output = "output"                 # output folder of `qmsdocs build`
    formats = ["docx", "md"]          # formats to write (default: each profile's output.formats)
    reference_docx = "house-style.docx"

    [limits]                          # what one document's render may use (templates are untrusted)
    render_seconds = 10               # time
    render_output_mb = 5              # millions of characters of rendered text
    render_items = 1000000            # characters of any one text, items of any one list it builds
    render_memory_mb = 256            # memory it may add to its process

The file is read from the working folder, or from ``qmsdocs --config FILE``. Options given on the
command line win over it. Paths are relative to the file, so the workspace can be run from anywhere.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from qmsdocs.errors import ConfigError, Problem, did_you_mean

CONFIG_NAME = "qmsdocs.toml"
FORMATS = ("docx", "md")
#: Every key the file may hold, with what it means (shown in hints and docs/customising.md).
KEYS: dict[str, str] = {
    "templates": "list of template folders, highest first, relative to qmsdocs.toml",
    "output": "output folder of `qmsdocs build`",
    "formats": 'list of output formats: "docx", "md"',
    "reference_docx": "house-style Word file for DOCX output",
    "limits": "table of render limits: render_seconds, render_output_mb, render_items, render_memory_mb",
}


@dataclass(frozen=True)
class RenderLimits:
    """What the render of one document may use. Templates are untrusted input: going past a limit is a
    TemplateError at the template's file and line, which fails that profile only.

    Set in the ``[limits]`` table of qmsdocs.toml (the key of each field is in :data:`LIMIT_KEYS`), or
    given to :func:`qmsdocs.build` (``limits=``) and :func:`qmsdocs.library.render.render`.
    """

    #: wall-clock seconds of one document's render
    seconds: float = 10.0
    #: characters of one rendered document, and of what one macro, block or ``{% set %}`` captures
    output_chars: int = 5_000_000
    #: characters of any one text, items of any one list or mapping, a template builds
    items: int = 1_000_000
    #: bytes of memory one document's render may add to its process (checked while it renders)
    memory_bytes: int = 256_000_000


#: qmsdocs.toml key in ``[limits]`` -> (RenderLimits field, scale from the key's unit to the field's).
_LIMIT_FIELDS: dict[str, tuple[str, int]] = {
    "render_seconds": ("seconds", 1),
    "render_output_mb": ("output_chars", 1_000_000),
    "render_items": ("items", 1),
    "render_memory_mb": ("memory_bytes", 1_000_000),
}
#: The keys of ``[limits]`` and what each means (with its default).
LIMIT_KEYS: dict[str, str] = {
    "render_seconds": "seconds one document's render may take, default 10",
    "render_output_mb": "millions of characters one rendered document may hold, default 5",
    "render_items": "characters of any one text or items of any one list a template builds, default 1000000",
    "render_memory_mb": "megabytes of memory one document's render may add to its process, default 256",
}
#: The limits every render has unless qmsdocs.toml or the caller says otherwise.
DEFAULT_LIMITS = RenderLimits()


@dataclass(frozen=True)
class Config:
    """The settings of a workspace; every path is absolute (resolved against the file's folder)."""

    source: Path | None = None
    templates: tuple[Path, ...] = ()
    output: Path | None = None
    formats: tuple[str, ...] = ()
    reference_docx: Path | None = None
    limits: RenderLimits = field(default_factory=lambda: DEFAULT_LIMITS)

    def default_map(self) -> dict[str, Any]:
        """Defaults for the click commands: the config fills in what the command line leaves out."""
        layers = [str(p) for p in self.templates]
        build: dict[str, Any] = {}
        if layers:
            build["templates"] = layers
        if self.output is not None:
            build["out"] = str(self.output)
        if self.formats:
            build["formats"] = list(self.formats)
        if self.reference_docx is not None:
            build["reference_docx"] = str(self.reference_docx)
        with_layers = {"templates": layers} if layers else {}
        return {
            "build": build,
            "check": dict(with_layers),
            "templates": {
                "list": dict(with_layers),
                "show": dict(with_layers),
                "eject": {"to": layers[0]} if layers else {},
            },
        }


def _line_of_key(text: str, key: str) -> int | None:
    """The line where *key* is assigned at the top level of the TOML text (tomllib gives no positions)."""
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
        if line.lstrip().startswith("["):
            break  # past the top-level keys
    return None


def _line_in_table(text: str, table: str, key: str | None) -> int | None:
    """The line of *key* inside the ``[table]`` of the TOML text (of the table's header when *key* is
    None or not found there; of ``table = {...}`` for an inline table)."""
    header = re.compile(rf"^\s*\[\s*(?:{re.escape(table)}|\"{re.escape(table)}\")\s*\]")
    pattern = re.compile(rf"^\s*(?:{re.escape(key or '')}|\"{re.escape(key or '')}\")\s*=") if key else None
    inside, found = False, None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("["):
            inside = bool(header.match(line))
            if inside and found is None:
                found = number
        elif inside and pattern is not None and pattern.match(line):
            return number
    return found if found is not None else _line_of_key(text, table)


def _limits(file: str, text: str, value: Any) -> RenderLimits | list[Problem]:
    """The ``[limits]`` table as RenderLimits (the defaults for keys it leaves out), or its problems."""
    if not isinstance(value, dict):
        line = _line_of_key(text, "limits")
        return [
            Problem(file, line, None, "must be a table, e.g. [limits] with render_seconds = 10", "limits")
        ]
    problems: list[Problem] = []
    changes: dict[str, float | int] = {}
    for key, given in value.items():
        line = _line_in_table(text, "limits", key)
        if key not in _LIMIT_FIELDS:
            hint = did_you_mean(key, _LIMIT_FIELDS) or f" (known keys: {', '.join(_LIMIT_FIELDS)})"
            problems.append(Problem(file, line, None, f"unknown key{hint}", f"limits.{key}"))
            continue
        name, scale = _LIMIT_FIELDS[key]
        whole = name == "items"
        number_ok = isinstance(given, int) or (isinstance(given, float) and not whole)
        if isinstance(given, bool) or not number_ok or not math.isfinite(given) or given <= 0:
            kind = "a whole number" if whole else "a number"
            problems.append(
                Problem(
                    file, line, None, f"must be {kind} greater than 0 ({LIMIT_KEYS[key]})", f"limits.{key}"
                )
            )
            continue
        changes[name] = given * scale if name == "seconds" else max(1, int(given * scale))
    if problems:
        return problems
    defaults = {f.name: getattr(DEFAULT_LIMITS, f.name) for f in fields(RenderLimits)}
    return RenderLimits(**{**defaults, **changes})


def _decode_error(file: str, error: tomllib.TOMLDecodeError) -> Problem:
    """tomllib says "... (at line 3, column 5)": turn that into file:line:column."""
    message = str(error)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        return Problem(
            file, int(match.group(1)), int(match.group(2)), f"not valid TOML: {message[: match.start()]}"
        )
    return Problem(file, None, None, f"not valid TOML: {message.removesuffix(' (at end of document)')}")


def _paths(
    file: str, line: int | None, key: str, value: Any, base: Path, is_dir: bool
) -> list[Path] | Problem:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) and item for item in items):
        kind = "a list of folder names" if key == "templates" else "a file name"
        return Problem(file, line, None, f"must be {kind} in quotes", key)
    paths = [(base / item).resolve() for item in items]
    for item, path in zip(items, paths, strict=True):
        if is_dir and not path.is_dir():
            return Problem(
                file, line, None, f"folder not found: {item} (paths are relative to {Path(file).name})", key
            )
        if not is_dir and not path.is_file():
            return Problem(
                file, line, None, f"file not found: {item} (paths are relative to {Path(file).name})", key
            )
    return paths


def parse_config(text: str, file: Path) -> Config:
    """Validate the TOML *text* of *file*; raise :class:`ConfigError` with every problem found."""
    name = str(file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        problem = _decode_error(name, error)
        if problem.line is None:  # "(at end of document)": the last line
            problem = Problem(name, max(len(text.splitlines()), 1), None, problem.message)
        raise ConfigError([problem]) from None
    base = file.resolve().parent
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        line = _line_of_key(text, key)
        if key == "limits":
            limits = _limits(name, text, value)
            if isinstance(limits, list):
                problems.extend(limits)
            else:
                values[key] = limits
            continue
        if key not in KEYS:
            hint = did_you_mean(key, KEYS) or f" (known keys: {', '.join(KEYS)})"
            problems.append(Problem(name, line, None, f"unknown key{hint}", key))
            continue
        if key == "templates":
            if not isinstance(value, list):
                problems.append(
                    Problem(name, line, None, 'must be a list, e.g. templates = ["templates"]', key)
                )
                continue
            result = _paths(name, line, key, value, base, is_dir=True)
        elif key == "output":
            if not isinstance(value, str) or not value:
                problems.append(
                    Problem(name, line, None, 'must be a folder name in quotes, e.g. "output"', key)
                )
                continue
            result = [(base / value).resolve()]
        elif key == "formats":
            if not isinstance(value, list) or not value or any(v not in FORMATS for v in value):
                problems.append(Problem(name, line, None, 'must be a list of "docx" and/or "md"', key))
                continue
            result = list(value)
        else:  # reference_docx
            result = _paths(name, line, key, value, base, is_dir=False)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            values[key] = result
    if problems:
        raise ConfigError(problems)
    return Config(
        source=file,
        templates=tuple(values.get("templates", ())),
        output=values["output"][0] if "output" in values else None,
        formats=tuple(values.get("formats", ())),
        reference_docx=values["reference_docx"][0] if "reference_docx" in values else None,
        limits=values.get("limits", DEFAULT_LIMITS),
    )


def load_config(path: Path | None = None, cwd: Path | None = None) -> Config:
    """The configuration at *path*, or ``qmsdocs.toml`` of *cwd* (the working folder) when it exists."""
    if path is None:
        candidate = (cwd or Path.cwd()) / CONFIG_NAME
        if not candidate.is_file():
            return Config()
        path = candidate
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            [Problem(str(path), None, None, f"cannot read the file: {error.strerror}")]
        ) from None
    return parse_config(text, path)
