"""The workspace configuration, ``qmsdocs.toml``: a consultant's defaults for every command.

Example::

    templates = ["house-templates"]   # template libraries, highest first, relative to this file
    output = "output"                 # output folder of `qmsdocs build`
    formats = ["docx", "md"]          # formats to write (default: each profile's output.formats)
    reference_docx = "house-style.docx"

The file is read from the working folder, or from ``qmsdocs --config FILE``. Options given on the
command line win over it. Paths are relative to the file, so the workspace can be run from anywhere.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
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
}


@dataclass(frozen=True)
class Config:
    """The settings of a workspace; every path is absolute (resolved against the file's folder)."""

    source: Path | None = None
    templates: tuple[Path, ...] = ()
    output: Path | None = None
    formats: tuple[str, ...] = ()
    reference_docx: Path | None = None

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
