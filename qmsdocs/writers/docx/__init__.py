"""The DOCX writer: Markdown syntax trees to Word documents styled by a reference .docx.

Importing this package is cheap (no python-docx, no XML parser); the first :func:`prepare_reference`
call per reference document does the expensive work once per process.
"""

from qmsdocs.writers.docx.package import write_docx
from qmsdocs.writers.docx.prepared import PreparedReference
from qmsdocs.writers.docx.reference import prepare_reference

__all__ = ["PreparedReference", "prepare_reference", "write_docx"]
