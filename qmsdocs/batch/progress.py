"""Build progress: the snapshot a build reports, and a one-line terminal renderer for the CLI.

The build only calls a ``progress`` callback with :class:`Progress` snapshots; it never writes to a
terminal itself. :class:`ProgressLine` is what the CLI plugs in when stdout is a terminal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Progress:
    """Where a build stands."""

    profiles_done: int
    profiles_total: int
    documents_done: int  # written or found up to date
    elapsed: float
    #: set while the build waits for another build holding the output folder's lock
    waiting_for: str | None = None


class ProgressLine:
    """Redraws one line: a bar over the profiles, profiles and documents done, elapsed time."""

    def __init__(self, stream: TextIO, width: int = 28, interval: float = 0.1) -> None:
        self.stream = stream
        self.width = width
        self.interval = interval
        self._last = 0.0
        self._shown = 0

    def __call__(self, progress: Progress) -> None:
        """Draw *progress* (at most every *interval* seconds, except the final state)."""
        now = time.monotonic()
        finished = progress.profiles_done == progress.profiles_total
        if not finished and progress.waiting_for is None and now - self._last < self.interval:
            return
        self._last = now
        if progress.waiting_for is not None:
            text = f"waiting for another build ({progress.waiting_for}) to release the output folder..."
        else:
            total = max(progress.profiles_total, 1)
            filled = round(self.width * min(progress.profiles_done, total) / total)
            text = (
                f"[{'#' * filled}{'.' * (self.width - filled)}] "
                f"{progress.profiles_done}/{progress.profiles_total} profiles  "
                f"{progress.documents_done} documents  {progress.elapsed:.1f} s"
            )
        self.stream.write("\r" + text.ljust(self._shown))
        self.stream.flush()
        self._shown = len(text)

    def close(self) -> None:
        """Erase the line so the summary starts on a clean one."""
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0
