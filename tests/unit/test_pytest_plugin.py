"""labctl's pytest plugin without a lab: registration, where ix_lab's ix.yml comes from, clear
failures, and an import that costs the project's own test collection nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import pytest

def test_marker_default(labctl_ix_file):
    print("IX=" + str(labctl_ix_file))

@pytest.mark.labctl_ix("sub/by-marker.yml")
def test_marker(labctl_ix_file):
    print("IX=" + str(labctl_ix_file))
"""


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *args], cwd=folder,
                          capture_output=True, text=True, timeout=120)


def ix_paths(output: str) -> list[str]:
    return [line.split("IX=", 1)[1].strip() for line in output.splitlines() if "IX=" in line]


def test_plugin_is_registered_through_its_entry_point():
    from importlib.metadata import entry_points

    assert [e.value for e in entry_points(group="pytest11") if e.name == "labctl"] == ["labctl.pytest_plugin"]
    help_text = subprocess.run([sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True).stdout
    assert "--labctl-ix=PATH" in help_text and "--labctl-keep" in help_text and "labctl_ix (string)" in help_text


def test_ix_file_from_marker_option_and_ini(tmp_path):
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nlabctl_ix = from-ini.yml\n")
    run = pytest_in(tmp_path)
    assert run.returncode == 0, run.stdout
    assert ix_paths(run.stdout) == [str(tmp_path / "from-ini.yml"), str(tmp_path / "sub" / "by-marker.yml")]
    run = pytest_in(tmp_path, "--labctl-ix", "/elsewhere/ix.yml")  # the option wins over the ini file
    assert ix_paths(run.stdout)[0] == "/elsewhere/ix.yml"


def test_missing_configuration_and_missing_file_fail_with_the_fix(tmp_path):
    (tmp_path / "test_lab.py").write_text("def test_lab(ix_lab):\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    run = pytest_in(tmp_path)
    assert run.returncode == 1
    assert "ix_lab needs an ix.yml: mark the test with @pytest.mark.labctl_ix('ix.yml')" in run.stdout
    assert "Traceback" not in run.stdout
    run = pytest_in(tmp_path, "--labctl-ix", "nothere.yml")
    assert run.returncode == 1 and "nothere.yml does not exist" in run.stdout


def test_import_loads_nothing_of_labctl_or_its_heavy_dependencies():
    code = ("import sys, labctl.pytest_plugin\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('docker', 'nornir', 'paramiko', 'pydantic', 'typer', 'jinja2', 'yaml') "
            "or (m.startswith('labctl.') and m != 'labctl.pytest_plugin'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == ""
