"""A consultant's workspace on disk: ``qmsdocs init`` and ``qmsdocs templates eject``.

Both write below a folder the user names, whose contents may hold symbolic links (a shared template
folder, an old workspace): every folder below it must be a real one and every file is written by
:func:`qmsdocs.paths.atomic_write`, which replaces a link at the file's name instead of following it.
"""

from __future__ import annotations

from pathlib import Path, PurePath

from qmsdocs.config import CONFIG_NAME
from qmsdocs.errors import TemplateError, WorkspaceError
from qmsdocs.library.layers import TemplateLibrary, front_matter_block
from qmsdocs.paths import atomic_write, folder_below

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


def _target(base: Path, relative: str) -> Path:
    """The file *relative* below *base*, its folders created: real folders, never through a link."""
    try:
        base.mkdir(parents=True, exist_ok=True)  # the folder the user named (may itself be a link)
        return folder_below(base, PurePath(relative).parent) / PurePath(relative).name
    except FileExistsError:
        raise WorkspaceError(f"{base}: exists and is not a folder") from None
    except OSError as error:
        raise WorkspaceError(
            f"{error.filename or base}: cannot create the folder: {error.strerror}"
        ) from None


def _write(path: Path, data: bytes) -> None:
    if path.is_dir() and not path.is_symlink():
        raise WorkspaceError(f"{path}: is a folder, where qmsdocs would write a file")
    try:
        atomic_write(path, data)
    except OSError as error:
        raise WorkspaceError(f"{error.filename or path}: cannot write: {error.strerror}") from None


def eject(name: str, to: Path, *, extends: bool = False, force: bool = False) -> Path:
    """Write the built-in template *name* (document id or path) into the folder *to*; return the file.

    Refuses a file (or a symbolic link) already at the target unless *force*; a link is then replaced by
    the template, and what it points to is left alone.
    """
    library = TemplateLibrary()
    layer, relative, _ = library.find(name)
    if layer != "builtin":  # pragma: no cover - a library without layers has only built-in templates
        raise TemplateError(name, None, "only built-in templates can be ejected")
    text = eject_text(library, relative, extends=extends)
    target = _target(to, relative)
    if target.is_symlink() and not force:
        raise WorkspaceError(
            f"{target}: is a symbolic link; use --force to replace the link with the template "
            "(what it points to is left alone)"
        )
    if target.exists() and not force:
        raise WorkspaceError(f"{target}: the file exists; use --force to overwrite it")
    _write(target, text.encode("utf-8"))
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
    from qmsdocs.profile.schema import schema_text

    if directory.exists() and not directory.is_dir():
        raise WorkspaceError(f"{directory}: exists and is not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise WorkspaceError(f"{directory}: the folder is not empty; use --force to write into it anyway")
    files: dict[str, str] = {
        CONFIG_NAME: CONFIG_TEXT,
        SCHEMA_NAME: schema_text(),
        "templates/README.md": TEMPLATES_README,
        "templates/procedures/internal-audit.md.j2": OVERRIDE_TEXT,
    }
    for profile in sorted(profiles.glob("*.yaml")):
        # The comment lets the YAML language server (VS Code, ...) check the profile as it is typed.
        files[f"profiles/{profile.name}"] = (
            f"# yaml-language-server: $schema=../{SCHEMA_NAME}\n" + profile.read_text(encoding="utf-8")
        )
    contents = {relative: text.encode("utf-8") for relative, text in files.items()}
    assets = profiles / "assets"
    if assets.is_dir():  # the bundled examples' logos
        for file in sorted(p for p in assets.rglob("*") if p.is_file()):
            contents[f"profiles/assets/{file.relative_to(assets).as_posix()}"] = file.read_bytes()
    written = []
    for relative, data in contents.items():
        path = _target(directory, relative)
        _write(path, data)
        written.append(path)
    return written
