"""labctl's SSH sessions to nodes (Nornir + scrapli, as `up`, `push` and `status` use them) against
a real node container: a command silent for longer than a transport read used to be allowed (an
FRR 8.4 route server loading its policy) completes, and a command that does time out costs only
that command: the next task on the node gets a fresh connection instead of "connection not opened".
One node container on Docker's default bridge; no lab."""

from __future__ import annotations

import os
import subprocess
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
