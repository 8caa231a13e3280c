"""Hostile and odd profiles: each one either builds or fails at once with a located message (issue #18).

Alias bombs, deep nesting, huge files and texts, special files as logo or reference document, template
folders such as ``/``, control characters, carriage returns and prefixes that end up in file names.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from PIL import Image

from qmsdocs.cli import main
from qmsdocs.errors import ProfileError
from qmsdocs.profile import models as profile_module
from qmsdocs.profile import yamlsource
from qmsdocs.profile.models import default_prefix, load_profile
from qmsdocs.profile.yamlsource import read_yaml

MINIMAL = """\
schema_version: 1
organisation:
  name: Lindqvist Machining AB
scope:
  statement: Machining of parts.
people:
  ceo: {name: Karin Lindqvist, title: Managing Director}
  qm: {name: Jonas Berg, title: Quality Manager}
roles:
  top_management: ceo
  quality_manager: qm
"""
# line 12 is the first line after MINIMAL

BOMB = """\
lol:
  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _validate(runner: CliRunner, path: Path) -> Result:
    return runner.invoke(main, ["validate", str(path)])


def _errors(runner: CliRunner, path: Path) -> list[str]:
    """The error lines of ``qmsdocs validate PATH``, which must fail with exit code 1 and no traceback."""
    result = _validate(runner, path)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.stderr.splitlines()


def _png(width: int = 40, height: int = 20) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (31, 78, 121)).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((width, height), 60).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def canary(tmp_path: Path) -> Callable[[], None]:
    """A file outside every output folder; calling the fixture asserts it is unchanged."""
    path = tmp_path / "canary.txt"
    path.write_bytes(b"untouched\n")
    before = path.stat().st_mtime_ns

    def check() -> None:
        assert path.read_bytes() == b"untouched\n"
        assert path.stat().st_mtime_ns == before
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("canary")) == ["canary.txt"]

    return check


# --- alias bombs, nesting, size -------------------------------------------------------------------


def test_alias_bomb_fails_at_once_naming_the_alias(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + BOMB)
    started = time.perf_counter()
    errors = _errors(runner, path)
    assert time.perf_counter() - started < 1.0  # 9^9 values would take minutes and gigabytes
    assert errors == [
        f"{path}:17:14: lol.e[1]: the alias *d makes the profile hold more than 20,000 values (texts, "
        "numbers, lists and mappings) once aliases are expanded; a profile needs far fewer: repeat less "
        "through aliases"
    ]


def test_alias_limit_counts_expanded_values(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlsource, "MAX_VALUES", 60)
    issues = "context:\n  internal_issues: &issues [a, b, c, d, e, f, g, h]\n  external_issues: *issues\n"
    fine = _write(tmp_path, MINIMAL + issues, "fine.yaml")
    assert _validate(runner, fine).exit_code == 0  # 32 + 9 + 8 values: under the limit
    too_many = _write(tmp_path, MINIMAL + issues + "risks: [*issues, *issues]\n", "many.yaml")
    assert _errors(runner, too_many) == [
        f"{too_many}:15:9: risks[0]: the alias *issues makes the profile hold more than 60 values (texts, "
        "numbers, lists and mappings) once aliases are expanded; a profile needs far fewer: repeat less "
        "through aliases"
    ]


def test_text_limit_counts_characters_an_alias_repeats(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlsource, "MAX_TEXT_CHARS", 1000)
    long = "x" * 400
    path = _write(tmp_path, MINIMAL + f"context:\n  internal_issues: [&t {long}, *t, *t]\n")
    assert _errors(runner, path) == [
        f"{path}:13:426: context.internal_issues[1]: the alias *t makes the profile hold more than 1,000 "
        "characters of text once aliases are expanded; a profile needs far fewer: repeat less through aliases"
    ]


def test_merge_key_bomb_fails_at_once(runner: CliRunner, tmp_path: Path) -> None:
    levels = ["  m0: &m0 {k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8}"]
    for level in range(1, 12):
        sources = ", ".join([f"*m{level - 1}"] * 9)
        levels.append(f"  m{level}: &m{level} {{<<: [{sources}], own{level}: 1}}")
    path = _write(tmp_path, MINIMAL + "lol:\n" + "\n".join(levels) + "\n")
    started = time.perf_counter()
    errors = _errors(runner, path)
    assert time.perf_counter() - started < 1.0
    assert errors == [
        f'{path}:17:17: lol.m4["<<"][0]: the alias *m3 makes the profile hold more than 20,000 values (texts, '
        "numbers, lists and mappings) once aliases are expanded; a profile needs far fewer: repeat less "
        "through aliases"
    ]


def test_merge_keys_keep_yaml_meaning(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "base: &base {k: 1, j: 1}\n"
        "more: &more {k: 2, m: 2, <<: {z: 0, m: 9}}\n"
        "both: {<<: [*base, *more], j: 3, n: 4}\n",
    )
    data, marks = read_yaml(path)
    assert data["more"] == {"z": 0, "m": 2, "k": 2}  # a given key wins over a merged one, without an error
    assert data["both"] == {"k": 1, "j": 3, "m": 2, "z": 0, "n": 4}  # the first merged mapping wins
    assert marks.values[("both", "n")] == (3, 37)


def test_bad_merge_value_is_an_error_not_a_traceback(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "lol: {<<: 5}\n")
    assert _errors(runner, path) == [
        f"{path}:12:11: lol: a merge key (<<) takes a mapping or a list of mappings"
    ]


def test_alias_inside_what_it_names(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "lol: &loop [1, *loop]\n")
    assert _errors(runner, path) == [
        f"{path}:12:16: lol[1]: the alias *loop stands inside the list or mapping it names (&loop), "
        "which would repeat it without end"
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "lol: *nope\n",
            "12:6: YAML syntax error: the alias *nope names no anchor: give &nope to a value before it",
        ),
        (
            "lol: &x 1\nlaughs: &x 2\n",
            "13:9: YAML syntax error: the anchor &x is given twice (first at line 12); give each anchor its own name",
        ),
        (
            "---\nlol: 1\n",
            "12:1: YAML syntax error: a profile is one YAML document, but a second one starts here (---): "
            "remove it or merge the two",
        ),
    ],
    ids=["undefined alias", "anchor twice", "two documents"],
)
def test_alias_and_document_mistakes_are_explained(
    runner: CliRunner, tmp_path: Path, extra: str, expected: str
) -> None:
    path = _write(tmp_path, MINIMAL + extra)
    assert _errors(runner, path) == [f"{path}:{expected}"]


@pytest.mark.parametrize("depth", [40, 500, 5000])
def test_deep_nesting_is_refused_without_recursion(runner: CliRunner, tmp_path: Path, depth: int) -> None:
    path = _write(tmp_path, MINIMAL + "lol: " + "[" * depth + "]" * depth + "\n")
    errors = _errors(runner, path)
    assert errors == [
        f"{path}:12:37: lol{'[0]' * 31}: lists and mappings are nested more than 32 deep here "
        "(a profile needs 6 levels at most)"
    ]


def test_deep_block_nesting_without_libyaml(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(yaml, "CSafeLoader")  # the pure-Python parser: its composer would recurse
    monkeypatch.setattr(yamlsource, "MAX_DEPTH", 10)
    path = _write(tmp_path, MINIMAL + "lol:\n  " + "- " * 3000 + "x\n")
    assert _errors(runner, path) == [
        f"{path}:13:21: lol{'[0]' * 9}: lists and mappings are nested more than 10 deep here "
        "(a profile needs 6 levels at most)"
    ]


def test_profile_file_size_is_capped(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = _write(tmp_path, MINIMAL + "# " + "x" * (2 * 1024 * 1024) + "\n", "big.yaml")
    size = big.stat().st_size
    assert _errors(runner, big) == [
        f"{big}: the file is {size:,} bytes; a profile may be at most 2,097,152 bytes "
        "(the bundled ones are about 25,000)"
    ]
    monkeypatch.setattr(yamlsource, "MAX_PROFILE_BYTES", 100)
    small = _write(tmp_path, MINIMAL)
    assert _errors(runner, small) == [
        f"{small}: the file is {len(MINIMAL):,} bytes; a profile may be at most 100 bytes "
        "(the bundled ones are about 25,000)"
    ]


def test_a_pipe_as_profile_never_blocks(runner: CliRunner, tmp_path: Path) -> None:
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    started = time.perf_counter()
    assert _errors(runner, fifo) == [
        f"{fifo}: not a regular file (a device, pipe or socket); a profile is a YAML file"
    ]
    assert time.perf_counter() - started < 1.0


# --- text: length, line breaks, control characters ------------------------------------------------


def test_long_texts_are_refused_with_their_length(runner: CliRunner, tmp_path: Path) -> None:
    text = MINIMAL.replace("Lindqvist Machining AB", "L" * 201).replace("Machining of parts.", "M" * 10_001)
    path = _write(tmp_path, text + "context:\n  internal_issues: [ok, " + "i" * 1001 + "]\n")
    assert _errors(runner, path) == [
        f"{path}:3:9: organisation.name: too long: 201 characters; at most 200 are allowed here",
        f"{path}:5:14: scope.statement: too long: 10,001 characters; at most 10,000 are allowed here",
        f"{path}:13:25: context.internal_issues[1]: too long: 1,001 characters; at most 1,000 are allowed here",
    ]


def test_long_keys_and_values_are_never_echoed_whole(runner: CliRunner, tmp_path: Path) -> None:
    key = "k" * 300
    path = _write(
        tmp_path, MINIMAL.replace("  qm: {", f"  {key}: {{name: X}}\n  qm: {{") + "output: " + "y" * 5000
    )
    errors = _errors(runner, path)
    assert errors == [
        f'{path}:8:3: people["{key[:57]}..."]: too long: 300 characters; at most 200 are allowed here',
        f"{path}:13:9: output: input should be a valid dictionary or instance of Output, got '{'y' * 60}...'",
    ]


@pytest.mark.parametrize(
    ("written", "loaded"),
    [
        (r'"Line one\r\nline two\rline three"', "Line one\nline two\nline three"),
        (r'"Line one\u2028line two\u2029line three\Nfour"', "Line one\nline two\nline three\nfour"),
    ],
)
def test_line_breaks_are_normalised_and_the_profile_builds(
    runner: CliRunner, tmp_path: Path, written: str, loaded: str
) -> None:
    text = MINIMAL.replace("Machining of parts.", written).replace(
        "Lindqvist Machining AB", r'"Lindqvist\r\nMachining AB"'
    )
    path = _write(tmp_path, text)
    profile = load_profile(path)
    assert profile.scope.statement == loaded
    assert profile.organisation.name == "Lindqvist\nMachining AB"
    result = runner.invoke(main, ["build", str(path), "-o", str(tmp_path / "out"), "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    built = list((tmp_path / "out" / "p").glob("*.md"))
    assert len(built) > 20
    assert not any(b"\r" in file.read_bytes() for file in built)


CONTROL_CASES = {
    "bell in a name": (
        ("Karin Lindqvist", r'"Karin\aLindqvist"'),
        "7:15: people.ceo.name: the control character U+0007 (character 6 of the text) is not allowed: "
        "profile text may hold tabs and line breaks but no other control characters; remove it",
    ),
    "escape in a statement": (
        ("Machining of parts.", r'"Machining\e[31m of parts."'),
        "5:14: scope.statement: the control character U+001B (character 10 of the text) is not allowed: "
        "profile text may hold tabs and line breaks but no other control characters; remove it",
    ),
    "C1 control": (
        ("Machining of parts.", r'"Machining \x9b of parts."'),
        "5:14: scope.statement: the control character U+009B (character 11 of the text) is not allowed: "
        "profile text may hold tabs and line breaks but no other control characters; remove it",
    ),
    "right-to-left override in a name": (
        ("Lindqvist Machining AB", "Lindqvist \u202egnihcam AB"),
        "3:9: organisation.name: the bidirectional control character U+202E (RIGHT-TO-LEFT OVERRIDE) "
        "(character 11 of the text) makes text display in another order than it is stored; remove it",
    ),
    "isolate in a key": (
        ("  qm: {", "  q\u2066m: {"),
        '8:3: people["q\u2066m"]: the bidirectional control character U+2066 (LEFT-TO-RIGHT ISOLATE) '
        "(character 2 of the text) makes text display in another order than it is stored; remove it",
    ),
    "lone surrogate": (
        ("Machining of parts.", r'"Machining \ud800 of parts."'),
        "5:14: scope.statement: U+D800 (character 11 of the text) is not a character a document can hold; "
        "remove it",
    ),
}


@pytest.mark.parametrize("case", list(CONTROL_CASES))
def test_control_characters_are_refused_naming_the_field(
    runner: CliRunner, tmp_path: Path, case: str
) -> None:
    (old, new), expected = CONTROL_CASES[case]
    assert old in MINIMAL
    path = _write(tmp_path, MINIMAL.replace(old, new, 1))
    errors = _errors(runner, path)
    assert errors == [f"{path}:{expected}"]


def test_warnings_quote_long_texts_on_one_line(runner: CliRunner, tmp_path: Path) -> None:
    risk = "Loss of the only\n\ncalibrated gauge " + "x" * 900
    path = _write(
        tmp_path, MINIMAL + f"risks:\n  - {{description: {json.dumps(risk)}, likelihood: 2, impact: 3}}\n"
    )
    result = _validate(runner, path)
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if "risks[0]" in line]
    assert lines == [
        f"{path}:13:5: risks[0]: risk 'Loss of the only calibrated gauge xxxxxxxxxxxxxxxxxxxxxxx...' has no "
        "owner: clause 6.1.2 (actions need an owner) (warning)",
        f"{path}:13:5: risks[0]: risk 'Loss of the only calibrated gauge xxxxxxxxxxxxxxxxxxxxxxx...' has no "
        "treatment: clause 6.1.2 a) expects actions to address it (warning)",
    ]


NUMBER_CASES = {
    "5000-digit number": (
        "organisation:\n  name: X\n  employees: " + "1" * 5000,
        "organisation.employees: the number has 5,000 digits, more than a number can have",
    ),
    "endless target": (
        "customer_satisfaction: {target_score: .inf}",
        "customer_satisfaction.target_score: input should be a finite number, got inf",
    ),
    "target not a number": (
        "customer_satisfaction: {target_score: .nan}",
        "customer_satisfaction.target_score: input should be a finite number, got nan",
    ),
    "days beyond a year": (
        "customer_satisfaction: {complaints: {resolve_within_days: 99999999999999999999}}",
        "customer_satisfaction.complaints.resolve_within_days: input should be less than or equal to 365, "
        "got 99999999999999999999",
    ),
    "date beyond year 9999 plus a review": (
        "document_control: {effective_date: 9999-12-01}",
        "document_control.effective_date: 9999-12-01 is not a date a QMS document can carry: "
        "give one from 1900-01-01 to 2999-12-31",
    ),
    "assessment in year 1": (
        "self_assessment: {date: 0001-01-01}",
        "self_assessment.date: 0001-01-01 is not a date a QMS document can carry: "
        "give one from 1900-01-01 to 2999-12-31",
    ),
}


@pytest.mark.parametrize("case", list(NUMBER_CASES))
def test_numbers_that_would_print_nonsense_are_refused(runner: CliRunner, tmp_path: Path, case: str) -> None:
    extra, expected = NUMBER_CASES[case]
    text = MINIMAL + extra + "\n"
    if extra.startswith("organisation:"):
        text = text.replace("organisation:\n  name: Lindqvist Machining AB\n", "", 1)
    path = _write(tmp_path, text)
    errors = _errors(runner, path)
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:")
    assert errors[0].split(": ", 1)[1] == expected


def test_tabs_and_line_breaks_stay(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL.replace("Machining of parts.", r'"Machining\tof\nparts."'))
    assert load_profile(path).scope.statement == "Machining\tof\nparts."


# --- the document-number prefix -------------------------------------------------------------------


PREFIX_RULE = (
    "is not a document-number prefix: use 1 to 12 letters (A-Z), digits and hyphens, starting and ending "
    'with a letter or digit, e.g. "ACME"'
)


@pytest.mark.parametrize(
    "prefix",
    ["B^W", "AB`C", "'   '", "ABCDEFGHIJKLM", "ABC-", "-ABC", "ÅBC", "A B", "A/B", "A.B"],
)
def test_bad_prefix_states_the_rule(runner: CliRunner, tmp_path: Path, prefix: str) -> None:
    path = _write(tmp_path, MINIMAL + f"document_control:\n  prefix: {prefix}\n")
    shown = prefix.strip("'")
    assert _errors(runner, path) == [f"{path}:13:11: document_control.prefix: '{shown}' {PREFIX_RULE}"]


def test_prefix_with_bidi_override_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + 'document_control:\n  prefix: "AB\\u202eC"\n')
    assert _errors(runner, path) == [
        f"{path}:13:11: document_control.prefix: the bidirectional control character U+202E "
        "(RIGHT-TO-LEFT OVERRIDE) (character 3 of the text) makes text display in another order than it is "
        "stored; remove it"
    ]


@pytest.mark.parametrize(
    ("given", "used"), [("acme", "ACME"), ("ACME-UK", "ACME-UK"), ("A1B2C3D4E5F6", "A1B2C3D4E5F6")]
)
def test_good_prefix_is_used_upper_cased_and_never_cut(tmp_path: Path, given: str, used: str) -> None:
    path = _write(tmp_path, MINIMAL + f"document_control:\n  prefix: {given}\n")
    assert load_profile(path).document_control.prefix == used


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("Östgöta Åkeri AB", "OAA"),
        ("Łódź Żuraw Sp. z o.o.", "OZSZO"),  # Ł has no decomposition: dropped, ó is o
        ("株式会社 東京", "QMS"),
        ("A B C D E F G H I J", "ABCDEFGH"),
        ("Lindqvist Machining AB", "LMA"),
        ("3M (Pty) Ltd", "3L"),
    ],
)
def test_default_prefix_is_plain_ascii(name: str, prefix: str) -> None:
    assert default_prefix(name) == prefix


def test_non_ascii_name_without_prefix_builds_the_self_assessment(
    runner: CliRunner, tmp_path: Path, profile_copy: Callable[[str], Path], canary: Callable[[], None]
) -> None:
    source = profile_copy("brightwater.yaml")
    text = source.read_text(encoding="utf-8")
    assert "  prefix: BWI\n" in text
    assert "  name: Brightwater Instruments Ltd\n" in text
    source.write_text(
        text.replace("  prefix: BWI\n", "").replace(
            "  name: Brightwater Instruments Ltd\n", "  name: Östgöta Åkeri AB\n"
        ),
        encoding="utf-8",
    )
    hyphen = source.with_name("hyphen.yaml")
    hyphen.write_text(text.replace("  prefix: BWI\n", "  prefix: bwi-uk\n"), encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        main, ["build", str(source), str(hyphen), "-o", str(out), "-j", "1", "-q", "-f", "md"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "brightwater" / "OAA-RPT-01 ISO 9004 self-assessment report.md").is_file()
    assert (out / "hyphen" / "BWI-UK-RPT-01 ISO 9004 self-assessment report.md").is_file()
    canary()


# --- files a profile names ------------------------------------------------------------------------


def _branding(tmp_path: Path, field: str, value: str) -> Path:
    return _write(tmp_path, MINIMAL + f"branding:\n  {field}: {value}\n")


def _pipe(folder: Path) -> Path:
    os.mkfifo(folder / "special")
    return folder / "special"


def _folder(folder: Path) -> Path:
    (folder / "special").mkdir()
    return folder / "special"


SPECIAL: dict[str, Callable[[Path], Path]] = {
    "device": lambda folder: Path("/dev/zero"),
    "pipe": _pipe,
    "folder": _folder,
}
WHAT = {"logo": "a logo (PNG or JPEG)", "reference_docx": "a reference Word document (.docx)"}


@pytest.mark.parametrize("field", list(WHAT))
@pytest.mark.parametrize("kind", list(SPECIAL))
def test_special_files_are_refused_without_blocking(
    runner: CliRunner, tmp_path: Path, field: str, kind: str
) -> None:
    target = SPECIAL[kind](tmp_path)
    path = _branding(tmp_path, field, str(target))
    started = time.perf_counter()
    assert _errors(runner, path) == [
        f"{path}:13:{len(field) + 5}: branding.{field}: {target} is a {kind}, not a file; "
        f"give the path of {WHAT[field]}"
    ]
    assert time.perf_counter() - started < 1.0


def test_logo_size_is_capped(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile_module, "MAX_LOGO_BYTES", 10)
    (tmp_path / "logo.png").write_bytes(_png())
    path = _branding(tmp_path, "logo", "logo.png")
    size = len(_png())
    assert _errors(runner, path) == [
        f"{path}:13:9: branding.logo: {tmp_path / 'logo.png'} is {size:,} bytes; a logo (PNG or JPEG) may be "
        "at most 10 bytes"
    ]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
        ("logo.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("logo.png", b""),
    ],
    ids=["svg", "gif", "empty"],
)
def test_logo_of_another_format_is_refused_at_validate(
    runner: CliRunner, tmp_path: Path, name: str, content: bytes
) -> None:
    (tmp_path / name).write_bytes(content)
    path = _branding(tmp_path, "logo", name)
    assert _errors(runner, path) == [
        f"{path}:13:9: branding.logo: {tmp_path / name} is not a PNG or JPEG image; save the logo as PNG or "
        "JPEG (SVG, GIF and other formats cannot be embedded in Word documents)"
    ]


def _bad_checksum(data: bytes) -> bytes:
    at = data.index(b"IDAT") + 6  # a byte of the compressed pixels: the chunk's checksum no longer fits
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


DAMAGED = {
    "PNG without its end": ("PNG", _png()[:-5]),
    "PNG cut in its pixels": ("PNG", _png(300, 200)[:120]),
    "PNG with a bad checksum": ("PNG", _bad_checksum(_png())),
    "PNG header only": ("PNG", _png()[:33]),
    "PNG signature only": ("PNG", _png()[:10]),
    "JPEG cut in its scan": ("JPEG", _jpeg()[:-40]),
    "JPEG header only": ("JPEG", _jpeg()[:300]),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_logo_is_refused_at_validate(runner: CliRunner, tmp_path: Path, case: str) -> None:
    kind, content = DAMAGED[case]
    logo = tmp_path / f"logo.{kind.lower()}"
    logo.write_bytes(content)
    path = _branding(tmp_path, "logo", logo.name)
    assert _errors(runner, path) == [
        f"{path}:13:9: branding.logo: {logo} is not a complete {kind} image: it is damaged or cut short; "
        "save it again from your image editor"
    ]


def test_logo_pixel_count_is_capped_before_decoding(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profile_module, "MAX_LOGO_PIXELS", 100)
    (tmp_path / "logo.png").write_bytes(_png(20, 10))
    path = _branding(tmp_path, "logo", "logo.png")
    assert _errors(runner, path) == [
        f"{path}:13:9: branding.logo: {tmp_path / 'logo.png'} is 20 x 10 pixels; a logo may have at most "
        "100 pixels (and at least one): scale it"
    ]


def test_decompression_bomb_header_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    data = bytearray(_png(1, 1))
    data[16:24] = (100_000).to_bytes(4, "big") + (100_000).to_bytes(4, "big")  # 10^10 pixels, 70 bytes
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # the header's checksum fits
    (tmp_path / "logo.png").write_bytes(bytes(data))
    path = _branding(tmp_path, "logo", "logo.png")
    assert _errors(runner, path) == [
        f"{path}:13:9: branding.logo: {tmp_path / 'logo.png'} has more than 178,956,970 pixels; a logo may "
        "have at most 25,000,000 pixels (and at least one): scale it"
    ]


@pytest.mark.parametrize("make", [_png, _jpeg])
def test_good_logo_passes_and_builds(runner: CliRunner, tmp_path: Path, make: Callable[[], bytes]) -> None:
    name = "logo.png" if make is _png else "logo.jpg"
    (tmp_path / name).write_bytes(make())
    path = _branding(tmp_path, "logo", name)
    assert load_profile(path).branding.logo == tmp_path / name
    result = runner.invoke(
        main, ["build", str(path), "-o", str(tmp_path / "out"), "-j", "1", "-q", "-f", "docx"]
    )
    assert result.exit_code == 0, result.output


def test_reference_docx_must_be_a_word_file_of_bounded_size(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "style.docx").write_text("not a zip", encoding="utf-8")
    path = _branding(tmp_path, "reference_docx", "style.docx")
    assert _errors(runner, path) == [
        f"{path}:13:19: branding.reference_docx: {tmp_path / 'style.docx'} is not a Word document (.docx); "
        "save the house style from Word as .docx"
    ]
    monkeypatch.setattr(profile_module, "MAX_REFERENCE_BYTES", 4)
    assert _errors(runner, path) == [
        f"{path}:13:19: branding.reference_docx: {tmp_path / 'style.docx'} is 9 bytes; a reference Word "
        "document (.docx) may be at most 4 bytes"
    ]


def test_overlong_path_is_not_echoed(runner: CliRunner, tmp_path: Path) -> None:
    path = _branding(tmp_path, "logo", "a" * 5000)
    assert _errors(runner, path) == [
        f"{path}:13:9: branding.logo: too long: a path of 5,000 characters; at most 1,000 are allowed"
    ]


# --- the client's template folder -----------------------------------------------------------------


def _templates(tmp_path: Path, value: str) -> Path:
    folder = tmp_path / "clients"
    folder.mkdir(exist_ok=True)
    return _write(folder, MINIMAL + f"templates: {value}\n")


def test_root_as_template_folder_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    path = _templates(tmp_path, "/")
    started = time.perf_counter()
    assert _errors(runner, path) == [
        f"{path}:12:12: templates: / is the file-system root, not a template folder: name the folder that "
        "holds the client's templates, inside or beside the profile's folder"
    ]
    assert time.perf_counter() - started < 1.0


def test_home_as_template_folder_is_refused(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "clients"))
    path = _templates(tmp_path, ".")
    assert _errors(runner, path) == [
        f"{path}:12:12: templates: {tmp_path / 'clients'} is your home folder, not a template folder: name the "
        "folder that holds the client's templates, inside or beside the profile's folder"
    ]


def test_template_folder_must_be_a_folder_inside_or_beside(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "clients" / "mine").mkdir(parents=True)
    (tmp_path / "beside").mkdir()
    (tmp_path / "clients" / "file.md").write_text("x", encoding="utf-8")
    assert load_profile(_templates(tmp_path, "mine")).templates == tmp_path / "clients" / "mine"
    assert load_profile(_templates(tmp_path, "../beside")).templates == tmp_path / "clients" / "../beside"
    assert load_profile(_templates(tmp_path, ".")).templates == tmp_path / "clients" / "."
    cases = {
        "file.md": f"{tmp_path / 'clients' / 'file.md'} is not a folder",
        "nope": f"folder not found: {tmp_path / 'clients' / 'nope'} (paths are relative to the profile)",
        "..": f"{tmp_path / 'clients' / '..'} is neither inside the profile's folder ({tmp_path / 'clients'}) "
        f"nor beside it (inside {tmp_path}); move the client's templates there, or give another folder with "
        "--templates",
        "/etc": f"/etc is neither inside the profile's folder ({tmp_path / 'clients'}) nor beside it "
        f"(inside {tmp_path}); move the client's templates there, or give another folder with --templates",
    }
    for value, message in cases.items():
        path = _templates(tmp_path, value)
        assert _errors(runner, path) == [f"{path}:12:12: templates: {message}"], value


# --- builds: a bad profile fails alone, quickly, and writes nothing --------------------------------


def test_build_fails_the_hostile_profiles_only(
    runner: CliRunner, tmp_path: Path, profiles_dir: Path, canary: Callable[[], None]
) -> None:
    bomb = _write(tmp_path, MINIMAL + BOMB, "bomb.yaml")
    root = _write(tmp_path, MINIMAL + "templates: /\n", "root.yaml")
    zero = _write(tmp_path, MINIMAL + "branding:\n  logo: /dev/zero\n", "zero.yaml")
    out = tmp_path / "out"
    started = time.perf_counter()
    result = runner.invoke(
        main,
        [
            "build",
            str(bomb),
            str(root),
            str(zero),
            str(profiles_dir / "minimal.yaml"),
            "-o",
            str(out),
            "-j",
            "2",
        ],
    )
    assert time.perf_counter() - started < 20
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert (
        f"{bomb}:17:14: lol.e[1]: the alias *d makes the profile hold more than 20,000 values"
        in result.stderr
    )
    assert f"{root}:12:12: templates: / is the file-system root, not a template folder" in result.stderr
    assert f"{zero}:13:9: branding.logo: /dev/zero is a device, not a file" in result.stderr
    assert "1 profile built, 3 failed" in result.stdout
    assert (out / "minimal" / "manifest.json").is_file()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["minimal"]
    assert multiprocessing.active_children() == []
    canary()


def test_alias_bomb_leaves_memory_untouched(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + BOMB)
    tracemalloc.start()
    try:
        with pytest.raises(ProfileError) as caught:
            load_profile(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # the 387 million values are never built
    assert [p.field for p in caught.value.problems] == ["lol.e[1]"]
