"""The file system is untrusted too: symbolic links, hard links, pipes and hand-edited manifests in the
output folder, and broken files in a template layer (qmsdocs issue #18, items 5 and 9).

Every build test plants a canary file outside the output folder and checks that its bytes and mtime are
unchanged, that the exit code and message are exact, that the good profiles of the same batch still
built, and that no worker process outlives the build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from qmsdocs import paths as paths_module
from qmsdocs.batch import manifest as manifest_module
from qmsdocs.batch.lock import LOCK_FILE
from qmsdocs.cli import bundled_profiles_dir, main
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.paths import atomic_write
from qmsdocs.profile.models import load_profile

ProfileCopy = Callable[[str], Path]


# -- helpers -----------------------------------------------------------------------------------------


@dataclass
class Canary:
    """A file outside the output folder whose bytes and modification time must never change."""

    path: Path
    data: bytes
    mtime: int

    def intact(self) -> bool:
        return (
            not self.path.is_symlink()
            and self.path.read_bytes() == self.data
            and self.path.stat().st_mtime_ns == self.mtime
        )


@pytest.fixture
def canary(tmp_path: Path) -> Canary:
    path = tmp_path / "victim" / "precious.txt"
    path.parent.mkdir()
    path.write_bytes(b"the client's own file\n")
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return Canary(path, path.read_bytes(), path.stat().st_mtime_ns)


def live_children() -> set[int]:
    """Pids of this process's children that are still running (Linux: read from /proc)."""
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                found.add(int(entry.name))
    return found


@pytest.fixture
def no_lingering_workers() -> Iterator[None]:
    before = live_children()
    yield
    assert live_children() <= before, "a worker process outlived its build"


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (a read of a named pipe blocks until someone writes to it)."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def two_profiles(profile_copy: ProfileCopy) -> tuple[Path, Path]:
    """minimal.yaml and a copy of it under another name (so another output folder)."""
    good = profile_copy("minimal.yaml")
    second = good.with_name("second.yaml")
    shutil.copy(good, second)
    return good, second


def documents_of(profile: Path) -> int:
    return len(plan(load_profile(profile), TemplateLibrary()).documents)


def build(runner: CliRunner, out: Path, *profiles: Path, jobs: int = 1) -> Result:
    return runner.invoke(
        main, ["build", *map(str, profiles), "-o", str(out), "-f", "md", "-j", str(jobs), "-q"]
    )


def built_completely(out: Path, profile: Path) -> bool:
    folder = out / profile.stem
    return len(list(folder.glob("*.md"))) == documents_of(profile) and (folder / "manifest.json").is_file()


def error_lines(result: Result) -> list[str]:
    """The error lines of a failed profile, as the summary prints them."""
    return [line.strip() for line in result.stderr.splitlines() if line.startswith("    ")]


def no_traceback(result: Result) -> bool:
    return "Traceback" not in result.output and (
        result.exception is None or isinstance(result.exception, SystemExit)
    )


# -- item 5: writes through symbolic links -----------------------------------------------------------


def test_lock_file_linked_to_a_victim_is_refused_and_the_victim_untouched(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy, canary: Canary
) -> None:
    good, _ = two_profiles(profile_copy)
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_FILE).symlink_to(canary.path)
    result = build(runner, out, good)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {out / LOCK_FILE}: the build lock is a symbolic link, which qmsdocs does not follow "
        "(remove it: qmsdocs creates the lock file itself)\n"
    )
    assert no_traceback(result)
    assert canary.intact()
    assert not (out / "minimal").exists()
    assert (out / LOCK_FILE).is_symlink()  # refused, not "repaired" behind the user's back


def test_lock_file_hard_linked_to_a_victim_is_refused(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy, canary: Canary
) -> None:
    good, _ = two_profiles(profile_copy)
    out = tmp_path / "out"
    out.mkdir()
    os.link(canary.path, out / LOCK_FILE)
    result = build(runner, out, good)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {out / LOCK_FILE}: the build lock has other hard links, so writing to it would change "
        "another file (remove it: qmsdocs creates the lock file itself)\n"
    )
    assert canary.intact()


@pytest.mark.parametrize("kind", ["foreign text", "folder", "pipe"])
def test_lock_path_that_is_not_a_qmsdocs_lock_is_refused(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy, kind: str
) -> None:
    good, _ = two_profiles(profile_copy)
    out = tmp_path / "out"
    out.mkdir()
    lock = out / LOCK_FILE
    if kind == "foreign text":
        lock.write_text("my notes, not a pid\n", encoding="utf-8")
        expected = "is not a qmsdocs lock (it holds other text), so qmsdocs does not overwrite it"
    elif kind == "folder":
        lock.mkdir()
        expected = "the build lock is not a regular file"
    else:
        os.mkfifo(lock)
        expected = "the build lock is not a regular file"
    with time_limit(20):
        result = build(runner, out, good)
    assert result.exit_code == 1
    assert result.stderr == f"error: {lock}: {expected} (remove it: qmsdocs creates the lock file itself)\n"
    if kind == "foreign text":
        assert lock.read_text(encoding="utf-8") == "my notes, not a pid\n"


def test_lock_file_is_removed_when_a_build_ends_and_a_stale_one_is_taken_over(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy, no_lingering_workers: None
) -> None:
    good, second = two_profiles(profile_copy)
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_FILE).write_text("999999\n", encoding="utf-8")  # left by a killed build
    result = build(runner, out, good, second, jobs=2)
    assert result.exit_code == 0, result.output
    assert not (out / LOCK_FILE).exists()
    assert sorted(p.name for p in out.iterdir()) == ["minimal", "second"]
    broken = good.with_name("broken.yaml")
    broken.write_text("schema_version: 1\norganisation: [\n", encoding="utf-8")
    result = build(runner, out, good, broken)  # a build with a failed profile ends normally too
    assert result.exit_code == 1
    assert not (out / LOCK_FILE).exists()


def test_atomic_write_never_writes_through_a_link_at_its_temporary_name(
    tmp_path: Path, canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    names = iter(["planted", "planted", "fresh"])
    monkeypatch.setattr(paths_module, "_temporary_token", lambda: next(names))
    planted = folder / f"{paths_module.TEMP_PREFIX}planted{paths_module.TEMP_SUFFIX}"
    planted.symlink_to(canary.path)
    atomic_write(folder / "doc.md", b"new text\n")
    assert (folder / "doc.md").read_bytes() == b"new text\n"
    assert canary.intact()
    assert planted.is_symlink()  # skipped (O_EXCL), not written through
    assert sorted(p.name for p in folder.iterdir()) == [planted.name, "doc.md"]


def test_atomic_write_replaces_a_link_at_the_target_instead_of_following_it(
    tmp_path: Path, canary: Canary
) -> None:
    target = tmp_path / "doc.md"
    target.symlink_to(canary.path)
    atomic_write(target, b"new text\n")
    assert not target.is_symlink()
    assert target.read_bytes() == b"new text\n"
    assert canary.intact()
    assert (target.stat().st_mode & 0o777) == 0o666 & ~_umask()  # a normal file, not a private temp


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_links_and_pipes_planted_in_a_profile_folder_are_replaced_not_followed(
    runner: CliRunner,
    tmp_path: Path,
    profile_copy: ProfileCopy,
    canary: Canary,
    no_lingering_workers: None,
) -> None:
    good, second = two_profiles(profile_copy)
    out = tmp_path / "out"
    assert build(runner, out, good).exit_code == 0
    folder = out / "minimal"
    documents = sorted(folder.glob("*.md"))
    for path in documents[:-1]:  # every document file becomes a link to the victim ...
        path.unlink()
        path.symlink_to(canary.path)
    documents[-1].unlink()
    os.mkfifo(documents[-1])  # ... or a named pipe, which must not hang the build
    (folder / "manifest.json").unlink()
    os.mkfifo(folder / "manifest.json")
    # temporary files a killed build might have left, as links out: removed, not followed
    for name in (".qmsdocs-0123abcd.tmp", f".{documents[0].name}.{os.getpid()}.tmp"):
        (folder / name).symlink_to(canary.path)
    with time_limit(60):
        result = build(runner, out, good, second, jobs=2)
    assert result.exit_code == 0, result.output
    assert canary.intact()
    for path in [*documents, folder / "manifest.json"]:
        assert path.is_file(), path
        assert not path.is_symlink(), path
    assert not (folder / ".qmsdocs-0123abcd.tmp").exists()
    assert not (folder / ".qmsdocs-0123abcd.tmp").is_symlink()
    assert built_completely(out, good)
    assert built_completely(out, second)
    assert not [p for p in out.rglob(".qmsdocs-*")]


def test_profile_folder_linked_elsewhere_fails_only_that_profile(
    runner: CliRunner,
    tmp_path: Path,
    profile_copy: ProfileCopy,
    canary: Canary,
    no_lingering_workers: None,
) -> None:
    good, second = two_profiles(profile_copy)
    out = tmp_path / "out"
    out.mkdir()
    (out / "second").symlink_to(canary.path.parent, target_is_directory=True)
    before = sorted(canary.path.parent.iterdir())
    result = build(runner, out, good, second, jobs=2)
    assert result.exit_code == 1
    assert "1 profile built, 1 failed" in result.stdout
    assert error_lines(result) == [
        f"{out / 'second'}: is a symbolic link; qmsdocs does not write through symbolic links "
        "(remove the link, or write into another folder)"
    ]
    assert no_traceback(result)
    assert canary.intact()
    assert sorted(canary.path.parent.iterdir()) == before
    assert built_completely(out, good)


def test_profile_folder_linked_to_another_profiles_folder_is_refused_too(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy
) -> None:
    good, second = two_profiles(profile_copy)
    out = tmp_path / "out"
    (out / "minimal").mkdir(parents=True)
    (out / "second").symlink_to(out / "minimal", target_is_directory=True)
    result = build(runner, out, good, second)
    assert result.exit_code == 1
    assert error_lines(result) == [
        f"{out / 'second'}: is a symbolic link; qmsdocs does not write through symbolic links "
        "(remove the link, or write into another folder)"
    ]
    assert built_completely(out, good)
    manifest = json.loads((out / "minimal/manifest.json").read_text(encoding="utf-8"))
    assert manifest["profile"] == str(good)  # the second profile wrote nothing through the link


def test_profile_folder_that_is_a_file_fails_only_that_profile(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy
) -> None:
    good, second = two_profiles(profile_copy)
    out = tmp_path / "out"
    out.mkdir()
    (out / "second").write_text("a file where the folder goes\n", encoding="utf-8")
    result = build(runner, out, good, second)
    assert result.exit_code == 1
    assert error_lines(result) == [f"{out / 'second'}: exists and is not a folder"]
    assert (out / "second").read_text(encoding="utf-8") == "a file where the folder goes\n"
    assert built_completely(out, good)


def test_linked_charts_folder_fails_that_profile_before_any_file_is_written(
    runner: CliRunner,
    tmp_path: Path,
    profile_copy: ProfileCopy,
    canary: Canary,
    no_lingering_workers: None,
) -> None:
    bright = profile_copy("brightwater.yaml")
    good = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    (out / "brightwater").mkdir(parents=True)
    (out / "brightwater/charts").symlink_to(canary.path.parent, target_is_directory=True)
    result = build(runner, out, bright, good, jobs=2)
    assert result.exit_code == 1
    assert error_lines(result) == [
        f"{out / 'brightwater/charts'}: is a symbolic link; qmsdocs does not write through symbolic links "
        "(remove the link, or write into another folder)"
    ]
    assert no_traceback(result)
    assert canary.intact()
    assert sorted(p.name for p in canary.path.parent.iterdir()) == ["precious.txt"]
    assert sorted(p.name for p in (out / "brightwater").iterdir()) == ["charts"]  # nothing written
    assert built_completely(out, good)


def test_temporary_files_of_a_killed_build_are_removed_from_sub_folders_too(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy
) -> None:
    bright = profile_copy("brightwater.yaml")
    out = tmp_path / "out"
    charts = out / "brightwater/charts"
    charts.mkdir(parents=True)
    (charts / ".qmsdocs-5e1f00d2.tmp").write_bytes(b"half a chart")
    (out / "brightwater/.qmsdocs-77aa.tmp").write_bytes(b"half a document")
    (out / "brightwater/.notes.2024.tmp").write_text("the user's own file\n", encoding="utf-8")
    result = build(runner, out, bright)
    assert result.exit_code == 0, result.output
    assert not [p for p in out.rglob(".qmsdocs-*")]
    assert (out / "brightwater/.notes.2024.tmp").read_text(encoding="utf-8") == "the user's own file\n"


# -- item 9: hand-edited manifests ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT after one build of minimal.yaml (copied by each test that edits its manifest)."""
    root = tmp_path_factory.mktemp("first")
    shutil.copy(bundled_profiles_dir() / "minimal.yaml", root / "minimal.yaml")
    result = build(CliRunner(), root / "out", root / "minimal.yaml")
    assert result.exit_code == 0, result.output
    return root / "out"


def _edit(data: dict[str, Any], canary: Canary, out: Path) -> Any:
    """The corruptions a hand edit can make, keyed by name."""
    victim_hash = manifest_module.sha256(canary.data)
    first = data["documents"][0]
    return {
        "top level is a list": [data],
        "documents is an object": {**data, "documents": {"QM-01": first}},
        "a document is a string": {**data, "documents": ["QM-01", *data["documents"][1:]]},
        "hashes is a list": {**data, "documents": [{**first, "hashes": ["x.md"]}, *data["documents"][1:]]},
        "stamps are strings": {
            **data,
            "documents": [{**first, "stamps": dict.fromkeys(first["stamps"], "big")}, *data["documents"][1:]],
        },
        "number missing": {
            **data,
            "documents": [{k: v for k, v in first.items() if k != "number"}, *data["documents"][1:]],
        },
        "previous is a list": {**data, "previous": ["a.md"]},
        "quick layers is a string": {**data, "quick": {**data["quick"], "layers": "/"}},
        "previous names a file outside by ..": {
            **data,
            "previous": {os.path.relpath(canary.path, out / "minimal"): victim_hash},
        },
        "previous names an absolute path": {**data, "previous": {str(canary.path): victim_hash}},
        "hashes name a file outside": {
            **data,
            "documents": [
                {**first, "hashes": {"../../victim/precious.txt": victim_hash}},
                *data["documents"][1:],
            ],
        },
    }


EDITS = [
    ("top level is a list", "it is not a JSON object"),
    ("documents is an object", "'documents' is not a list"),
    ("a document is a string", "documents[0] is not an object"),
    ("hashes is a list", "documents[0].hashes is not an object"),
    ("stamps are strings", "documents[0].stamps['LMA-QM-01 Quality manual.md'] is not a file stamp"),
    ("number missing", "documents[0] has no 'number'"),
    ("previous is a list", "'previous' is not an object"),
    ("quick layers is a string", "quick.layers is not a list of text"),
    (
        "previous names a file outside by ..",
        "previous names '../../victim/precious.txt', which is not in the folder",
    ),
    ("previous names an absolute path", "previous names '{victim}', which is not in the folder"),
    (
        "hashes name a file outside",
        "documents[0].hashes names '../../victim/precious.txt', which is not in the folder",
    ),
]


@pytest.mark.parametrize(("edit", "problem"), EDITS, ids=[e for e, _ in EDITS])
def test_hand_edited_manifest_is_ignored_with_one_warning(
    runner: CliRunner,
    tmp_path: Path,
    profile_copy: ProfileCopy,
    canary: Canary,
    first_build: Path,
    edit: str,
    problem: str,
) -> None:
    good, second = two_profiles(profile_copy)
    out = tmp_path / "out"
    shutil.copytree(first_build, out)
    manifest = out / "minimal/manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps(_edit(data, canary, out)[edit]), encoding="utf-8")
    result = build(runner, out, good, second)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"warning: {manifest}: not used, because {problem.format(victim=canary.path)}; "
        "every document is rebuilt and no file of an earlier build is removed\n"
    )
    assert canary.intact()
    assert built_completely(out, good)
    assert built_completely(out, second)
    rebuilt = json.loads(manifest.read_text(encoding="utf-8"))
    assert rebuilt["documents"][0]["number"] == "LMA-QM-01"  # a good manifest again
    assert "previous" not in rebuilt
    again = build(runner, out, good, second)
    assert again.exit_code == 0
    assert again.stderr == ""


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[" * 100_000 + "]" * 100_000, "it is nested too deeply"),
        ('{"documents": [' * 50_000, "it is nested too deeply"),
        ("{not json", "it is not valid JSON"),
        (b"\xff\xfe{}", "it is not UTF-8 text"),
    ],
    ids=["nested 100k deep", "unclosed 100k deep", "not JSON", "not UTF-8"],
)
def test_manifest_that_cannot_be_parsed_is_ignored_with_one_warning(
    runner: CliRunner,
    tmp_path: Path,
    profile_copy: ProfileCopy,
    first_build: Path,
    content: str | bytes,
    problem: str,
) -> None:
    good, second = two_profiles(profile_copy)
    out = tmp_path / "out"
    shutil.copytree(first_build, out)
    manifest = out / "minimal/manifest.json"
    manifest.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    result = build(runner, out, good, second, jobs=2)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"warning: {manifest}: not used, because {problem}; "
        "every document is rebuilt and no file of an earlier build is removed\n"
    )
    assert built_completely(out, good)
    assert built_completely(out, second)


def test_manifest_larger_than_the_limit_is_ignored(
    runner: CliRunner,
    tmp_path: Path,
    profile_copy: ProfileCopy,
    first_build: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good, _ = two_profiles(profile_copy)
    out = tmp_path / "out"
    shutil.copytree(first_build, out)
    monkeypatch.setattr(manifest_module, "MAX_MANIFEST_BYTES", 1000)
    result = build(runner, out, good)
    assert result.exit_code == 0, result.output
    manifest = out / "minimal/manifest.json"
    assert result.stderr == (
        f"warning: {manifest}: not used, because it is larger than 1000 bytes; "
        "every document is rebuilt and no file of an earlier build is removed\n"
    )


def test_manifest_of_a_document_that_left_the_set_still_removes_its_file(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy, first_build: Path
) -> None:
    """The checks do not stop the removal qmsdocs is there for: a file it wrote, unchanged, whose
    document is no longer in the set (recorded under "previous" by an interrupted build)."""
    good, _ = two_profiles(profile_copy)
    out = tmp_path / "out"
    shutil.copytree(first_build, out)
    old = out / "minimal/LMA-XX-01 Old form.md"
    old.write_text("an old form\n", encoding="utf-8")
    manifest = out / "minimal/manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["previous"] = {old.name: manifest_module.sha256(old.read_bytes())}
    del data["quick"]  # as an interrupted build leaves it
    manifest.write_text(json.dumps(data), encoding="utf-8")
    result = build(runner, out, good)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert not old.exists()


# -- item 9: broken files in a template layer ------------------------------------------------------------

GOOD_DOC = "---\nid: WI-01\ntitle: Gas detectors\ncategory: procedure\n---\nCalibrated by {{ org.name }}.\n"


def broken_layer(root: Path, canary: Canary) -> tuple[Path, dict[str, str]]:
    """A template layer with one good document and one of each broken file; {file: message}."""
    layer = root / "house"
    (layer / "procedures").mkdir(parents=True)
    (layer / "procedures/gas.md.j2").write_text(GOOD_DOC, encoding="utf-8")
    (layer / "procedures/dangling.md.j2").symlink_to(root / "gone.md.j2")
    (layer / "procedures/latin1.md.j2").write_bytes(
        b"---\nid: WI-02\ntitle: Caf\xe9\ncategory: procedure\n---\nText\n"
    )
    (layer / "procedures/folder.md.j2").mkdir()
    os.mkfifo(layer / "procedures/pipe.md.j2")
    (layer / "procedures/outside.md.j2").symlink_to(canary.path)
    expected = {
        "dangling.md.j2": "a broken symbolic link (its target does not exist)",
        "folder.md.j2": "is a folder, not a template (a template is a file whose name ends in .md.j2)",
        "latin1.md.j2:3": "not UTF-8 text (byte 0xe9 in column 11); save the file as UTF-8",
        "outside.md.j2": "is a symbolic link to a file outside its template folder, which qmsdocs does not read",
        "pipe.md.j2": "is not a regular file",
    }
    return layer, {f"{layer / 'procedures' / name}: {message}": name for name, message in expected.items()}


def test_templates_list_reports_every_broken_file_and_lists_the_rest(
    runner: CliRunner, tmp_path: Path, canary: Canary
) -> None:
    layer, problems = broken_layer(tmp_path, canary)
    with time_limit(30):
        result = runner.invoke(main, ["templates", "list", "-t", str(layer)])
    assert result.exit_code == 1
    assert no_traceback(result)
    assert sorted(result.stderr.splitlines()) == sorted(f"error: {p}" for p in problems)
    assert re.search(r"^WI-01 +Gas detectors ", result.stdout, re.M)
    assert re.search(r"^QP-12 +Internal audit ", result.stdout, re.M)


def test_check_reports_every_broken_file_with_the_other_problems(
    runner: CliRunner, tmp_path: Path, canary: Canary
) -> None:
    layer, problems = broken_layer(tmp_path, canary)
    (layer / "procedures/syntax.md.j2").write_text("Text\n{% if %}\n", encoding="utf-8")
    with time_limit(60):
        result = runner.invoke(main, ["check", "-t", str(layer)])
    assert result.exit_code == 1
    assert no_traceback(result)
    lines = result.stderr.splitlines()
    for problem in problems:
        assert problem in lines
    assert any(line.startswith(f"{layer / 'procedures/syntax.md.j2'}:2: ") for line in lines)
    assert lines[-1].endswith(f": {len(problems) + 1} problems")


def test_broken_client_layer_fails_only_the_profile_that_uses_it(
    runner: CliRunner,
    tmp_path: Path,
    profile_copy: ProfileCopy,
    canary: Canary,
    no_lingering_workers: None,
) -> None:
    good, second = two_profiles(profile_copy)
    layer, problems = broken_layer(tmp_path, canary)
    second.write_text(
        second.read_text(encoding="utf-8") + f"templates: {layer}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    with time_limit(60):
        result = build(runner, out, good, second, jobs=2)
    assert result.exit_code == 1
    assert "1 profile built, 1 failed" in result.stdout
    assert sorted(error_lines(result)) == sorted(problems)
    assert no_traceback(result)
    assert built_completely(out, good)
    assert not (out / "second").exists()
    assert canary.intact()


def test_template_that_is_not_utf8_is_an_error_when_shown_or_included(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy
) -> None:
    layer = tmp_path / "house"
    (layer / "partials").mkdir(parents=True)
    (layer / "partials/latin1.j2").write_bytes(b"Caf\xe9\n")  # not a .md.j2: only seen when included
    (layer / "procedures").mkdir()
    (layer / "procedures/gas.md.j2").write_text(
        GOOD_DOC + "{% include 'partials/latin1.j2' %}\n", encoding="utf-8"
    )
    result = runner.invoke(main, ["templates", "show", "partials/latin1.j2", "-t", str(layer)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {layer / 'partials/latin1.j2'}:1: not UTF-8 text (byte 0xe9 in column 4); save the file as UTF-8\n"
    )
    good = profile_copy("minimal.yaml")
    result = runner.invoke(
        main, ["build", str(good), "-o", str(tmp_path / "out"), "-f", "md", "-j", "1", "-q", "-t", str(layer)]
    )
    assert result.exit_code == 1
    assert error_lines(result) == [
        f"{layer / 'procedures/gas.md.j2'}:7: {layer / 'partials/latin1.j2'}:1: not UTF-8 text "
        "(byte 0xe9 in column 4); save the file as UTF-8"
    ]


# -- item 9: templates eject and init never write through a link -------------------------------------------


def test_eject_replaces_a_link_at_the_target_with_force_and_refuses_it_without(
    runner: CliRunner, tmp_path: Path, canary: Canary
) -> None:
    to = tmp_path / "templates"
    target = to / "procedures/internal-audit.md.j2"
    target.parent.mkdir(parents=True)
    target.symlink_to(canary.path)
    result = runner.invoke(main, ["templates", "eject", "QP-12", "--to", str(to)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {target}: is a symbolic link; use --force to replace the link with the template "
        "(what it points to is left alone)\n"
    )
    dangling = to / "procedures/corrective-action.md.j2"
    dangling.symlink_to(tmp_path / "victim/new-file.txt")
    result = runner.invoke(main, ["templates", "eject", "QP-14", "--to", str(to)])
    assert result.exit_code == 1
    assert not (tmp_path / "victim/new-file.txt").exists()
    result = runner.invoke(main, ["templates", "eject", "QP-12", "--to", str(to), "--force"])
    assert result.exit_code == 0, result.output
    assert not target.is_symlink()
    assert "{% block purpose %}" in target.read_text(encoding="utf-8")
    assert canary.intact()


def test_eject_refuses_a_linked_folder_below_the_target(
    runner: CliRunner, tmp_path: Path, canary: Canary
) -> None:
    to = tmp_path / "templates"
    to.mkdir()
    (to / "procedures").symlink_to(canary.path.parent, target_is_directory=True)
    result = runner.invoke(main, ["templates", "eject", "QP-12", "--to", str(to), "--force"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {to / 'procedures'}: is a symbolic link; qmsdocs does not write through symbolic links "
        "(remove the link, or write into another folder)\n"
    )
    assert sorted(p.name for p in canary.path.parent.iterdir()) == ["precious.txt"]
    assert canary.intact()


def test_init_with_force_never_writes_through_a_link(
    runner: CliRunner, tmp_path: Path, canary: Canary
) -> None:
    workspace = tmp_path / "acme"
    workspace.mkdir()
    (workspace / "qmsdocs.toml").symlink_to(canary.path)
    result = runner.invoke(main, ["init", str(workspace), "--force"])
    assert result.exit_code == 0, result.output
    assert not (workspace / "qmsdocs.toml").is_symlink()
    assert canary.intact()
    shutil.rmtree(workspace / "profiles")
    (workspace / "profiles").symlink_to(canary.path.parent, target_is_directory=True)
    result = runner.invoke(main, ["init", str(workspace), "--force"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {workspace / 'profiles'}: is a symbolic link; qmsdocs does not write through symbolic links "
        "(remove the link, or write into another folder)\n"
    )
    assert sorted(p.name for p in canary.path.parent.iterdir()) == ["precious.txt"]
    assert canary.intact()


def test_loader_refuses_a_link_out_of_its_layer_even_when_asked_directly(
    tmp_path: Path, canary: Canary
) -> None:
    from jinja2 import TemplateNotFound

    layer = tmp_path / "house"
    (layer / "partials").mkdir(parents=True)
    (layer / "partials/leak.md.j2").symlink_to(canary.path)
    library = TemplateLibrary([layer])
    with pytest.raises(TemplateNotFound, match="partials/leak.md.j2"):
        library.env.get_template("partials/leak.md.j2")


@pytest.mark.parametrize("name", ["manifest.json", "LMA-QM-01 Quality manual.md"])
def test_a_folder_where_a_file_goes_fails_only_that_profile_naming_it(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy, canary: Canary, name: str
) -> None:
    good, second = two_profiles(profile_copy)
    out = tmp_path / "out"
    (out / "second" / name).mkdir(parents=True)
    result = build(runner, out, good, second)
    assert result.exit_code == 1
    assert error_lines(result) == [f"{out / 'second' / name}: cannot write: Is a directory"]
    expected = "it is not a regular file" if name == "manifest.json" else None
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == (
        [
            f"warning: {out / 'second/manifest.json'}: not used, because {expected}; "
            "every document is rebuilt and no file of an earlier build is removed"
        ]
        if expected
        else []
    )
    assert (out / "second" / name).is_dir()
    assert not [p for p in out.rglob(".qmsdocs-*")]
    assert built_completely(out, good)
    assert canary.intact()


@pytest.mark.parametrize(
    ("relative", "ok"),
    [
        ("a.md", True),
        ("charts/BWI-RPT-01-radar.png", True),
        (".hidden", True),
        ("..x", True),
        ("", False),
        ("/etc/passwd", False),
        ("a/", False),
        ("a//b", False),
        (".", False),
        ("..", False),
        ("../x", False),
        ("a/../b", False),
        ("a/./b", False),
        ("a\\b", False),
        ("c:x", False),
        ("a\x00b", False),
    ],
)
def test_only_relative_names_inside_the_folder_count_as_manifest_files(relative: str, ok: bool) -> None:
    assert paths_module.is_relative_name(relative) is ok


def test_a_build_waiting_on_a_lock_file_that_is_removed_locks_the_new_one(tmp_path: Path) -> None:
    """The lock file is removed while still held; a build that was waiting on it must not end up
    holding a file nobody else can see, while a third build takes the new one."""
    import threading

    from qmsdocs.batch.lock import OutputLock
    from qmsdocs.errors import BuildError

    out = tmp_path / "out"
    first = OutputLock(out).__enter__()
    waiting, entered = threading.Event(), threading.Event()
    second = OutputLock(out, timeout=10, on_wait=lambda holder: waiting.set())

    def wait_for_it() -> None:
        second.__enter__()
        entered.set()

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    try:
        assert waiting.wait(10)  # the second build has the old file open and waits for its lock
        first.__exit__(None, None, None)
        assert entered.wait(10)
        assert (out / LOCK_FILE).read_text(encoding="utf-8") == f"{os.getpid()}\n"
        with pytest.raises(BuildError, match="another qmsdocs build"):
            OutputLock(out, timeout=0.2).__enter__()
    finally:
        waiter.join()
        second.__exit__(None, None, None)
    assert not (out / LOCK_FILE).exists()


def test_quick_check_walks_a_layer_named_by_the_manifest_only_up_to_the_limit(
    runner: CliRunner,
    tmp_path: Path,
    profile_copy: ProfileCopy,
    first_build: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good, _ = two_profiles(profile_copy)
    out = tmp_path / "out"
    shutil.copytree(first_build, out)
    big = tmp_path / "big"
    big.mkdir()
    for index in range(40):
        (big / f"file{index}.txt").write_text("x\n", encoding="utf-8")
    manifest = out / "minimal/manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["quick"]["layers"] = [str(big), *data["quick"]["layers"]]  # as if edited by hand
    manifest.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(manifest_module, "MAX_LAYER_ENTRIES", 10)
    read: list[Path] = []
    real_hash = manifest_module.file_hash

    def counting_hash(path: Path) -> str | None:
        read.append(path)
        return real_hash(path)

    monkeypatch.setattr(manifest_module, "file_hash", counting_hash)
    result = build(runner, out, good)
    assert result.exit_code == 0, result.output
    assert "0 written" in result.stdout  # the full check found every document as it was
    assert not [p for p in read if big in p.parents]  # the walk stopped at the limit, nothing hashed


def test_a_real_layer_over_the_limit_is_always_left_to_the_full_check(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, _ = two_profiles(profile_copy)
    layer = tmp_path / "house"
    (layer / "procedures").mkdir(parents=True)
    (layer / "procedures/gas.md.j2").write_text(GOOD_DOC, encoding="utf-8")
    for index in range(20):
        (layer / f"note{index}.txt").write_text("x\n", encoding="utf-8")
    monkeypatch.setattr(manifest_module, "MAX_LAYER_ENTRIES", 10)
    out = tmp_path / "out"
    args = ["build", str(good), "-o", str(out), "-f", "md", "-j", "1", "-q", "-t", str(layer)]
    assert runner.invoke(main, args).exit_code == 0
    (layer / "procedures/gas.md.j2").write_text(GOOD_DOC + "Checked monthly.\n", encoding="utf-8")
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "documents: 1 written" in result.stdout  # the change was seen, not vouched for by the quick key
    assert "Checked monthly." in (out / "minimal/LMA-WI-01 Gas detectors.md").read_text(encoding="utf-8")
