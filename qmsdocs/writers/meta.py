"""What both writers know about one document besides its body: identity and document control.

Also where both writers get local files from: images a template links to resolve only inside the
profile's folder or the template's layer (:meth:`DocumentMeta.local_image`), and every file is read as a
regular file of bounded size (:func:`read_regular_file`), so a link to ``/dev/zero``, a FIFO or a huge
file is an error instead of a hang or an exhausted memory.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote

from qmsdocs.errors import DocumentError

#: Largest image file (bytes) a template may link to, or a logo may be: images are read whole into memory
#: and embedded in every document that shows them. Change it here (qmsdocs.writers.meta.MAX_IMAGE_BYTES).
MAX_IMAGE_BYTES = 10_000_000


class UnusableFile(Exception):
    """A local file that cannot be used; ``str()`` is the reason, to follow the file's name in a message."""


def megabytes(size: int) -> str:
    """``10 MB``, ``12.5 MB``, ``36 KB``, ``120 bytes``: a size in decimal units for messages."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f}".removesuffix(".0") + " MB"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def check_regular_file(mode: int, size: int, limit: int, what: str) -> None:
    """Raise :class:`UnusableFile` unless *mode* and *size* (from a stat) are a regular file of at most
    *limit* bytes; *what* names the kind of file in the message ("an image")."""
    if not stat.S_ISREG(mode):
        raise UnusableFile(f"is {_kind(mode)}, not a regular file")
    if size > limit:
        raise UnusableFile(f"is {megabytes(size)}; {what} may be at most {megabytes(limit)}")


def read_regular_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of *path*, which must be a regular file of at most *limit* bytes.

    The file is stat'ed before it is opened (a device is never opened), opened without blocking (a FIFO
    swapped in meanwhile cannot hang the read) and checked again on the open descriptor, and never more
    than *limit* bytes are read, whatever the file claims. Raises :class:`UnusableFile`.
    """
    try:
        before = path.stat()
        check_regular_file(before.st_mode, before.st_size, limit, what)
        flags = (
            os.O_RDONLY
            | getattr(os, "O_NONBLOCK", 0)
            | getattr(os, "O_CLOEXEC", 0)
            | getattr(os, "O_BINARY", 0)
        )
        fd = os.open(path, flags)
    except OSError as error:
        raise UnusableFile(f"cannot be read: {error.strerror or error}") from None
    try:
        opened = os.fstat(fd)
        check_regular_file(opened.st_mode, opened.st_size, limit, what)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # the file grew after the stat
            raise UnusableFile(f"is larger than {megabytes(limit)}; {what} may be at most {megabytes(limit)}")
        return b"".join(chunks)
    except OSError as error:
        raise UnusableFile(f"cannot be read: {error.strerror or error}") from None
    finally:
        os.close(fd)


def is_remote(src: str) -> bool:
    """True for an image link that is not a local file (a URL or a ``data:`` URI)."""
    return "://" in src or src.startswith("data:")


def image_path(src: str, base: Path | None) -> Path:
    """The file a local image link names, before any check: relative to *base* (the profile's folder),
    percent-escapes decoded (the Markdown parser writes ``Öl.png`` as ``%C3%96l.png``)."""
    path = Path(unquote(src))
    return path if base is None or path.is_absolute() else base / path


@dataclass(frozen=True)
class Signatory:
    """A person as they appear in a document-control block."""

    name: str
    title: str

    def __str__(self) -> str:
        return f"{self.name}, {self.title}" if self.title else self.name


@dataclass(frozen=True)
class Revision:
    """One line of a document's revision history."""

    revision: str
    date: date
    description: str
    author: str


@dataclass(frozen=True)
class DocumentMeta:
    """Identity and document-control data of one generated document (ISO 9001:2015 7.5.2, 7.5.3)."""

    id: str
    number: str
    title: str
    category: str
    clauses: tuple[str, ...]
    revision: str
    effective_date: date
    next_review: date
    classification: str
    organisation: str
    short_name: str
    owner: Signatory
    prepared_by: Signatory
    reviewed_by: Signatory
    approved_by: Signatory
    revisions: tuple[Revision, ...]
    #: the template the body came from, for error messages ("builtin/policy/quality-policy.md.j2")
    template: str
    subject: str = "Quality management system"
    logo: Path | None = None
    primary_colour: str = "#1F4E79"
    #: folder that relative image paths in the body are resolved against: the profile's folder
    base_dir: Path | None = None
    keywords: tuple[str, ...] = field(default=())
    #: further folders images may come from besides base_dir: the layer of the document's template
    image_dirs: tuple[Path, ...] = field(default=())

    def error(self, line: int, message: str) -> DocumentError:
        """The error for a problem at *line* of this document's rendered Markdown."""
        return DocumentError(f"{self.template}: line {line} of the rendered Markdown: {message}")

    def local_image(self, src: str, line: int) -> Path:
        """The checked file of the local image link *src* at *line* (resolved, no symbolic link left).

        A relative link is resolved against the profile's folder (:attr:`base_dir`). Whatever the link,
        the file it resolves to (symbolic links followed) must lie inside the profile's folder or the
        template's layer (:attr:`image_dirs`), and be a regular file of at most :data:`MAX_IMAGE_BYTES`.
        Raises :class:`DocumentError` naming the template and line otherwise; a remote image (a URL or a
        ``data:`` URI) is refused too, as the DOCX writer cannot embed it.
        """
        if is_remote(src):
            raise self.error(
                line,
                f"the remote image {src!r} is not supported: download it and reference a local file instead",
            )
        path = image_path(src, self.base_dir)
        try:
            resolved = path.resolve(strict=True)
            info = resolved.stat()
        except OSError as error:
            raise self.error(
                line, f"cannot read the image {src!r} ({path}): {error.strerror or error}"
            ) from None
        except RuntimeError:  # a symbolic link loop (Python < 3.13)
            raise self.error(line, f"cannot read the image {src!r} ({path}): a symbolic link loop") from None
        roots = [(self.base_dir, "the profile's folder")] if self.base_dir is not None else []
        roots += [(folder, "the template's layer") for folder in self.image_dirs]
        if not any(resolved.is_relative_to(folder.resolve()) for folder, _ in roots):
            allowed = (
                " and ".join(f"{name} {folder}" for folder, name in roots)
                or "no folder (the profile has none)"
            )
            raise self.error(
                line,
                f"the image {src!r} ({resolved}) is outside the folders images may come from: {allowed}; "
                "copy the image into one of them",
            )
        try:
            check_regular_file(info.st_mode, info.st_size, MAX_IMAGE_BYTES, "an image")
        except UnusableFile as error:
            raise self.error(line, f"the image {src!r} ({resolved}) {error}") from None
        return resolved

    @cached_property
    def file_stem(self) -> str:
        """File name (without extension) a person can find: "BWI-QP-07 Internal audit"."""
        from qmsdocs.paths import safe_filename

        return safe_filename(f"{self.number} {self.title}")
