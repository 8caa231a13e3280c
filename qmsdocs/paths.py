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
