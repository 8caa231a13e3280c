"""Incremental builds through the Python API: what is skipped, what is rebuilt, what is removed."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

import qmsdocs.batch.builder
from qmsdocs.batch.builder import BuildReport, build, build_profile
from qmsdocs.batch.lock import OutputLock
from qmsdocs.batch.manifest import file_hash
from qmsdocs.errors import BuildError
from qmsdocs.library.layers import TemplateLibrary, builtin_dir
from qmsdocs.library.plan import plan
from qmsdocs.profile.models import load_profile

ProfileCopy = Callable[[str], Path]


def md_build(profiles: list[Path], out: Path, **kwargs: object) -> BuildReport:
    """A serial Markdown-only build (fast; DOCX is covered in test_batch)."""
    return build(profiles, out, formats=["md"], jobs=1, **kwargs)  # type: ignore[arg-type]


def mtimes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def png(rgb: tuple[int, int, int]) -> bytes:
    """A valid 2x2 PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def override(folder: Path, relative: str, marker: str) -> Path:
    """A template layer that overrides the built-in *relative* template with *marker* added."""
    source = (builtin_dir() / relative).read_text(encoding="utf-8")
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if "{% block purpose %}" in source:
        source = source.replace("{% block purpose %}", "{% block purpose %}\n" + marker + "\n", 1)
    else:
        source = source.rstrip("\n") + "\n\n" + marker + "\n"
    target.write_text(source, encoding="utf-8")
    return folder


EXTRA = """---
id: {id}
title: {title}
category: form
---
{{% block body %}}
Form kept by {{{{ org.name }}}}.
{{% endblock %}}
"""


def test_second_build_skips_everything_and_keeps_mtimes(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("brightwater.yaml")
    out = tmp_path / "out"
    first = md_build([source], out)
    assert first.ok
    assert first.written == len(first.profiles[0].documents) > 0
    before = mtimes(out / "brightwater")
    time.sleep(0.01)
    second = md_build([source], out)
    assert second.ok
    assert (second.written, second.unchanged) == (0, first.written)
    assert second.profiles[0].rendered == []
    assert mtimes(out / "brightwater") == before


def form_layer(tmp_path: Path, forms: dict[str, str]) -> Path:
    """A --templates layer adding one form per {id: title}."""
    layer = tmp_path / "layer"
    (layer / "forms").mkdir(parents=True)
    for number, (doc_id, title) in enumerate(forms.items()):
        (layer / "forms" / f"f{number}.md.j2").write_text(
            EXTRA.format(id=doc_id, title=title), encoding="utf-8"
        )
    return layer


def planned_ids(source: Path, category: str | None = None) -> list[str]:
    """The ids of the documents the built-in library plans for *source*, in set order."""
    specs = plan(load_profile(source), TemplateLibrary()).documents
    return [s.meta.id for s in specs if category is None or s.meta.category == category]


def test_manifest_keeps_its_keys_and_records_hashes(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("minimal.yaml")
    md_build([source], tmp_path / "out")
    folder = tmp_path / "out" / "minimal"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert {"organisation", "profile", "generator", "documents", "omitted"} <= set(manifest)
    assert manifest["organisation"] == "Lindqvist Machining AB"
    omitted = {o["id"]: o["reason"] for o in manifest["omitted"]}
    assert omitted["QP-07"].startswith("clause 8.3 is determined not applicable")
    assert omitted["RPT-01"] == "the profile has no 'self_assessment' section"
    assert [e["id"] for e in manifest["documents"]] == planned_ids(source)
    for entry in manifest["documents"]:
        assert {"id", "number", "title", "category", "clauses", "revision", "files"} <= set(entry)
        for name, digest in entry["hashes"].items():
            assert file_hash(folder / name) == digest


def test_profile_field_change_rebuilds(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("brightwater.yaml")
    out = tmp_path / "out"
    md_build([source], out)
    text = source.read_text(encoding="utf-8")
    source.write_text(
        text.replace(
            "environmental\n    monitoring instruments and associated",
            "marine\n    monitoring instruments and associated",
        ),
        encoding="utf-8",
    )
    report = md_build([source], out)
    result = report.profiles[0]
    assert "QS-01" in result.written
    scope = next((out / "brightwater").glob("BWI-QS-01*.md")).read_text(encoding="utf-8")
    assert "marine monitoring instruments" in scope
    # every document was re-rendered (the whole profile is an input) but only changed files rewritten
    assert sorted(result.rendered) == sorted(d.id for d in result.documents)


def test_template_change_rebuilds_only_its_documents(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("brightwater.yaml")
    out = tmp_path / "out"
    layer = tmp_path / "layer"
    override(layer, "procedures/internal-audit.md.j2", "Audits follow the plan of version A.")
    md_build([source], out, templates=[layer])
    override(layer, "procedures/internal-audit.md.j2", "Audits follow the plan of version B.")
    result = md_build([source], out, templates=[layer]).profiles[0]
    assert result.rendered == ["QP-12"]
    assert result.written == ["QP-12"]
    audit = next((out / "brightwater").glob("BWI-QP-12*.md")).read_text(encoding="utf-8")
    assert "version B" in audit


def test_parent_template_change_rebuilds_every_child(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("brightwater.yaml")
    out = tmp_path / "out"
    layer = tmp_path / "layer"
    layout = layer / "layouts" / "procedure.md.j2"
    layout.parent.mkdir(parents=True)
    original = (builtin_dir() / "layouts" / "procedure.md.j2").read_text(encoding="utf-8")
    layout.write_text(original, encoding="utf-8")
    md_build([source], out, templates=[layer])
    layout.write_text(original.rstrip("\n") + "\n\nIssued under the procedure layout.\n", encoding="utf-8")
    result = md_build([source], out, templates=[layer]).profiles[0]
    procedures = planned_ids(source, category="procedure")
    assert "QP-12" in procedures
    assert sorted(result.rendered) == sorted(procedures)  # every procedure extends the layout
    assert sorted(result.unchanged) == sorted(set(planned_ids(source)) - set(procedures))


def test_logo_change_rebuilds_docx(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("brightwater.yaml")
    out = tmp_path / "out"
    logo = source.parent / "assets" / "brightwater-logo.png"
    logo.write_bytes(png((10, 80, 160)))
    first = build([source], out, formats=["docx"], jobs=1)
    assert first.ok, first.profiles[0].errors
    logo.write_bytes(png((200, 30, 30)))
    result = build([source], out, formats=["docx"], jobs=1).profiles[0]
    assert sorted(result.rendered) == sorted(d.id for d in result.documents)
    assert result.written  # the logo is embedded in the Word files


def test_image_in_a_template_body_is_an_input_of_its_document(
    profile_copy: ProfileCopy, tmp_path: Path
) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    layer = form_layer(tmp_path, {"FRM-91": "Site plan"})
    form = layer / "forms" / "f0.md.j2"
    form.write_text(
        form.read_text(encoding="utf-8").replace("{% endblock %}", "![Site plan](plan.png)\n{% endblock %}"),
        encoding="utf-8",
    )
    image = source.parent / "plan.png"
    image.write_bytes(png((10, 80, 160)))
    first = build([source], out, formats=["md", "docx"], templates=[layer], jobs=1)
    assert first.ok, first.profiles[0].errors
    image.write_bytes(png((200, 30, 30)))
    result = build([source], out, formats=["md", "docx"], templates=[layer], jobs=1).profiles[0]
    assert result.rendered == ["FRM-91"]  # only the document showing the image
    assert result.written == ["FRM-91"]  # its Word file embeds the new picture


def test_reference_docx_change_rebuilds_docx(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    seed = build([source], tmp_path / "seed", formats=["docx"], jobs=1)
    assert seed.ok, seed.profiles[0].errors
    words = sorted((tmp_path / "seed" / "minimal").glob("*.docx"))
    reference = tmp_path / "house.docx"
    shutil.copy(words[0], reference)
    assert build([source], out, formats=["docx"], reference_docx=reference, jobs=1).ok
    again = build([source], out, formats=["docx"], reference_docx=reference, jobs=1).profiles[0]
    assert again.rendered == []
    shutil.copy(words[1], reference)
    result = build([source], out, formats=["docx"], reference_docx=reference, jobs=1).profiles[0]
    assert sorted(result.rendered) == sorted(d.id for d in result.documents)


def test_version_change_rebuilds(
    profile_copy: ProfileCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    md_build([source], out)
    monkeypatch.setattr(qmsdocs.batch.builder, "__version__", "99.0.0")  # what builds stamp
    result = md_build([source], out).profiles[0]
    assert sorted(result.rendered) == sorted(d.id for d in result.documents)
    manifest = json.loads((out / "minimal" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generator"] == "qmsdocs 99.0.0"


def test_force_renders_everything(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("minimal.yaml")
    md_build([source], tmp_path / "out")
    result = build_profile(source, tmp_path / "out", formats=["md"], force=True)
    assert sorted(result.rendered) == sorted(d.id for d in result.documents)
    assert result.written == []  # identical bytes are not rewritten


def test_edited_output_file_is_rebuilt(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    md_build([source], out)
    policy = next((out / "minimal").glob("LMA-POL-01*.md"))
    original = policy.read_bytes()
    policy.write_text("scribbled over\n", encoding="utf-8")
    result = md_build([source], out).profiles[0]
    assert result.written == ["POL-01"]
    assert policy.read_bytes() == original


def test_same_size_edit_is_rebuilt_and_touched_file_is_not(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    md_build([source], out)
    policy = next((out / "minimal").glob("LMA-POL-01*.md"))
    scope = next((out / "minimal").glob("LMA-QS-01*.md"))
    original = policy.read_bytes()
    policy.write_bytes(original.upper()[: len(original)])  # same size, new content and mtime
    os.utime(scope, ns=(scope.stat().st_atime_ns, scope.stat().st_mtime_ns + 5_000_000_000))  # touched only
    result = md_build([source], out).profiles[0]
    assert result.written == ["POL-01"]
    assert policy.read_bytes() == original
    assert "QS-01" in result.unchanged  # its stamp changed, so it was hashed, and its content is as written


def test_up_to_date_rebuild_reads_no_output_file(
    profile_copy: ProfileCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    md_build([source], out)
    import qmsdocs.batch.manifest as manifest_module

    read: list[Path] = []
    real_hash = manifest_module.file_hash

    def spying_hash(path: Path) -> str | None:
        read.append(path)
        return real_hash(path)

    monkeypatch.setattr(manifest_module, "file_hash", spying_hash)
    report = md_build([source], out)
    assert report.unchanged == len(planned_ids(source))
    assert read  # the profile and the templates are still hashed ...
    assert not [p for p in read if out in p.parents]  # ... but no written file: their stamps match


def test_manifest_without_stamps_gets_them_without_rewriting_files(
    profile_copy: ProfileCopy, tmp_path: Path
) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    md_build([source], out)
    manifest = out / "minimal" / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    for entry in data["documents"]:
        del entry["stamps"]  # as an earlier qmsdocs wrote it
    manifest.write_text(json.dumps(data), encoding="utf-8")
    before = mtimes(out / "minimal")
    report = md_build([source], out)
    assert report.unchanged == len(planned_ids(source))
    after = mtimes(out / "minimal")
    assert {k: v for k, v in after.items() if k != "manifest.json"} == {
        k: v for k, v in before.items() if k != "manifest.json"
    }
    entries = json.loads(manifest.read_text(encoding="utf-8"))["documents"]
    assert all(set(e["stamps"]) == set(e["hashes"]) for e in entries)


def test_documents_leaving_the_set_are_removed_but_foreign_files_kept(
    profile_copy: ProfileCopy, tmp_path: Path
) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    layer = form_layer(tmp_path, {"FRM-90": "Visitor log", "FRM-91": "Key register"})
    md_build([source], out, templates=[layer])
    folder = out / "minimal"
    visitor = folder / "LMA-FRM-90 Visitor log.md"
    keys = folder / "LMA-FRM-91 Key register.md"
    assert visitor.is_file()
    assert keys.is_file()
    notes = folder / "my notes.txt"
    notes.write_text("mine\n", encoding="utf-8")
    keys.write_text("edited by hand\n", encoding="utf-8")
    shutil.rmtree(layer)
    report = md_build([source], out)
    result = report.profiles[0]
    assert not visitor.exists()
    assert result.removed == [visitor.name]
    assert keys.read_text(encoding="utf-8") == "edited by hand\n"
    assert any(keys.name in w and "changed after qmsdocs wrote it" in w for w in result.warnings)
    assert notes.read_text(encoding="utf-8") == "mine\n"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [e["id"] for e in manifest["documents"]] == planned_ids(source)
    assert "previous" not in manifest


def _recorded_hashes_match_the_disk(folder: Path) -> bool:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return all(
        file_hash(folder / name) == digest
        for entry in manifest["documents"]
        for name, digest in entry.get("hashes", {}).items()
    )


def test_manifest_never_vouches_for_a_file_being_replaced(
    profile_copy: ProfileCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    md_build([source], out)
    folder = out / "minimal"
    source.write_text(
        source.read_text(encoding="utf-8").replace(
            "steel and aluminium parts", "steel, brass and aluminium parts"
        ),
        encoding="utf-8",
    )
    import qmsdocs.batch.output as build_module

    real_write = build_module.atomic_write
    checked: list[str] = []

    def checking_write(path: Path, data: bytes, *, durable: bool = True) -> None:
        # at every write (the moment a kill could land), each hash the manifest records matches its file
        if path.name != "manifest.json":
            assert _recorded_hashes_match_the_disk(folder), f"manifest out of step before writing {path.name}"
            checked.append(path.name)
        real_write(path, data, durable=durable)

    monkeypatch.setattr(build_module, "atomic_write", checking_write)
    report = md_build([source], out)
    assert report.ok
    assert len(checked) >= 2  # the scope statement is in the manual and the scope document at least
    assert _recorded_hashes_match_the_disk(folder)


def test_files_an_interrupted_build_left_listed_as_previous_are_still_removed(
    profile_copy: ProfileCopy, tmp_path: Path
) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    layer = form_layer(tmp_path, {"FRM-90": "Visitor log"})
    md_build([source], out, templates=[layer])
    folder = out / "minimal"
    visitor = folder / "LMA-FRM-90 Visitor log.md"
    # the manifest as a build killed while rewriting FRM-90 leaves it: no entry, its file under "previous"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest["documents"] if e["id"] == "FRM-90")
    manifest["documents"].remove(entry)
    manifest["previous"] = entry["hashes"]
    manifest.pop("quick")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    shutil.rmtree(layer)
    result = md_build([source], out).profiles[0]
    assert result.removed == [visitor.name]
    assert not visitor.exists()


def test_manifest_naming_a_file_outside_the_folder_deletes_nothing_outside(
    profile_copy: ProfileCopy, tmp_path: Path
) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    md_build([source], out)
    folder = out / "minimal"
    outside = out / "keep.md"
    outside.write_text("not qmsdocs' file\n", encoding="utf-8")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["previous"] = {"../keep.md": file_hash(outside)}  # as if qmsdocs had written it
    manifest.pop("quick")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = md_build([source], out).profiles[0]
    assert result.ok, result.errors
    assert outside.read_text(encoding="utf-8") == "not qmsdocs' file\n"
    # the whole manifest is distrusted (not only that name): every document rebuilt, nothing removed
    assert result.warnings == [
        f"{folder / 'manifest.json'}: not used, because previous names '../keep.md', which is not in the "
        "folder; every document is rebuilt and no file of an earlier build is removed"
    ]


def test_unreadable_manifest_deletes_nothing(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    folder = out / "minimal"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    (folder / "LMA-FRM-90 Visitor log.md").write_text("someone's file\n", encoding="utf-8")
    assert md_build([source], out).ok
    assert (folder / "LMA-FRM-90 Visitor log.md").read_text(encoding="utf-8") == "someone's file\n"


def test_bad_profile_is_one_failure(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    good = profile_copy("minimal.yaml")
    bad = tmp_path / "broken.yaml"
    bad.write_text("schema_version: 1\norganisation: {name: X\nscope: [\n", encoding="utf-8")
    report = md_build([bad, good], tmp_path / "out")
    assert not report.ok
    assert [r.profile for r in report.failed] == [bad]
    assert f"{bad}:" in report.failed[0].errors[0]
    assert not (tmp_path / "out" / "broken").exists()
    assert report.profiles[1].ok
    assert len(list((tmp_path / "out" / "minimal").glob("*.md"))) == len(planned_ids(good))


def test_same_output_folder_twice_is_refused(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    first = profile_copy("minimal.yaml")
    other = tmp_path / "elsewhere" / "minimal.yaml"
    other.parent.mkdir()
    shutil.copy(first, other)
    report = md_build([first, other], tmp_path / "out")
    assert report.profiles[0].ok
    assert "already used by" in report.profiles[1].errors[0]


def test_no_temporary_files_are_left(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("brightwater.yaml")
    out = tmp_path / "out"
    (out / "brightwater").mkdir(parents=True)
    leftover = out / "brightwater" / ".BWI-POL-01 Quality policy.md.12345.tmp"
    leftover.write_text("half a file", encoding="utf-8")  # as a killed build leaves it
    md_build([source], out)
    md_build([source], out, force=True)
    assert [p.name for p in out.rglob("*") if p.name.endswith(".tmp")] == []


def test_lock_refuses_with_the_holders_pid(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    import os

    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    with OutputLock(out), pytest.raises(BuildError) as caught:
        md_build([source], out, lock_timeout=0.2)
    assert f"pid {os.getpid()}" in str(caught.value)
    assert "another qmsdocs build" in str(caught.value)
    assert not (out / "minimal").exists()


def test_lock_waits_for_the_other_build(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    source = profile_copy("minimal.yaml")
    out = tmp_path / "out"
    lock = OutputLock(out)
    lock.__enter__()
    waited: list[str] = []
    timer = threading.Timer(2.0, lock.__exit__, (None, None, None))
    timer.start()
    try:
        report = md_build(
            [source], out, lock_timeout=30, progress=lambda p: p.waiting_for and waited.append(p.waiting_for)
        )
    finally:
        timer.join()
    assert report.ok
    assert waited
    assert waited[0].startswith("pid ")


def test_package_level_build_is_the_function_on_every_call(profile_copy: ProfileCopy, tmp_path: Path) -> None:
    # A fresh interpreter: the lazy attribute must stay the function after the module behind it, and
    # the CLI (which imports that module), have been imported.
    code = (
        "import sys, qmsdocs, qmsdocs.cli\n"
        "from qmsdocs.batch.builder import BuildReport\n"
        "for attempt in range(2):\n"
        "    report = qmsdocs.build([sys.argv[1]], sys.argv[2], formats=['md'], jobs=1)\n"
        "    assert isinstance(report, qmsdocs.BuildReport) and report.ok, report\n"
        "print(report.written, report.unchanged)\n"
    )
    source = profile_copy("minimal.yaml")
    done = subprocess.run(
        [sys.executable, "-c", code, str(source), str(tmp_path / "out")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", str(len(planned_ids(source)))]


def test_serial_build_restores_the_callers_gc_thresholds(
    profile_copy: ProfileCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from qmsdocs.batch import workers

    seen: list[tuple[int, int, int]] = []
    real = workers.process_profile

    def spying(task):  # type: ignore[no-untyped-def]
        seen.append(gc.get_threshold())
        return real(task)

    monkeypatch.setattr(workers, "process_profile", spying)
    before = gc.get_threshold()
    assert md_build([profile_copy("minimal.yaml")], tmp_path / "out").ok
    assert seen == [workers.GC_THRESHOLD]  # rendering ran with the higher threshold ...
    assert gc.get_threshold() == before  # ... and the caller's is back
