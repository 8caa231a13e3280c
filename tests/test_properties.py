"""Property-based tests: hostile profile text and random template bodies either build into documents that
independent readers open and that hold the text, or fail with exit 1 and a located message.

The normal test run tries a few examples of each property. A long campaign (documented in
docs/development.md) selects the ``campaign`` profile: ``QMSDOCS_HYPOTHESIS=campaign python -m pytest
tests/test_properties.py``.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qmsdocs.cli import bundled_profiles_dir, main

docx = pytest.importorskip("docx", reason="python-docx reads the generated DOCX back")

settings.register_profile(
    "default",
    max_examples=8,
    deadline=None,
    derandomize=True,  # the normal run is reproducible; the campaign explores
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "campaign",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("QMSDOCS_HYPOTHESIS", "default"))

#: Characters that have broken document generators: Markdown and Jinja syntax, table pipes, XML
#: specials, control characters, carriage returns, bidirectional overrides, non-ASCII letters.
HOSTILE = [
    "#",
    "# ",
    "- ",
    "* ",
    "1. ",
    "> ",
    "|",
    "`",
    "```",
    "---",
    "===",
    "+",
    "    ",
    "\t",
    "\n",
    "\n\n",
    "\r",
    "\r\n",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "<",
    ">",
    "&",
    "&amp;",
    "\\",
    "_",
    "*",
    "[",
    "]",
    "(",
    ")",
    "!",
    "\x00",
    "\x07",
    "\x1b",
    "\u202e",
    "\u200f",
    "\ufeff",
    "Ö",
    "ß",
    "\u00a0",
    "日本",
    "\U0001f600",
    "'",
    '"',
]
_plain = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "Zs", "P"]), max_size=12)
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), _plain), min_size=1, max_size=10).map("".join)
#: A located error: "<file>:<line>[:<col>]: <message>"
LOCATED = re.compile(r"^\s*(error: )?\S.*?:\d+(:\d+)?: \S", re.MULTILINE)


def _words(text: str) -> list[str]:
    """The letters and digits of *text* in runs: what must survive into the document's visible text."""
    return re.findall(r"[^\W_]+", text)


def _docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    for section in document.sections:
        parts.extend(p.text for p in section.header.paragraphs)
    return " ".join(parts)


def _build(tmp_path: Path, profile: dict[str, Any], *extra: str) -> tuple[Any, Path]:
    work = tmp_path / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source = work / "client.yaml"
    source.write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["build", str(source), "-o", str(work / "out"), "-j", "1", "-q", *extra]
    )
    return result, work / "out" / "client"


def _minimal() -> dict[str, Any]:
    data = yaml.safe_load((bundled_profiles_dir() / "minimal.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _assert_located_failure(result: Any) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert LOCATED.search(result.stderr), result.stderr


def _document(folder: Path, doc_id: str) -> Path:
    found = sorted(folder.glob(f"*-{doc_id} *.docx"))
    assert len(found) == 1, sorted(p.name for p in folder.iterdir())
    return found[0]


@given(name=hostile_text, statement=hostile_text, person=hostile_text)
def test_hostile_profile_text_builds_or_fails_located(
    tmp_path: Path, name: str, statement: str, person: str
) -> None:
    profile = _minimal()
    profile["organisation"]["name"] = name
    profile.setdefault("document_control", {})["prefix"] = "HX"
    profile["scope"]["statement"] = statement
    profile["people"]["qm"]["name"] = person
    result, folder = _build(tmp_path, profile, "-f", "docx", "-f", "md")
    if result.exit_code != 0:
        _assert_located_failure(result)
        assert not folder.exists() or not any(folder.glob("*.docx"))
        return
    scope = _docx_text(_document(folder, "QS-01"))
    for word in _words(statement):
        assert word in scope, (word, statement)
    roles = _docx_text(_document(folder, "ROL-01"))
    for word in _words(person):
        assert word in roles, (word, person)
    # Profile text is text: whatever it holds, the document keeps the structure (headings, lists,
    # tables, paragraphs and their styles) that a plain value gives.
    assert _outline(_document(folder, "QS-01")) == _baseline_outline(tmp_path)


def _outline(path: Path) -> list[str]:
    document = docx.Document(str(path))
    return [p.style.name for p in document.paragraphs] + [f"table {len(t.rows)}" for t in document.tables]


_BASELINE: list[str] = []


def _baseline_outline(tmp_path: Path) -> list[str]:
    if not _BASELINE:
        profile = _minimal()
        profile.setdefault("document_control", {})["prefix"] = "HX"
        result, folder = _build(tmp_path / "baseline", profile, "-f", "docx")
        assert result.exit_code == 0, result.output
        _BASELINE.extend(_outline(_document(folder, "QS-01")))
    return _BASELINE


# A small grammar of the Markdown blocks templates write: headings, paragraphs with inline marks,
# bullet and numbered lists (nested), tables, page breaks. Words are plain so every one must reach the
# DOCX; punctuation and Markdown marks go around them.
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÅÖé0123456789", min_size=1, max_size=8)
_inline = st.lists(
    st.one_of(
        _word,
        _word.map(lambda w: f"**{w}**"),
        _word.map(lambda w: f"*{w}*"),
        _word.map(lambda w: f"`{w}`"),
        _word.map(lambda w: f"[{w}](https://example.com/{w})"),
    ),
    min_size=1,
    max_size=6,
).map(" ".join)


def _list(marker: str) -> st.SearchStrategy[str]:
    item = st.tuples(_inline, st.lists(_inline, max_size=2))

    def render(items: list[tuple[str, list[str]]]) -> str:
        lines = []
        for number, (text, children) in enumerate(items, 1):
            lead = f"{number}." if marker == "1." else marker
            lines.append(f"{lead} {text}")
            lines.extend(f"{' ' * (len(lead) + 1)}- {child}" for child in children)
        return "\n".join(lines)

    return st.lists(item, min_size=1, max_size=4).map(render)


def _table(rows: list[list[str]]) -> str:
    width = len(rows[0])
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join((row + [""] * width)[:width]) + " |" for row in rows[1:]]
    return "\n".join(lines)


_block = st.one_of(
    st.tuples(st.integers(1, 3), _inline).map(lambda h: f"{'#' * h[0]} {h[1]}"),
    _inline,
    _list("-"),
    _list("1."),
    st.lists(st.lists(_word, min_size=1, max_size=4), min_size=1, max_size=5).map(_table),
    st.just("<!-- pagebreak -->"),
)
template_body = st.lists(_block, min_size=1, max_size=12).map("\n\n".join)

_FRONT = "---\nid: X-01\ntitle: Generated\ncategory: procedure\nclauses: []\n---\n"


@given(body=template_body)
def test_random_template_body_reaches_every_reader(tmp_path: Path, body: str) -> None:
    layer = tmp_path / "layer"
    shutil.rmtree(layer, ignore_errors=True)
    (layer / "procedures").mkdir(parents=True)
    (layer / "procedures/generated.md.j2").write_text(_FRONT + "{% raw %}" + body + "{% endraw %}\n", "utf-8")
    result, folder = _build(tmp_path, _minimal(), "-t", str(layer), "-f", "docx", "-f", "md")
    assert result.exit_code == 0, result.output
    document = _document(folder, "X-01")
    text = _docx_text(document)
    for word in _words(body.replace("pagebreak", "").replace("https://example.com/", "")):
        assert word in text, (word, body)
    markdown = document.with_suffix(".md").read_text(encoding="utf-8")
    for word in _words(body.replace("pagebreak", "")):
        assert word in markdown, word
