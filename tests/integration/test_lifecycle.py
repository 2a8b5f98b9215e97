"""labctl's main job on real labs: up, status, push (apply, verify, roll back), reconcile, down.

Each test works on a private copy of a bundled example (own lab name and management subnet).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.runtime import clab

from .helpers import copy_example, edit_file, leftovers, wait_for

pytestmark = pytest.mark.integration
runner = CliRunner()


def labctl(*args: str) -> tuple[int, dict | str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    text = result.stdout
    try:
        return result.exit_code, json.loads(text)
    except ValueError:
        return result.exit_code, text + result.stderr


def assert_full_visibility(status: dict, members: int, siblings: dict[str, str] | None = None) -> None:
    """Every member router sees every other member's prefixes; `siblings`: router -> its member's
    other router (a member's own prefixes are not in its routers' rows)."""
    siblings = siblings or {}
    matrix = status["matrix"]
    assert len(matrix) == members
    holes = [(viewer, origin, afi) for viewer, row in matrix.items() for origin, cells in row.items()
             for afi, seen in cells.items() if seen is False]
    assert holes == []
    assert all(len(row) == members - 1 - (viewer in siblings) for viewer, row in matrix.items())
    assert all(siblings[viewer] not in row for viewer, row in matrix.items() if viewer in siblings)


def test_minimal_lab_up_push_rollback_down(lab_host, examples, tmp_path):
    ix = copy_example(examples["minimal"], tmp_path, "t-mini", "172.30.251.0/24")
    workdir = tmp_path / ".labctl" / "t-mini"
    try:
        code, up = labctl("up", str(ix), "--json")
        assert code == 0, up
        assert up["ok"] and up["deploy_action"] == "deployed"
        assert set(up["configured"]) == {"rs1", "alpha", "beta", "sw-lab"}
        assert up["convergence"]["converged"]

        code, status = labctl("status", str(ix), "--json")
        assert code == 0, status
        assert {n: s["state"] for n, s in status["nodes"].items()} == dict.fromkeys(["rs1", "alpha", "beta", "sw-lab"], "running")
        sessions = [s for node in status["sessions"].values() for s in node]
        assert len(sessions) == 8 and all(s["state"] == "Established" for s in sessions)
        assert_full_visibility(status, 2)

        # a member adds a prefix: exactly that member and the route server change
        edit_file(ix, lambda d: d["members"][0]["prefixes"].append("198.18.100.0/24"))
        code, dry = labctl("push", str(ix), "--dry-run", "--json")
        assert code == 0, dry
        assert {n["node"]: n["status"] for n in dry["nodes"]} == {
            "alpha": "would-change", "rs1": "would-change", "beta": "unchanged", "sw-lab": "unchanged"}
        assert "+ip prefix-list OWN-IPV4 seq 10 permit 198.18.100.0/24" in next(
            n["diff"] for n in dry["nodes"] if n["node"] == "alpha")
        code, pushed = labctl("push", str(ix), "--json")
        assert code == 0, pushed
        assert {n["node"]: n["status"] for n in pushed["nodes"]}["alpha"] == "applied"
        code, lg = labctl("lg", "beta", "198.18.100.0/24", "--file", str(ix), "--json")
        assert code == 0 and "198.18.100.0/24" in lg["paths"] and "64496" in lg["paths"], lg

        # a change pushed to one side only breaks its sessions: verified, found broken, rolled back
        edit_file(ix, lambda d: d["members"][0].update(asn=64499))
        code, broken = labctl("push", str(ix), "--node", "alpha", "--timeout", "20", "--json")
        assert code == 4, broken  # EXIT_NOT_CONVERGED: rolled back
        alpha = next(n for n in broken["nodes"] if n["node"] == "alpha")
        assert alpha["status"] == "rolled-back" and "alpha -> rs1" in alpha["error"]
        running_conf = subprocess.run(["docker", "exec", "clab-t-mini-alpha", "cat", "/etc/frr/frr.conf"],
                                      capture_output=True, text=True).stdout
        assert "router bgp 64496" in running_conf
        edit_file(ix, lambda d: d["members"][0].update(asn=64496))
        assert wait_for(lambda: labctl("status", str(ix), "--json")[0] == 0, timeout=60)

        # up on a running, unchanged lab reconciles: nothing redeployed
        code, again = labctl("up", str(ix), "--json")
        assert code == 0 and again["deploy_action"] == "reused running lab", again
    finally:
        code, down = labctl("down", str(ix), "--json")
    assert code == 0 and down["containers_removed"] == 4
    assert leftovers("t-mini", workdir) == []
    code, again = labctl("down", str(ix), "--json")  # idempotent
    assert code == 0 and again["containers_removed"] == 0


def test_regional_ix_full_visibility(lab_host, examples, tmp_path):
    ix = copy_example(examples["regional-ix"], tmp_path, "t-kibi", "172.30.252.0/24")
    try:
        code, up = labctl("up", str(ix), "--json")
        assert code == 0, up
        assert len(up["configured"]) == 17  # 3 switches, 2 route servers, 10 routers of 8 members, 2 upstreams
        code, status = labctl("status", str(ix), "--json")
        assert code == 0, status
        sessions = [s for node in status["sessions"].values() for s in node]
        # 10 member routers x 2 route servers x 2 families, seen from both ends, the bilateral pair, and
        # the iBGP of the 2 dual-homed members over their own links, the 6 transit links (3 customers
        # per upstream) and the one between the upstreams
        assert sum(1 for s in sessions if s["state"] == "Established") == len(sessions) == \
            10 * 2 * 2 * 2 + 2 * 2 + 2 * 2 * 2 + 6 * 2 * 2 + 2 * 2
        pairs = {"seto-net": "seto-net-oka", "momo-catv": "momo-catv-oka"}
        assert_full_visibility(status, 10, pairs | {b: a for a, b in pairs.items()})
    finally:
        code, down = labctl("down", str(ix), "--json")
    assert code == 0 and down["containers_removed"] == 17
    assert leftovers("t-kibi", tmp_path / ".labctl" / "t-kibi") == []


def test_unconfigurable_node_is_named_and_interrupted_up_recovers(lab_host, examples, tmp_path):
    ix = copy_example(examples["minimal"], tmp_path, "t-robust", "172.30.253.0/24")
    try:
        # kill `labctl up` while containerlab deploys
        log = tmp_path / "interrupted-up.log"
        with open(log, "w") as sink:
            proc = subprocess.Popen([sys.executable, "-m", "labctl.cli", "up", str(ix)], start_new_session=True,
                                    stdout=sink, stderr=subprocess.STDOUT)
        started = wait_for(lambda: len(clab.lab_containers("t-robust")) > 0 or proc.poll() is not None,
                           timeout=180, interval=0.2)
        assert started and proc.poll() is None, f"up ended before deploying: {log.read_text()[-2000:]}"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(1)
        code, up = labctl("up", str(ix), "--json")
        assert code == 0, up
        assert up["convergence"]["converged"]

        # a node that cannot be reached: the run fails, names it, reports the others
        subprocess.run(["docker", "exec", "clab-t-robust-beta", "pkill", "-x", "sshd"], check=True)
        edit_file(ix, lambda d: d["members"][1]["prefixes"].append("198.18.101.0/24"))
        code, up = labctl("up", str(ix), "--json", "--timeout", "40")
        assert code == 4, up  # EXIT_NOT_CONVERGED
        assert list(up["failed_nodes"]) == ["beta"]
        assert set(up["configured"]) == {"rs1", "alpha", "sw-lab"}
    finally:
        code, down = labctl("down", str(ix), "--json")
    assert code == 0
    assert leftovers("t-robust", tmp_path / ".labctl" / "t-robust") == []
