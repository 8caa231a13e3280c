"""The last check of a consultant's reference document: a small document written with it must open in
python-docx (an independent reader), or the reference is refused before any client document is written."""

from __future__ import annotations

import io
from pathlib import Path

from qmsdocs.errors import ReferenceDocError
from qmsdocs.writers.docx.package import write_docx
from qmsdocs.writers.docx.prepared import PreparedReference
from qmsdocs.writers.meta import DocumentMeta, Signatory


def check_opens(path: Path, prepared: PreparedReference) -> None:
    """Write a small document with every kind of block from *prepared* and open it with python-docx:
    the last word on whether the documents written with this reference can be opened."""
    import docx  # python-docx: only for consultants' files, once per file and process

    from qmsdocs.markdown.tree import parse  # markdown-it: not at import (`qmsdocs --help` stays instant)

    data = write_docx(parse(_PROBE), _probe_meta(), prepared)
    prepared.inline_runs.clear()
    try:
        document = docx.Document(io.BytesIO(data))
        _ = [paragraph.style for paragraph in document.paragraphs]
        _ = document.part.numbering_part.element
        _ = document.sections[0].page_width
    except Exception as error:  # python-docx raises many kinds: any of them means Word would object too
        raise ReferenceDocError(
            path, f"the documents written with it cannot be opened ({type(error).__name__}: {error})"
        ) from None


_PROBE = """# Probe

Text with `code`, **bold** and a [link](#probe).

- bullet
  - nested

1. number

| a | b |
| --- | --- |
| 1 | 2 |

> note

```
code
```
"""


def _probe_meta() -> DocumentMeta:
    from datetime import date

    who = Signatory("Probe", "")
    day = date(2000, 1, 1)
    return DocumentMeta(
        id="probe", number="P-1", title="Probe", category="procedure", clauses=(), revision="1",
        effective_date=day, next_review=day, classification="Internal", organisation="Probe",
        short_name="Probe", owner=who, prepared_by=who, reviewed_by=who, approved_by=who, revisions=(),
        template="(reference document check)",
    )  # fmt: skip
