"""Benchmark of batch builds (issue #6): 50 generated profiles, parallel, incremental, memory.

Run: ``.venv/bin/python bench/bench_batch.py [--jobs 2] [--formats md,docx] [--keep DIR]``

Every build runs the real CLI as a subprocess, so the times include interpreter start-up and imports.
Shared machines are noisy (identical runs on the project's VM differ by up to 2x), so the full build runs
``--repeat`` times (each into a new folder, all deleted at the end) and the no-change rebuild nine times; the
table shows the best wall time, the CPU time of that run, and every run's wall time. One more full build goes
into a folder emptied just before (``rm -rf``), for comparison: the file system pays for the deletion then.
Byte-code is allowed (``PYTHONDONTWRITEBYTECODE`` is removed for the subprocesses), as for an installed
qmsdocs; a warm-up call compiles it first.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SITES = ["Aberdeen", "Bilbao", "Cork", "Dresden", "Eindhoven", "Faro", "Ghent", "Hull", "Izmir", "Jena"]
TRADES = ["Instruments", "Precision", "Components", "Controls", "Systems"]


def make_profiles(folder: Path, count: int) -> list[Path]:
    """Write *count* profiles derived from the bundled examples, varied the way real clients differ."""
    shutil.copytree(ROOT / "profiles" / "assets", folder / "assets")
    full = yaml.safe_load((ROOT / "profiles" / "brightwater.yaml").read_text(encoding="utf-8"))
    small = yaml.safe_load((ROOT / "profiles" / "minimal.yaml").read_text(encoding="utf-8"))
    paths = []
    for index in range(count):
        data: dict[str, Any] = yaml.safe_load(yaml.safe_dump(small if index % 5 == 4 else full))
        city = SITES[index % len(SITES)]
        name = f"{city} {TRADES[index % len(TRADES)]} {index:02d} Ltd"
        data["organisation"]["name"] = name
        data.setdefault("document_control", {})["prefix"] = f"C{index:02d}"
        if "sites" in data["organisation"]:
            data["organisation"]["sites"][0]["name"] = f"{city} headquarters"
            data["organisation"]["sites"] = data["organisation"]["sites"][: 1 + index % 2]
        if index % 3 == 0 and "exclusions" in data["scope"]:  # a third of them do no design
            data["scope"]["exclusions"] = [
                {"clause": "8.3", "justification": f"{name} makes parts only to its customers' designs."}
            ]
        if "self_assessment" in data:  # scores of their own, so no two clients share a chart
            scores = random.Random(index)
            for element in data["self_assessment"]["elements"].values():
                element["level"] = scores.randint(1, 5)
                element.pop("target", None)
        for number, objective in enumerate(data.get("quality_objectives", [])):
            objective["target"] = f">= {90 + (index + number) % 9} %"
        path = folder / f"client-{index:02d}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        paths.append(path)
    return paths


def override_layer(folder: Path) -> Path:
    """A --templates layer overriding one procedure (internal audit) with one added sentence."""
    relative = "procedures/internal-audit.md.j2"
    source = (ROOT / "templates" / relative).read_text(encoding="utf-8")
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        source.replace("{% block purpose %}", "{% block purpose %}\nAudits also cover the benchmark.\n", 1),
        encoding="utf-8",
    )
    return folder


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: list[str], env: dict[str, str]) -> tuple[float, str, float]:
    """Run the CLI; return (wall seconds, stdout, CPU seconds of the build and its workers)."""
    started, cpu_before = time.perf_counter(), cpu()
    done = subprocess.run([sys.executable, "-m", "qmsdocs", *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"build failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout, cpu() - cpu_before


def counts(summary: str) -> str:
    match = re.search(r"documents: (\d+) written, (\d+) unchanged", summary)
    return f"{match.group(1)} written / {int(match.group(1)) + int(match.group(2))}" if match else "?"


def repeated(
    times: int, args: list[str], env: dict[str, str], fresh: list[str] | None = None
) -> tuple[list[float], str, float]:
    """Run the same build *times* times: (wall seconds of each, last summary, CPU of the best). With
    *fresh*, run i builds into the folder fresh[i], which does not exist yet."""
    walls, best_cpu, text = [], 0.0, ""
    for index in range(times):
        seconds, text, used = run([*args, *(["-o", fresh[index]] if fresh else [])], env)
        if not walls or seconds < min(walls):
            best_cpu = used
        walls.append(seconds)
    return walls, text, best_cpu


def main() -> None:
    """Generate the profiles, run the builds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--formats", default="md,docx")
    parser.add_argument("--repeat", type=int, default=2, help="full builds to run (best is reported)")
    parser.add_argument("--keep", type=Path, help="Build here instead of a temporary folder (kept).")
    options = parser.parse_args()
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    work = options.keep or Path(tempfile.mkdtemp(prefix="qmsdocs-bench-"))
    try:
        profiles = [str(p) for p in make_profiles(work / "profiles", options.profiles)]
        out = str(work / "out")
        formats = [arg for fmt in options.formats.split(",") for arg in ("-f", fmt)]
        common = [*profiles, *formats, "-q", "--jobs", str(options.jobs)]
        subprocess.run(
            [sys.executable, "-m", "qmsdocs", "--version"], env=env, check=True, capture_output=True
        )
        rows = []
        # Every full build goes into a new folder; the folders are deleted after all the timing. Deleting
        # the 2,800 files of one run right before the next makes ext4 skip past their just-freed inodes
        # when it allocates new ones (see docs/batch.md): row 1b shows what that costs on this machine.
        folders = [f"{out}-{index}" for index in range(options.repeat)]
        full, text, used = repeated(options.repeat, ["build", *common], env, fresh=folders)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rows.append((f"1. full build, --jobs {options.jobs}", full, used, "<= 5 s", counts(text)))
        shutil.rmtree(folders[0])
        seconds, emptied, used = run(["build", *common, "-o", folders[0]], env)
        rows.append(
            ("1b. same, into a folder just emptied", [seconds], used, "(comparison)", counts(emptied))
        )
        out = folders[-1]
        same, text, used = repeated(9, ["build", *common, "-o", out], env)
        rows.append(("2. rebuild, nothing changed", same, used, "<= 1 s", counts(text)))
        layer = str(override_layer(work / "layer"))
        seconds, text, used = run(["build", *common, "-o", out, "-t", layer], env)
        rows.append(("3. one procedure overridden", [seconds], used, "only its documents", counts(text)))
        tenth = profiles[: max(1, options.profiles // 5)]
        serial_args = ["build", *tenth, *formats, "-q", "-o", str(work / "serial"), "--jobs", "1"]
        seconds, text, used = run(serial_args, env)
        rows.append(
            (f"   serial, {len(tenth)} profiles, --jobs 1", [seconds], used, "(comparison)", counts(text))
        )
        print(
            f"{options.profiles} profiles, formats {options.formats}, {os.cpu_count()} CPUs, Python "
            f"{sys.version.split()[0]}; wall: the best run (every run under runs)"
        )
        print(f"{'run':34} {'wall':>8} {'CPU':>8}  {'target':18} documents   runs")
        for label, walls, cpu_seconds, target, documents in rows:
            runs = " ".join(f"{w:.2f}" for w in walls) if len(walls) > 1 else ""
            print(f"{label:34} {min(walls):7.2f}s {cpu_seconds:7.2f}s  {target:18} {documents:20} {runs}")
        print(
            f"{'4. peak RSS of any build process':34} {peak / 1024:6.1f}MiB {'':8}  {'<= 150 MiB':18} "
            "(main or worker, full build)"
        )
        print(f"benchmark total {time.perf_counter() - started:.1f} s")
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
