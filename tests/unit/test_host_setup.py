"""`labctl host setup` decisions, with the probes replaced (a unit test never starts, stops or
builds anything on the host): systemd's docker.service where it exists, a bare dockerd elsewhere;
containerlab from its Go module, falling back to its installer; progress per step."""

from __future__ import annotations

import subprocess

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.errors import HostNotReady
from labctl.runtime import host

runner = CliRunner()


class Recorder:
    """Stands in for host._run: records commands, answers from a table of prefixes."""

    def __init__(self, answers: dict[str, tuple[int, str]] | None = None):
        self.calls: list[list[str]] = []
        self.answers = answers or {}

    def __call__(self, cmd, timeout=60, **kw):
        self.calls.append(list(cmd))
        line = " ".join(cmd)
        for prefix, (code, out) in self.answers.items():
            if line.startswith(prefix):
                return subprocess.CompletedProcess(cmd, code, out, "" if code == 0 else "boom")
        return subprocess.CompletedProcess(cmd, 0, "", "")


@pytest.fixture
def docker_down_then_up(monkeypatch):
    state = {"up": False}
    monkeypatch.setattr(host, "docker_reachable", lambda: (state["up"], "x"))
    monkeypatch.setattr(host.time, "sleep", lambda s: state.update(up=True))
    return state


def _no_bare_dockerd(*a, **kw):
    raise AssertionError("must not start a bare dockerd")


def test_systemd_docker_service_is_started_with_systemctl(monkeypatch, docker_down_then_up):
    run = Recorder()
    monkeypatch.setattr(host, "_run", run)
    monkeypatch.setattr(host, "systemd_docker_service", lambda: True)
    monkeypatch.setattr(host.subprocess, "Popen", _no_bare_dockerd)
    assert host._step_docker() == "started docker.service (systemctl start docker)"
    assert run.calls == [["systemctl", "start", "docker"]]


def test_failed_systemctl_start_names_the_journal(monkeypatch, docker_down_then_up):
    monkeypatch.setattr(host, "_run", Recorder({"systemctl start": (1, "")}))
    monkeypatch.setattr(host, "systemd_docker_service", lambda: True)
    monkeypatch.setattr(host.subprocess, "Popen", _no_bare_dockerd)
    with pytest.raises(HostNotReady) as exc:
        host._step_docker()
    assert "systemctl start docker failed" in exc.value.message and "journalctl -u docker" in exc.value.hint


def test_without_systemd_a_bare_dockerd_is_started(monkeypatch, tmp_path, docker_down_then_up):
    started = []
    monkeypatch.setattr(host, "systemd_docker_service", lambda: False)
    monkeypatch.setattr(host, "DOCKERD_LOG", tmp_path / "dockerd.log")
    monkeypatch.setattr(host.subprocess, "Popen", lambda cmd, **kw: started.append(cmd))
    monkeypatch.setattr(host, "_run", Recorder())
    assert host._step_docker().startswith("started dockerd")
    assert started == [["dockerd"]]


def test_running_docker_is_left_alone(monkeypatch):
    monkeypatch.setattr(host, "docker_reachable", lambda: (True, "x"))
    monkeypatch.setattr(host, "_run", lambda *a, **k: pytest.fail("nothing may run"))
    assert host._step_docker() is None


@pytest.mark.parametrize("systemctl, booted, listed, expected", [
    (True, True, "docker.service enabled enabled\n", True),
    (True, True, "", False),  # systemd, but Docker not installed as a service
    (True, False, "docker.service enabled enabled\n", False),  # systemctl installed, systemd not running
    (False, True, "docker.service enabled enabled\n", False),
])
def test_systemd_docker_service_probe(monkeypatch, systemctl, booted, listed, expected):
    monkeypatch.setattr(host.shutil, "which", lambda name: "/bin/systemctl" if systemctl else None)
    monkeypatch.setattr(host.Path, "is_dir", lambda self: booted if str(self) == "/run/systemd/system" else False)
    monkeypatch.setattr(host, "_run", Recorder({"systemctl list-unit-files": (0, listed)}))
    assert host.systemd_docker_service() is expected


# ------------------------------------------------------------------ containerlab

@pytest.fixture
def no_containerlab(monkeypatch):
    monkeypatch.setattr(host, "containerlab_version", lambda: None)


def _containerlab(monkeypatch, go: bool, build_ok: bool, internet: bool) -> list[str]:
    done = []
    monkeypatch.setattr(host.shutil, "which", lambda name: "/usr/local/go/bin/go" if (go and name == "go") else None)

    def build():
        done.append("build")
        if not build_ok:
            raise HostNotReady("building containerlab failed: compiler error")
        return "built containerlab"

    monkeypatch.setattr(host, "_build_containerlab", build)
    monkeypatch.setattr(host, "_internet_reachable", lambda: internet)
    monkeypatch.setattr(host, "_install_containerlab", lambda: done.append("installer") or "installed with its installer")
    return done


def test_go_builds_containerlab(monkeypatch, no_containerlab):
    done = _containerlab(monkeypatch, go=True, build_ok=True, internet=True)
    assert host._step_containerlab() == "built containerlab" and done == ["build"]


def test_failed_go_build_falls_back_to_the_installer(monkeypatch, no_containerlab):
    done = _containerlab(monkeypatch, go=True, build_ok=False, internet=True)
    detail = host._step_containerlab()
    assert done == ["build", "installer"]
    assert "installer" in detail and "building from the Go module failed" in detail


def test_failed_go_build_without_internet_reports_the_build_error(monkeypatch, no_containerlab):
    done = _containerlab(monkeypatch, go=True, build_ok=False, internet=False)
    with pytest.raises(HostNotReady) as exc:
        host._step_containerlab()
    assert done == ["build"] and "compiler error" in exc.value.message


def test_no_go_uses_the_installer_or_says_what_to_install(monkeypatch, no_containerlab):
    assert _containerlab(monkeypatch, go=False, build_ok=True, internet=True) is not None
    assert "installer" in host._step_containerlab()
    _containerlab(monkeypatch, go=False, build_ok=True, internet=False)
    with pytest.raises(HostNotReady) as exc:
        host._step_containerlab()
    assert "Go >= 1.26" in exc.value.hint


# ------------------------------------------------------------------ progress

def _fake_steps(monkeypatch, fail_at: str | None = None):
    def step(name):
        def run():
            if name == fail_at:
                raise HostNotReady(f"{name} broke")
            return None if name == "packages" else f"{name} done"
        return run

    monkeypatch.setattr(host, "SETUP_STEPS", [(n, step(n)) for n in ("packages", "docker-engine", "containerlab")])
    monkeypatch.setattr(host.os, "geteuid", lambda: 0)


def test_setup_reports_each_step_as_it_starts_and_ends(monkeypatch):
    _fake_steps(monkeypatch, fail_at="containerlab")
    events = []
    results = host.setup(on_step=lambda n: events.append(("start", n)), on_done=lambda r: events.append(("end", r.name, r.status)))
    assert events == [("start", "packages"), ("end", "packages", "skipped"), ("start", "docker-engine"),
                      ("end", "docker-engine", "done"), ("start", "containerlab"), ("end", "containerlab", "failed")]
    assert [r.status for r in results] == ["skipped", "done", "failed"]


def test_cli_prints_one_line_per_step_off_a_terminal(monkeypatch):
    _fake_steps(monkeypatch)
    result = runner.invoke(app, ["host", "setup"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "host setup:" in line]
    assert [line.split("host setup: ", 1)[1] for line in lines] == [
        "packages ...", "packages skipped in 0.0 s", "docker-engine ...", "docker-engine done in 0.0 s: docker-engine done",
        "containerlab ...", "containerlab done in 0.0 s: containerlab done"]
    assert all(line.lstrip().startswith("[") and "s]" in line for line in lines)  # elapsed time stamp


def test_cli_json_keeps_stdout_json_and_progress_on_stderr(monkeypatch):
    import json

    _fake_steps(monkeypatch)
    result = runner.invoke(app, ["host", "setup", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["ok"] is True and "host setup: packages ..." in result.stderr
