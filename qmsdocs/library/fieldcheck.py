"""A static check of the profile fields a template reads: ``profile.orgnisation.name`` is found before
any profile is rendered, with a did-you-mean hint.

The check walks the chains of ``nodes.Getattr`` in a template's syntax tree that start at a name whose
type is known: ``profile`` (Profile), ``org`` (Organisation), ``doc`` (DocumentMeta), and names bound by
``{% set x = profile.a %}`` or ``{% for p in profile.processes %}`` (element of a tuple, value of a dict).
A name bound to two different types, or used as a macro parameter, is left unchecked: the check reports
only what it can be sure of.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any

from jinja2 import nodes
from pydantic import BaseModel

from qmsdocs.errors import TemplateError
from qmsdocs.profile.models import Organisation, Profile
from qmsdocs.writers.meta import DocumentMeta

ROOTS: dict[str, Any] = {"profile": Profile, "org": Organisation, "doc": DocumentMeta}
#: Filters whose result holds the same items as their input.
_SAME_ITEMS = frozenset({"selectattr", "rejectattr", "sort", "list", "reverse", "unique"})
_UNKNOWN = object()


def _unwrap(annotation: Any) -> Any:
    """Drop Optional, Annotated and unions with None: ``Person | None`` -> ``Person``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return None
            annotation = args[0]
        else:
            return annotation


def _fields(cls: Any) -> dict[str, Any] | None:
    """Field name -> annotation of a pydantic model or dataclass; None for any other type."""
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return {name: info.annotation for name, info in cls.model_fields.items()}
    if isinstance(cls, type) and dataclasses.is_dataclass(cls):
        return dict(typing.get_type_hints(cls))
    return None


def _item(annotation: Any, kind: str) -> Any:
    """The element type of a tuple/list (``kind="item"``) or the value type of a dict (``"value"``)."""
    annotation = _unwrap(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if kind == "item" and origin in (tuple, list) and args:
        return args[0]
    if kind == "value" and origin is dict and len(args) == 2:
        return args[1]
    return None


class _Scope:
    def __init__(self) -> None:
        self.types: dict[str, Any] = dict(ROOTS)
        self.unsure: set[str] = set()

    def bind(self, name: str, annotation: Any) -> None:
        if name in self.unsure:
            return
        if annotation is None or (name in self.types and self.types[name] != annotation):
            self.types.pop(name, None)
            self.unsure.add(name)
            return
        self.types[name] = annotation

    def type_of(self, node: nodes.Node) -> Any:
        """The annotation of the value of *node*, or None when it cannot be known statically."""
        if isinstance(node, nodes.Name):
            return self.types.get(node.name)
        if isinstance(node, nodes.Getattr):
            fields = _fields(_unwrap(self.type_of(node.node)))
            return fields.get(node.attr) if fields else None
        if isinstance(node, nodes.Filter) and node.name in _SAME_ITEMS and node.node is not None:
            return self.type_of(node.node)
        if (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, int)
        ):
            return _item(self.type_of(node.node), "item")
        return None


def _bind_loop(scope: _Scope, node: nodes.For) -> None:
    target, source = node.target, node.iter
    if isinstance(source, nodes.Call) and isinstance(source.node, nodes.Getattr):
        method = source.node
        if method.attr in ("values", "items"):
            value = _item(scope.type_of(method.node), "value")
            if method.attr == "values" and isinstance(target, nodes.Name):
                scope.bind(target.name, value)
            elif isinstance(target, nodes.Tuple) and len(target.items) == 2:
                key, val = target.items
                if isinstance(key, nodes.Name):
                    scope.bind(key.name, str)
                if isinstance(val, nodes.Name):
                    scope.bind(val.name, value)
            return
    if isinstance(target, nodes.Name):
        scope.bind(target.name, _item(scope.type_of(source), "item"))
    else:
        for name in target.find_all(nodes.Name):
            scope.bind(name.name, None)


def _bind_names(tree: nodes.Template) -> _Scope:
    scope = _Scope()
    for macro in tree.find_all(nodes.Macro):
        for arg in macro.args:
            scope.bind(arg.name, None)
    for call in tree.find_all(nodes.CallBlock):
        for arg in call.args:
            scope.bind(arg.name, None)
    for _ in range(2):  # twice, so that a set that uses a later-bound name resolves too
        for node in tree.find_all((nodes.Assign, nodes.For)):
            if isinstance(node, nodes.Assign):
                if isinstance(node.target, nodes.Name):
                    scope.bind(node.target.name, scope.type_of(node.node))
            elif isinstance(node, nodes.For):
                _bind_loop(scope, node)
    return scope


def _path_text(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_path_text(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_path_text(node.node)}[{node.arg.value!r}]"
    return "..."


def field_problems(tree: nodes.Template, display: str) -> list[TemplateError]:
    """Attribute reads in *tree* of fields that the profile models do not have."""
    scope = _bind_names(tree)
    problems: list[TemplateError] = []
    for node in tree.find_all(nodes.Getattr):
        owner = _unwrap(scope.type_of(node.node))
        fields = _fields(owner)
        if (
            fields is None
            or node.attr in fields
            or (hasattr(owner, node.attr) and not node.attr.startswith("_"))
        ):
            continue
        close = difflib.get_close_matches(node.attr, list(fields), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else f" (fields: {', '.join(fields)})"
        problems.append(
            TemplateError(
                display, node.lineno, f"{_path_text(node)}: {owner.__name__} has no field '{node.attr}'{hint}"
            )
        )
    return problems
