"""Multi-host containerlab on one machine: the regional IX split over two Docker engines.

The second "host" is a network namespace with its own dockerd (scripts/second-engine.sh: own data
root, exec root, socket, bridge addresses and iptables; a veth pair to the default namespace is
the wire). containerlab runs against each engine; the links that cross hosts are VXLAN tunnels
over that wire. The same IX is brought up on one host first, in the same test, so the phase times
of both runs can be compared (printed, and written as JSON to $LABCTL_MULTIHOST_RESULTS if set).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from labctl.cli import app

from .helpers import copy_example, leftovers

pytestmark = [pytest.mark.integration, pytest.mark.slow]
runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
ENGINE = "labctl-mhtest"  # namespace and folders of the second engine
WIRE = "10.253.79"  # the wire: .1 here, .2 in the namespace
LAB, SUBNET = "t-multihost", "172.30.229.0/24"


def labctl(*args: str) -> tuple[int, dict | str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, result.stdout + result.stderr


def _engine_script(action: str) -> str:
    proc = subprocess.run(["bash", str(REPO / "scripts/second-engine.sh"), action, ENGINE], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "WIRE_NET": WIRE, "BIP": "10.253.80.1/24"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def second_engine(lab_host):
    out = _engine_script("up")
    env = dict(part.split("=", 1) for part in out.split())
    try:
        yield env
    finally:
        _engine_script("down")
        assert ENGINE not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert subprocess.run(["ip", "link", "show", env["WIRE_A"]], capture_output=True).returncode != 0
        assert not Path(f"/run/{ENGINE}").exists() and not Path(f"/var/lib/{ENGINE}").exists()


def _docker(env: dict | None, *args: str) -> str:
    host = ["-H", env["DOCKER_HOST_B"]] if env else []
    return subprocess.run(["docker", *host, *args], capture_output=True, text=True, check=True).stdout


def _in_ns(netns: str | None, *argv: str) -> str:
    prefix = ["nsenter", f"--net=/var/run/netns/{netns}"] if netns else []
    return subprocess.run([*prefix, *argv], capture_output=True, text=True, check=True).stdout


def _leftovers_b(env: dict) -> list[str]:
    found = [f"container {c} on engine b" for c in _docker(
        env, "ps", "-a", "--filter", f"label=containerlab={LAB}", "--format", "{{.Names}}").split()]
    found += [f"network {n} on engine b" for n in _docker(env, "network", "ls", "--format", "{{.Name}}").split()
              if n == f"labctl-{LAB}"]
    links = _in_ns(env["NETNS_B"], "ip", "-o", "link")
    found += [f"link in b: {line.split(':')[1].strip()}" for line in links.splitlines()
              if "vxlan" in line or "br-" in line or "clab" in line]
    found += [f"netns {n}" for n in Path("/var/run/netns").iterdir() if n.name.startswith(f"clab-{LAB}-")]
    # this lab's subnet only: another lab on the machine may have a bridge in 172.30.0.0/16
    found += [f"route {r}" for r in _in_ns(None, "ip", "route").splitlines() if r.startswith(SUBNET.rsplit(".", 1)[0] + ".")]
    found += [f"vxlan here: {line.split(':')[1].strip()}" for line in _in_ns(None, "ip", "-o", "-d", "link").splitlines()
              if "vxlan id 4" in line and "10.253.79." in line]
    return found


def _assert_converged_status(ix: Path, planned_sessions: int) -> dict:
    code, status = labctl("status", str(ix), "--json")
    assert code == 0, status
    sessions = [s for node in status["sessions"].values() for s in node]
    assert len(sessions) == planned_sessions and all(s["state"] == "Established" for s in sessions), sessions
    holes = [(v, o, afi) for v, row in status["matrix"].items() for o, cells in row.items()
             for afi, seen in cells.items() if seen is False]
    assert holes == [], holes  # every member holds every other member's routes
    return status


def test_regional_ix_split_over_two_docker_engines(second_engine, examples, tmp_path):
    env = second_engine
    ix = copy_example(examples["regional-ix"], tmp_path, LAB, SUBNET)
    workdir = tmp_path / ".labctl" / LAB
    timings = {}

    # the same IX on one host first: its phase times are the comparison
    code, single = labctl("up", str(ix), "--json")
    assert code == 0 and single["ok"], single
    timings["single-host"] = single["phases"]
    code, status = labctl("status", str(ix), "--json")
    planned = sum(len(v) for v in status["sessions"].values())  # what one host establishes
    assert labctl("down", str(ix), "--json")[0] == 0
    assert leftovers(LAB, workdir) == []

    hosts = tmp_path / "hosts.yml"
    hosts.write_text(yaml.safe_dump({"hosts": [
        {"name": "a", "sites": ["okayama"], "address": f"{WIRE}.1"},
        {"name": "b", "sites": ["kurashiki", "tsuyama"], "address": f"{WIRE}.2",
         "docker": env["DOCKER_HOST_B"], "netns": env["NETNS_B"]}]}, sort_keys=False))
    try:
        started = time.monotonic()
        code, up = labctl("up", str(ix), "--hosts", str(hosts), "--json")
        assert code == 0 and up["ok"], up
        timings["multi-host"] = {**up["phases"], "total": round(time.monotonic() - started, 2)}
        layout = json.loads((workdir / "hosts" / "layout.json").read_text())
        placement = {h["name"]: set(h["nodes"]) for h in layout["hosts"]}
        # the nodes run where the hosts file puts them
        names_a = {n.removeprefix(f"clab-{LAB}-") for n in _docker(
            None, "ps", "--filter", f"label=containerlab={LAB}", "--format", "{{.Names}}").split()}
        names_b = {n.removeprefix(f"clab-{LAB}-") for n in _docker(
            env, "ps", "--filter", f"label=containerlab={LAB}", "--format", "{{.Names}}").split()}
        assert names_a == placement["a"] and names_b == placement["b"] and "rs1" in names_a and "rs2" in names_b
        # both engines' nodes bind their daemon sockets into the lab folder: labctl polls them from here
        assert (workdir / "run" / "rs1" / "bird.ctl").is_socket() and (workdir / "run" / "rs2" / "bgpd.vty").is_socket()
        # the crossing links are VXLAN devices, one VNI each, at the tunnel MTU
        for tunnel in layout["tunnels"]:
            node, iface = tunnel["link"].split("--")[0].split(":")
            owner = None if node in placement["a"] else env
            detail = _docker(owner, "exec", f"clab-{LAB}-{node}", "ip", "-d", "link", "show", iface)
            assert f"vxlan id {tunnel['vni']} " in detail and "mtu 1450" in detail, detail
        status = _assert_converged_status(ix, planned)
        assert {n: s["host"] for n, s in status["nodes"].items()} == {n: h for h, ns in placement.items() for n in ns}

        # push sees the split lab as deployed: nothing to change on either host
        code, dry = labctl("push", str(ix), "--dry-run", "--json")
        assert code == 0 and {n["status"] for n in dry["nodes"]} == {"unchanged"}, dry

        # a node on the second engine answers labctl exec through its engine
        code, ran = labctl("exec", "--file", str(ix), "--json", "rs2", "hostname")
        assert code == 0 and ran["stdout"].strip() == "rs2", ran

        # trunk-down on the trunk okayama-tsuyama, which crosses the hosts: the fault acts on the tunnel
        code, res = labctl("test", "trunk-down", "--file", str(ix), "--json")
        assert code == 0, res
        (scenario,) = res["scenarios"]
        assert scenario["passed"], scenario
        assert "okayama-tsuyama" in scenario["target"]
        timings["trunk-down"] = {k: scenario.get(k) for k in ("target", "t_detect", "t_cp", "seconds")}
        _assert_converged_status(ix, planned)
    finally:
        code, down = labctl("down", str(ix), "--json")
        print(json.dumps(timings, indent=2))
        if os.environ.get("LABCTL_MULTIHOST_RESULTS"):
            Path(os.environ["LABCTL_MULTIHOST_RESULTS"]).write_text(json.dumps(timings, indent=2) + "\n")
    assert code == 0 and down["containers_removed"] == sum(len(h["nodes"]) for h in layout["hosts"]), down
    assert leftovers(LAB, workdir) == []
    assert _leftovers_b(env) == []
