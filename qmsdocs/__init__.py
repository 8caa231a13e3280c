"""qmsdocs: the controlled documents of an ISO 9001 quality management system, from one YAML profile.

The public API is imported lazily so that ``qmsdocs --help`` does not pay for pydantic, Jinja and
python-docx.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from qmsdocs._version import __version__

if TYPE_CHECKING:
    from qmsdocs.batch.builder import BuildReport, build
    from qmsdocs.errors import QmsDocsError
    from qmsdocs.library.layers import TemplateLibrary
    from qmsdocs.profile.models import load_profile

_API = {
    "BuildReport": "qmsdocs.batch.builder",
    "build": "qmsdocs.batch.builder",
    "QmsDocsError": "qmsdocs.errors",
    "TemplateLibrary": "qmsdocs.library.layers",
    "load_profile": "qmsdocs.profile.models",
}

__all__ = ["BuildReport", "QmsDocsError", "TemplateLibrary", "__version__", "build", "load_profile"]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'qmsdocs' has no attribute {name!r}")
