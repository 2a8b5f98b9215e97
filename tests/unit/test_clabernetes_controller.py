"""What clabernetes' own controller code makes of labctl's Topology (optional: needs Go and a
checkout of srl-labs/clabernetes; `scripts/clabernetes-check.sh` fetches v0.6.0 and runs this).

tests/fixtures/clabernetes-check/labctl_check_test.go, dropped into the checkout's
controllers/topology/, parses the Topology strictly as clabernetes' API type, runs its definition
processor (the per-node sub-topologies and tunnels) and renders each node's Deployment and expose
Service. Here the result is checked against what labctl relies on: one launcher per node named
`<lab>-<node>`, the node's container named like the node (prefix ""), every file it binds mounted
in its launcher from the right ConfigMap key, the TCP-22 probe, a Service `<lab>-<node>` with port
22, and every link of the plan split into two tunnel ends. No cluster is involved.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from labctl.render import render_clabernetes
from tests.unit.test_clabernetes import IMAGE, REGISTRY, manifests, plan_of

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "tests" / "fixtures" / "clabernetes-check" / "labctl_check_test.go"
SRC = os.environ.get("LABCTL_CLABERNETES_SRC")

pytestmark = pytest.mark.skipif(
    not SRC or not shutil.which("go"),
    reason="needs Go and a clabernetes checkout in LABCTL_CLABERNETES_SRC: run scripts/clabernetes-check.sh")


def controller_view(tmp_path: Path, topology_text: str) -> dict:
    src = Path(SRC)
    target = src / "controllers" / "topology" / CHECK.name
    shutil.copy(CHECK, target)
    (tmp_path / "topology.yaml").write_text(topology_text)
    try:
        proc = subprocess.run(["go", "test", "./controllers/topology/", "-run", "TestLabctlTopology", "-count=1"],
                              cwd=src, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "LABCTL_TOPOLOGY": str(tmp_path / "topology.yaml"),
                                   "LABCTL_OUT": str(tmp_path / "out.json")})
    finally:
        target.unlink()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((tmp_path / "out.json").read_text())


@pytest.mark.parametrize("name", ["minimal", "regional-ix"])
def test_clabernetes_controller_splits_the_topology_as_labctl_expects(tmp_path, name):
    plan = plan_of(name)
    files = render_clabernetes(plan, IMAGE, registry=REGISTRY)
    topology, _ = manifests(files)
    [text] = [t for f, t in files.items() if f.startswith("topology-")]
    view = controller_view(tmp_path, text)

    assert set(view["nodes"]) == set(plan.nodes)
    mounts_wanted = topology["spec"]["deployment"]["filesFromConfigMap"]
    for node, got in view["nodes"].items():
        sub = yaml.safe_load(got["subTopology"])
        assert sub["Name"] == f"clabernetes-{node}" and sub["Prefix"] == ""  # container named like the node
        [only] = sub["Topology"]["Nodes"]
        assert only == node
        spec = sub["Topology"]["Nodes"][node]
        assert spec["Labels"]["labctl.role"] == plan.nodes[node].role and spec["Exec"]

        deployment = got["deployment"]
        assert deployment["metadata"]["name"] == f"{plan.lab}-{node}"
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert {"name": "LAUNCHER_TCP_PROBE_PORT", "value": "22"} in container["env"]
        assert container["startupProbe"] and container["readinessProbe"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        binds = [*sub["Topology"]["Defaults"]["Binds"], *spec["Binds"]]
        for bind in binds:  # every file the node binds exists in its launcher, next to topo.clab.yaml
            source = bind.split(":")[0]
            assert f"/clabernetes/{source}" in mounts, (node, bind)
        for entry in mounts_wanted[node]:
            assert mounts[f"/clabernetes/{entry['filePath']}"]["subPath"] == entry["configMapPath"]

        service = got["service"]
        assert service["metadata"]["name"] == f"{plan.lab}-{node}" and service["spec"]["type"] == "LoadBalancer"
        assert any(p["port"] == 22 and p["protocol"] == "TCP" for p in service["spec"]["ports"])
        assert 22 in view["exposedPorts"][node]["tcpPorts"]

    ends = sorted((t["localNode"], t["localInterface"]) for tunnels in view["tunnels"].values() for t in tunnels)
    assert ends == sorted([(l.a, l.a_if) for l in plan.links] + [(l.b, l.b_if) for l in plan.links])
