"""Benchmark: qmsdocs' DOCX path against pandoc (one process per document) on the same Markdown.

Run: ``python bench/bench_docx.py [--repeat 5]``. The documents are the rendered Markdown of the bundled
example profiles (every document of every profile under ``profiles/``). Prints, for qmsdocs, the CPU time
per document of ``write_docx`` alone, of the Markdown-to-disk path (parse + ``write_docx`` + writing the
file) and of the whole render-to-disk path (template + charts, parse, both writers, both files), the
same rates for pandoc on a sample of the documents, their ratio, and the cold import time of
``qmsdocs.writers.docx``.

Shared machines are noisy (this project's 2-core VM swings by 2x between identical runs), so every qmsdocs
figure is the best of ``--repeat`` passes over all the documents, as ``timeit`` reports it, with the
median beside it. Finishes in about a minute on a 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qmsdocs.batch.workers import rendering_gc  # noqa: E402
from qmsdocs.library.layers import TemplateLibrary  # noqa: E402
from qmsdocs.library.plan import plan  # noqa: E402
from qmsdocs.library.render import render  # noqa: E402
from qmsdocs.markdown.tree import clear_inline_cache, parse  # noqa: E402
from qmsdocs.profile.models import load_profile  # noqa: E402
from qmsdocs.standards import charts  # noqa: E402
from qmsdocs.writers.docx import prepare_reference, write_docx  # noqa: E402
from qmsdocs.writers.markdown import write_markdown  # noqa: E402

PANDOC_DOCS = 20


def example_set() -> tuple[list[tuple[str, object, dict[str, bytes]]], Callable[[], list[tuple]]]:
    """(Markdown, document metadata, in-memory images) of every document of every bundled example, and a
    function that renders them all again (the template step of the render-to-disk path)."""
    library = TemplateLibrary()
    work = []
    for source in sorted((ROOT / "profiles").glob("*.yaml")):
        profile = load_profile(source)
        the_plan = plan(profile, library)
        work += [(spec, profile, the_plan) for spec in the_plan.documents]

    def render_all() -> list[tuple]:
        results = []
        for spec, profile, the_plan in work:
            rendered = render(spec, profile, the_plan, library)
            results.append((rendered.text, spec.meta, rendered.images))
        return results

    return render_all(), render_all


def cpu_ms_per_doc(work: Callable[[], None], count: int, repeat: int) -> tuple[float, float]:
    """(best, median) CPU milliseconds per document of *repeat* runs of *work* over *count* documents."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        work()
        times.append((time.process_time() - started) / count * 1000)
    return min(times), statistics.median(times)


def bench_pandoc(texts: list[str], out: Path) -> float:
    """Documents per second (wall) converting each text with its own pandoc process."""
    sources = []
    for i, text in enumerate(texts):
        source = out / f"p{i}.md"
        source.write_text(text, encoding="utf-8")
        sources.append(source)
    start = time.perf_counter()
    for source in sources:
        subprocess.run(
            ["pandoc", "-f", "gfm", "-o", str(source.with_suffix(".docx")), str(source)], check=True
        )
    return len(texts) / (time.perf_counter() - start)


def cold_import_ms(module: str, runs: int = 5) -> float:
    """Best wall time of a fresh interpreter importing *module*, minus an empty interpreter's."""

    def best(code: str) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
        return min(times)

    return (best(f"import {module}") - best("pass")) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    documents, render_all = example_set()
    count = len(documents)
    ref = prepare_reference()  # once per process, as a build does
    trees = [parse(text) for text, _, _ in documents]
    write_docx(trees[0], documents[0][1], ref, documents[0][2])  # warm-up  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)

        def writer_only() -> None:
            ref.inline_runs.clear()  # runs of repeated text are reused within a pass, as in a build
            for tree, (_, meta, images) in zip(trees, documents, strict=True):
                write_docx(tree, meta, ref, images)  # type: ignore[arg-type]

        def to_disk() -> None:
            clear_inline_cache()  # each pass parses and writes cold, as the first build of a set does
            ref.inline_runs.clear()
            for i, (text, meta, images) in enumerate(documents):
                (out / f"q{i}.docx").write_bytes(write_docx(parse(text), meta, ref, images))  # type: ignore[arg-type]

        def render_to_disk() -> None:
            charts.clear_caches()  # each pass draws the charts from cold, as a new process does
            clear_inline_cache()
            ref.inline_runs.clear()
            for i, (text, meta, images) in enumerate(render_all()):
                tree = parse(text)
                (out / f"r{i}.md").write_text(write_markdown(text, meta, tree, images), encoding="utf-8")  # type: ignore[arg-type]
                (out / f"r{i}.docx").write_bytes(write_docx(tree, meta, ref, images))  # type: ignore[arg-type]
                for name, data in images.items():
                    (out / f"r{i}-{Path(name).name}").write_bytes(data)

        with rendering_gc():  # the garbage-collector setting a build's workers render with
            writer = cpu_ms_per_doc(writer_only, count, options.repeat)
            path = cpu_ms_per_doc(to_disk, count, options.repeat)
            whole = cpu_ms_per_doc(render_to_disk, count, options.repeat)
        print(f"{count} documents: the bundled example set; best (median) of {options.repeat} passes")
        report("write_docx alone, CPU", per_doc(writer))
        report("parse + write_docx + write, CPU", per_doc(path) + "  <- Markdown to disk; target 250/s")
        report("render + parse + md + docx, CPU", per_doc(whole) + "  <- whole render-to-disk path")
        report("average .docx size", f"{sum(p.stat().st_size for p in out.glob('q*.docx')) // count} bytes")
        if shutil.which("pandoc"):
            sample = [documents[i * count // PANDOC_DOCS][0] for i in range(PANDOC_DOCS)]
            pandoc_rate = bench_pandoc(sample, out)
            report(
                "pandoc, one process per doc, wall",
                f"{1000 / pandoc_rate:8.1f} ms/doc ({pandoc_rate:.1f} docs/s)",
            )
            to_disk, alone = 1000 / path[0] / pandoc_rate, 1000 / writer[0] / pandoc_rate
            report(
                "ratio qmsdocs / pandoc (docs/s)",
                f"{to_disk:8.1f}x Markdown to disk; {alone:.1f}x writer alone",
            )
        else:
            report("pandoc", "not installed: comparison skipped")
    report(
        "cold import of qmsdocs.writers.docx",
        f"{cold_import_ms('qmsdocs.writers.docx'):8.1f} ms over a bare interpreter",
    )
    report(
        "cold import of python-docx",
        f"{cold_import_ms('docx'):8.1f} ms (not imported by qmsdocs.writers.docx)",
    )


def per_doc(figures: tuple[float, float]) -> str:
    best, median = figures
    return f"{best:8.2f} ms/doc ({1000 / best:.0f} docs/s per core; median {median:.2f} ms)"


def report(label: str, value: str) -> None:
    print(f"{label:<34}: {value}")


if __name__ == "__main__":
    main()
