"""Read a YAML file into plain data while remembering where every key and value stands.

PyYAML's ``SafeLoader`` composes the node tree; we build the Python values ourselves so that we can
refuse duplicate keys and non-data tags, and keep a line:column mark for every path. Every problem
becomes a :class:`~qmsdocs.errors.Problem` with the file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qmsdocs.errors import Problem, ProfileError

PathKey = tuple[str | int, ...]

_PLAIN_TAGS = {"tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "timestamp")}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclass
class Marks:
    """1-based (line, column) of each value and each mapping key, by path from the document root."""

    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def find(self, path: PathKey, *, key: bool = False) -> tuple[int, int] | None:
        """The mark of *path*, or of its nearest ancestor that has one."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            if path[:end] in self.values:
                return self.values[path[:end]]
        return None


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.marks = Marks()
        self.problems: list[Problem] = []

    def problem(self, node: yaml.Node, message: str, path: PathKey) -> None:
        line, column = _mark(node)
        self.problems.append(Problem(self.file, line, column, message, format_path(path)))

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.marks.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                return self._bad_tag(node, path)
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                return self._bad_tag(node, path)
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        if node.tag not in _PLAIN_TAGS:
            return self._bad_tag(node, path)
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError as error:  # an impossible date such as 2026-02-30
            self.problem(node, f"invalid date: {error}", path)
            return None
        except yaml.YAMLError as error:
            self.problem(node, f"invalid value: {getattr(error, 'problem', error)}", path)
            return None

    def _bad_tag(self, node: yaml.Node, path: PathKey) -> None:
        self.problem(
            node,
            f"unsupported YAML tag '{_tag_name(node.tag)}': profiles hold plain data "
            "(text, numbers, dates, lists, mappings); remove the tag",
            path,
        )

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves YAML merge keys ("<<: *anchor")
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, "a key must be plain text, not a list or mapping", path)
                continue
            raw_key = (
                self.loader.construct_object(key_node) if key_node.tag in _PLAIN_TAGS else key_node.value
            )
            key = str(raw_key) if raw_key is not None else "null"
            key_path = (*path, key)
            if key in first_seen:
                self.problem(
                    key_node,
                    f"duplicate key '{key}' (first given at line {first_seen[key]}); "
                    "YAML keeps only one: merge the two entries",
                    key_path,
                )
                continue
            first_seen[key] = _mark(key_node)[0]
            self.marks.keys[key_path] = _mark(key_node)
            result[key] = self.build(value_node, key_path)
        return result


def format_path(path: PathKey) -> str:
    """``("processes", 2, "owner")`` -> ``processes[2].owner``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:  # keys such as ISO clause numbers: elements["9.3"]
            text += f'["{part}"]'
    return text


def _compose(text: str) -> tuple[yaml.Node | None, Any]:
    """Compose *text* with libyaml when PyYAML has it (about ten times faster, which counts when a batch
    build loads many profiles); (None, None) when it is missing or the text has an error."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        return None, None
    loader = fast(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        loader.dispose()
        return None, None
    if node is None:
        loader.dispose()
        return None, None
    return node, loader


def read_yaml(path: Path, *, display_name: str | None = None) -> tuple[Any, Marks]:
    """Load *path* as plain YAML data with marks; raise ProfileError listing every problem."""
    file = display_name or str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ProfileError([Problem(file, None, None, f"cannot read the file: {error.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise ProfileError(
            [
                Problem(
                    file,
                    line,
                    column,
                    f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x}); "
                    "save it as UTF-8 in your editor",
                )
            ]
        ) from None
    node, loader = _compose(text)
    if loader is None:
        loader = yaml.SafeLoader(text)  # the pure-Python parser words syntax errors the way we document them
    try:
        node = node if node is not None else loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        detail = error.problem or "invalid YAML"
        if error.context:
            detail = f"{error.context}: {detail}"
            start = error.context_mark
            if start is not None and mark is not None and start.line != mark.line:
                detail += f" (it starts at line {start.line + 1})"
        raise ProfileError([Problem(file, line, column, f"YAML syntax error: {detail}")]) from None
    except yaml.YAMLError as error:
        raise ProfileError([Problem(file, None, None, f"YAML error: {error}")]) from None
    finally:
        loader.dispose()
    if node is None:
        raise ProfileError(
            [Problem(file, 1, 1, "the profile is empty; start from the bundled profiles/minimal.yaml")]
        )
    builder = _Builder(loader, file)
    data = builder.build(node, ())
    if builder.problems:
        raise ProfileError(builder.problems)
    return data, builder.marks
