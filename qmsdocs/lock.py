"""One build at a time per output folder: an exclusive lock on ``OUT/.qmsdocs.lock``.

The lock is an OS file lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows), so it is released
by the operating system when the holder exits or is killed: a crashed build never leaves a stale lock.
The holder writes its pid into the file so that a waiting build can name it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

from qmsdocs.errors import BuildError

LOCK_FILE = ".qmsdocs.lock"


def _try_lock(handle: IO[str]) -> bool | None:
    """Take the lock without waiting: True when taken, False when held elsewhere, None when the
    platform has no file locks."""
    try:
        import fcntl
    except ImportError:
        try:
            import msvcrt
        except ImportError:
            return None
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="utf-8").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "another process"


class OutputLock:
    """Context manager holding the build lock of *out*; waits up to *timeout* seconds for another build.

    *on_wait* is called once (with a description of the holder) when the lock is busy, so a caller can
    tell the user why nothing happens yet.
    """

    def __init__(
        self, out: Path, timeout: float = 30.0, on_wait: Callable[[str], None] | None = None
    ) -> None:
        self.path = out / LOCK_FILE
        self.timeout = timeout
        self.on_wait = on_wait
        self._handle: IO[str] | None = None

    def __enter__(self) -> OutputLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # "a" never truncates: the holder's pid stays readable until we own the lock.
            handle = self.path.open("a+", encoding="utf-8")
        except OSError as error:
            raise BuildError(f"{self.path.parent}: cannot use the output folder: {error.strerror}") from None
        deadline = time.monotonic() + self.timeout
        told = False
        while True:
            taken = _try_lock(handle)
            if taken is not False:
                break
            holder = _holder(self.path)
            if time.monotonic() >= deadline:
                handle.close()
                raise BuildError(
                    f"{self.path.parent}: another qmsdocs build ({holder}) is writing to this folder; "
                    f"gave up after waiting {self.timeout:g} s. Wait for it to finish, or build into "
                    f"another folder (lock file: {self.path})"
                )
            if not told and self.on_wait is not None:
                self.on_wait(holder)
                told = True
            time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handle is not None:
            # Closing the file releases the OS lock; the file itself stays (deleting it would race
            # with a build that has just opened it).
            self._handle.close()
            self._handle = None
