"""docs/profile.md is generated from the models: it must say what the code does."""

from __future__ import annotations

from pathlib import Path

from qmsdocs.profile.models import Profile
from qmsdocs.profile.reference import profile_reference

DOC = Path(__file__).resolve().parent.parent / "docs" / "profile.md"


def test_docs_profile_md_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == profile_reference(), (
        "docs/profile.md is out of date: run python -m qmsdocs.profile.reference > docs/profile.md"
    )


def test_reference_lists_every_field_with_its_default() -> None:
    text = profile_reference()
    assert "| `review_interval_months` | integer | `12` | Months between reviews. |" in text
    assert "| `commitments` | list of text | `Meet the requirements" in text
    for name in Profile.model_fields:
        assert f"| `{name}` |" in text
