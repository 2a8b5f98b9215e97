"""The GitHub workflow users copy (.github/workflows/*.yml): valid for GitHub (actionlint), installs
labctl from labctl's repository at a pinned release, and every labctl command it runs parses."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml

from labctl import __version__
from labctl.cli import app
from tests.conftest import in_ci

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
ACTIONLINT_VERSION = "1.7.7"
FIX = "run `bash scripts/bootstrap.sh` (installs actionlint into .venv/bin with `go install`)"


def _actionlint() -> str | None:
    beside_python = Path(sys.executable).parent / "actionlint"
    return str(beside_python) if beside_python.exists() else shutil.which("actionlint")


def test_there_is_a_workflow():
    assert [p.name for p in WORKFLOWS] == ["labctl.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_accepts_the_workflow(workflow):
    exe = _actionlint()
    if exe is None:
        if in_ci():
            pytest.fail(f"actionlint {ACTIONLINT_VERSION} is not installed; CI=true, so it must be: {FIX}",
                        pytrace=False)
        pytest.skip(f"actionlint not installed; {FIX}")
    version = subprocess.run([exe, "-version"], capture_output=True, text=True).stdout.split()[0]
    assert version == f"v{ACTIONLINT_VERSION}", f"{exe} is actionlint {version}; {FIX}"
    proc = subprocess.run([exe, "-no-color", str(workflow)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_what_github_rejects(tmp_path):
    """The check can fail: the old workflow's `hashFiles` in a job-level `if` is reported."""
    exe = _actionlint()
    if exe is None:
        pytest.skip(f"actionlint not installed; {FIX}")  # the test above already fails under CI=true
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-24.04\n"
                   "    if: ${{ hashFiles('x') != '' }}\n    steps:\n      - run: 'true'\n")
    proc = subprocess.run([exe, "-no-color", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1 and 'calling function "hashFiles" is not allowed here' in proc.stdout


def _workflow() -> dict:
    return yaml.safe_load((REPO / ".github" / "workflows" / "labctl.yml").read_text())


def test_labctl_comes_from_its_own_repository_at_the_current_release():
    data = _workflow()
    env = data["env"]
    assert env["LABCTL_REPO"].startswith("https://") and env["LABCTL_VERSION"] == f"v{__version__}"
    text = (REPO / ".github" / "workflows" / "labctl.yml").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "github.repository" not in code  # that is the user's repository, not labctl's
    install = [s["run"] for job in data["jobs"].values() for s in job["steps"] if "pip install" in s.get("run", "")
               and "labctl" in s.get("run", "")]
    assert install and all("${LABCTL_REPO}@${LABCTL_VERSION}" in run for run in install)
    assert {job["runs-on"] for job in data["jobs"].values()} == {"ubuntu-24.04"}


def test_results_reach_the_job_summary_and_an_artifact():
    steps = [s for job in _workflow()["jobs"].values() for s in job["steps"]]
    summary = [s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    assert summary and summary[0]["if"] == "always()" and "labctl report summary junit.xml" in summary[0]["run"]
    upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload and upload[0]["if"] == "always()" and "junit.xml" in upload[0]["with"]["path"]


def _labctl_commands() -> list[list[str]]:
    env = {k: str(v) for k, v in _workflow()["env"].items()}
    commands = []
    for job in _workflow()["jobs"].values():
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                line = line.replace('"$(command -v labctl)"', "labctl")
                match = re.search(r"(?:^|\s)labctl (.*?)(?:>>|\|\||$)", line)
                if match:
                    words = shlex.split(re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)),
                                               match.group(1)))
                    commands.append(words)
    return commands


def test_every_labctl_command_in_the_workflow_parses():
    commands = _labctl_commands()
    assert {c[0] for c in commands} >= {"host", "validate", "up", "test", "report", "down"}, commands
    root = typer.main.get_command(app)
    for words in commands:
        if words == ["--version"]:
            continue
        cmd, args = root, list(words)
        while hasattr(cmd, "commands"):  # a group: descend to the subcommand
            cmd = cmd.commands.get(args.pop(0))
            assert cmd is not None, words
        cmd.make_context("labctl", args)  # raises a UsageError on an unknown option or a missing value


def test_the_clabernetes_job_brings_the_ix_up_on_kind_and_always_tears_it_down():
    """The job users run on Kubernetes (it cannot run here: no cluster on the development machine):
    kind, clabernetes by Helm at a pinned version, images through a registry the nodes pull from,
    then up --target clabernetes, status, one scenario and down."""
    job = _workflow()["jobs"]["clabernetes"]
    runs = [s.get("run", "") for s in job["steps"]]
    text = "\n".join(runs)
    assert "kind create cluster" in text and "metallb" in text
    assert "helm upgrade --install clabernetes oci://ghcr.io/srl-labs/clabernetes/clabernetes" in text
    assert '--version "$CLABERNETES_VERSION"' in text and job["env"]["CLABERNETES_VERSION"] == "0.6.0"
    order = [next(i for i, r in enumerate(runs) if r.startswith(f"labctl {word}")) for word in ("up", "status", "test")]
    assert order == sorted(order)
    up = shlex.split(runs[order[0]])
    assert up[up.index("--target") + 1] == "clabernetes" and up[up.index("--registry") + 1] == "$REGISTRY"
    assert job["env"]["REGISTRY"] == "localhost:5001" and "localhost:5001/hosts.toml" in text
    [down] = [s for s in job["steps"] if s.get("run", "").startswith("labctl down")]
    assert down["if"] == "always()" and job["steps"].index(down) == len(job["steps"]) - 1
