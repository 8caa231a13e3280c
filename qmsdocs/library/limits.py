"""Render limits: their errors, and upper estimates of the text an operation would make, computed before
the operation runs (``%`` formatting, format specs, turning a list into text)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from jinja2.exceptions import TemplateRuntimeError
from jinja2.runtime import Undefined
from markupsafe import Markup

#: Plain data: Jinja's own attribute rules apply to these (methods of text, lists, mappings, dates).
PLAIN_TYPES: frozenset[type] = frozenset(
    {
        str,
        int,
        float,
        bool,
        complex,
        type(None),
        list,
        tuple,
        dict,
        set,
        frozenset,
        range,
        date,
        datetime,
        timedelta,
        Markup,
        type({}.keys()),
        type({}.values()),
        type({}.items()),
    }
)
#: Types whose ``len()`` is their size in characters or items (checked after the operations that can grow).
SIZED: frozenset[type] = frozenset({str, Markup, list, tuple, dict, set, frozenset, bytes, bytearray})
#: Types whose text form is short whatever their value.
_SHORT_TEXT: frozenset[type] = frozenset({float, bool, complex, type(None), date, datetime, timedelta})
#: What ``*`` repeats and ``+`` concatenates.
SEQUENCES = (str, bytes, bytearray, list, tuple)
_VIEWS: frozenset[type] = frozenset({type({}.keys()), type({}.values()), type({}.items())})


class RenderLimitError(TemplateRuntimeError):
    """A render went past one of its :class:`~qmsdocs.config.RenderLimits`."""


class NotTextError(TemplateRuntimeError):
    """A template tried to turn something into text that is not text (a profile section, a macro...)."""


def limit_hint(key: str) -> str:
    return f" (limit: {key} in the [limits] table of qmsdocs.toml)"


def megabytes(size: float) -> str:
    return f"{size / 1_000_000:g} MB"


# -- text sizes ---------------------------------------------------------------------------------------

_TEXT_LIKE: dict[type, bool] = {}


def is_text_like(value: Any) -> bool:
    """True for objects of qmsdocs whose text form is meant to be printed (a person's name): their class
    defines ``__str__`` in qmsdocs. A profile section, a dataclass, a macro or a namespace is not."""
    kind = type(value)
    known = _TEXT_LIKE.get(kind)
    if known is None:
        method = getattr(kind, "__str__", None)
        known = _TEXT_LIKE[kind] = str(getattr(method, "__module__", "")).startswith("qmsdocs.")
    return known


def text_size(value: Any, limit: int, depth: int = 0) -> int:
    """An upper estimate of ``len(str(value))`` that stops counting once past *limit*, so that turning a
    list into text is refused before it is done (``str()`` of a list of a million references to one long
    text would be a terabyte). Raises :class:`NotTextError` for a value that has no text form a document
    should show (a profile section, a dataclass, a macro...), wherever it sits in a list."""
    kind = type(value)
    if kind is str or kind is Markup:
        return len(value)
    if kind is int:
        return int(value.bit_length()) // 3 + 2
    if kind in _SHORT_TEXT:
        return 40
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bytes | bytearray):
        return 4 * len(value) + 3
    if isinstance(value, Mapping):
        value = value.items()
    if isinstance(value, list | tuple | set | frozenset | range) or kind in _VIEWS:
        if depth > 20:
            raise NotTextError("cannot turn a list nested this deeply into text")
        total = 2
        for item in value:
            total += text_size(item, limit - total, depth + 1) + 2
            if total > limit:
                break
        return total
    if isinstance(value, Undefined):
        return 0  # its str() raises the undefined error, with its own message
    if isinstance(value, int | float):
        return int(value).bit_length() // 3 + 40
    if is_text_like(value):
        return len(str(value))
    raise NotTextError(f"cannot turn a {kind.__name__} into text; use one of its fields")


def _number(fmt: str, at: int, next_arg: Callable[[], Any], limit: int) -> tuple[int, int]:
    """A width or precision of a ``%`` conversion at *at*: (its value, the position after it)."""
    if at < len(fmt) and fmt[at] == "*":
        star = next_arg()
        return (abs(star) if isinstance(star, int) else 0), at + 1
    end = at
    while end < len(fmt) and fmt[end].isdigit():
        end += 1
    if end == at:
        return 0, at
    return (int(fmt[at:end]) if end - at <= 10 else limit + 1), end


def percent_size(fmt: str, values: Any, limit: int) -> int:
    """An upper estimate of ``len(fmt % values)``; ValueError for a width or precision over *limit*. An
    error in the format is left to Python, which raises it when the formatting runs."""
    args = values if isinstance(values, tuple) else (values,)
    mapping = values if isinstance(values, Mapping) else None
    used = 0

    def next_arg() -> Any:
        nonlocal used
        used += 1
        return args[used - 1] if used <= len(args) else None

    total, position, length = len(fmt), 0, len(fmt)
    while total <= limit and (start := fmt.find("%", position)) >= 0:
        at, key = start + 1, None
        if at < length and fmt[at] == "(":  # a mapping key may hold balanced parentheses
            depth, at = 1, at + 1
            while at < length and depth:
                depth += {"(": 1, ")": -1}.get(fmt[at], 0)
                at += 1
            key = fmt[start + 2 : at - 1]
        while at < length and fmt[at] in "-+ #0":
            at += 1
        width, at = _number(fmt, at, next_arg, limit)
        precision = 0
        if at < length and fmt[at] == ".":
            precision, at = _number(fmt, at + 1, next_arg, limit)
        while at < length and fmt[at] in "hlL":
            at += 1
        conversion, position = fmt[at : at + 1], at + 1
        if width > limit or precision > limit:
            raise ValueError(f"a width or precision of {max(width, precision):,} in '%' formatting")
        if conversion == "%":
            continue
        value = mapping.get(key) if mapping is not None and key is not None else next_arg()
        if conversion in ("r", "a"):
            size = 10 * text_size(value, limit)
        elif conversion == "s":
            size = text_size(value, limit)
        elif conversion in ("e", "E", "f", "F", "g", "G"):
            size = 330 + precision
        else:
            size = text_size(value, limit) + precision
        total += max(width, size)
    return total


def format_spec_size(value: Any, spec: str, limit: int) -> int:
    """An upper estimate of ``len(format(value, spec))``; ValueError for a width or precision over *limit*."""
    if isinstance(value, date):  # the spec is a strftime format: Python stops at 256 bytes per character
        return 256 * len(spec) + 40
    width = precision = 0
    digits = ""
    at, length = 0, len(spec)
    if length >= 2 and spec[1] in "<>=^":
        at = 2
    elif length >= 1 and spec[0] in "<>=^":
        at = 1
    while at < length and spec[at] in "+- z#0":
        at += 1
    while at < length and spec[at].isdigit():
        digits += spec[at]
        at += 1
    if digits:
        width = int(digits) if len(digits) < 12 else limit + 1
    while at < length and spec[at] in ",_":
        at += 1
    if at < length and spec[at] == ".":
        at += 1
        digits = ""
        while at < length and spec[at].isdigit():
            digits += spec[at]
            at += 1
        if digits:
            precision = int(digits) if len(digits) < 12 else limit + 1
    if width > limit or precision > limit:
        raise ValueError(f"a width or precision of {max(width, precision):,} in a format spec")
    if isinstance(value, float | int) and not isinstance(value, bool):
        return max(width, text_size(value, limit) + precision + 330)
    return max(width, text_size(value, limit) + len(spec))
