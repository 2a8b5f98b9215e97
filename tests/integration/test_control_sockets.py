"""Polls through the daemons' control sockets (automation/control.py) on a real lab: the minimal IX
plus an OpenBGPD member. Every router's sessions and routes read through the sockets equal what
the same poll reads over SSH; the nodes with a socket need no SSH session for it, OpenBGPD (no
socket client) and a node whose daemon was killed (a stale socket) fall back to SSH and answer
as before; `labctl status` gives the same report both ways; `down` leaves no socket folder behind.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict

import pytest
from typer.testing import CliRunner

from labctl import lifecycle
from labctl.automation import control
from labctl.automation.ssh import CONNECTION as SSH
from labctl.cli import app

from .helpers import copy_example, leftovers

pytestmark = pytest.mark.integration
runner = CliRunner()
LAB = "t-ctlsock"


def labctl(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict | str]:
    result = runner.invoke(app, list(args), catch_exceptions=False, env=env)
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, result.stdout + result.stderr


def comparable(states: dict) -> dict:
    """Sessions and routes by node, without the session ages (they tick between two polls)."""
    out = {}
    for node, state in states.items():
        data = asdict(state)
        for s in data["sessions"]:
            s.pop("uptime", None)
        out[node] = data
    return out


def poll(lab, transport: str) -> tuple[dict, dict, set[str]]:
    """One full poll (sessions and routes) of every router: (states, errors, nodes that opened SSH)."""
    old = os.environ.get(control.SWITCH)
    os.environ[control.SWITCH] = transport
    nr = lab.nornir()
    try:
        states, errors = lifecycle.collect(nr)
        used_ssh = {name for name, host in nr.inventory.hosts.items() if SSH in host.connections}
    finally:
        nr.close_connections()
        if old is None:
            os.environ.pop(control.SWITCH, None)
        else:
            os.environ[control.SWITCH] = old
    return states, errors, used_ssh


def test_status_through_sockets_equals_status_over_ssh(lab_host, examples, tmp_path):
    def add_openbgpd_member(data):
        data["members"].append({"name": "gamma", "asn": 64498, "site": "lab", "daemon": "openbgpd",
                                "prefixes": ["198.18.3.0/24", "2001:db8:3::/48"]})

    ix = copy_example(examples["minimal"], tmp_path, LAB, "172.30.215.0/24", add_openbgpd_member)
    workdir = tmp_path / ".labctl" / LAB
    try:
        code, up = labctl("up", str(ix), "--json")
        assert code == 0 and up["ok"], up
        sockets = {p.relative_to(workdir / "run").as_posix() for p in (workdir / "run").glob("*/*")
                   if p.is_socket()}
        assert {"rs1/bird.ctl", "alpha/bgpd.vty", "beta/bird.ctl"} <= sockets
        assert not (workdir / "run" / "gamma").exists()  # OpenBGPD: SSH only, nothing bound

        lab = lifecycle.find_lab(ix)
        by_socket, errors, used_ssh = poll(lab, "socket")
        assert errors == {}
        assert used_ssh == {"gamma"}  # every other router answered through its socket alone
        by_ssh, errors, _ = poll(lab, "ssh")
        assert errors == {}
        assert set(by_socket) == {"rs1", "alpha", "beta", "gamma"}
        assert comparable(by_socket) == comparable(by_ssh)
        assert all(s.established for state in by_socket.values() for s in state.sessions)
        assert by_socket["alpha"].routes["ipv4"] and by_socket["beta"].routes["ipv6"]

        os.environ[control.SWITCH] = "socket"
        try:
            via_socket = lifecycle.status(ix)
        finally:
            os.environ.pop(control.SWITCH)
        assert via_socket.convergence.converged and via_socket.errors == {}
        code, via_ssh = labctl("status", str(ix), "--json", env={control.SWITCH: "ssh"})  # the CLI, over SSH
        assert code == 0 and via_ssh["converged"]
        assert via_socket.matrix == via_ssh["matrix"]

        # a killed daemon leaves its socket file behind: the poll falls back to SSH, which says "not running"
        subprocess.run(["docker", "exec", f"clab-{LAB}-beta", "pkill", "-9", "-x", "bird"], check=True)
        assert (workdir / "run" / "beta" / "bird.ctl").is_socket()
        by_socket, errors, used_ssh = poll(lab, "socket")
        assert errors == {} and "beta" in used_ssh and by_socket["beta"].sessions == []
        assert comparable(by_socket)["beta"] == comparable(poll(lab, "ssh")[0])["beta"]
    finally:
        code, down = labctl("down", str(ix), "--json")
        assert code == 0, down
        assert not (workdir / "run").exists()
        assert leftovers(LAB, workdir) == []
