"""One document through the pipeline, in memory: render the template, parse the Markdown once, write it
with each writer asked for.

Everything else in a build (which documents are out of date, worker processes, safe writes, the
manifest) is bookkeeping around this one function.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qmsdocs.config import RenderLimits
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import DocumentSpec, Plan
from qmsdocs.library.render import render
from qmsdocs.markdown.nodes import Node
from qmsdocs.markdown.tree import parse
from qmsdocs.profile.models import Profile
from qmsdocs.writers.markdown import write_markdown
from qmsdocs.writers.meta import image_path, is_remote

if TYPE_CHECKING:
    from qmsdocs.writers.docx import PreparedReference


@dataclass(frozen=True)
class Written:
    """A document's files, not yet on disk."""

    files: dict[str, str]  # format ("md", "docx") -> file name
    blobs: dict[str, bytes]  # path relative to the profile's folder -> content (documents and charts)
    images: list[Path]  # local image files the document embeds: inputs of the document


def run(
    spec: DocumentSpec,
    profile: Profile,
    plan: Plan,
    library: TemplateLibrary,
    *,
    markdown: bool,
    reference: PreparedReference | None,
    limits: RenderLimits | None = None,
) -> Written:
    """Render *spec* and write it as Markdown (when *markdown*) and DOCX (when a *reference* is given)."""
    rendered = render(spec, profile, plan, library, limits)
    tree = parse(rendered.text)  # once, for both writers and the image scan
    meta = spec.meta
    files: dict[str, str] = {}
    blobs = dict(rendered.images)
    if markdown:
        files["md"] = f"{meta.file_stem}.md"
        blobs[files["md"]] = write_markdown(rendered.text, meta, tree, rendered.images).encode("utf-8")
    if reference is not None:
        from qmsdocs.writers.docx import write_docx  # DOCX only when asked for

        files["docx"] = f"{meta.file_stem}.docx"
        blobs[files["docx"]] = write_docx(tree, meta, reference, rendered.images)
    images = [p for p in (meta.logo,) if p is not None]
    if "![" in rendered.text:  # no image syntax, no image: skip walking every node of the tree
        images += local_images(tree, meta.base_dir)
    return Written(files, blobs, images)


def local_images(tree: Node, base: Path | None) -> list[Path]:
    """Local image files the parsed body links to.

    The writers have already refused every link that is not a regular file inside the profile's folder
    or the template's layer (``DocumentMeta.local_image``); the path is found the same way here.
    """
    found = []
    for node in tree.walk():
        src = str(node.attrs.get("src", "")) if node.type == "image" else ""
        if src and not is_remote(src):
            path = image_path(src, base)
            if path.is_file():
                found.append(path)
    return found
