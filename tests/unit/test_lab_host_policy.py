"""The `lab_host` fixture's policy (tests/conftest.py): fail in CI, skip elsewhere, hand out the
image tag on a ready host. Checked by running pytest on a copy of the conftest with a faked
doctor report, so no Docker is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

TEST_FILE = """
import pytest
from labctl.runtime.host import Check, DoctorReport

@pytest.fixture(scope="session")
def lab_host_report():
    return DoctorReport([Check("docker", {ready}, "fake docker", "run `labctl host setup`"),
                         Check("netem", False, "optional", required=False)])

def test_needs_a_lab(lab_host):
    assert lab_host.startswith("labctl/node-trixie:")
    print("IMAGE=" + lab_host)
"""


def run(tmp_path: Path, ready: bool, ci: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_policy.py").write_text(TEST_FILE.replace("{ready}", str(ready)))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-s", "--rootdir", str(tmp_path),
                           "-c", os.devnull, str(tmp_path)], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)


def test_not_ready_in_ci_fails(tmp_path):
    proc = run(tmp_path, ready=False, ci="true")
    assert proc.returncode == 1, proc.stdout
    assert "1 error" in proc.stdout
    assert "host not lab-ready: docker (fake docker)" in proc.stdout and "labctl host setup" in proc.stdout
    assert "netem" not in proc.stdout.split("short test summary")[-1]  # optional checks are not blamed


@pytest.mark.parametrize("ci", [None, "false"])
def test_not_ready_outside_ci_skips_with_the_fix(tmp_path, ci):
    proc = run(tmp_path, ready=False, ci=ci)
    assert proc.returncode == 0, proc.stdout
    assert "1 skipped" in proc.stdout
    assert "run `labctl host setup` to enable integration tests" in proc.stdout


def test_ready_host_gives_the_image_tag(tmp_path):
    from labctl.runtime.images import node_image_tag

    proc = run(tmp_path, ready=True, ci="true")
    assert proc.returncode == 0, proc.stdout
    assert "1 passed" in proc.stdout
    assert f"IMAGE={node_image_tag()}" in proc.stdout
