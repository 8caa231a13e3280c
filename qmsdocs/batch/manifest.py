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
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qmsdocs.paths import is_relative_name

if TYPE_CHECKING:  # imported lazily: the quick up-to-date check must not pay for Jinja and pydantic
    from qmsdocs.library.layers import TemplateLibrary

MANIFEST = "manifest.json"
#: A manifest larger than this is not read (it is ignored with a warning, as a damaged one): a real one
#: takes about 1 KiB per document.
MAX_MANIFEST_BYTES = 64 * 2**20
#: Entries (files and folders) of a template layer the quick up-to-date check walks at most; a layer
#: with more is always left to the full check (a real one holds a few dozen templates).
MAX_LAYER_ENTRIES = 10_000
#: Files up to this size are hashed from one read; larger ones in chunks, so memory stays bounded.
_WHOLE_READ_BYTES = 16 * 2**20
# No symbolic link for the manifest; no blocking on a named pipe or device planted at any name.
_READ_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def sha256(data: bytes) -> str:
    """The hex SHA-256 of *data*."""
    return hashlib.sha256(data).hexdigest()


def _regular(handle: int) -> os.stat_result | None:
    """The status of the open file *handle* when it is a regular file; else None, and it is closed (a
    folder, a pipe or a device is never read)."""
    try:
        info = os.fstat(handle)
        if stat.S_ISREG(info.st_mode):
            return info
    except OSError:
        pass
    os.close(handle)
    return None


def file_hash(path: Path) -> str | None:
    """The hex SHA-256 of the regular file at *path*, or None when it is missing, unreadable or not a
    regular file (a named pipe or a device is never read: reading one could block or never end)."""
    try:
        handle = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    info = _regular(handle)
    if info is None:
        return None
    with open(handle, "rb", buffering=0) as stream:  # noqa: PTH123 - a descriptor, not a path
        try:
            if info.st_size <= _WHOLE_READ_BYTES:
                return sha256(stream.readall())
            return hashlib.file_digest(stream, "sha256").hexdigest()
        except OSError:
            return None


def file_stamp(path: Path) -> list[int] | None:
    """``[size, modification time in ns, inode]`` of the regular file at *path* (not followed when it is
    a symbolic link), or None when there is no such file."""
    try:
        info = path.lstat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ino] if stat.S_ISREG(info.st_mode) else None


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
        """``{file: hash}`` for every file below *folder* (empty when it does not exist).

        A folder with more than :data:`MAX_LAYER_ENTRIES` entries is not walked further: its result is
        a token new to this build, so a quick check over it never matches and the full check decides.
        (The layers the quick check walks are named by the manifest, which may have been edited.)
        """
        if folder not in self._folders:
            entries = []
            if folder.is_dir():
                for count, path in enumerate(folder.rglob("*")):
                    if count >= MAX_LAYER_ENTRIES:
                        self._folders[folder] = {str(folder): f"too many files, {os.urandom(8).hex()}"}
                        return self._folders[folder]
                    entries.append(path)
            files = sorted(p for p in entries if p.is_file())
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


def sync() -> None:
    """Flush written files to disk once (where the platform can)."""
    if hasattr(os, "sync"):
        os.sync()


def _size(count: int) -> str:
    return f"{count // 2**20} MiB" if count % 2**20 == 0 else f"{count} bytes"


def load_manifest(out_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The manifest in *out_dir* and, when there is one that cannot be used, why not.

    ``(data, None)`` for a manifest of the expected shape (see :func:`manifest_problem`), ``(None,
    None)`` when there is none, ``(None, reason)`` when it is unreadable, too large, not JSON, nested
    too deeply, a symbolic link or not shaped as qmsdocs writes it. A manifest that is not used counts
    as none: every document is rebuilt, and nothing in the folder counts as written by qmsdocs, so
    nothing is deleted.
    """
    path = out_dir / MANIFEST
    try:
        handle = os.open(path, _READ_FLAGS | _NOFOLLOW)
    except FileNotFoundError:
        return None, None
    except OSError as error:
        if path.is_symlink():
            return None, "it is a symbolic link"
        return None, f"it cannot be read ({error.strerror})"
    if _regular(handle) is None:
        return None, "it is not a regular file"
    with open(handle, "rb", buffering=0) as stream:  # noqa: PTH123 - a descriptor, not a path
        try:
            raw = stream.read(MAX_MANIFEST_BYTES + 1)
        except OSError as error:
            return None, f"it cannot be read ({error.strerror})"
    if len(raw) > MAX_MANIFEST_BYTES:
        return None, f"it is larger than {_size(MAX_MANIFEST_BYTES)}"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "it is not UTF-8 text"
    except RecursionError:
        return None, "it is nested too deeply"
    except ValueError:
        return None, "it is not valid JSON"
    problem = manifest_problem(data)
    return (None, problem) if problem else (data, None)


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest in *out_dir*, or None when there is none or it cannot be used (see
    :func:`load_manifest`)."""
    return load_manifest(out_dir)[0]


def _text_problem(value: Any, where: str) -> str | None:
    return None if isinstance(value, str) else f"{where} is not text"


def _files_problem(value: Any, where: str, values: str) -> str | None:
    """*value* must be an object of files in the folder: relative path -> text (*values* "paths":
    the values are the paths; "text": the keys are)."""
    if not isinstance(value, dict):
        return f"{where} is not an object"
    for key, item in value.items():
        if not isinstance(item, str):
            return f"{where}[{key!r}] is not text"
        name = item if values == "paths" else key
        if not is_relative_name(name):
            return f"{where} names {name!r}, which is not in the folder"
    return None


def _stamps_problem(value: Any, where: str) -> str | None:
    if not isinstance(value, dict):
        return f"{where} is not an object"
    for key, item in value.items():
        if not is_relative_name(key):
            return f"{where} names {key!r}, which is not in the folder"
        if item is not None and not (
            type(item) is list
            and len(item) == 3
            and type(item[0]) is int
            and type(item[1]) is int
            and type(item[2]) is int
        ):
            return f"{where}[{key!r}] is not a file stamp"
    return None


def _entry_problem(entry: Any, where: str) -> str | None:
    if not isinstance(entry, dict):
        return f"{where} is not an object"
    for key in ("id", "number", "title", "files", "hashes"):
        if key not in entry:
            return f"{where} has no '{key}'"
    for key in ("id", "number", "title", "category", "revision", "inputs"):
        if key in entry and type(entry[key]) is not str:
            return f"{where}.{key} is not text"
    clauses = entry.get("clauses", [])
    if not isinstance(clauses, list) or not all(isinstance(c, str) for c in clauses):
        return f"{where}.clauses is not a list of text"
    assets = entry.get("assets", {})  # input files anywhere (a logo): only ever read and hashed
    if not isinstance(assets, dict) or not all(isinstance(v, str) for v in assets.values()):
        return f"{where}.assets is not an object of hashes"
    return (
        _files_problem(entry["files"], f"{where}.files", "paths")
        or _files_problem(entry["hashes"], f"{where}.hashes", "text")
        or ("stamps" in entry and _stamps_problem(entry["stamps"], f"{where}.stamps"))
        or None
    )


def manifest_problem(data: Any) -> str | None:
    """Why *data* is not a manifest as qmsdocs writes it, or None when it is.

    Checked: every type a build reads, and that every file it names (files, hashes, stamps, previous)
    is a relative path inside the profile's folder, since those are files qmsdocs may replace or delete.
    """
    if not isinstance(data, dict):
        return "it is not a JSON object"
    documents = data.get("documents")
    if not isinstance(documents, list):
        return "'documents' is not a list"
    for index, entry in enumerate(documents):
        if problem := _entry_problem(entry, f"documents[{index}]"):
            return problem
    for key in ("profile", "generator"):
        if key in data and (problem := _text_problem(data[key], key)):
            return problem
    if data.get("organisation") is not None and not isinstance(data["organisation"], str):
        return "'organisation' is not text"
    if "previous" in data:
        if not isinstance(data["previous"], dict):
            return "'previous' is not an object"
        if problem := _files_problem(data["previous"], "previous", "text"):
            return problem
    omitted = data.get("omitted", [])
    if not isinstance(omitted, list) or not all(
        isinstance(o, dict) and all(isinstance(o.get(k), str) for k in ("id", "title", "reason"))
        for o in omitted
    ):
        return "'omitted' is not a list of documents left out (id, title, reason)"
    if "quick" in data:
        quick = data["quick"]
        if not isinstance(quick, dict):
            return "'quick' is not an object"
        if not isinstance(quick.get("key"), str):
            return "quick.key is not text"
        layers = quick.get("layers")
        if not isinstance(layers, list) or not all(isinstance(layer, str) for layer in layers):
            return "quick.layers is not a list of text"
        if quick.get("reference") is not None and not isinstance(quick["reference"], str):
            return "quick.reference is not text"
    return None


def manifest_bytes(data: Mapping[str, Any], indent: int | None = 2) -> bytes:
    """The manifest as written: UTF-8 JSON, indented for people unless *indent* is None."""
    return (json.dumps(data, indent=indent, ensure_ascii=False) + "\n").encode("utf-8")


def written_files(manifest: Mapping[str, Any] | None) -> dict[str, str]:
    """Every file the manifest says qmsdocs wrote: relative path -> content hash (the documents' files,
    and the ``previous`` files an interrupted build had not yet deleted or rewritten). *manifest* is one
    :func:`load_manifest` accepted."""
    if manifest is None:
        return {}
    files: dict[str, str] = dict(manifest.get("previous", {}))
    for entry in manifest["documents"]:
        files.update(entry["hashes"])
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
        current = file_stamp(path)  # None unless a regular file: a link or a pipe is never current
        if current is None:
            return False
        if stamp == current:
            continue
        if file_hash(path) != expected:
            return False
    return all(hashes(Path(path)) == expected for path, expected in assets.items())
