"""The JSON Schema of the profile, generated from the pydantic models (so it never drifts from them).

Editors with a YAML language server use it for completion, hover help and checking as you type:
``# yaml-language-server: $schema=./qmsdocs.schema.json`` at the top of a profile.
"""

from __future__ import annotations

import json
from typing import Any

from qmsdocs._version import __version__
from qmsdocs.profile.models import Profile

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def profile_schema() -> dict[str, Any]:
    """The profile's JSON Schema (draft 2020-12), with a title and a description on every field."""
    generated = Profile.model_json_schema(mode="validation")
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "title": "qmsdocs organisation profile",
        "description": (
            f"{generated.pop('description', '')} (qmsdocs {__version__}, profile format 1)".strip()
        ),
    }
    generated.pop("title", None)
    schema.update(generated)
    return schema


def schema_text() -> str:
    """The schema as JSON text, as ``qmsdocs schema`` prints it."""
    return json.dumps(profile_schema(), indent=2, ensure_ascii=False) + "\n"


def undescribed(schema: dict[str, Any]) -> list[str]:
    """JSON pointers of models and properties without a description (the test keeps this empty)."""
    missing: list[str] = []
    for name, model in schema.get("$defs", {}).items():
        if "description" not in model:
            missing.append(f"#/$defs/{name}")
        for prop, spec in model.get("properties", {}).items():
            if "description" not in spec:
                missing.append(f"#/$defs/{name}/properties/{prop}")
    for prop, spec in schema.get("properties", {}).items():
        if "description" not in spec:
            missing.append(f"#/properties/{prop}")
    return missing
