"""One build at a time per output folder: an exclusive lock on ``OUT/.qmsdocs.batch.lock``.

The lock is an OS file lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows), so it is released
by the operating system when the holder exits or is killed: a crashed build never blocks the next one.
The holder writes its pid into the file so that a waiting build can name it, and removes the file when
it ends, so that the output folder holds only the documents and their manifests.

The output folder is the client's deliverable, and what lies in it is not trusted: the lock file is
opened without following a symbolic link (``O_NOFOLLOW``) and only written when it is a regular file
with no other hard link that holds nothing but a pid, so a planted link or hard link can never make a
build truncate another file.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import TracebackType

from qmsdocs.errors import BuildError

LOCK_FILE = ".qmsdocs.batch.lock"

_OPEN_FLAGS = (
    os.O_RDWR
    | os.O_CREAT
    | getattr(os, "O_NOFOLLOW", 0)  # a symbolic link fails with ELOOP instead of being followed
    | getattr(os, "O_NONBLOCK", 0)  # a named pipe planted there must not block the open
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
#: A lock file holds at most a pid and a newline; anything longer is not one of ours.
_MAX_CONTENT = 32

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


def _refuse(path: Path, why: str) -> BuildError:
    return BuildError(f"{path}: {why} (remove it: qmsdocs creates the lock file itself)")


def _content(handle: int) -> bytes:
    os.lseek(handle, 0, os.SEEK_SET)
    return os.read(handle, _MAX_CONTENT + 1)


def _open(path: Path) -> int:
    """Open (or create) the lock file, refusing anything that is not a lock file of ours."""
    link = _refuse(path, "the build lock is a symbolic link, which qmsdocs does not follow")
    if not hasattr(os, "O_NOFOLLOW") and path.is_symlink():  # pragma: no cover - Windows
        raise link
    try:
        handle = os.open(path, _OPEN_FLAGS, 0o666)
    except OSError as error:
        if path.is_symlink():
            raise link from None
        if error.errno in (errno.EISDIR, errno.ENXIO):
            raise _refuse(path, "the build lock is not a regular file") from None
        raise BuildError(f"{path.parent}: cannot use the output folder: {error.strerror}") from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, "the build lock is not a regular file")
        if info.st_nlink > 1:
            raise _refuse(
                path, "the build lock has other hard links, so writing to it would change another file"
            )
        content = _content(handle).strip()
        if content and (len(content) > _MAX_CONTENT or not content.isdigit()):
            raise _refuse(
                path, "is not a qmsdocs lock (it holds other text), so qmsdocs does not overwrite it"
            )
    except BaseException:
        os.close(handle)
        raise
    return handle


def _try_lock(handle: int) -> bool | None:
    """Take the lock without waiting: True when taken, False when held elsewhere, None when the
    platform has no file locks."""
    if fcntl is None:  # pragma: no cover - Windows
        try:
            import msvcrt
        except ImportError:
            return None
        try:
            os.lseek(handle, 0, os.SEEK_SET)
            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _is_linked(handle: int, path: Path) -> bool:
    """True when *path* still names the open file *handle* (a build that ends removes its lock file
    while it holds the lock, so a build that was waiting on the old file must open the new one)."""
    if fcntl is None:  # pragma: no cover - Windows removes the file only after releasing it
        return True
    try:
        ours, named = os.fstat(handle), path.lstat()
    except OSError:
        return False
    return (ours.st_dev, ours.st_ino) == (named.st_dev, named.st_ino)


def _holder(handle: int) -> str:
    try:
        pid = _content(handle).decode("ascii", "replace").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "another process"


class OutputLock:
    """Context manager holding the build lock of *out*; waits up to *timeout* seconds for another build.

    *on_wait* is called once (with a description of the holder) when the lock is busy, so a caller can
    tell the user why nothing happens yet. Raises :class:`~qmsdocs.errors.BuildError` when the lock
    stays busy, or when the lock path is a symbolic link, a hard link, not a regular file or a file
    holding something else than a pid.
    """

    def __init__(
        self, out: Path, timeout: float = 30.0, on_wait: Callable[[str], None] | None = None
    ) -> None:
        self.path = out / LOCK_FILE
        self.timeout = timeout
        self.on_wait = on_wait
        self._handle: int | None = None

    def __enter__(self) -> OutputLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise BuildError(f"{self.path.parent}: cannot use the output folder: {error.strerror}") from None
        deadline = time.monotonic() + self.timeout
        told = False
        handle = _open(self.path)
        try:
            while True:
                taken = _try_lock(handle)
                if taken is not False:
                    if _is_linked(handle, self.path):
                        break
                    os.close(handle)  # the holder ended and removed it: lock the file that is there now
                    handle = _open(self.path)
                    continue
                holder = _holder(handle)
                if time.monotonic() >= deadline:
                    raise BuildError(
                        f"{self.path.parent}: another qmsdocs build ({holder}) is writing to this folder; "
                        f"gave up after waiting {self.timeout:g} s. Wait for it to finish, or build into "
                        f"another folder (lock file: {self.path})"
                    )
                if not told and self.on_wait is not None:
                    self.on_wait(holder)
                    told = True
                time.sleep(0.1)
            os.ftruncate(handle, 0)
            os.lseek(handle, 0, os.SEEK_SET)
            os.write(handle, f"{os.getpid()}\n".encode("ascii"))
        except BaseException:
            os.close(handle)
            raise
        self._handle = handle
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if fcntl is not None:
            # Removed while still held: a build waiting on this file sees it is gone once it gets the
            # lock (see _is_linked) and opens a new one, so two builds never both hold "the" lock.
            if _is_linked(handle, self.path):
                self.path.unlink(missing_ok=True)
            os.close(handle)  # releases the OS lock
            return
        os.close(handle)  # pragma: no cover - Windows cannot remove an open file
        with suppress(OSError):  # pragma: no cover - fails while a waiting build has it open
            self.path.unlink()
