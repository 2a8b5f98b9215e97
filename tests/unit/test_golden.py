"""Golden files: rendering each bundled example must reproduce configs/<example>/ byte for byte.

configs/ is what `labctl generate topologies/<x>.yml -o configs/<x> --image labctl/node:IMAGE`
writes. After an intended change to the model, plan or templates, rewrite it with

    LABCTL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_golden.py

and review the diff (`git diff configs/`) before committing it.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.render import write_lab

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = {p.stem: p for p in sorted((REPO / "topologies").glob("*.yml"))}
GOLDEN = REPO / "configs"
GOLDEN_IMAGE = "labctl/node:IMAGE"  # must match the generate command in configs/README.md
UPDATE = os.environ.get("LABCTL_UPDATE_GOLDEN") == "1"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def expected_bytes(files: dict[str, str]) -> dict[str, bytes]:
    return {rel: text.encode() for rel, text in files.items()}


def diff_report(want: dict[str, bytes], got: dict[str, bytes], where: str) -> str:
    lines = []
    for rel in sorted(set(want) - set(got)):
        lines.append(f"missing from {where}: {rel}")
    for rel in sorted(set(got) - set(want)):
        lines.append(f"extra in {where} (not rendered any more): {rel}")
    for rel in sorted(set(want) & set(got)):
        if want[rel] != got[rel]:
            lines += difflib.unified_diff(got[rel].decode(errors="replace").splitlines(),
                                          want[rel].decode(errors="replace").splitlines(),
                                          f"golden/{rel}", f"rendered/{rel}", lineterm="", n=2)
    return "\n".join(lines)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rendering_matches_golden_files(name, render, golden_image):
    assert golden_image == GOLDEN_IMAGE
    folder = GOLDEN / name
    rendered = render(EXAMPLES[name], GOLDEN_IMAGE)
    if UPDATE:
        shutil.rmtree(folder, ignore_errors=True)
        write_lab(rendered, folder)
    assert folder.is_dir(), f"{folder} missing: run with LABCTL_UPDATE_GOLDEN=1 to create it"
    want, got = expected_bytes(rendered), tree(folder)
    assert want == got, (f"rendering {name} differs from {folder.relative_to(REPO)}/ "
                         "(intended? rerun with LABCTL_UPDATE_GOLDEN=1 and review git diff):\n"
                         + diff_report(want, got, f"configs/{name}"))


def test_every_golden_folder_has_an_example():
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) == sorted(EXAMPLES)


def test_golden_files_contain_the_placeholder_image_only():
    for name in EXAMPLES:
        [topology] = (GOLDEN / name).glob("*.clab.yml")
        text = topology.read_text()
        assert f"image: {GOLDEN_IMAGE}\n" in text
        assert text.count("image:") == 1


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rendering_is_deterministic(name, render):
    """Two independent loads and renders give identical output, in the same order."""
    first = render(EXAMPLES[name])
    second = render(EXAMPLES[name])
    assert list(first) == list(second)
    assert first == second


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_cli_generate_writes_the_golden_files(tmp_path, name):
    result = CliRunner().invoke(app, ["generate", str(EXAMPLES[name]), "-o", str(tmp_path / name), "--image", GOLDEN_IMAGE])
    assert result.exit_code == 0, result.output
    got = tree(tmp_path / name)
    assert got == tree(GOLDEN / name), diff_report(tree(GOLDEN / name), got, str(tmp_path / name))
    assert f"wrote {len(got)} files for " in result.stdout
    assert not list((tmp_path / name).rglob("*.tmp")), "temporary files left behind"


def test_cli_generate_is_idempotent_and_defaults(tmp_path, monkeypatch):
    """Default output folder is ./<ix name>; default image is the current node image tag; rerunning
    over existing output changes nothing."""
    from labctl.runtime.images import node_image_tag

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["generate", str(EXAMPLES["minimal"])]).exit_code == 0
    out = tmp_path / "mini-ix"
    first = tree(out)
    assert set(first) == set(tree(GOLDEN / "minimal"))
    assert f"image: {node_image_tag()}\n".encode() in first["mini-ix.clab.yml"]
    assert node_image_tag().startswith("labctl/node-trixie:") and node_image_tag() != GOLDEN_IMAGE
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert runner.invoke(app, ["generate", str(EXAMPLES["minimal"])]).exit_code == 0
    assert tree(out) == first
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == mtimes  # unchanged files are not rewritten


def test_cli_generate_invalid_model_writes_nothing(tmp_path):
    bad = tmp_path / "ix.yml"
    bad.write_text(EXAMPLES["minimal"].read_text().replace("site: lab, daemon: frr", "site: nowhere, daemon: frr"))
    result = CliRunner().invoke(app, ["generate", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "unknown site 'nowhere'" in result.stderr and "1 problem(s)" in result.stderr
    assert not (tmp_path / "out").exists()
