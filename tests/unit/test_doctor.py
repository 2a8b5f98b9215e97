"""`labctl doctor`: exit 0 only when a lab can run; otherwise name what is missing and the fix.

The probes are replaced here (a unit test must not stop the host's Docker engine); the real
probes run in every integration test through the `lab_host` fixture.
"""

import json

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.runtime import host, images

runner = CliRunner()


@pytest.fixture
def healthy(monkeypatch):
    monkeypatch.setattr(host, "docker_reachable", lambda: (True, "Docker engine 20.10"))
    monkeypatch.setattr(host, "containerlab_version", lambda: host.CONTAINERLAB_VERSION)
    monkeypatch.setattr(images, "image_exists", lambda tag: True)
    monkeypatch.setattr(host, "kernel_feature", lambda script: (True, "ok"))
    monkeypatch.setattr(host.shutil, "which", lambda name: f"/usr/sbin/{name}")


def _doctor():
    result = runner.invoke(app, ["doctor", "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_ready_host_exits_zero(healthy):
    code, report = _doctor()
    assert code == 0 and report["ready"] is True


def test_stopped_docker_is_named_with_its_fix(healthy, monkeypatch):
    monkeypatch.setattr(host, "docker_reachable", lambda: (False, "Cannot connect to the Docker daemon"))
    code, report = _doctor()
    checks = {c["name"]: c for c in report["checks"]}
    assert code == 1 and report["ready"] is False
    assert not checks["docker"]["ok"] and "labctl host setup" in checks["docker"]["fix"]
    assert not checks["node-image:trixie"]["ok"]  # cannot be checked without Docker


def test_missing_image_is_named_with_its_fix(healthy, monkeypatch):
    monkeypatch.setattr(images, "image_exists", lambda tag: False)
    code, report = _doctor()
    image = next(c for c in report["checks"] if c["name"] == "node-image:trixie")
    assert code == 1 and "missing" in image["detail"] and "labctl host setup" in image["fix"]


def test_every_stack_image_is_reported_only_the_default_required(healthy, monkeypatch):
    """doctor names each stack's images; a missing legacy (bookworm) image does not block labs."""
    monkeypatch.setattr(images, "image_exists", lambda tag: not tag.startswith("labctl/node-bookworm:"))
    code, report = _doctor()
    checks = {c["name"]: c for c in report["checks"] if c["name"].startswith("node-image:")}
    assert set(checks) == {"node-image:trixie", "node-image:trixie-bird3", "node-image:bookworm"}
    assert checks["node-image:trixie"]["required"] and checks["node-image:trixie-bird3"]["required"]
    legacy = checks["node-image:bookworm"]
    assert not legacy["ok"] and not legacy["required"] and "--stack bookworm" in legacy["fix"]
    assert code == 0 and report["ready"] is True


def test_wrong_containerlab_version(healthy, monkeypatch):
    monkeypatch.setattr(host, "containerlab_version", lambda: "0.50.0")
    code, report = _doctor()
    clab = next(c for c in report["checks"] if c["name"] == "containerlab")
    assert code == 1 and "0.50.0" in clab["detail"] and host.CONTAINERLAB_VERSION in clab["fix"]


def test_missing_netem_is_reported_but_not_blocking(healthy, monkeypatch):
    monkeypatch.setattr(host, "kernel_feature", lambda script: ("netem" not in script, "unknown qdisc"))
    code, report = _doctor()
    netem = next(c for c in report["checks"] if c["name"] == "kernel:netem")
    assert code == 0 and netem["ok"] is False and netem["required"] is False


@pytest.mark.parametrize("present", [True, False])
def test_cap_sys_resource_never_says_ok_when_absent(healthy, monkeypatch, present):
    monkeypatch.setattr(host, "has_cap_sys_resource", lambda: present)
    code, report = _doctor()
    cap = next(c for c in report["checks"] if c["name"] == "cap:sys_resource")
    assert code == 0  # labs run either way
    if present:
        assert cap["ok"] is True and cap["status"] == "ok" and cap["detail"] == "present"
    else:
        assert cap["ok"] is False and cap["status"] == "absent (fine)"
        assert "missing" not in cap["detail"] and "unprivileged" in cap["detail"] and cap["fix"] == ""
    text = runner.invoke(app, ["doctor"]).stdout
    row = next(line for line in text.splitlines() if "cap:sys_resource" in line)
    assert ("ok" in row.split("│")[2]) is present
