"""Jinja's sandbox as qmsdocs configures it: templates are untrusted input.

Two rules, each enforced for a whole class of attacks rather than for known payloads:

**A template reads only the template API.** :meth:`Sandbox.is_safe_attribute` allows, per class, an
explicit list of attributes and refuses everything else: for the pydantic models of the profile their
fields plus the few properties and methods listed with :func:`allow` (never pydantic's own methods, whose
deprecated ``parse_raw``/``parse_file`` unpickle data and read files); for qmsdocs' helper objects the
fields of a dataclass plus the listed properties and methods; for plain data (text, numbers, lists,
mappings, dates) Jinja's own rules; for anything else (functions, classes, modules, paths...) nothing
(a path gives its name parts). A call of a class constructs an object: only the classes of
:data:`CALLABLE_CLASSES` may be called. :func:`allow` is where the template API is declared
(render.py declares it, next to the context it builds); a test walks every object a template can reach.

**A render is bounded** by :class:`~qmsdocs.config.RenderLimits`: time, the size of the document, the
size of any one text or list a template builds, and the memory the render adds to its process. What
could allocate a lot in one step is checked *before* it runs: repetition, concatenation (``+``, ``~``),
``%`` and ``str.format`` (widths and precisions included), the filters and string methods that take a
width, a count or a separator, ``range``, ``lipsum``, and turning a list into text (a list of a million
references to one long text would be a terabyte of text); what a macro, block or ``{% set %}``
captures is checked before it is joined. Time and memory are checked in the hooks every template
operation goes through (calls, operators, each piece of output) and by a watchdog thread, which stops
a template that calls nothing (an empty nested loop) too, in whatever thread it renders. A limit
reached is a :class:`RenderLimitError` raised where the template is, so it names its file and line.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import update_wrapper
from itertools import islice
from pathlib import PurePath
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.compiler import CodeGenerator
from jinja2.environment import TemplateModule as _TemplateModule
from jinja2.exceptions import SecurityError, TemplateRuntimeError
from jinja2.filters import _GroupTuple, do_attr, make_attrgetter, sync_do_join, sync_do_sum
from jinja2.runtime import (
    BlockReference,
    LoopContext,
    Undefined,
    markup_join,
    str_join,
)
from jinja2.sandbox import (
    SandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
    is_internal_attribute,
)
from jinja2.utils import Cycler, Joiner, Namespace, _PassArg, generate_lorem_ipsum, missing
from markupsafe import Markup
from pydantic import BaseModel

from qmsdocs.config import DEFAULT_LIMITS, RenderLimits

#: The only attributes a template may read from a file-system path (no read_text, open, parent, ...).
_SAFE_PATH_ATTRIBUTES = frozenset({"name", "stem", "suffix"})
#: Largest integer (in bits) a template may make with ``*`` or ``**``: multiplying two huge numbers is
#: one uninterruptible step of the interpreter.
MAX_INT_BITS = 100_000
#: Most numbers ``range()`` may produce (Jinja's own sandbox allows 100,000 too).
MAX_RANGE = 100_000
#: Seconds between two checks of the time and memory limits by the watchdog thread.
TICK_SECONDS = 0.05
#: Template operations between two checks of the time and memory limits by the hooks.
TICK_OPERATIONS = 2048
#: Pieces of output counted at a time against ``output_chars``.
OUTPUT_BATCH = 32
#: Bumped when the generated template code changes: the on-disk cache of compiled templates
#: (workers.py) is kept per code version, so it never serves code compiled without the checks.
CODE_VERSION = "4"

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
_SIZED: frozenset[type] = frozenset({str, Markup, list, tuple, dict, set, frozenset, bytes, bytearray})
#: Types whose text form is short whatever their value.
_SHORT_TEXT: frozenset[type] = frozenset({float, bool, complex, type(None), date, datetime, timedelta})
#: What ``*`` repeats and ``+`` concatenates.
_SEQUENCES = (str, bytes, bytearray, list, tuple)
_VIEWS: frozenset[type] = frozenset({type({}.keys()), type({}.values()), type({}.items())})

#: Per class, the attributes besides a model's or dataclass's fields that templates may read.
_API: dict[type, frozenset[str]] = {
    LoopContext: frozenset(
        {
            "index",
            "index0",
            "revindex",
            "revindex0",
            "first",
            "last",
            "length",
            "depth",
            "depth0",
            "previtem",
            "nextitem",
            "cycle",
            "changed",
        }
    ),
    Cycler: frozenset({"current", "next", "reset", "items"}),
    BlockReference: frozenset({"super"}),
    _GroupTuple: frozenset({"grouper", "list"}),  # an item of the groupby filter's result
}
#: Classes whose every attribute without a leading underscore is data the template itself set:
#: ``namespace()`` objects and ``{% import %}`` modules (their macros and top-level variables).
_OPEN_CLASSES: frozenset[type] = frozenset({Namespace, _TemplateModule})
#: The only classes a template may call (each builds plain data): Jinja's ``dict``, ``cycler``,
#: ``joiner`` and ``namespace``. render.py adds ``Md``.
CALLABLE_CLASSES: set[type] = {dict, Cycler, Joiner, Namespace}


def allow(cls: type, *names: str) -> None:
    """Let templates read the attributes *names* of *cls* (properties and methods of the template API),
    besides the fields of a pydantic model or dataclass, which are always readable."""
    _API[cls] = _API.get(cls, frozenset()) | frozenset(names)


def api_attributes(cls: type) -> frozenset[str]:
    """Every attribute of *cls* a template may read, when *cls* is not plain data (see the module doc)."""
    names = _API.get(cls, frozenset())
    if issubclass(cls, BaseModel):
        return names | frozenset(cls.model_fields)
    if dataclasses.is_dataclass(cls):
        return names | frozenset(f.name for f in dataclasses.fields(cls))
    return names


class RenderLimitError(TemplateRuntimeError):
    """A render went past one of its :class:`~qmsdocs.config.RenderLimits`."""


class NotTextError(TemplateRuntimeError):
    """A template tried to turn something into text that is not text (a profile section, a macro...)."""


def _hint(key: str) -> str:
    return f" (limit: {key} in the [limits] table of qmsdocs.toml)"


def _megabytes(size: float) -> str:
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


def _percent_size(fmt: str, values: Any, limit: int) -> int:
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


def _format_spec_size(value: Any, spec: str, limit: int) -> int:
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


class _BoundedFormatting:
    """``str.format`` with every field's width, precision and size checked before it is formatted."""

    _env: Any
    _total = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._total = len(format_string)
        return super().vformat(format_string, args, kwargs)  # type: ignore[misc,no-any-return]

    def format_field(self, value: Any, format_spec: str) -> Any:
        env: Sandbox = self._env
        limit = env.limits.items
        try:
            self._total += _format_spec_size(value, format_spec, limit)
        except ValueError as error:
            raise env.too_big(f"{error}") from None
        if self._total > limit:
            raise env.too_big("format()", self._total)
        return super().format_field(value, format_spec)  # type: ignore[misc]


class _Formatter(_BoundedFormatting, SandboxedFormatter):
    pass


class _EscapeFormatter(_BoundedFormatting, SandboxedEscapeFormatter):
    pass


class _CheckedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with the joins of the generated code checked: ``concat`` (what a macro,
    a block or ``{% set %}`` captured), ``markup_join`` and ``str_join`` (the ``~`` operator)."""

    def writeline(self, x: str, node: Any = None, extra: int = 0) -> None:
        super().writeline(x, node, extra)
        if x.startswith("from jinja2.runtime import "):
            super().writeline("concat, markup_join, str_join = environment.checked_joins()")


class Sandbox(SandboxedEnvironment):
    """Jinja's sandbox with qmsdocs' allow-list of attributes and its render limits (see the module doc)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _CheckedCodeGenerator

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every attribute a template reads passes here (tens of thousands per document set). The answer
        # depends only on the object's type and the attribute's name, so it is remembered per pair.
        self._safe: dict[tuple[type, str], bool] = {}
        #: the limits of the render under way (the defaults outside a render)
        self.limits: RenderLimits = DEFAULT_LIMITS
        self._deadline = math.inf
        self._memory_cap = 0
        self._ticks = TICK_OPERATIONS
        self.globals["range"] = self._range
        self.globals["lipsum"] = self._lipsum
        # the generated code's joins (module level) and Environment.concat (what functions use locally)
        self._joins = (self._concat, self._markup_join, self._str_join)
        self.concat = self._concat  # type: ignore[method-assign]
        self._guard_filters()

    # -- attributes -------------------------------------------------------------------------------

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.attribute`` from a template (Jinja's rules: an attribute, else an item), decided by
        the allow-list *before* the attribute is read, so no getter of a refused attribute ever runs
        (a pydantic deprecation warning, a cached computation...)."""
        key = (type(obj), attribute)
        allowed = self._safe.get(key)
        if allowed is None:
            allowed = self.is_safe_attribute(obj, attribute, None)
        if allowed:
            try:
                value = getattr(obj, attribute)
            except AttributeError:
                pass
            else:
                if attribute == "format" or attribute == "format_map":
                    return self.wrap_str_format(value) or value
                return value
        try:
            return obj[attribute]
        except (TypeError, LookupError):
            pass
        if not allowed and inspect.getattr_static(obj, attribute, missing) is not missing:
            return self.unsafe_undefined(obj, attribute)
        return self.undefined(obj=obj, name=attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """The value of a refused attribute: an error, as soon as the template uses it, that names what
        a template may read instead."""
        kind = type(obj)
        owner = obj.__name__ if isinstance(obj, type) else kind.__name__
        readable = (
            sorted(api_attributes(kind)) if kind not in PLAIN_TYPES and not isinstance(obj, type) else []
        )
        hint = f" (it has: {', '.join(readable)})" if readable else ""
        return self.undefined(
            f"{owner}.{attribute} is not part of the template API{hint}",
            name=attribute,
            obj=obj,
            exc=SecurityError,
        )

    def getitem(self, obj: Any, argument: Any) -> Any:
        """``obj[argument]`` from a template; a text argument falls back to :meth:`getattr`."""
        try:
            return obj[argument]
        except (TypeError, LookupError):
            if isinstance(argument, str):
                return self.getattr(obj, argument)
        return self.undefined(obj=obj, name=argument)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Only the template API (see the module doc); decided once per (type, name), whatever the value."""
        key = (type(obj), attr)
        known = self._safe.get(key)
        if known is None:
            known = self._decide(obj, attr)
            if len(self._safe) >= 4096:  # names built at render time (attr filter) cannot grow it forever
                self._safe.clear()
            self._safe[key] = known
        return known

    @staticmethod
    def _decide(obj: Any, attr: str) -> bool:
        kind = type(obj)
        if attr.startswith("_"):
            return False
        if kind in PLAIN_TYPES:
            return not is_internal_attribute(obj, attr)
        if kind in _OPEN_CLASSES:
            return True
        if isinstance(obj, PurePath):
            return attr in _SAFE_PATH_ATTRIBUTES
        if isinstance(obj, type):  # a class: calling its methods would construct or change objects
            return False
        if isinstance(obj, Markup):  # Md and other Markup subclasses are text
            return not is_internal_attribute(obj, attr)
        return attr in api_attributes(kind)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format``/``format_map`` with the sizes of the result checked before it is built."""
        if not isinstance(value, MethodType | BuiltinMethodType) or value.__name__ not in (
            "format",
            "format_map",
        ):
            return None
        f_self: Any = value.__self__
        if not isinstance(f_self, str):
            return None
        str_type: type[str] = type(f_self)
        is_format_map = value.__name__ == "format_map"
        formatter: _Formatter | _EscapeFormatter
        if isinstance(f_self, Markup):
            formatter = _EscapeFormatter(self, escape=f_self.escape)
        else:
            formatter = _Formatter(self)

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs = args[0]
                args = ()
            return str_type(formatter.vformat(f_self, args, kwargs))

        return update_wrapper(wrapper, value)

    # -- calls and operators ----------------------------------------------------------------------

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call from a template: classes only when listed, sizes checked for methods that can grow."""
        __self._ticks -= 1
        if __self._ticks <= 0:
            __self.poll()
        kind = type(__obj)
        if kind is BuiltinMethodType or kind is MethodType:
            check = _METHOD_CHECKS.get(__obj.__name__)
            if check is not None:
                owner = __obj.__self__
                if type(owner) in _CHECKED_OWNERS or isinstance(owner, str):
                    check(__self, owner, args, kwargs)
                    return __self.check_size(__context.call(__obj, *args, **kwargs))
        elif isinstance(__obj, type):
            if __obj not in CALLABLE_CLASSES:
                raise SecurityError(f"a template cannot call the class {__obj.__name__}")
            if issubclass(__obj, str) and args:
                __self.check_text(args[0], __obj.__name__ + "()")
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        return __context.call(__obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*``, ``**``, ``+`` and ``%`` with the size of the result checked before it is built."""
        self._ticks -= 1
        if self._ticks <= 0:
            self.poll()
        limit = self.limits.items
        if operator == "*":
            if type(left) is int and type(right) is int:
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise self.too_big_number()
                return left * right
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, _SEQUENCES) and isinstance(count, int) and len(seq) * count > limit:
                    raise self.too_big("'*' repetition", len(seq) * count)
            return left * right
        if operator == "+":
            sized = isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES)
            if sized and len(left) + len(right) > limit:
                raise self.too_big("'+'", len(left) + len(right))
            return left + right
        if operator == "%":
            if isinstance(left, bytes | bytearray):
                raise SecurityError("'%' formatting of bytes is not supported")
            if isinstance(left, str):
                try:
                    size = _percent_size(left, right, limit)
                except ValueError as error:
                    raise self.too_big(str(error)) from None
                if size > limit:
                    raise self.too_big("'%' formatting", size)
            return left % right
        if operator == "**":
            integers = isinstance(left, int) and isinstance(right, int) and right > 0
            if integers and max(abs(left).bit_length(), 1) * right > MAX_INT_BITS:
                raise self.too_big_number()
            return left**right
        return super().call_binop(context, operator, left, right)

    def checked_joins(self) -> tuple[Callable[..., str], Callable[..., str], Callable[..., str]]:
        """``concat``, ``markup_join`` and ``str_join`` for the generated code (see _CheckedCodeGenerator)."""
        return self._joins

    def _concat(self, parts: Any) -> str:
        """What a macro, block or ``{% set %}`` captured, as one text, if it is not too long."""
        if type(parts) is not list:
            parts = list(parts)
        try:
            size = sum(map(len, parts))
        except TypeError:
            size = 0  # not all text: "".join raises its own error
        if size > self.limits.output_chars:
            raise RenderLimitError(
                f"a macro, block or {{% set %}} captured more than "
                f"{_megabytes(self.limits.output_chars)} of text" + _hint("render_output_mb")
            )
        return "".join(parts)

    def _markup_join(self, seq: Any) -> str:
        return markup_join(self._joinable(seq))

    def _str_join(self, seq: Any) -> str:
        return str_join(self._joinable(seq))

    def _joinable(self, seq: Any) -> tuple[Any, ...]:
        """The operands of ``~``, after checking the text they make is not too long."""
        items = tuple(seq)
        limit, total = self.limits.items, 0
        for item in items:
            total += len(item) if type(item) is str or type(item) is Markup else text_size(item, limit)
        if total > limit:
            raise self.too_big("'~'", total)
        return items

    # -- sizes ------------------------------------------------------------------------------------

    def too_big(self, what: str, size: int | None = None) -> RenderLimitError:
        """The error for something a template builds past ``limits.items``."""
        limit = self.limits.items
        if size is None:
            return RenderLimitError(f"{what} is more than the limit of {limit:,}" + _hint("render_items"))
        return RenderLimitError(
            f"{what} would make at least {size:,} characters or items; the limit is {limit:,}"
            + _hint("render_items")
        )

    def too_big_number(self) -> RenderLimitError:
        """The error for a number too large to compute in one uninterruptible step."""
        return RenderLimitError(f"the number would have more than {MAX_INT_BITS:,} bits")

    def check_size(self, value: Any) -> Any:
        """*value*, after checking it is not a text or list longer than ``limits.items``."""
        if type(value) in _SIZED and len(value) > self.limits.items:
            raise self.too_big("the result", len(value))
        return value

    def check_text(self, value: Any, what: str, extra: int = 0) -> int:
        """The estimated length of ``str(value)`` (plus *extra*); an error when it is over the limit or
        *value* has no text form a document should show."""
        kind = type(value)
        size = (len(value) if kind is str or kind is Markup else text_size(value, self.limits.items)) + extra
        if size > self.limits.items:
            raise self.too_big(what, size)
        return size

    def _range(self, *args: int) -> range:
        numbers = range(*args)
        limit = min(MAX_RANGE, self.limits.items)
        if len(numbers) > limit:
            raise RenderLimitError(
                f"range() of {len(numbers):,} numbers is more than the limit of {limit:,}"
                + (_hint("render_items") if limit < MAX_RANGE else "")
            )
        return numbers

    def _lipsum(self, n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        """Jinja's ``lipsum``, with the length of the text checked first (about 12 characters a word)."""
        longest = max if isinstance(max, int) and max > min else min
        size = n * longest * 12 if isinstance(n, int) and isinstance(longest, int) else 0
        if size > self.limits.items:
            raise self.too_big("lipsum()", size)
        return generate_lorem_ipsum(n, html, min, max)

    def select_template(self, names: Any, parent: str | None = None, globals: Any = None) -> Template:
        """Jinja's, with the list of names bounded (its error message joins them all)."""
        if not isinstance(names, Undefined):
            names = list(names)
            self.check_text(names, "the list of template names")
        return super().select_template(names, parent, globals)

    # -- time and memory --------------------------------------------------------------------------

    def poll(self) -> None:
        """Raise a RenderLimitError when the render under way is past its time or its memory."""
        self._ticks = TICK_OPERATIONS
        if time.monotonic() > self._deadline:
            raise RenderLimitError(self._time_message())
        if self._memory_cap and resident_bytes() > self._memory_cap:
            raise RenderLimitError(self._memory_message())

    def _time_message(self) -> str:
        return f"the template ran longer than {self.limits.seconds:g} s" + _hint("render_seconds")

    def _memory_message(self) -> str:
        return f"the render took more than {_megabytes(self.limits.memory_bytes)} of memory" + _hint(
            "render_memory_mb"
        )

    @contextmanager
    def limited(self, limits: RenderLimits) -> Iterator[None]:
        """Apply *limits* to the renders in the block: checked by the hooks, and by the watchdog thread,
        which stops a template that has run out of time or memory even where it calls nothing."""
        saved = (self.limits, self._deadline, self._memory_cap)
        self.limits = limits
        self._deadline = time.monotonic() + limits.seconds
        base = _watchdog.resident or resident_bytes()  # the watchdog's last sample saves a system call
        self._memory_cap = base + limits.memory_bytes if base else 0
        self._ticks = TICK_OPERATIONS
        watch = _watchdog.start(self._deadline, self._memory_cap, self._time_message, self._memory_message)
        try:
            yield
        finally:
            _watchdog.stop(watch)
            self.limits, self._deadline, self._memory_cap = saved

    def render_limited(self, template: Template, variables: dict[str, Any], limits: RenderLimits) -> str:
        """Render *template* with *variables* within *limits*: Jinja's ``Template.render``, with the
        output counted as it is generated. A limit reached is raised inside the template, at the line
        that was running, and Jinja's traceback rewriting gives it the template's file and line."""
        with self.limited(limits):
            try:
                generator: Generator[str, None, None] = template.root_render_func(  # type: ignore[assignment]
                    template.new_context(variables)
                )
                parts: list[str] = []
                size, cap = 0, limits.output_chars
                # pieces of output in small batches (taken at C speed): a piece is a printed value, a
                # macro's output or template text, each already bounded, so a batch is too
                while batch := list(islice(generator, OUTPUT_BATCH)):
                    try:
                        size += sum(map(len, batch))
                        if size > cap:
                            raise RenderLimitError(
                                f"the document grew past {_megabytes(cap)} of text"
                                + _hint("render_output_mb")
                            )
                        parts += batch
                        self._ticks -= 1
                        if self._ticks <= 0:
                            self.poll()
                    except RenderLimitError as error:  # raised here, not in the template: raise it there
                        generator.throw(RenderLimitError(error.message))
                return "".join(parts)
            except Exception:
                self.handle_exception()

    # -- filters ----------------------------------------------------------------------------------

    def _guard_filters(self) -> None:
        """Wrap the built-in filters that turn values into text or take a size, so their sizes are
        checked first and their results after."""
        for name, check in _FILTER_CHECKS.items():
            if name in self.filters:
                self.filters[name] = _guarded(self, self.filters[name], check)
        self.filters["join"] = _join
        self.filters["sum"] = _sum
        self.filters["attr"] = _attr


class _Watch:
    """One render under way, as the watchdog sees it."""

    __slots__ = ("deadline", "fired", "memory_cap", "memory_message", "thread", "time_message")

    def __init__(
        self,
        thread: int,
        deadline: float,
        memory_cap: int,
        time_message: Callable[[], str],
        memory_message: Callable[[], str],
    ) -> None:
        self.thread = thread
        self.deadline = deadline
        self.memory_cap = memory_cap
        self.time_message = time_message
        self.memory_message = memory_message
        self.fired = False


class _Watchdog:
    """A daemon thread that stops renders past their time or memory, whatever they are doing.

    Every :data:`TICK_SECONDS` it checks each render under way and, once one is past a limit, raises a
    RenderLimitError in the thread that renders, at the next instruction of the interpreter (CPython's
    ``PyThreadState_SetAsyncExc``, what a Ctrl-C does to the main thread). So a loop that calls nothing
    is stopped too, in any thread, and no signal handler or timer of the process is touched. The
    exception is raised at most once per render, and only while it is under way: :meth:`stop` takes
    the lock the thread fires under and clears an exception not raised yet.
    """

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):  # a forked worker has the lock but not the thread
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[int, _Watch] = {}
        self._thread: threading.Thread | None = None
        self._quit = threading.Event()
        self._raise: Callable[[int, Any], int] | None = None
        #: the resident memory of the process at the watchdog's last tick (0 before its first)
        self.resident = 0

    def start(
        self,
        deadline: float,
        memory_cap: int,
        time_message: Callable[[], str],
        memory_message: Callable[[], str],
    ) -> _Watch | None:
        """Watch the render the calling thread starts; None where exceptions cannot be raised in a thread."""
        if self._thread is None and not self._start_thread():
            return None
        watch = _Watch(threading.get_ident(), deadline, memory_cap, time_message, memory_message)
        with self._lock:
            self._watches[watch.thread] = watch
        return watch

    def stop(self, watch: _Watch | None) -> None:
        """The render of *watch* has ended: forget it, and drop its exception if it is still pending."""
        if watch is None:
            return
        with self._lock:
            if self._watches.get(watch.thread) is watch:
                del self._watches[watch.thread]
            if watch.fired and self._raise is not None:
                self._raise(watch.thread, None)

    def _start_thread(self) -> bool:
        try:
            import ctypes

            set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
        except (ImportError, AttributeError):  # not CPython: the hooks alone check the limits
            return False
        set_async_exc.restype = ctypes.c_int

        def raise_in(thread: int, error: type[BaseException] | None) -> int:
            # None passes a NULL pointer, which clears the thread's pending exception
            return int(
                set_async_exc(ctypes.c_ulong(thread), None if error is None else ctypes.py_object(error))
            )

        self._raise = raise_in
        self._quit = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._quit,), name="qmsdocs render watchdog", daemon=True
        )
        self._thread.start()
        return True

    def stop_thread(self) -> None:
        """End the thread (the next render starts it again): before a fork, which copies one thread
        only and which Python 3.12 warns about in a process that has several."""
        thread = self._thread
        if thread is None:
            return
        self._quit.set()
        thread.join()
        self._thread = None

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(TICK_SECONDS):
            self.resident = resident = resident_bytes()
            if not self._watches:
                continue
            now = time.monotonic()
            with self._lock:
                for watch in self._watches.values():
                    if watch.fired:
                        continue
                    if now > watch.deadline:
                        message = watch.time_message()
                    elif watch.memory_cap and resident > watch.memory_cap:
                        message = watch.memory_message()
                    else:
                        continue
                    watch.fired = True
                    # The interpreter raises a class without arguments: one made for this message.
                    error = type("RenderLimitError", (_Stopped,), {"text": message})
                    if self._raise is not None:
                        self._raise(watch.thread, error)


class _Stopped(RenderLimitError):
    """A render stopped by the watchdog (subclassed per message: the interpreter raises a class)."""

    text = "the render went past its limits"

    def __init__(self, *args: Any) -> None:
        super().__init__(*(args or (self.text,)))


_watchdog = _Watchdog()


def stop_watchdog() -> None:
    """End the watchdog thread of this process, if it runs (see :meth:`_Watchdog.stop_thread`)."""
    _watchdog.stop_thread()


def resident_bytes() -> int:
    """The resident memory of this process in bytes; 0 when the system does not say."""
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
        try:
            data = os.read(fd, 128)
        finally:
            os.close(fd)
        return int(data.split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


# -- checks of builtin methods and filters --------------------------------------------------------------

Check = Callable[[Sandbox, Any, tuple[Any, ...], dict[str, Any]], None]


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _width_check(index: int, name: str) -> Check:
    """``center``, ``ljust``, ``zfill``...: the width must be within the limit."""

    def check(env: Sandbox, owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        width = _arg(args, kwargs, index, name, 0)
        if isinstance(width, int) and width > env.limits.items:
            raise env.too_big(f"a width of {width:,}")

    return check


def _expandtabs(env: Sandbox, owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    size = _arg(args, kwargs, 0, "tabsize", 8)
    if isinstance(size, int) and isinstance(owner, str):
        total = len(owner) + owner.count("\t") * max(size, 0)
        if total > env.limits.items:
            raise env.too_big("expandtabs()", total)


def _replace_size(text: str, old: Any, new: Any, count: Any) -> int:
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _replace(env: Sandbox, owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if isinstance(owner, str):
        total = _replace_size(
            owner, _arg(args, kwargs, 0, "old"), _arg(args, kwargs, 1, "new"), _arg(args, kwargs, 2, "count")
        )
        if total > env.limits.items:
            raise env.too_big("replace()", total)


def _join_method(env: Sandbox, owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if isinstance(owner, str | bytes) and args:
        items = args[0]
        if not isinstance(items, list | tuple | set | frozenset | str | dict):
            raise SecurityError("join() takes a list in a template")
        env.check_text(items, "join()", len(owner) * len(items))


def _translate(env: Sandbox, owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    table = _arg(args, kwargs, 0, "table")
    if isinstance(owner, str) and table is not None:
        if not isinstance(table, dict):
            raise SecurityError("translate() takes a mapping in a template")
        longest = max([len(v) for v in table.values() if isinstance(v, str)], default=1)
        if len(owner) * longest > env.limits.items:
            raise env.too_big("translate()", len(owner) * longest)


def _to_bytes(env: Sandbox, owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    length = _arg(args, kwargs, 0, "length", 1)
    if isinstance(length, int) and length > env.limits.items:
        raise env.too_big("to_bytes()", length)


def _strftime(env: Sandbox, owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    fmt = _arg(args, kwargs, 0, "format", "")
    if isinstance(fmt, str) and 256 * len(fmt) > env.limits.items:
        raise env.too_big("strftime()", 256 * len(fmt))


def _grow(by: Callable[[tuple[Any, ...], dict[str, Any]], int]) -> Check:
    """``append``, ``extend``, ``update``...: the container may not grow past the limit."""

    def check(env: Sandbox, owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if isinstance(owner, list | dict | set):
            total = len(owner) + by(args, kwargs)
            if total > env.limits.items:
                raise env.too_big(f"a {type(owner).__name__} of {total:,} items")

    return check


def _sized_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    return sum(len(a) if hasattr(a, "__len__") else 0 for a in (*args, *kwargs.values())) + len(kwargs)


def _nothing(env: Sandbox, owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Only the size of the result is checked (it is at most a few times the size of the inputs)."""


#: Methods of plain data whose result can be much larger than their owner: checked before the call,
#: and the result's size after it.
_METHOD_CHECKS: dict[str, Check] = {
    "center": _width_check(0, "width"),
    "ljust": _width_check(0, "width"),
    "rjust": _width_check(0, "width"),
    "zfill": _width_check(0, "width"),
    "expandtabs": _expandtabs,
    "replace": _replace,
    "join": _join_method,
    "translate": _translate,
    "encode": _nothing,
    "to_bytes": _to_bytes,
    "strftime": _strftime,
    "append": _grow(lambda a, k: 1),
    "insert": _grow(lambda a, k: 1),
    "add": _grow(lambda a, k: 1),
    "setdefault": _grow(lambda a, k: 1),
    "extend": _grow(_sized_args),
    "update": _grow(_sized_args),
    "union": _grow(_sized_args),
    "fromkeys": _nothing,
    "copy": _nothing,
}
_CHECKED_OWNERS: frozenset[type] = PLAIN_TYPES | {bytes, bytearray, type}


def _guarded(env: Sandbox, func: Callable[..., Any], check: Check | None) -> Callable[..., Any]:
    """*func* (a Jinja filter) with *check* before it runs (None: the check of a filter that turns its
    value into text) and the size of its result checked after. The check gets the filter's value as
    its owner and the other arguments.

    The guarded filter asks for the template context, only so that Jinja never runs it while compiling
    (it folds filters of constants into the compiled code): it must run with the limits of the render."""
    pass_arg = _PassArg.from_obj(func)
    first: Callable[[Any], Any] = {
        _PassArg.eval_context: lambda context: context.eval_ctx,
        _PassArg.environment: lambda context: context.environment,
        _PassArg.context: lambda context: context,
    }.get(pass_arg, lambda context: None)  # type: ignore[arg-type]

    if check is None and pass_arg is None:  # the common case, kept short: lower, upper, escape...

        def guarded(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            if type(value) is not str and type(value) is not Markup:
                env.check_text(value, "the text of the value")
            result = func(value, *args, **kwargs)
            if type(result) in _SIZED and len(result) > env.limits.items:
                raise env.too_big("the result", len(result))
            return result

    else:
        checked = check or _text_filter

        def guarded(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            checked(env, value, args, kwargs)
            if pass_arg is None:
                return env.check_size(func(value, *args, **kwargs))
            return env.check_size(func(first(context), value, *args, **kwargs))

    update_wrapper(guarded, func)
    guarded.jinja_pass_arg = _PassArg.context  # type: ignore[attr-defined]
    return guarded


def _text_filter(env: Sandbox, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if type(value) is not str and type(value) is not Markup:
        env.check_text(value, "the text of the value")


def _then(*checks: Check) -> Check:
    def check(env: Sandbox, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        for one in checks:
            one(env, value, args, kwargs)

    return check


def _indent(env: Sandbox, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    width = _arg(args, kwargs, 0, "width", 4)
    text = str(value) if isinstance(value, str) else ""
    step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    total = len(text) + (text.count("\n") + 1) * max(step, 0)
    if total > env.limits.items:
        raise env.too_big("the filter 'indent'", total)


def _wordwrap(env: Sandbox, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    width = _arg(args, kwargs, 0, "width", 79)
    wrapstring = _arg(args, kwargs, 2, "wrapstring", None)
    text = str(value) if isinstance(value, str) else ""
    if isinstance(wrapstring, str) and isinstance(width, int):
        lines = len(text) // max(width, 1) + text.count("\n") + 1
        total = len(text) + lines * len(wrapstring)
        if total > env.limits.items:
            raise env.too_big("the filter 'wordwrap'", total)


def _replace_filter(env: Sandbox, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    old, new = _arg(args, kwargs, 0, "old"), _arg(args, kwargs, 1, "new")
    if isinstance(value, str):
        total = _replace_size(
            value,
            str(old) if old is not None else old,
            str(new) if new is not None else new,
            _arg(args, kwargs, 2, "count"),
        )
        if total > env.limits.items:
            raise env.too_big("the filter 'replace'", total)


def _format_filter(env: Sandbox, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if isinstance(value, str):
        try:
            size = _percent_size(value, kwargs or args, env.limits.items)
        except ValueError as error:
            raise env.too_big(str(error)) from None
        if size > env.limits.items:
            raise env.too_big("the filter 'format'", size)


def _count_check(index: int, name: str, what: str) -> Check:
    def check(env: Sandbox, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        count = _arg(args, kwargs, index, name, 0)
        if isinstance(count, int) and count > env.limits.items:
            raise env.too_big(f"the filter '{what}' with {count:,}")

    return check


#: Built-in filters checked before they run (None: they turn their value into text, which is checked);
#: all have the size of their result checked after.
_FILTER_CHECKS: dict[str, Check | None] = {
    **{
        name: None
        for name in (
            "capitalize",
            "e",
            "escape",
            "forceescape",
            "lower",
            "pprint",
            "safe",
            "string",
            "striptags",
            "title",
            "tojson",
            "trim",
            "truncate",
            "upper",
            "urlencode",
            "urlize",
            "wordcount",
            "xmlattr",
        )
    },
    "center": _then(_text_filter, _width_check(0, "width")),
    "indent": _then(_text_filter, _indent),
    "wordwrap": _then(_text_filter, _wordwrap),
    "replace": _then(_text_filter, _replace_filter),
    "format": _then(_text_filter, _format_filter),
    "batch": _count_check(0, "linecount", "batch"),
    "slice": _count_check(0, "slices", "slice"),
    "list": _nothing,
    "reverse": _nothing,
    "unique": _nothing,
}


def _join(context: Any, value: Any, d: str = "", attribute: str | int | None = None) -> str:
    """Jinja's ``join``, with the length of the text checked before it is made (it asks for the
    context only so that Jinja does not run it while compiling: see :func:`_guarded`)."""
    env = context.environment
    if attribute is not None:
        value = map(make_attrgetter(env, attribute), value)
    items = list(value) if not isinstance(value, list | tuple) else value
    env.check_text(items, "the filter 'join'", len(str(d)) * len(items))
    return sync_do_join(context.eval_ctx, items, d)


_join.jinja_pass_arg = _PassArg.context  # type: ignore[attr-defined]


def _attr(context: Any, obj: Any, name: str) -> Any:
    """Jinja's ``attr`` (an attribute, never an item), with the allow-list decided before it is read."""
    env = context.environment
    if isinstance(name, str) and not env.is_safe_attribute(obj, name, None):
        if inspect.getattr_static(obj, name, missing) is not missing:
            return env.unsafe_undefined(obj, name)
        return env.undefined(obj=obj, name=name)
    return do_attr(env, obj, name)


_attr.jinja_pass_arg = _PassArg.context  # type: ignore[attr-defined]


def _sum(context: Any, iterable: Any, attribute: str | int | None = None, start: Any = 0) -> Any:
    """Jinja's ``sum``, with the size of a sum of lists or texts checked before it is made."""
    env = context.environment
    if attribute is not None:
        iterable = map(make_attrgetter(env, attribute), iterable)
    items = list(iterable)
    if not isinstance(start, int | float) or any(not isinstance(i, int | float) for i in items):
        total = sum(len(i) if hasattr(i, "__len__") else 1 for i in (start, *items))
        if total > env.limits.items:
            raise env.too_big("the filter 'sum'", total)
    return sync_do_sum(env, items, None, start)


_sum.jinja_pass_arg = _PassArg.context  # type: ignore[attr-defined]


class MarkdownUndefined(StrictUndefined):
    """StrictUndefined with messages in the profile's terms, not Python's."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        if self._undefined_obj is not missing and self._undefined_name is not None:
            owner = type(self._undefined_obj).__name__
            return f"{owner} has no field '{self._undefined_name}'"
        if self._undefined_name is not None:
            return f"'{self._undefined_name}' is undefined"
        return super()._undefined_message
