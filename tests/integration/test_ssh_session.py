"""labctl's SSH sessions to nodes (Nornir + labctl's paramiko connection, as `up`, `push` and `status`
use them) against a real node container: a command silent for longer than a transport read used to
be allowed (an FRR 8.4 route server loading its policy) completes, a command that does time out
costs only that command (the next task on the node still works), and files of every size go up and
come back byte for byte. One node container on Docker's default bridge; no lab."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from labctl.automation.inventory import build_nornir
from labctl.automation.tasks import node_shell
from labctl.model.load import load
from labctl.plan import build_plan
from labctl.runtime.clab import NodeState
from labctl.runtime.images import ensure_node_image

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def node(tmp_path):
    """rs1 of the minimal IX as a bare node container reachable over SSH with a test key."""
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    name = f"labctl-t-ssh-{os.getpid()}"
    image = ensure_node_image()
    subprocess.run(["docker", "run", "-d", "--name", name, "-v", f"{key}.pub:/root/.ssh/authorized_keys:ro", image],
                   check=True, capture_output=True)
    try:
        address = subprocess.run(["docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name],
                                 check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(["docker", "exec", name, "sh", "-c",
                        "for i in $(seq 100); do pgrep -x sshd >/dev/null && exit 0; sleep 0.1; done; exit 1"], check=True)
        plan = build_plan(load(REPO / "topologies" / "minimal.yml"))
        state = NodeState("rs1", name, "running", image, address, "route_server", "bird", "lab")
        nr = build_nornir(plan, {"rs1": state}, key, only=["rs1"])
        yield nr
        nr.close_connections()
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def run_on_node(nr, command: str, timeout: float):
    result = nr.run(task=lambda task: node_shell(task).run(command, check=False, timeout=timeout), on_failed=True)["rs1"]
    return result[0].exception, result[0].result


def test_a_long_silent_command_completes_and_a_timeout_costs_one_command(node):
    # silent for 40 s: longer than the 30 s a single transport read was allowed before
    error, result = run_on_node(node, "sleep 40; echo slow-done", timeout=90)
    assert error is None, f"a 40 s command failed: {error}"
    assert result == (0, "slow-done")

    error, _ = run_on_node(node, "sleep 30", timeout=3)
    assert error is not None and "timed out" in str(error).lower(), f"expected a timeout, got {error!r}"

    # the timed-out command closed the connection; the next task must get a working one
    error, result = run_on_node(node, "echo after-timeout", timeout=20)
    assert error is None, f"the node stayed unusable after one timed-out command: {error}"
    assert result == (0, "after-timeout")

    # a daemon started by a command keeps the command's stderr open (watchfrr does): the command
    # is done when it exits, not when the daemon does
    started = time.monotonic()
    error, result = run_on_node(node, "(setsid sleep 60 < /dev/null > /dev/null &); echo started", timeout=30)
    assert error is None and result == (0, "started")
    assert time.monotonic() - started < 10, "waited for the background process"


def test_files_and_command_output_arrive_whole(node):
    def task(task):
        sh = node_shell(task)
        big = "".join(f"line {i} labctl:rs1# not a prompt\n" for i in range(40000))  # ~1.2 MB
        sh.put_file("/tmp/labctl-t/sub/big.conf", big)  # the folder does not exist yet
        sh.put_file("/etc/frr/frr.conf", "! small\n")  # an existing file keeps its owner
        return (sh.get_file("/tmp/labctl-t/sub/big.conf") == big, sh.get_file("/tmp/labctl-t/none"),
                sh.run("stat -c %U /etc/frr/frr.conf")[1], sh.capture("cat /tmp/labctl-t/sub/big.conf; echo err >&2; exit 3"),
                sh.run("exit 7", check=False))
    result = node.run(task=task, on_failed=True)["rs1"][0]
    assert result.exception is None, result.exception
    same, missing, owner, captured, failed = result.result
    assert same and missing is None and owner == "frr"
    assert captured.endswith("line 39999 labctl:rs1# not a prompt\nerr") and captured.count("\n") == 40000
    assert failed == (7, "")
