"""A consultant's workspace on disk: ``qmsdocs init`` and ``qmsdocs templates eject``."""

from __future__ import annotations

import shutil
from pathlib import Path

from qmsdocs.config import CONFIG_NAME
from qmsdocs.errors import TemplateError, WorkspaceError
from qmsdocs.library import TemplateLibrary, front_matter_block

SCHEMA_NAME = "qmsdocs.schema.json"


def eject_text(library: TemplateLibrary, relative: str, *, extends: bool) -> str:
    """The text to write for ejecting the built-in template at *relative*.

    A copy of the built-in source, or (``extends``) a skeleton that extends it and lists every block,
    inherited layout blocks included, as ``{{ super() }}`` so that it renders as the built-in does until
    a block is edited. The front matter is kept: without an ``id`` the file would stop being a document.
    """
    source = (library.builtin / relative).read_text(encoding="utf-8")
    if not extends:
        return source
    front = front_matter_block(source)
    lines = [
        front + f'{{% extends "builtin/{relative}" %}}',
        "{#- Each block below shows the built-in section ({{ super() }}). Replace a block's content to",
        "    change that section, and delete the blocks you keep as they are. -#}",
    ]
    for name in library.blocks(f"builtin/{relative}"):
        lines.append(f"{{% block {name} %}}{{{{ super() }}}}{{% endblock %}}")
    return "\n".join(lines) + "\n"


def eject(name: str, to: Path, *, extends: bool = False, force: bool = False) -> Path:
    """Write the built-in template *name* (document id or path) into the folder *to*; return the file."""
    library = TemplateLibrary()
    layer, relative, _ = library.find(name)
    if layer != "builtin":  # pragma: no cover - a library without layers has only built-in templates
        raise TemplateError(name, None, "only built-in templates can be ejected")
    target = to / relative
    if target.exists() and not force:
        raise WorkspaceError(f"{target}: the file exists; use --force to overwrite it")
    text = eject_text(library, relative, extends=extends)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


CONFIG_TEXT = """\
# qmsdocs workspace configuration. Paths are relative to this file; command-line options win.
# Run from this folder:  qmsdocs build profiles/*.yaml   and   qmsdocs check profiles/*.yaml

# Template folders layered above the built-in templates, highest first. A client's own folder
# (the profile's `templates:` field) is layered above all of these.
templates = ["templates"]

# Where `qmsdocs build` writes; each profile gets a sub-folder.
output = "output"

# Formats to write (default: each profile's output.formats).
# formats = ["docx", "md"]

# House-style Word document for DOCX output (default: the profile's branding).
# reference_docx = "house-style.docx"
"""

TEMPLATES_README = """\
# House templates

Templates here replace or extend the built-in qmsdocs templates. A file at the same path as a
built-in template (see `qmsdocs templates list`) replaces it; a new file with front matter (`id`,
`title`, `category`, `clauses`) adds a document to every client's set.

- `procedures/internal-audit.md.j2` is an example: it extends the built-in procedure and replaces
  only its `purpose` section. Delete it if you do not want it.
- `qmsdocs templates eject QP-01 --extends` writes a skeleton for another document.
- `qmsdocs check profiles/*.yaml` finds mistakes in these templates, with file and line.

The guide: docs/customising.md in the qmsdocs sources.
"""

OVERRIDE_TEXT = """\
---
id: QP-12
title: Internal audit
category: procedure
clauses: ["9.2"]
owner: internal_audit_lead
---
{% extends "builtin/procedures/internal-audit.md.j2" %}
{#- Only the purpose is replaced; every other section comes from the built-in procedure. #}
{% block purpose %}
Internal audits give {{ org.name }} an independent view of whether its quality management system works
as planned and meets {{ profile.scope.standard }} (clause 9.2). This procedure explains how audits are
planned, carried out, reported and followed up, and how their results reach top management.
{% endblock %}
"""


def init_workspace(directory: Path, profiles: Path, *, force: bool = False) -> list[Path]:
    """Create a consultant workspace in *directory* from the bundled example *profiles*; return the files.

    Refuses a folder that holds anything unless *force* (then only qmsdocs' own files are overwritten).
    """
    from qmsdocs.schema import schema_text

    if directory.exists() and not directory.is_dir():
        raise WorkspaceError(f"{directory}: exists and is not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise WorkspaceError(f"{directory}: the folder is not empty; use --force to write into it anyway")
    files: dict[Path, str] = {
        directory / CONFIG_NAME: CONFIG_TEXT,
        directory / SCHEMA_NAME: schema_text(),
        directory / "templates" / "README.md": TEMPLATES_README,
        directory / "templates" / "procedures" / "internal-audit.md.j2": OVERRIDE_TEXT,
    }
    for profile in sorted(profiles.glob("*.yaml")):
        # The comment lets the YAML language server (VS Code, ...) check the profile as it is typed.
        files[directory / "profiles" / profile.name] = (
            f"# yaml-language-server: $schema=../{SCHEMA_NAME}\n" + profile.read_text(encoding="utf-8")
        )
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    written = list(files)
    assets = profiles / "assets"
    if assets.is_dir():
        shutil.copytree(assets, directory / "profiles" / "assets", dirs_exist_ok=True)
        written.extend(sorted(p for p in (directory / "profiles" / "assets").rglob("*") if p.is_file()))
    return written
