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
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from functools import update_wrapper
from itertools import islice
from pathlib import PurePath
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.compiler import CodeGenerator
from jinja2.environment import TemplateModule as _TemplateModule
from jinja2.exceptions import SecurityError
from jinja2.filters import _GroupTuple
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
from jinja2.utils import Cycler, Joiner, Namespace, generate_lorem_ipsum, missing
from markupsafe import Markup
from pydantic import BaseModel

from qmsdocs.config import DEFAULT_LIMITS, RenderLimits
from qmsdocs.library.guards import (
    CHECKED_OWNERS,
    FILTER_CHECKS,
    METHOD_CHECKS,
    attr_filter,
    guarded,
    join_filter,
    sum_filter,
)
from qmsdocs.library.limits import (
    PLAIN_TYPES,
    SEQUENCES,
    SIZED,
    RenderLimitError,
    format_spec_size,
    limit_hint,
    megabytes,
    percent_size,
    text_size,
)
from qmsdocs.library.watchdog import WATCHDOG, resident_bytes

#: The only attributes a template may read from a file-system path (no read_text, open, parent, ...).
_SAFE_PATH_ATTRIBUTES = frozenset({"name", "stem", "suffix"})
#: Largest integer (in bits) a template may make with ``*`` or ``**``: multiplying two huge numbers is
#: one uninterruptible step of the interpreter.
MAX_INT_BITS = 100_000
#: Most numbers ``range()`` may produce (Jinja's own sandbox allows 100,000 too).
MAX_RANGE = 100_000
#: Template operations between two checks of the time and memory limits by the hooks.
TICK_OPERATIONS = 2048
#: Pieces of output counted at a time against ``output_chars``.
OUTPUT_BATCH = 32
#: Bumped when the generated template code changes: the on-disk cache of compiled templates
#: (workers.py) is kept per code version, so it never serves code compiled without the checks.
CODE_VERSION = "4"

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
            self._total += format_spec_size(value, format_spec, limit)
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
            check = METHOD_CHECKS.get(__obj.__name__)
            if check is not None:
                owner = __obj.__self__
                if type(owner) in CHECKED_OWNERS or isinstance(owner, str):
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
                if isinstance(seq, SEQUENCES) and isinstance(count, int) and len(seq) * count > limit:
                    raise self.too_big("'*' repetition", len(seq) * count)
            return left * right
        if operator == "+":
            sized = isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES)
            if sized and len(left) + len(right) > limit:
                raise self.too_big("'+'", len(left) + len(right))
            return left + right
        if operator == "%":
            if isinstance(left, bytes | bytearray):
                raise SecurityError("'%' formatting of bytes is not supported")
            if isinstance(left, str):
                try:
                    size = percent_size(left, right, limit)
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
                f"{megabytes(self.limits.output_chars)} of text" + limit_hint("render_output_mb")
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
            return RenderLimitError(
                f"{what} is more than the limit of {limit:,}" + limit_hint("render_items")
            )
        return RenderLimitError(
            f"{what} would make at least {size:,} characters or items; the limit is {limit:,}"
            + limit_hint("render_items")
        )

    def too_big_number(self) -> RenderLimitError:
        """The error for a number too large to compute in one uninterruptible step."""
        return RenderLimitError(f"the number would have more than {MAX_INT_BITS:,} bits")

    def check_size(self, value: Any) -> Any:
        """*value*, after checking it is not a text or list longer than ``limits.items``."""
        if type(value) in SIZED and len(value) > self.limits.items:
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
                + (limit_hint("render_items") if limit < MAX_RANGE else "")
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
        return f"the template ran longer than {self.limits.seconds:g} s" + limit_hint("render_seconds")

    def _memory_message(self) -> str:
        return f"the render took more than {megabytes(self.limits.memory_bytes)} of memory" + limit_hint(
            "render_memory_mb"
        )

    @contextmanager
    def limited(self, limits: RenderLimits) -> Iterator[None]:
        """Apply *limits* to the renders in the block: checked by the hooks, and by the watchdog thread,
        which stops a template that has run out of time or memory even where it calls nothing."""
        saved = (self.limits, self._deadline, self._memory_cap)
        self.limits = limits
        self._deadline = time.monotonic() + limits.seconds
        base = WATCHDOG.resident or resident_bytes()  # the watchdog's last sample saves a system call
        self._memory_cap = base + limits.memory_bytes if base else 0
        self._ticks = TICK_OPERATIONS
        watch = WATCHDOG.start(self._deadline, self._memory_cap, self._time_message, self._memory_message)
        try:
            yield
        finally:
            WATCHDOG.stop(watch)
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
                                f"the document grew past {megabytes(cap)} of text"
                                + limit_hint("render_output_mb")
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
        for name, check in FILTER_CHECKS.items():
            if name in self.filters:
                self.filters[name] = guarded(self, self.filters[name], check)
        self.filters["join"] = join_filter
        self.filters["sum"] = sum_filter
        self.filters["attr"] = attr_filter


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
