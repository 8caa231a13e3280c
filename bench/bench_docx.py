"""Benchmark: qmsdocs' DOCX writer against pandoc (one process per document) on the same Markdown.

Run: ``python bench/bench_docx.py``. Documents are the samples under bench/samples (a ~4-page
procedure) varied per copy. Prints documents/second for both, the ratio, and the cold import time of
``qmsdocs.docx``. Finishes in well under a minute on a 2-core machine.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qmsdocs.document import DocumentMeta, Revision, Signatory  # noqa: E402
from qmsdocs.docx import prepare_reference, write_docx  # noqa: E402
from qmsdocs.markdown import parse  # noqa: E402

QMS_DOCS = 300
PANDOC_DOCS = 20


def documents(count: int) -> list[str]:
    """*count* distinct Markdown documents made from the samples."""
    samples = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "bench" / "samples").glob("*.md"))]
    return [samples[i % len(samples)].replace("Brightwater", f"Brightwater {i}") for i in range(count)]


def meta(i: int) -> DocumentMeta:
    person = Signatory("Tomás Ribeiro", "Quality Manager")
    return DocumentMeta(
        id=f"doc-{i}", number=f"BWI-QP-{i:03d}", title="Internal audit", category="procedure",
        clauses=("9.2",), revision="2", effective_date=date(2024, 3, 1), next_review=date(2025, 3, 1),
        classification="Internal", organisation="Brightwater Instruments Ltd", short_name="Brightwater",
        owner=person, prepared_by=person, reviewed_by=person, approved_by=person,
        revisions=(Revision("1", date(2023, 2, 1), "First issue", "Tomás Ribeiro"),),
        template="bench/samples", logo=ROOT / "profiles" / "assets" / "brightwater-logo.png",
    )  # fmt: skip


def bench_qmsdocs(texts: list[str], out: Path) -> tuple[float, float, float]:
    """(docs/s for write_docx + writing the file, docs/s including the Markdown parse, CPU ms per
    write_docx). CPU time is reported too because wall time on a shared machine includes other load."""
    ref = prepare_reference()  # once per process, as a build does
    trees = [parse(t) for t in texts]
    metas = [meta(i) for i in range(len(texts))]
    write_docx(trees[0], metas[0], ref)  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    for i, (tree, m) in enumerate(zip(trees, metas, strict=True)):
        (out / f"q{i}.docx").write_bytes(write_docx(tree, m, ref))
    write_only = time.perf_counter() - start
    cpu_ms = (time.process_time() - cpu) / len(texts) * 1000
    start = time.perf_counter()
    for i, (text, m) in enumerate(zip(texts, metas, strict=True)):
        (out / f"q{i}.docx").write_bytes(write_docx(parse(text), m, ref))
    with_parse = time.perf_counter() - start
    return len(texts) / write_only, len(texts) / with_parse, cpu_ms


def bench_pandoc(texts: list[str], out: Path) -> float:
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
    """Median wall time of a fresh interpreter importing *module*, minus an empty interpreter's."""

    def median(code: str) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    return (median(f"import {module}") - median("pass")) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        write_rate, parse_rate, cpu_ms = bench_qmsdocs(documents(QMS_DOCS), out)
        size = (out / "q0.docx").stat().st_size
        report("qmsdocs write_docx + write file", rate(write_rate))
        report("qmsdocs parse + write_docx", rate(parse_rate))
        report("qmsdocs write_docx CPU time", f"{cpu_ms:8.2f} ms/doc ({1000 / cpu_ms:.0f} docs/s per core)")
        report("output size", f"{size} bytes")
        if shutil.which("pandoc"):
            pandoc_rate = bench_pandoc(documents(PANDOC_DOCS), out)
            report("pandoc, one process per doc", rate(pandoc_rate))
            ratio = f"{write_rate / pandoc_rate:8.1f}x (with parse: {parse_rate / pandoc_rate:.1f}x)"
            report("ratio write_docx / pandoc", ratio)
        else:
            report("pandoc", "not installed: comparison skipped")
    report("cold import of qmsdocs.docx", f"{cold_import_ms('qmsdocs.docx'):8.1f} ms over a bare interpreter")
    report("cold import of python-docx", f"{cold_import_ms('docx'):8.1f} ms (not imported by qmsdocs.docx)")


def rate(docs_per_second: float) -> str:
    return f"{docs_per_second:8.1f} docs/s ({1000 / docs_per_second:.2f} ms/doc)"


def report(label: str, value: str) -> None:
    print(f"{label:<34}: {value}")


if __name__ == "__main__":
    main()
