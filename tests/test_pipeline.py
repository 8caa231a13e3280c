"""One document through render -> parse -> write, in memory."""

from __future__ import annotations

import io

import docx

from qmsdocs.batch import pipeline
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.profile.models import Profile
from qmsdocs.writers.docx import prepare_reference


def test_run_writes_each_format_asked_for(brightwater: Profile) -> None:
    library = TemplateLibrary()
    the_plan = plan(brightwater, library)
    spec = the_plan.get("QP-12")
    assert spec is not None
    both = pipeline.run(spec, brightwater, the_plan, library, markdown=True, reference=prepare_reference())
    assert both.files == {"md": f"{spec.meta.file_stem}.md", "docx": f"{spec.meta.file_stem}.docx"}
    assert both.blobs[both.files["md"]].decode("utf-8").count("# ") > 3
    document = docx.Document(io.BytesIO(both.blobs[both.files["docx"]]))
    assert "Internal audit" in " ".join(p.text for p in document.paragraphs)
    assert both.images == [brightwater.branding.logo]  # the logo is an input of every document

    markdown_only = pipeline.run(spec, brightwater, the_plan, library, markdown=True, reference=None)
    assert set(markdown_only.files) == {"md"}
    assert markdown_only.blobs[markdown_only.files["md"]] == both.blobs[both.files["md"]]


def test_charts_travel_with_the_report(brightwater: Profile) -> None:
    library = TemplateLibrary()
    the_plan = plan(brightwater, library)
    spec = the_plan.get("RPT-01")
    assert spec is not None
    written = pipeline.run(spec, brightwater, the_plan, library, markdown=True, reference=None)
    charts = sorted(name for name in written.blobs if name.startswith("charts/"))
    assert len(charts) == 2
    assert all(written.blobs[c].startswith(b"\x89PNG") for c in charts)
    markdown = written.blobs[written.files["md"]].decode("utf-8")
    assert all(chart in markdown for chart in charts)
