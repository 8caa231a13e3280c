"""Profile text as Markdown that shows exactly that text and makes no structure."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])|&(?=#?\w+;)")
#: A Markdown character or entity, a line break, or a NUL (which a Markdown parser replaces).
_NEEDS_WORK = re.compile(r"[\\`*_\[\]<>|~\n\r\x00]|&#?\w+;")
#: First characters of a value that may start a block (heading, list item, indented code...).
_RISKY_FIRST = frozenset(" \t#+=-0123456789")
#: A value starting like an ordered list item.
_NUMBERED = re.compile(r"\d{1,9}[.)](?:[ \t]|$)")
#: A line start that makes a block: heading, list item, setext underline or thematic break.
_BLOCK_START = re.compile(r"[#+=\-]|\d{1,9}(?=[.)](?:[ \t]|$))")


def _escape_line(line: str) -> str:
    """One line of a value, escaped; its leading spaces (an indented code block, at the start of a
    line) are kept as one space, which makes no block but keeps "a" + " big" apart."""
    body = line.lstrip(" \t")
    lead = " " if len(body) < len(line) else ""
    body = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), body)
    start = _BLOCK_START.match(body)
    if start is None:
        return lead + body
    if start.group().isdigit():  # "1. item": escape the dot, "\1. item" is no escape
        return f"{lead}{body[: start.end()]}\\{body[start.end() :]}"
    return f"{lead}\\{body}"


def escape_markdown(text: str, line_break: str = " ") -> str:
    """Plain *text* as Markdown that shows exactly that text and makes no structure: the characters of
    Markdown syntax backslash-escaped, the start of each line escaped where it would begin a heading,
    a list item, a setext underline or a thematic break (``#``, ``-``, ``+``, ``=``, ``1.``) and its
    indentation cut to one space (no code block), and the lines joined with *line_break*: a space by
    default (safe anywhere: a table cell, a heading); ``"\\\n"`` gives Markdown hard line breaks.
    Lines are trimmed and empty lines dropped, so no blank line (a new paragraph, the end of a table)
    can come out of a value; ``\r\n`` and ``\r`` are line breaks too."""
    if _NEEDS_WORK.search(text) is None:  # most values: nothing to escape
        first = text[:1]
        if first not in _RISKY_FIRST or (first.isdigit() and _NUMBERED.match(text) is None):
            return text  # "" and "7.1.5" or "2026" (not a list item) too
    text = text.replace("\x00", "\ufffd")  # what a Markdown parser makes of a NUL anyway
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text:
        return _escape_line(text)
    lines = [_escape_line(line).strip(" \t") for line in text.split("\n")]
    return line_break.join(line for line in lines if line)
