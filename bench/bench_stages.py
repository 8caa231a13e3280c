"""Instruction counts of each stage of rendering (issue #3/#6), measured with valgrind's callgrind.

Run: ``.venv/bin/python bench/bench_stages.py [--profiles 5] [--stages 0,1,2,3,4,5]``

Wall and CPU times on a shared VM vary by 2-5x between identical runs, so they cannot show a 10%
change. Instructions executed do not vary: callgrind counts the same total for the same work whatever
else the machine is doing. This script runs the same in-process pipeline under callgrind six times, each
time stopping one stage later (0: warm-up only; 1: load and plan the profiles; 2: render the templates;
3: parse the Markdown; 4: write Markdown; 5: write DOCX), and prints what each stage adds per document.
The warm-up (imports, template compilation, the reference document, a whole full and a whole minimal
profile) is the same in every run, so it cancels out. The measured profiles are generated as
``bench_batch.py`` makes them (four in five full, each with its own self-assessment scores). Two runs
go side by side. Python runs about 50 times slower under callgrind: with the defaults the script takes
about half an hour on 2 cores; ``--profiles 2 --stages 0,5`` (the total only) about ten minutes.
Last, the whole pipeline runs ``--native`` times without valgrind and its CPU time per document is
printed (best and median), to relate the counts to this machine's speed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

STAGES = ["warm-up only", "load + plan", "render templates", "parse Markdown", "write Markdown", "write DOCX"]


def child(stage: int, folder: Path, count: int) -> None:
    """The measured pipeline: print the number of documents it went through and its CPU seconds."""
    import gc
    import os

    # Jinja's compiled-template cache on disk would make the first runs compile and the later ones
    # load: each run gets its own empty cache, so every warm-up does the same work.
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="cache-", dir=folder)

    from qmsdocs.batch import workers
    from qmsdocs.library.render import render
    from qmsdocs.markdown.tree import parse
    from qmsdocs.writers.docx import prepare_reference, write_docx
    from qmsdocs.writers.markdown import write_markdown

    gc.set_threshold(*workers.GC_THRESHOLD)
    profiles = sorted(folder.glob("client-*.yaml"))
    warm_up, measured = profiles[3:5], profiles[5 : 5 + count]  # a full and a minimal profile warm up
    reference = prepare_reference()
    documents, started = 0, 0.0
    for path in [*warm_up, *measured]:
        warm = path in warm_up
        if path == measured[0]:
            started = time.process_time()
        if not warm and stage < 1:
            continue
        prepared = workers.prepare(path, ())
        for spec in prepared.plan.documents if warm or stage >= 2 else ():
            documents += not warm
            rendered = render(spec, prepared.profile, prepared.plan, prepared.library)
            if not warm and stage < 3:
                continue
            tree = parse(rendered.text)
            if warm or stage >= 4:
                write_markdown(rendered.text, spec.meta, tree, rendered.images)
            if warm or stage >= 5:
                write_docx(tree, spec.meta, reference, rendered.images)
    print(documents, time.process_time() - started)


def measure(stage: int, folder: Path, count: int) -> tuple[int, int]:
    """(instructions, documents) of one run under callgrind."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            str(stage),
            "--folder",
            str(folder),
            "--profiles",
            str(count),
        ],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not match:
        sys.exit(f"stage {stage} failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    return int(match.group(1)), int(done.stdout.split()[0])


def native_ms(folder: Path, count: int, runs: int) -> list[float]:
    """CPU milliseconds per document of the whole pipeline (stage 5) without valgrind, one per run."""
    times = []
    for _ in range(runs):
        args = ["--child", "5", "--folder", str(folder), "--profiles", str(count)]
        done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
        documents, seconds = done.stdout.split()
        times.append(1000 * float(seconds) / int(documents))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=5)
    parser.add_argument(
        "--stages", default="0,1,2,3,4,5", help="runs to make, e.g. 0,5 for the total only (default: all)"
    )
    parser.add_argument(
        "--native", type=int, default=5, help="runs of the whole pipeline without valgrind, timed (0: none)"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child is not None:
        child(options.child, options.folder, options.profiles)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install -y valgrind)")
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_batch import make_profiles

    work = Path(tempfile.mkdtemp(prefix="qmsdocs-stages-"))
    try:
        make_profiles(work, 5 + options.profiles)
        stages = sorted({int(stage) for stage in options.stages.split(",")})
        with ThreadPoolExecutor(2) as pool:
            runs = pool.map(lambda stage: measure(stage, work, options.profiles), stages)
            counted = dict(zip(stages, runs, strict=True))
        native = native_ms(work, options.profiles, options.native)  # after callgrind: nothing else runs
    finally:
        shutil.rmtree(work, ignore_errors=True)
    documents = max(found for _, found in counted.values())
    print(f"{options.profiles} generated profiles, {documents} documents; instructions (callgrind)")
    print(f"{'stage':40} {'added':>15} {'per document':>14}")
    for before, stage in zip(stages, stages[1:], strict=False):
        added = counted[stage][0] - counted[before][0]
        label = STAGES[stage] if stage == before + 1 else f"{STAGES[before + 1]} .. {STAGES[stage]}"
        print(f"{label:40} {added:15,} {added / max(documents, 1):14,.0f}")
    if len(stages) > 2:
        total = counted[stages[-1]][0] - counted[stages[0]][0]
        print(f"{'all measured stages':40} {total:15,} {total / max(documents, 1):14,.0f}")
    if native:
        ordered = sorted(native)
        print(
            f"without valgrind, CPU per document of the whole pipeline over {len(native)} runs: best "
            f"{ordered[0]:.1f} ms, median {ordered[len(ordered) // 2]:.1f} ms (every run: "
            f"{' '.join(f'{t:.1f}' for t in native)})"
        )


if __name__ == "__main__":
    main()
