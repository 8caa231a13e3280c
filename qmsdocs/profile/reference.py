"""The profile format reference (docs/profile.md), generated from the models so it never drifts.

Run ``python -m qmsdocs.profile.reference > docs/profile.md`` after changing a model; a test compares the two.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from qmsdocs.profile.models import FIRST_DATE, LAST_DATE, Profile

_INTRO = """\
# Profile format, version 1

A profile describes one organisation. It is a YAML file (UTF-8); `schema_version: 1` is required.
Keys not listed here are errors. Person references are keys of `people`; dates are ISO 8601
(`2026-02-01`). Paths are relative to the profile file. This page is generated from the models in
`qmsdocs/profile/models.py` (`python -m qmsdocs.profile.reference`).

Limits, so that any profile either builds or fails at once with a clear message: the file holds at
most {file:,} bytes; lists and mappings nest at most {depth} deep; with its aliases (`*name`)
expanded, a profile holds at most {values:,} values and {chars:,} characters of text. Text may
hold tabs and line breaks (a CRLF or CR is read as a line feed) but no other control character,
no bidirectional control (U+202A to U+202E, U+2066 to U+2069) and no surrogate or non-character.
Dates lie between {first} and {last}.
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        base = _type_name(args[0])
        names = {getattr(m, "func", None).__name__ for m in args[1:] if getattr(m, "func", None)}  # type: ignore[union-attr]
        if "_check_person" in names:
            return "person key"
        if "_check_process" in names:
            return "process id"
        if "_check_9004" in names:
            return "ISO 9004 clause"
        return base
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin in (tuple, list):
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return {"str": "text", "int": "integer", "float": "number", "date": "date", "Path": "path"}.get(
        getattr(annotation, "__name__", str(annotation)), str(annotation)
    )


def _models(model: type[BaseModel], seen: list[type[BaseModel]]) -> list[type[BaseModel]]:
    if model in seen:
        return seen
    seen.append(model)
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            current = stack.pop()
            if isinstance(current, type) and issubclass(current, BaseModel):
                _models(current, seen)
            stack.extend(typing.get_args(current))
    return seen


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.default if field.default is not PydanticUndefined else field.default_factory()
    if isinstance(value, BaseModel):
        return "see section"
    if value is None or value == () or value == {}:
        return "none"
    if value == "":
        return "empty"
    if isinstance(value, tuple):
        return ", ".join(f"`{v}`" for v in value)
    return f"`{value}`"


def _max_length(metadata: list[Any]) -> int | None:
    """The length limit of a plain text (one without a validator of its own, which states its rules)."""
    if any(not isinstance(m, annotated_types.BaseMetadata) for m in metadata):
        return None
    return next((m.max_length for m in metadata if isinstance(m, annotated_types.MaxLen)), None)


def _length_note(field: FieldInfo) -> str:
    """ " At most N characters." for a text field, " Each at most N characters." for a list of texts."""
    if field.annotation is str:
        limit = _max_length(field.metadata)
        return f" At most {limit:,} characters." if limit else ""
    if typing.get_origin(field.annotation) in (tuple, list):
        item = typing.get_args(field.annotation)[0]
        if typing.get_origin(item) is typing.Annotated and typing.get_args(item)[0] is str:
            metadata = [m for info in typing.get_args(item)[1:] for m in getattr(info, "metadata", [info])]
            limit = _max_length(metadata)
            return f" Each at most {limit:,} characters." if limit else ""
    return ""


def profile_reference() -> str:
    """The Markdown reference of every profile field: type, default and meaning."""
    from qmsdocs.profile import yamlsource

    intro = _INTRO.format(
        file=yamlsource.MAX_PROFILE_BYTES,
        depth=yamlsource.MAX_DEPTH,
        values=yamlsource.MAX_VALUES,
        chars=yamlsource.MAX_TEXT_CHARS,
        first=FIRST_DATE.isoformat(),
        last=LAST_DATE.isoformat(),
    )
    parts = [intro]
    for model in _models(Profile, []):
        parts.append(f"## {model.__name__}\n")
        if model.__doc__ and model is not Profile:
            parts.append(model.__doc__.strip() + "\n")
        parts.append("| field | type | default | meaning |\n| --- | --- | --- | --- |")
        for name, field in model.model_fields.items():
            description = ((field.description or "") + _length_note(field)).replace("|", "\\|")
            parts.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
        parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":
    print(profile_reference(), end="")
