"""Read a YAML file into plain data while remembering where every key and value stands.

PyYAML's parser (libyaml's when installed) yields the events; we compose the node tree ourselves, without
recursion, so that a profile cannot exhaust the machine: the file's size, the nesting depth, and the
values and characters the data holds once its aliases are expanded all have a limit (a few hundred bytes
of aliases can otherwise expand to billions of values). We then build the Python values so that we can
refuse duplicate keys and non-data tags, normalise line breaks, refuse control characters, and keep a
line:column mark for every path. Every problem becomes a :class:`~qmsdocs.errors.Problem` with the file,
line and column.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from qmsdocs.errors import Problem, ProfileError

PathKey = tuple[str | int, ...]

#: Limits on what one profile may hold (read when a profile is loaded, so a test can turn them down).
#: The bundled profiles hold about 600 values, 5 levels deep, in 25 KB.
MAX_PROFILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32
MAX_VALUES = 20_000
MAX_TEXT_CHARS = 1_000_000

_PLAIN_TAGS = {"tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "timestamp")}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"

#: Anything a text may need a second look for: a line break other than LF (normalised to LF; str.splitlines
#: would split where the writers do not), a control character other than tab and LF, a bidirectional
#: control (text displayed in another order than stored, e.g. in file names), a surrogate or a non-character.
_SUSPECT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_LINE_BREAK = re.compile("\r\n?|[\x85\u2028\u2029]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


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


def _mark(node: yaml.Node | yaml.Event) -> tuple[int, int]:
    mark: Any = node.start_mark  # always set by the parser
    return mark.line + 1, mark.column + 1


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


def text_problem(text: str) -> str | None:
    """Why *text* (line breaks already normalised) cannot be profile text, or None when it can."""
    bad = _SUSPECT.search(text)
    if bad is None:
        return None
    char = bad.group()
    code = ord(char)
    where = f"(character {bad.start() + 1} of the text)"
    if _BIDI.fullmatch(char):
        import unicodedata

        return (
            f"the bidirectional control character U+{code:04X} ({unicodedata.name(char, 'unnamed')}) "
            f"{where} makes text display in another order than it is stored; remove it"
        )
    if code <= 0x9F:
        return (
            f"the control character U+{code:04X} {where} is not allowed: profile text may hold tabs and "
            "line breaks but no other control characters; remove it"
        )
    return f"U+{code:04X} {where} is not a character a document can hold; remove it"


class _Frame:
    """A list or mapping being composed: its node, the key waiting for its value, the counts at its start."""

    __slots__ = ("anchored", "chars", "key", "mapping", "node", "values")

    def __init__(self, node: yaml.CollectionNode, values: int, chars: int, anchored: bool) -> None:
        self.node = node
        self.mapping = isinstance(node, yaml.MappingNode)
        self.key: yaml.Node | None = None
        self.values = values
        self.chars = chars
        self.anchored = anchored


class _Composer:
    """PyYAML's composer without recursion, counting what the data holds once aliases are expanded.

    Every node adds one value (and a text its characters); an alias adds everything the node it names
    holds. Counting the events is enough: an alias bomb is refused at the alias that crosses the limit,
    before anything is expanded.
    """

    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.anchors: dict[str, yaml.Node] = {}
        self.sizes: dict[int, tuple[int, int]] = {}  # id(anchored node) -> (values, characters)
        self.values = 0
        self.chars = 0

    def single_node(self) -> yaml.Node | None:
        loader = self.loader
        loader.get_event()  # StreamStartEvent
        document = None
        if not loader.check_event(yaml.StreamEndEvent):
            loader.get_event()  # DocumentStartEvent
            document = self._node()
            loader.get_event()  # DocumentEndEvent
        if not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                "a profile is one YAML document, but a second one starts here (---): "
                "remove it or merge the two",
                event.start_mark,
            )
        loader.get_event()  # StreamEndEvent
        return document

    def _node(self) -> yaml.Node:
        loader = self.loader
        get_event = loader.get_event
        resolve = loader.resolve
        max_values, max_chars = MAX_VALUES, MAX_TEXT_CHARS
        stack: list[_Frame] = []
        while True:
            event = get_event()
            kind = type(event)
            node: yaml.Node
            if kind is yaml.ScalarEvent:
                if event.anchor is not None:
                    self._new_anchor(event)
                value = event.value
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(yaml.ScalarNode, value, event.implicit)
                node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)
                self.values += 1
                self.chars += len(value)
                if self.values > max_values or self.chars > max_chars:
                    self._over(event, stack)
                if event.anchor is not None:
                    self.anchors[event.anchor] = node
                    self.sizes[id(node)] = (1, len(value))
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if event.anchor is not None:
                    self._new_anchor(event)
                if len(stack) >= MAX_DEPTH:
                    raise self._limit(
                        event,
                        stack,
                        f"lists and mappings are nested more than {MAX_DEPTH} deep here "
                        "(a profile needs 6 levels at most)",
                    )
                node_class = yaml.MappingNode if kind is yaml.MappingStartEvent else yaml.SequenceNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(node_class, None, event.implicit)
                collection = node_class(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if event.anchor is not None:
                    self.anchors[event.anchor] = collection
                stack.append(_Frame(collection, self.values, self.chars, event.anchor is not None))
                self.values += 1
                if self.values > max_values:
                    self._over(event, stack[:-1])
                continue
            elif kind is yaml.AliasEvent:
                node = self._alias(event, stack)
            else:  # MappingEndEvent or SequenceEndEvent
                frame = stack.pop()
                node = frame.node
                node.end_mark = event.end_mark
                if frame.anchored:
                    self.sizes[id(node)] = (self.values - frame.values, self.chars - frame.chars)
            if not stack:
                return node
            parent = stack[-1]
            if parent.key is not None:
                parent.node.value.append((parent.key, node))
                parent.key = None
            elif parent.mapping:
                parent.key = node
            else:
                parent.node.value.append(node)

    def _new_anchor(self, event: Any) -> None:
        anchor = event.anchor
        if anchor is not None and anchor in self.anchors:
            first = self.anchors[anchor].start_mark
            raise yaml.composer.ComposerError(
                None,
                None,
                f"the anchor &{anchor} is given twice (first at line {first.line + 1}); "
                "give each anchor its own name",
                event.start_mark,
            )

    def _alias(self, event: Any, stack: list[_Frame]) -> yaml.Node:
        anchor = event.anchor
        if anchor not in self.anchors:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"the alias *{anchor} names no anchor: give &{anchor} to a value before it",
                event.start_mark,
            )
        node = self.anchors[anchor]
        size = self.sizes.get(id(node))
        if size is None:  # the node is still open: the alias stands inside what it names
            raise self._limit(
                event,
                stack,
                f"the alias *{anchor} stands inside the list or mapping it names (&{anchor}), "
                "which would repeat it without end",
            )
        self.values += size[0]
        self.chars += size[1]
        if self.values > MAX_VALUES or self.chars > MAX_TEXT_CHARS:
            self._over(event, stack, alias=anchor)
        return node

    def _over(self, event: Any, stack: list[_Frame], alias: str | None = None) -> NoReturn:
        """Refuse the profile: it holds more values or characters than the limits allow."""
        what = (
            f"{MAX_VALUES:,} values (texts, numbers, lists and mappings)"
            if self.values > MAX_VALUES
            else f"{MAX_TEXT_CHARS:,} characters of text"
        )
        if alias is not None:
            message = (
                f"the alias *{alias} makes the profile hold more than {what} once aliases are expanded; "
                "a profile needs far fewer: repeat less through aliases"
            )
        else:
            message = f"the profile holds more than {what}; a profile needs far fewer"
        raise self._limit(event, stack, message)

    def _limit(self, event: Any, stack: list[_Frame], message: str) -> ProfileError:
        """The error that refuses the profile at *event*, naming the field being composed."""
        path: list[str | int] = []
        for frame in stack:
            if isinstance(frame.node, yaml.SequenceNode):
                path.append(len(frame.node.value))
            elif isinstance(frame.key, yaml.ScalarNode):
                path.append(frame.key.value)
            else:  # composing a key
                break
        line, column = _mark(event)
        return ProfileError([Problem(self.file, line, column, message, format_path(tuple(path)))])


class _Builder:
    def __init__(self, loader: Any, file: str) -> None:
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
        tag = node.tag
        if tag == _STR_TAG:  # most values: the constructor would return the scalar's text as it is
            value = node.value
        elif tag not in _PLAIN_TAGS:
            return self._bad_tag(node, path)
        else:
            try:
                value = self.loader.construct_object(node, deep=True)
            except ValueError as error:  # an impossible date such as 2026-02-30, or a 5000-digit number
                if tag.endswith(":int"):
                    self.problem(
                        node, f"the number has {len(node.value):,} digits, more than a number can have", path
                    )
                else:
                    self.problem(node, f"invalid date: {error}", path)
                return None
            except yaml.YAMLError as error:
                self.problem(node, f"invalid value: {getattr(error, 'problem', error)}", path)
                return None
        if isinstance(value, str) and _SUSPECT.search(value) is not None:
            return self.text(value, node, path)
        return value

    def text(self, value: str, node: yaml.Node, path: PathKey) -> str:
        """*value* (which _SUSPECT matched) with every line break as LF; a problem when it holds a
        character no document may hold."""
        value = _LINE_BREAK.sub("\n", value)
        problem = text_problem(value)
        if problem is not None:
            self.problem(node, problem, path)
        return value

    def _bad_tag(self, node: yaml.Node, path: PathKey) -> None:
        self.problem(
            node,
            f"unsupported YAML tag '{_tag_name(node.tag)}': profiles hold plain data "
            "(text, numbers, dates, lists, mappings); remove the tag",
            path,
        )

    def _key(self, key_node: yaml.Node, path: PathKey) -> str | None:
        if not isinstance(key_node, yaml.ScalarNode):
            self.problem(key_node, "a key must be plain text, not a list or mapping", path)
            return None
        if key_node.tag == _STR_TAG:
            return str(key_node.value)
        raw_key = self.loader.construct_object(key_node) if key_node.tag in _PLAIN_TAGS else key_node.value
        return str(raw_key) if raw_key is not None else "null"

    def _merged(
        self, node: yaml.MappingNode, path: PathKey
    ) -> dict[str, tuple[yaml.Node, yaml.Node, tuple[int, int]]]:
        """The pairs that merge keys (``<<: *anchor``) bring into *node*, by key; the first source wins.

        Each source is merged once with all of its own merges (no recursion: a chain of merges is walked
        with a stack); the composer has already counted everything they hold against the limits.
        """
        merged: dict[str, tuple[yaml.Node, yaml.Node, tuple[int, int]]] = {}
        stack: list[yaml.Node] = []
        for key_node, value_node in reversed(node.value):
            if key_node.tag == _MERGE_TAG:
                stack.extend(self._sources(value_node, path))
        seen: set[int] = set()
        while stack:
            source = stack.pop()
            if id(source) in seen:
                continue
            seen.add(id(source))
            for key_node, value_node in source.value:
                if key_node.tag == _MERGE_TAG:
                    stack.extend(self._sources(value_node, path))  # walked after this source: lower rank
                    continue
                key = self._key(key_node, path)
                if key is not None and key not in merged:
                    merged[key] = (key_node, value_node, _mark(key_node))
        return merged

    def _sources(self, value_node: yaml.Node, path: PathKey) -> list[yaml.Node]:
        """The mappings a merge key names, last first (the stack pops the first one first)."""
        items = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        if not all(isinstance(item, yaml.MappingNode) for item in items):
            self.problem(value_node, "a merge key (<<) takes a mapping or a list of mappings", path)
            return []
        return list(reversed(items))

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        pairs: dict[str, tuple[yaml.Node, yaml.Node, tuple[int, int]]] = {}
        merges = False
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges = True
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            mark = _mark(key_node)
            if key in pairs:
                self.problem(
                    key_node,
                    f"duplicate key '{key}' (first given at line {pairs[key][2][0]}); "
                    "YAML keeps only one: merge the two entries",
                    (*path, key),
                )
                continue
            pairs[key] = (key_node, value_node, mark)
        if merges:  # YAML's order: merged keys first, each given key replacing a merged one in its place
            pairs = {**self._merged(node, path), **pairs}
        result: dict[str, Any] = {}
        keys = self.marks.keys
        for key, (key_node, value_node, mark) in pairs.items():
            key_path = (*path, key)
            keys[key_path] = mark
            if _SUSPECT.search(key) is not None:
                key = self.text(key, key_node, key_path)
            result[key] = self.build(value_node, key_path)
        return result


def format_path(path: PathKey) -> str:
    """``("processes", 2, "owner")`` -> ``processes[2].owner``."""
    text = ""
    for part in path:
        if isinstance(part, str) and len(part) > 60:  # a message never repeats a key of any length
            part = part[:57] + "..."
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:  # keys such as ISO clause numbers: elements["9.3"]
            text += f'["{part}"]'
    return text


def _read(path: Path, file: str) -> bytes:
    """The bytes of *path*: a regular file of at most MAX_PROFILE_BYTES (a pipe or device never blocks)."""

    def fail(message: str) -> ProfileError:
        return ProfileError([Problem(file, None, None, message)])

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise fail(f"cannot read the file: {error.strerror}") from None
    except ValueError:  # a NUL in the name
        raise fail("cannot read the file: the name holds a NUL character") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
            raise fail(f"not a regular file ({kind}); a profile is a YAML file")
        if info.st_size > MAX_PROFILE_BYTES:
            raise fail(_too_big(info.st_size))
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_PROFILE_BYTES:  # it grew while we read it
                raise fail(_too_big(size))
    except OSError as error:
        raise fail(f"cannot read the file: {error.strerror}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def _too_big(size: int) -> str:
    return (
        f"the file is {size:,} bytes; a profile may be at most {MAX_PROFILE_BYTES:,} bytes "
        "(the bundled ones are about 25,000)"
    )


def _compose(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    """Compose *text* from libyaml's events when PyYAML has it (several times faster, which counts when a
    batch build loads many profiles), else from the pure-Python parser. A syntax error found by libyaml
    is worded by the pure-Python parser, the way we document them."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        loader = fast(text)
        try:
            return _Composer(loader, file).single_node(), loader
        except yaml.YAMLError:
            pass
        finally:
            loader.dispose()
    loader = yaml.SafeLoader(text)
    try:
        return _Composer(loader, file).single_node(), loader
    finally:
        loader.dispose()


def read_yaml(path: Path, *, display_name: str | None = None) -> tuple[Any, Marks]:
    """Load *path* as plain YAML data with marks; raise ProfileError listing every problem."""
    file = display_name or str(path)
    raw = _read(path, file)
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
    try:
        node, loader = _compose(text, file)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        place: tuple[int | None, int | None] = (mark.line + 1, mark.column + 1) if mark else (None, None)
        detail = error.problem or "invalid YAML"
        if error.context:
            detail = f"{error.context}: {detail}"
            start = error.context_mark
            if start is not None and mark is not None and start.line != mark.line:
                detail += f" (it starts at line {start.line + 1})"
        raise ProfileError([Problem(file, *place, f"YAML syntax error: {detail}")]) from None
    except yaml.YAMLError as error:
        raise ProfileError([Problem(file, None, None, f"YAML error: {error}")]) from None
    if node is None:
        raise ProfileError(
            [Problem(file, 1, 1, "the profile is empty; start from the bundled profiles/minimal.yaml")]
        )
    builder = _Builder(loader, file)
    data = builder.build(node, ())
    if builder.problems:
        raise ProfileError(builder.problems)
    return data, builder.marks
