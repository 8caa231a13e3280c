"""Jinja's sandbox as qmsdocs configures it: templates are untrusted input.

The environment refuses Python internals (Jinja's own rules), every attribute of a file-system path
but its name parts, and caps repetition and powers so a template cannot exhaust memory.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import missing

#: The only attributes a template may read from a file-system path (no read_text, open, parent, ...).
_SAFE_PATH_ATTRIBUTES = frozenset({"name", "stem", "suffix"})
#: Largest string or list a template may build with ``*``; largest power result in bits.
MAX_REPEAT = 1_000_000
MAX_POWER_BITS = 100_000


class Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, also closing the file system and capping repetition and powers."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every attribute a template reads passes here (tens of thousands per document set). The answer
        # depends only on the object's type and the attribute's name (Jinja's rules test isinstance
        # and the name; ours too), so it is remembered per (type, name).
        self._safe: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Refuse every attribute of a path except its name parts (a Path can read and write files)."""
        key = (type(obj), attr)
        known = self._safe.get(key)
        if known is None:
            if isinstance(obj, PurePath) and attr not in _SAFE_PATH_ATTRIBUTES:
                known = False
            else:
                known = bool(super().is_safe_attribute(obj, attr, value))
            if len(self._safe) >= 4096:  # names built at render time (attr filter) cannot grow it forever
                self._safe.clear()
            self._safe[key] = known
        return known

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*`` and ``**`` with a size check first, so a template cannot exhaust memory or time."""
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(count, int)
                if sized and len(seq) * count > MAX_REPEAT:
                    raise SecurityError(f"repetition too large: more than {MAX_REPEAT} items")
            return left * right
        if operator == "**":
            integers = isinstance(left, int) and isinstance(right, int) and right > 0
            if integers and max(abs(left).bit_length(), 1) * right > MAX_POWER_BITS:
                raise SecurityError("power too large")
            return left**right
        return super().call_binop(context, operator, left, right)


class MarkdownUndefined(StrictUndefined):
    """StrictUndefined with messages in the profile's terms, not Python's."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_obj is not missing and self._undefined_name is not None:
            owner = type(self._undefined_obj).__name__
            return f"{owner} has no field '{self._undefined_name}'"
        if self._undefined_name is not None:
            return f"'{self._undefined_name}' is undefined"
        return super()._undefined_message
