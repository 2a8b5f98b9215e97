"""`labctl schema`: the JSON schema of ix.yml, which editors use through the modeline `labctl init` writes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from labctl.cli import app

REPO = Path(__file__).resolve().parents[2]
TOPOLOGIES = sorted((REPO / "topologies").glob("*.yml"))
runner = CliRunner()


@pytest.fixture(scope="module")
def schema() -> dict:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(data)
    return data


def test_schema_has_titles_and_descriptions(schema):
    assert schema["title"] == "labctl IX definition (ix.yml)" and schema["description"]
    assert set(schema["required"]) >= {"ix", "sites"} and "members" in schema["properties"]
    undescribed = [(where, key) for where, node in [("ix.yml", schema), *schema["$defs"].items()]
                   for key, prop in node.get("properties", {}).items()
                   if not prop.get("description")]
    assert undescribed == []  # an editor's hover explains every key


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=lambda p: p.name)
def test_every_bundled_topology_validates(schema, topology):
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(topology.read_text()))


def test_the_schema_rejects_what_labctl_rejects(schema):
    data = yaml.safe_load((REPO / "topologies" / "minimal.yml").read_text())
    data["members"][0]["asnn"] = 64500  # a typo: unknown key
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
    assert any("asnn" in e.message for e in errors)


def test_schema_to_a_file(tmp_path):
    target = tmp_path / "ix.schema.json"
    result = runner.invoke(app, ["schema", "-o", str(target)])
    assert result.exit_code == 0 and f"wrote {target}" in result.stderr
    assert json.loads(target.read_text())["title"] == "labctl IX definition (ix.yml)"
