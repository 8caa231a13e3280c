"""The build manifest of one profile's output folder, and the hashes that make builds incremental.

``OUT/<profile stem>/manifest.json`` lists what qmsdocs wrote: per document its identity (id, number,
title, category, clauses, revision, files), a hash of every input it was rendered from (``inputs``),
the local files it used (``assets``: path -> hash) and a hash of every file written (``hashes``:
relative path -> hash, and ``stamps``: size, mtime and inode just after writing). A document is rebuilt
when any of these no longer matches; a file is deleted
only when the manifest says qmsdocs wrote it *and* its content still has the recorded hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily: the quick up-to-date check must not pay for Jinja and pydantic
    from qmsdocs.library import TemplateLibrary

MANIFEST = "manifest.json"


def sha256(data: bytes) -> str:
    """The hex SHA-256 of *data*."""
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str | None:
    """The hex SHA-256 of the file at *path*, or None when it cannot be read or is no regular file (a
    FIFO or /dev/zero given as an input would never end: whoever reads the input reports it)."""
    try:
        if not S_ISREG(path.stat().st_mode):
            return None
        return sha256(path.read_bytes())
    except OSError:
        return None


def file_stamp(path: Path) -> list[int] | None:
    """``[size, modification time in ns, inode]`` of the file at *path*, or None when it is missing."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


class FileHashes:
    """File hashes cached for one build (inputs are read once, however many documents use them)."""

    def __init__(self) -> None:
        self._cache: dict[Path, str | None] = {}

        self._folders: dict[Path, dict[str, str | None]] = {}

    def __call__(self, path: Path) -> str | None:
        """The hash of *path* (None when missing), computed once per build."""
        if path not in self._cache:
            self._cache[path] = file_hash(path)
        return self._cache[path]

    def folder(self, folder: Path) -> dict[str, str | None]:
        """``{file: hash}`` for every file below *folder* (empty when it does not exist)."""
        if folder not in self._folders:
            files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
            self._folders[folder] = {str(p): self(p) for p in files}
        return self._folders[folder]


def quick_key(
    version: str,
    formats: tuple[str, ...] | None,
    templates: tuple[Path, ...],
    profile_source: Path,
    layers: list[str],
    reference: str | None,
    hashes: FileHashes,
) -> str:
    """A hash of the raw inputs of a whole profile, checked before the profile is even loaded.

    It covers the profile file's bytes, every file of every template layer the last build used, the
    reference document, the build options, the qmsdocs version and today's date (a profile without an
    effective date is dated today). When it matches the manifest and every file is as recorded, the
    profile is up to date without parsing YAML or templates: that is what makes a no-change rebuild fast.
    """
    return digest(
        version,
        formats,
        [str(t) for t in templates],
        hashes(profile_source),
        {layer: hashes.folder(Path(layer)) for layer in layers},
        reference,
        hashes(Path(reference)) if reference else None,
        dt.date.today().isoformat(),
    )


def digest(*parts: Any) -> str:
    """A stable hash of JSON-serialisable *parts* (paths and dates are written as text)."""
    return sha256(json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8"))


_TEMPORARY = re.compile(r"^\..+\.[0-9]+\.tmp$")


def remove_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files a killed build left in *folder*.

    Only names :func:`qmsdocs.paths.atomic_write` makes; the caller holds the output lock, so no other
    build is writing them.
    """
    removed = []
    if folder.is_dir():
        for path in folder.iterdir():
            if _TEMPORARY.match(path.name) and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def sync() -> None:
    """Flush written files to disk once (where the platform can)."""
    if hasattr(os, "sync"):
        os.sync()


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest in *out_dir*, or None when there is none or it is unreadable (then nothing in the
    folder counts as written by qmsdocs, so nothing is deleted and every document is rebuilt)."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("documents"), list) else None


def manifest_bytes(data: Mapping[str, Any], indent: int | None = 2) -> bytes:
    """The manifest as written: UTF-8 JSON, indented for people unless *indent* is None."""
    return (json.dumps(data, indent=indent, ensure_ascii=False) + "\n").encode("utf-8")


def written_files(manifest: Mapping[str, Any] | None) -> dict[str, str]:
    """Every file the manifest says qmsdocs wrote: relative path -> content hash (the documents' files,
    and the ``previous`` files an interrupted build had not yet deleted or rewritten)."""
    files: dict[str, str] = {}
    leftover = (manifest or {}).get("previous")
    if isinstance(leftover, dict):
        files.update({str(k): str(v) for k, v in leftover.items()})
    for entry in (manifest or {}).get("documents", []):
        hashes = entry.get("hashes") if isinstance(entry, dict) else None
        if isinstance(hashes, dict):
            files.update({str(k): str(v) for k, v in hashes.items()})
    return files


# A tag that names another template: {% extends/include/import/from ... %}
_REFERENCE_TAG = re.compile(r"\{%[-+]?\s*(?:extends|include|import|from)\b(.*?)[-+]?%\}", re.S)
_COMMENT = re.compile(r"\{#.*?#\}", re.S)
# its argument when it is one string literal, followed only by the modifiers these tags allow
_LITERAL_REFERENCE = re.compile(
    r"""\s*(?:"([^"\\]*)"|'([^'\\]*)')"""
    r"(?:\s+(?:ignore\s+missing|with\s+context|without\s+context|as\s+\w+|import\s.*))*\s*",
    re.S,
)


def referenced_templates(source: str) -> list[str] | None:
    """The template names *source* extends, includes or imports; None when one of them is computed
    (a variable, a list, a condition), so that any template could be used.

    A scan of the tags, not a Jinja parse (which costs a lexer pass per template and worker): it may
    also find a tag inside a raw block, which only makes the hash cover one template more.
    """
    names = []
    for tag in _REFERENCE_TAG.finditer(_COMMENT.sub("", source)):
        literal = _LITERAL_REFERENCE.fullmatch(tag.group(1))
        if literal is None:
            return None
        names.append(literal.group(1) if literal.group(1) is not None else literal.group(2))
    return names


class TemplateHashes:
    """Hashes of a template together with every template it extends, includes or imports.

    References are found by :func:`referenced_templates`, followed recursively, and each is resolved
    through the library's own loader so the layer that actually supplies it is the one hashed. A
    computed reference (a variable name) makes the hash cover every template of every layer, since any
    of them could be used.
    """

    def __init__(self, library: TemplateLibrary) -> None:
        self.library = library
        self._closure: dict[str, dict[str, str]] = {}
        self._everything: dict[str, str] | None = None

    def _source(self, name: str) -> tuple[str, str]:
        env = self.library.env
        assert env.loader is not None
        source, filename, _ = env.loader.get_source(env, name)
        return source, filename or name

    def _all_templates(self) -> dict[str, str]:
        if self._everything is None:
            self._everything = {
                str(file): file_hash(file) or ""
                for _, folder in self.library.layers
                for file in sorted(folder.rglob("*"))
                if file.is_file()
            }
        return self._everything

    def closure(self, name: str) -> dict[str, str]:
        """``{template file: hash}`` for *name* and everything it references (missing ones included as
        empty hashes, so adding them later changes the result)."""
        if name in self._closure:
            return self._closure[name]
        found: dict[str, str] = {}
        pending = [name]
        seen: set[str] = set()
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            try:
                source, filename = self._source(current)
            except Exception:  # not found or unreadable: the render reports it; hash its absence
                found[f"missing:{current}"] = ""
                continue
            found[f"{current}={filename}"] = sha256(source.encode("utf-8"))
            references = referenced_templates(source)
            if references is None:
                found.update(self._all_templates())
            else:
                pending.extend(references)
        self._closure[name] = found
        return found


def entry_is_current(
    entry: Mapping[str, Any] | None,
    inputs: str,
    wanted_files: Iterable[str],
    out_dir: Path,
    hashes: FileHashes,
) -> bool:
    """True when a document's manifest *entry* was rendered from *inputs* and every file it wrote, and
    every asset it used, is still exactly as recorded.

    A written file whose size, modification time and inode are those recorded right after writing it
    (``stamps``) is taken as unchanged without reading it, as make and git do; any other file is
    compared by content hash.
    """
    if not entry or entry.get("inputs") != inputs:
        return False
    recorded = entry.get("hashes")
    assets = entry.get("assets", {})
    if not isinstance(recorded, dict) or not isinstance(assets, dict):
        return False
    if any(name not in recorded for name in wanted_files):
        return False
    stamps = entry.get("stamps")
    stamps = stamps if isinstance(stamps, dict) else {}
    for relative, expected in recorded.items():
        path = out_dir / relative
        stamp = stamps.get(relative)
        if stamp is not None and stamp == file_stamp(path):
            continue
        if file_hash(path) != expected:
            return False
    return all(hashes(Path(path)) == expected for path, expected in assets.items())
