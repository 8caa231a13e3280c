"""The profile's JSON Schema: complete descriptions, accepts the bundled examples, rejects broken ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from qmsdocs.cli import main
from qmsdocs.profile.schema import DIALECT, profile_schema, undescribed


def _as_json(path: Path) -> Any:
    """The YAML profile as JSON would hold it (dates become strings)."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


def test_schema_is_valid_and_titled() -> None:
    schema = profile_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DIALECT
    assert schema["title"] == "qmsdocs organisation profile"
    assert set(schema["required"]) >= {"schema_version", "organisation", "scope", "people", "roles"}


def test_every_model_and_field_is_described() -> None:
    assert undescribed(profile_schema()) == []


@pytest.mark.parametrize("name", ["brightwater.yaml", "minimal.yaml"])
def test_bundled_examples_validate(profiles_dir: Path, name: str) -> None:
    errors = list(Draft202012Validator(profile_schema()).iter_errors(_as_json(profiles_dir / name)))
    assert [error.message for error in errors] == []


def test_broken_profile_is_rejected(profiles_dir: Path) -> None:
    data = _as_json(profiles_dir / "brightwater.yaml")
    data["organisation"]["nmae"] = data["organisation"].pop("name")
    data["risks"][0]["likelihood"] = 9
    data["output"] = {"formats": ["pdf"]}
    errors = {
        (tuple(e.absolute_path), e.validator)
        for e in Draft202012Validator(profile_schema()).iter_errors(data)
    }
    assert (("organisation",), "required") in errors
    assert (("organisation",), "additionalProperties") in errors
    assert (("risks", 0, "likelihood"), "maximum") in errors
    assert (("output", "formats", 0), "enum") in errors


def test_schema_command_prints_and_writes(runner, tmp_path: Path) -> None:
    printed = runner.invoke(main, ["schema"])
    assert printed.exit_code == 0
    assert json.loads(printed.stdout) == profile_schema()
    written = runner.invoke(main, ["schema", "-o", str(tmp_path / "qmsdocs.schema.json")])
    assert written.exit_code == 0
    assert json.loads((tmp_path / "qmsdocs.schema.json").read_text(encoding="utf-8")) == profile_schema()
