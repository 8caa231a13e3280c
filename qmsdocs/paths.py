"""File names and paths derived from profile values, kept inside the output folder."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')


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
        raise ValueError(f"path {'/'.join(parts)!r} would leave {base}")
    return target


def atomic_write(path: Path, data: bytes) -> None:
    """Write *data* to *path* so that readers see either the old file or the whole new one, never part.

    The bytes go to a temporary file in the same folder (same file system), are flushed to disk, and
    the temporary file is renamed over *path* (an atomic replace on POSIX and Windows).
    """
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
