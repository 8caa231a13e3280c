"""Size checks run before the built-in string methods and filters a template calls (``center``,
``replace``, ``join``, ``indent``, ``lipsum``...), and the filters qmsdocs replaces (``join``, ``sum``,
``attr``), so that no single call can allocate past the render limits."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import update_wrapper
from typing import TYPE_CHECKING, Any

from jinja2.exceptions import SecurityError
from jinja2.filters import do_attr, make_attrgetter, sync_do_join, sync_do_sum
from jinja2.utils import _PassArg, missing
from markupsafe import Markup

from qmsdocs.library.limits import PLAIN_TYPES, SIZED, percent_size

if TYPE_CHECKING:
    from qmsdocs.library.sandbox import Sandbox


Check = Callable[["Sandbox", Any, tuple[Any, ...], dict[str, Any]], None]


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
METHOD_CHECKS: dict[str, Check] = {
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
CHECKED_OWNERS: frozenset[type] = PLAIN_TYPES | {bytes, bytearray, type}


def guarded(env: Sandbox, func: Callable[..., Any], check: Check | None) -> Callable[..., Any]:
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
            if type(result) in SIZED and len(result) > env.limits.items:
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
            size = percent_size(value, kwargs or args, env.limits.items)
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
FILTER_CHECKS: dict[str, Check | None] = {
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


def join_filter(context: Any, value: Any, d: str = "", attribute: str | int | None = None) -> str:
    """Jinja's ``join``, with the length of the text checked before it is made (it asks for the
    context only so that Jinja does not run it while compiling: see :func:`guarded`)."""
    env = context.environment
    if attribute is not None:
        value = map(make_attrgetter(env, attribute), value)
    items = list(value) if not isinstance(value, list | tuple) else value
    env.check_text(items, "the filter 'join'", len(str(d)) * len(items))
    return sync_do_join(context.eval_ctx, items, d)


join_filter.jinja_pass_arg = _PassArg.context  # type: ignore[attr-defined]


def attr_filter(context: Any, obj: Any, name: str) -> Any:
    """Jinja's ``attr`` (an attribute, never an item), with the allow-list decided before it is read."""
    env = context.environment
    if isinstance(name, str) and not env.is_safe_attribute(obj, name, None):
        if inspect.getattr_static(obj, name, missing) is not missing:
            return env.unsafe_undefined(obj, name)
        return env.undefined(obj=obj, name=name)
    return do_attr(env, obj, name)


attr_filter.jinja_pass_arg = _PassArg.context  # type: ignore[attr-defined]


def sum_filter(context: Any, iterable: Any, attribute: str | int | None = None, start: Any = 0) -> Any:
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


sum_filter.jinja_pass_arg = _PassArg.context  # type: ignore[attr-defined]
