"""`labctl init`: writes a starter ix.yml (regional or minimal), never overwrites without --force."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from typer.testing import CliRunner

from labctl.cli import app
from labctl.model.load import load

REPO = Path(__file__).resolve().parents[2]
MODELINE = "# yaml-language-server: $schema=ix.schema.json\n"
runner = CliRunner()


def test_init_writes_the_regional_example(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    target = tmp_path / "ix.yml"
    assert target.read_text() == MODELINE + (REPO / "topologies" / "regional-ix.yml").read_text()
    assert f"wrote {target} (regional example) and {tmp_path / 'ix.schema.json'}" in result.stdout
    assert f"next: labctl validate -f {target}" in result.stdout
    model = load(target)
    assert (len(model.sites), len(model.route_servers), len(model.members)) == (3, 2, 8)


def test_init_minimal(tmp_path):
    result = runner.invoke(app, ["init", "--minimal", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ix.yml").read_text() == MODELINE + (REPO / "topologies" / "minimal.yml").read_text()
    assert "(minimal example)" in result.stdout
    assert len(load(tmp_path / "ix.yml").members) == 2


def test_init_defaults_to_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert (tmp_path / "ix.yml").is_file()


def test_init_creates_a_missing_folder(tmp_path):
    target = tmp_path / "a" / "b"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    assert (target / "ix.yml").is_file()


def test_init_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "ix.yml"
    target.write_text("# my own IX, do not lose\n")
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{target} already exists" in result.stderr and "--force" in result.stderr
    assert target.read_text() == "# my own IX, do not lose\n"
    result = runner.invoke(app, ["init", "--minimal", str(tmp_path)])
    assert result.exit_code == 1 and target.read_text() == "# my own IX, do not lose\n"


def test_init_force_overwrites(tmp_path):
    target = tmp_path / "ix.yml"
    target.write_text("# old\n")
    result = runner.invoke(app, ["init", "--force", "--minimal", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert target.read_text() == MODELINE + (REPO / "topologies" / "minimal.yml").read_text()


def test_init_then_validate_then_generate(tmp_path):
    """The Quick-start path on the CLI: what init writes validates and generates."""
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    result = runner.invoke(app, ["validate", "-f", str(tmp_path / "ix.yml")])
    assert result.exit_code == 0 and "3 sites, 2 route servers, 8 members" in result.stdout
    result = runner.invoke(app, ["generate", "-f", str(tmp_path / "ix.yml"), "-o", str(tmp_path / "lab"), "--image", "img:1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lab" / "kibi-ix.clab.yml").is_file()
    assert (tmp_path / "lab" / "configs" / "rs1" / "bird.conf").is_file()
    assert (tmp_path / "lab" / "configs" / "rs2" / "frr.conf").is_file()
    assert (tmp_path / "lab" / "configs" / "sw-okayama" / "network.sh").is_file()


def test_init_json_and_the_schema_next_to_ix_yml(tmp_path):
    result = runner.invoke(app, ["init", "--json", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == {"file": str(tmp_path / "ix.yml"), "schema": str(tmp_path / "ix.schema.json"), "example": "regional"}
    # the modeline names the schema relative to ix.yml: it resolves wherever the folder is moved
    first = (tmp_path / "ix.yml").read_text().splitlines()[0]
    ref = first.split("$schema=", 1)[1]
    schema = json.loads((tmp_path / ref).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load((tmp_path / "ix.yml").read_text()), schema)
