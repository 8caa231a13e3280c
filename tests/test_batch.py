"""Batch builds end to end: parallel workers, the CLI summary, failures, interruption and the lock."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from qmsdocs.batch.builder import build
from qmsdocs.batch.manifest import file_hash
from qmsdocs.batch.output import DELAY_ENV
from qmsdocs.batch.progress import Progress, ProgressLine
from qmsdocs.cli import main
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.profile.models import load_profile

ProfileCopy = Callable[[str], Path]


def three_profiles(profile_copy: ProfileCopy) -> list[Path]:
    """brightwater, minimal and a third organisation derived from brightwater."""
    bright = profile_copy("brightwater.yaml")
    third = bright.with_name("harbour.yaml")
    third.write_text(
        bright.read_text(encoding="utf-8")
        .replace("Brightwater Instruments Ltd", "Harbour Sensors GmbH")
        .replace("prefix: BWI", "prefix: HSG"),
        encoding="utf-8",
    )
    return [bright, profile_copy("minimal.yaml"), third]


def tree(folder: Path) -> dict[str, object]:
    """A comparable picture of an output tree: Markdown text, the parts of each Word file, manifests."""
    picture: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if not path.is_file() or name.endswith(".qmsdocs.batch.lock"):
            continue
        if path.suffix == ".docx":
            with zipfile.ZipFile(path) as package:
                picture[name] = {part: package.read(part) for part in sorted(package.namelist())}
        elif path.name == "manifest.json":  # less the file stamps: times and inodes differ per build
            data = json.loads(path.read_text(encoding="utf-8"))
            for entry in data["documents"]:
                assert set(entry.pop("stamps")) == set(entry["hashes"]), entry["id"]
            picture[name] = data
        elif path.suffix == ".png":  # charts: compared byte for byte
            picture[name] = path.read_bytes()
        else:
            picture[name] = path.read_text(encoding="utf-8")
    return picture


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "qmsdocs", "build", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the build subprocess did not get far enough in time")
        time.sleep(0.05)


def test_parallel_output_equals_serial_output(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    profiles = three_profiles(profile_copy)
    serial = build(profiles, tmp_path / "serial", formats=["md", "docx"], jobs=1)
    parallel = build(profiles, tmp_path / "parallel", formats=["md", "docx"], jobs=2)
    assert serial.ok, [r.errors for r in serial.profiles]
    assert parallel.ok, [r.errors for r in parallel.profiles]
    assert parallel.jobs == 2
    planned = sum(len(plan(load_profile(p), TemplateLibrary()).documents) for p in profiles)
    assert parallel.written == serial.written == planned
    expected = tree(tmp_path / "serial")
    assert any(name.endswith(".docx") for name in expected)
    assert tree(tmp_path / "parallel") == expected
    # results stay in the order the profiles were given, whatever order the workers finished in
    assert [r.profile for r in parallel.profiles] == profiles


def test_cli_failing_profile_among_good_ones(
    profile_copy: ProfileCopy, tmp_path: Path, runner: CliRunner
) -> None:
    good = three_profiles(profile_copy)[:2]
    bad = tmp_path / "broken.yaml"
    bad.write_text("schema_version: 1\norganisation:\n  name: [Unclosed\n", encoding="utf-8")
    result = runner.invoke(
        main,
        [
            "build",
            str(good[0]),
            str(bad),
            str(good[1]),
            "-o",
            str(tmp_path / "out"),
            "-f",
            "md",
            "--jobs",
            "2",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "2 profiles built, 1 failed" in result.stdout
    assert re.search(rf"failed:\n  {re.escape(str(bad))}:\n    {re.escape(str(bad))}:\d+", result.stderr)
    assert "Traceback" not in result.stderr
    for profile in good:
        expected = len(plan(load_profile(profile), TemplateLibrary()).documents)
        assert len(list((tmp_path / "out" / profile.stem).glob("*.md"))) == expected


def test_cli_summary_then_incremental_summary_and_quiet(
    profile_copy: ProfileCopy, tmp_path: Path, runner: CliRunner
) -> None:
    paths = three_profiles(profile_copy)[:2]
    profiles = [str(p) for p in paths]
    plans = [plan(load_profile(p), TemplateLibrary()) for p in paths]
    total = sum(len(p.documents) for p in plans)
    omitted = sum(len(p.omitted) for p in plans)
    out = str(tmp_path / "out")
    first = runner.invoke(main, ["build", *profiles, "-o", out, "-f", "md", "-j", "2"])
    assert first.exit_code == 0, first.output
    assert f"brightwater.yaml: {len(plans[0].documents)} documents" in first.stdout
    assert re.search(
        rf"2 profiles built, 0 failed; documents: {total} written, 0 unchanged, {omitted} omitted; \d+\.\d\d s",
        first.stdout,
    )
    assert "\r" not in first.stdout  # no progress bar when stdout is not a terminal
    again = runner.invoke(main, ["build", *profiles, "-o", out, "-f", "md", "--quiet"])
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == [again.stdout.strip()]
    assert f"documents: 0 written, {total} unchanged, {omitted} omitted" in again.stdout
    forced = runner.invoke(main, ["build", *profiles, "-o", out, "-f", "md", "-q", "--force", "-j", "1"])
    assert f"0 written, {total} unchanged" in forced.stdout  # re-rendered, identical, so not rewritten


def test_progress_line_draws_and_erases() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream, width=10, interval=0)
    line(Progress(1, 4, 7, 0.5))
    line(Progress(4, 4, 20, 1.25))
    text = stream.getvalue()
    assert "[##........] 1/4 profiles  7 documents  0.5 s" in text
    assert "[##########] 4/4 profiles  20 documents  1.2 s" in text
    line(Progress(0, 1, 0, 0.1, waiting_for="pid 42"))
    assert "waiting for another build (pid 42)" in stream.getvalue()
    line.close()
    assert stream.getvalue().endswith("\r")


def assert_consistent(out: Path) -> int:
    """Every file is complete and every manifest matches the files on disk; returns the files checked."""
    checked = 0
    for path in out.rglob("*"):
        if path.suffix == ".docx":
            with zipfile.ZipFile(path) as package:
                assert package.testzip() is None
                assert "word/document.xml" in package.namelist()
            checked += 1
        elif path.suffix == ".md":
            assert path.read_text(encoding="utf-8").startswith("---\ndocument: ")
            checked += 1
        assert not path.name.endswith(".tmp")
    for manifest in out.glob("*/manifest.json"):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        for entry in data["documents"]:
            for name, digest in entry["hashes"].items():
                assert file_hash(manifest.parent / name) == digest, name
    return checked


def test_killed_build_leaves_complete_files_and_the_next_build_repairs(
    profile_copy: ProfileCopy, tmp_path: Path
) -> None:
    profiles = three_profiles(profile_copy)
    out = tmp_path / "out"
    reference = tmp_path / "reference"
    assert build(profiles, reference, formats=["md", "docx"], jobs=1).ok
    args = [*map(str, profiles), "-o", str(out), "-f", "md", "-f", "docx", "-j", "2"]
    process = cli(*args, env={DELAY_ENV: "0.2"})
    try:
        wait_for(lambda: len([p for p in out.rglob("*") if p.suffix in (".md", ".docx")]) >= 5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    written = assert_consistent(out)
    files = 2 * sum(len(plan(load_profile(p), TemplateLibrary()).documents) for p in profiles)  # md + docx
    assert 5 <= written < files  # killed half-way
    report = build(profiles, out, formats=["md", "docx"], jobs=2)
    assert report.ok
    assert report.unchanged >= 2  # what the killed build finished is not redone
    assert_consistent(out)
    assert tree(out) == tree(reference)


def files_and_hashes(out: Path) -> dict[str, str | None]:
    return {path.relative_to(out).as_posix(): file_hash(path) for path in out.rglob("*") if path.is_file()}


def processes_naming(text: str) -> list[int]:
    """Pids of live processes whose command line contains *text* (Linux: read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
                state = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if text in command and state != "Z":
                found.append(int(entry.name))
    return found


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; forked workers")


@linux_only
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_workers_stop_writing_when_the_build_is_killed_or_interrupted(
    profile_copy: ProfileCopy, tmp_path: Path, how: signal.Signals
) -> None:
    """Workers write files: killed with the build (SIGKILL) or stopped by it (Ctrl-C) in the middle of
    their profiles, none is left running or writing once the build process has ended, the folder is
    consistent and the lock is free at once."""
    profiles = three_profiles(profile_copy)
    out = tmp_path / "out"
    process = subprocess.Popen(  # no pipes: the workers would hold them open
        [
            sys.executable,
            "-m",
            "qmsdocs",
            "build",
            *map(str, profiles),
            "-o",
            str(out),
            "-f",
            "md",
            "-j",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, DELAY_ENV: "0.1"},
    )
    try:
        wait_for(lambda: len(list(out.rglob("*.md"))) >= 3)
    finally:
        process.send_signal(how)
        process.wait(timeout=60)
    time.sleep(0.05)  # for the kernel to deliver the workers' own SIGKILL
    assert processes_naming(str(out)) == []
    before = files_and_hashes(out)
    time.sleep(0.6)  # longer than a worker's watch over its parent: nothing may still be writing
    assert files_and_hashes(out) == before
    assert_consistent(out)
    in_flight = sum(len(plan(load_profile(p), TemplateLibrary()).documents) for p in profiles[:2])
    assert len(list(out.rglob("*.md"))) < in_flight  # stopped in the middle, not after their profiles
    again = cli(*map(str, profiles), "-o", str(out), "-f", "md", "--lock-timeout", "0")
    _, error = again.communicate(timeout=300)
    assert again.returncode == 0, error


def test_second_build_into_the_same_folder_is_refused_naming_the_holder(
    profile_copy: ProfileCopy, tmp_path: Path
) -> None:
    profiles = three_profiles(profile_copy)[:1]
    out = tmp_path / "out"
    first = cli(str(profiles[0]), "-o", str(out), "-f", "md", "-j", "1", env={DELAY_ENV: "2"})
    try:
        lock = out / ".qmsdocs.batch.lock"
        wait_for(lambda: lock.is_file() and lock.read_text(encoding="utf-8").strip() == str(first.pid))
        second = cli(str(profiles[0]), "-o", str(out), "-f", "md", "--lock-timeout", "0")
        _, error = second.communicate(timeout=120)
        assert second.returncode == 1
        assert f"another qmsdocs build (pid {first.pid}) is writing to this folder" in error
        assert "Traceback" not in error
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate()
