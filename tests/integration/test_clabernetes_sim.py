"""`labctl up --target clabernetes` end to end against real routers, with a simulated cluster.

No Kubernetes cluster can run on the development machine. tests/fixtures/sim_kubectl.py is a
`kubectl` whose cluster is containerlab here: it deploys the Topology's embedded containerlab
topology with the ConfigMaps' files laid out as clabernetes mounts them, and reports each node's
management address as its LoadBalancer address. So this checks labctl's side of the path for
real - the manifests' files and `exec` turn into working nodes, labctl waits on the Topology's
status, configures the routers over SSH at the addresses the backend gives, converges, runs a
scenario through `kubectl exec` faults, and `down` leaves nothing - but NOT clabernetes (launcher
pods, VXLAN tunnels between pods, Services, MetalLB).
"""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from labctl.cli import app

from .helpers import copy_example, leftovers

pytestmark = pytest.mark.integration
runner = CliRunner()
LAB = "t-k8s"
SIM = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "sim_kubectl.py"


@pytest.fixture
def sim_cluster(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "kubectl"
    exe.write_text(f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(SIM)!r}, run_name='__main__')\n")
    exe.chmod(0o755)
    state = tmp_path / "cluster.json"
    state.write_text(json.dumps({"objects": {}}))
    monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBE_STATE", str(state))
    return state


def test_up_target_clabernetes_configures_and_converges_through_the_backend(lab_host, examples, tmp_path,
                                                                             sim_cluster):
    ix = copy_example(examples["minimal"], tmp_path, LAB, "172.30.198.0/24",  # two route servers: see rs-upgrade
                      lambda d: d["route_servers"].append({"name": "rs2", "daemon": "frr", "site": "lab"}))
    folder = tmp_path / ".labctl" / LAB
    try:
        up = runner.invoke(app, ["up", "-f", str(ix), "--target", "clabernetes", "--namespace", "labs", "--json"],
                           catch_exceptions=False)
        report = json.loads(up.stdout)
        assert up.exit_code == 0 and report["ok"], up.stdout[-3000:] + up.stderr[-2000:]
        print("phases", report["phases"])
        assert (folder / "clabernetes.json").exists() and report["deploy_action"] == "deployed"

        status = runner.invoke(app, ["status", "-f", str(ix), "--json"], catch_exceptions=False)
        st = json.loads(status.stdout)
        assert status.exit_code == 0 and st["converged"]
        # reached at the addresses the Topology's status gave, not as containerlab management IPs
        assert all(n["ssh_host"] and n["mgmt_ipv4"] == "" and n["host"] == "sim-node" for n in st["nodes"].values())

        ex = runner.invoke(app, ["exec", "-f", str(ix), "--json", "rs1", "--", "birdc", "show", "status"],
                           catch_exceptions=False)
        assert ex.exit_code == 0 and "Daemon is up and running" in json.loads(ex.stdout)["stdout"]

        test = runner.invoke(app, ["test", "-f", str(ix), "rs-restart", "member-link-down", "--json"],
                             catch_exceptions=False)
        results = json.loads(test.stdout)
        failed = {s["name"]: [c for c in s["checks"] if c["status"] == "fail"] or s["error"]
                  for s in results["scenarios"] if not s["passed"]}
        print({s["name"]: (s["t_detect"], s["t_cp"]) for s in results["scenarios"]})
        assert test.exit_code == 0 and not failed, failed

        upgrade = runner.invoke(app, ["test", "-f", str(ix), "rs-upgrade", "--json"], catch_exceptions=False)
        [rs_upgrade] = json.loads(upgrade.stdout)["scenarios"]
        assert upgrade.exit_code != 0 and "cannot run on clabernetes" in (rs_upgrade["error"] or ""), rs_upgrade
    finally:
        down = runner.invoke(app, ["down", "-f", str(ix)], catch_exceptions=False)
    assert down.exit_code == 0, down.output
    assert leftovers(LAB, folder) == [] and json.loads(sim_cluster.read_text())["objects"] == {}
