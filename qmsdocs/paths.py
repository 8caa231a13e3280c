"""File names and paths below the folders qmsdocs writes, and the one writer of every file it writes.

The folders qmsdocs writes into (an output folder, a template folder for ``templates eject``, a new
workspace) are trusted; what lies below them may not be: a symbolic link planted there could lead a
write anywhere. So every folder below such a base is created one level at a time and must be a real
folder, never a symbolic link (:func:`folder_below`, :class:`Below`), and every file is written by
:func:`atomic_write`: a temporary file created exclusively (``O_CREAT | O_EXCL | O_NOFOLLOW``, so a link
planted at its name is never followed), then renamed over the target, which replaces a link there rather
than writing through it.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Collection
from contextlib import suppress
from pathlib import Path, PurePath

from qmsdocs.errors import BuildError

_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')

#: Temporary files are ``.qmsdocs-<random hex>.tmp`` in the folder of the file they become; a build
#: removes such leftovers of a killed one (:func:`remove_temporaries`), and nothing else.
TEMP_PREFIX = ".qmsdocs-"
TEMP_SUFFIX = ".tmp"
_TEMPORARY = re.compile(r"\A\.qmsdocs-[0-9a-z]+\.tmp\Z")
# earlier qmsdocs versions named them ``.<file name>.<pid>.tmp``: removed only for a file qmsdocs writes
_OLD_TEMPORARY = re.compile(r"\A\.(.+)\.[0-9]+\.tmp\Z")
_CREATE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class UnsafePathError(BuildError, ValueError):
    """A path qmsdocs will not write: it leaves its base folder, or a folder on the way is a symbolic
    link or not a folder. A :class:`BuildError` for the user, a ValueError for older callers."""


def safe_filename(text: str, max_length: int = 120) -> str:
    """A file name for *text* that is valid on Windows, macOS and Linux and cannot leave its folder."""
    text = unicodedata.normalize("NFC", text)
    name = _UNSAFE.sub("-", text).strip(" .-")
    name = re.sub(r"\s+", " ", name)
    return name[:max_length].rstrip(" .") or "document"


def inside(base: Path, *parts: str) -> Path:
    """Join *parts* below *base* and refuse any result that escapes it (``..``, absolute parts)."""
    base = base.resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise UnsafePathError(f"path {'/'.join(parts)!r} would leave {base}")
    return target


# parts of one or more characters, none "." or "..", no backslash, NUL or colon (a drive, a stream)
_RELATIVE_NAME = re.compile(r"(?:(?!\.\.?(?:/|\Z))[^/\\\x00:]+/)*(?!\.\.?\Z)[^/\\\x00:]+")


def is_relative_name(relative: str) -> bool:
    """True for a path like ``name`` or ``charts/name``: relative, with forward slashes, no empty,
    ``.`` or ``..`` part, nothing a platform reads as a drive or another separator."""
    return _RELATIVE_NAME.fullmatch(relative) is not None


def real_folder(path: Path, *, create: bool = True) -> Path:
    """*path* as a real folder, created (one level) when missing; UnsafePathError when it is a symbolic
    link or something else than a folder. With *create* False a missing folder is FileNotFoundError."""
    if create:
        with suppress(FileExistsError):  # a folder, or something that is not one: looked at below
            path.mkdir()
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        raise UnsafePathError(
            f"{path}: is a symbolic link; qmsdocs does not write through symbolic links "
            "(remove the link, or write into another folder)"
        )
    if not stat.S_ISDIR(mode):
        raise UnsafePathError(f"{path}: exists and is not a folder")
    return path


def folder_below(base: Path, relative: str | PurePath, *, create: bool = True) -> Path:
    """The folder *relative* below *base*, each level a real folder (see :func:`real_folder`); *base*
    itself is the caller's and may be anything the user chose, a link included."""
    folder = base
    parts = PurePath(relative).parts
    if any(part in ("", ".", "..") for part in parts) or PurePath(relative).is_absolute():
        raise UnsafePathError(f"path {str(relative)!r} would leave {base}")
    for part in parts:
        folder = real_folder(folder / part, create=create)
    return folder


class Below:
    """The files of one folder that qmsdocs writes (a profile's output folder), checked once per folder.

    The base itself and every folder below it must be a real folder, not a symbolic link (each checked
    and, when missing, created once: one ``lstat`` per folder, not per file). Only the last component is
    not checked: files are replaced by renaming over them, which replaces a symbolic link rather than
    writing through it, so a link there cannot lead a write out of the folder.
    """

    def __init__(self, base: Path) -> None:
        # the parent is the user's choice (the output folder, maybe a link); the base must be real
        self.base = base.parent.resolve() / base.name
        self._folders: dict[PurePath, Path] = {}

    def folder(self, relative: str | PurePath = ".", *, create: bool = True) -> Path:
        """The folder *relative* below the base (the base for ``"."``), checked and created once."""
        key = PurePath(relative)
        found = self._folders.get(key)
        if found is None:
            base = real_folder(self.base, create=create)
            found = base if not key.parts else folder_below(base, key, create=create)
            self._folders[key] = found
        return found

    def __call__(self, relative: str, *, create: bool = True) -> Path:
        """The path of the file *relative* below the base; UnsafePathError when it would leave it or
        a folder on the way is not a real folder (FileNotFoundError for a missing one without *create*)."""
        path = PurePath(relative)
        if path.name in ("", ".", "..") or path.is_absolute() or not is_relative_name(path.as_posix()):
            raise UnsafePathError(f"path {relative!r} would leave {self.base}")
        return self.folder(path.parent, create=create) / path.name


def _temporary_token() -> str:
    return os.urandom(6).hex()


def _create_temporary(folder: Path) -> tuple[int, Path]:
    for _ in range(100):
        temp = folder / f"{TEMP_PREFIX}{_temporary_token()}{TEMP_SUFFIX}"
        try:
            # 0o666 less the umask, as any file the user creates: not the private 0o600 of mkstemp
            return os.open(temp, _CREATE_FLAGS, 0o666), temp
        except FileExistsError:  # taken, or a link planted there: never opened, try another name
            continue
    raise FileExistsError(f"{folder}: no free name for a temporary file")


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write *data* to *path* so that readers see either the old file or the whole new one, never part,
    and nothing is ever written through a symbolic link.

    The bytes go to a new ``.qmsdocs-<random>.tmp`` in the same folder (same file system), created
    exclusively, and are renamed over *path*: an atomic replace on POSIX and Windows, which replaces a
    link at *path* instead of following it. A missing folder is created (callers writing below an
    output folder create and check theirs with :class:`Below` first). With *durable* the bytes are also
    flushed to disk first; a batch build passes False and syncs once at its end, because one fsync per
    file costs tens of milliseconds on a busy disk and the rename alone already protects against a
    killed process. An OSError names *path*.
    """
    try:
        handle, temp = _create_temporary(path.parent)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = _create_temporary(path.parent)
    try:
        with open(handle, "wb") as stream:  # noqa: PTH123 - a descriptor, not a path
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        temp.replace(path)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(error.errno, error.strerror, str(path)) from None
        raise


def is_temporary(name: str) -> bool:
    """True for the name of a temporary file :func:`atomic_write` makes."""
    return _TEMPORARY.match(name) is not None


def remove_temporaries(folder: Path, files: Collection[str] = ()) -> list[Path]:
    """Delete the temporary files a killed build left in *folder* and its real sub-folders (one level:
    qmsdocs writes no deeper). Only names :func:`atomic_write` makes, and the ``.<name>.<pid>.tmp``
    of earlier qmsdocs versions where *name* is one of *files* (paths relative to *folder*, the files
    qmsdocs writes there); a link with such a name is removed itself, never followed. The caller holds
    the output lock, so no other build is writing them."""
    removed: list[Path] = []
    folders = [(folder, "")]
    while folders:
        current, prefix = folders.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if current == folder:
                    folders.append((Path(entry.path), f"{entry.name}/"))
                continue
            old = _OLD_TEMPORARY.match(entry.name)
            if is_temporary(entry.name) or (old is not None and prefix + old.group(1) in files):
                Path(entry.path).unlink(missing_ok=True)
                removed.append(Path(entry.path))
    return removed
