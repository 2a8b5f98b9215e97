"""The clabernetes backend (`labctl up --target clabernetes`) against a fake `kubectl` on PATH
(tests/fixtures/fake_kubectl.py: kubectl's output shapes and error messages, clabernetes' status
fields). No cluster runs here: this proves what labctl sends and how it reads the answers, and that
what it applies validates against clabernetes' CRD schema - not that a cluster accepts it.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from labctl import lifecycle
from labctl.automation.inventory import build_nornir
from labctl.cli import app
from labctl.errors import HostNotReady, LabctlError
from labctl.runtime import images
from labctl.runtime.backends import open_backend
from labctl.runtime.clab import NodeState
from labctl.runtime.clabernetes import MANIFESTS, ClabernetesBackend, Cluster, read_settings
from tests.unit.test_clabernetes import crd_errors

REPO = Path(__file__).resolve().parents[2]
FAKE = REPO / "tests" / "fixtures" / "fake_kubectl.py"
REGISTRY = "reg.example:5000"


@pytest.fixture
def kube(tmp_path, monkeypatch):
    """A fake kubectl first on PATH; returns (set switches, read the cluster, read the call log)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "kubectl"
    exe.write_text(f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(FAKE)!r}, run_name='__main__')\n")
    exe.chmod(0o755)
    state, log = tmp_path / "cluster.json", tmp_path / "kubectl.log"
    state.write_text(json.dumps({"context": "kind-labctl", "objects": {}}))
    log.write_text("")
    monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBE_STATE", str(state))
    monkeypatch.setenv("FAKE_KUBE_LOG", str(log))

    class Kube:
        def set(self, **switches):
            data = json.loads(state.read_text())
            data.update(switches)
            state.write_text(json.dumps(data))

        def cluster(self) -> dict:
            return json.loads(state.read_text())

        def calls(self) -> list[list[str]]:
            return [json.loads(line) for line in log.read_text().splitlines()]

    return Kube()


@pytest.fixture
def ix_file(tmp_path) -> Path:
    dest = tmp_path / "ix" / "ix.yml"
    dest.parent.mkdir()
    shutil.copy(REPO / "topologies" / "minimal.yml", dest)
    return dest


def generated(ix_file: Path, cluster: Cluster) -> lifecycle.Lab:
    """The lab folder as `labctl up --target clabernetes` writes it before deploying."""
    lab = lifecycle.open_lab(ix_file)
    tags = images.node_image_tags({lab.plan.default_image, *lab.plan.image_keys})
    lifecycle._generate(lab, tags, None, cluster)
    lab.runtime.poll_interval = 0.05
    return lab


def test_deploy_applies_manifests_that_validate_and_waits_until_every_node_is_ready(kube, ix_file):
    kube.set(polls_until_ready=3)
    lab = generated(ix_file, Cluster(registry=REGISTRY))
    backend = lab.runtime
    assert isinstance(backend, ClabernetesBackend)
    backend.ready_timeout = 30
    backend.deploy(lab.topology)

    calls = kube.calls()
    assert ["config", "current-context"] in calls  # no --context: the kubeconfig's must exist
    apply = [c for c in calls if "apply" in c]
    assert apply == [["--namespace", "default", "apply", "--server-side", "--force-conflicts",
                      "--field-manager=labctl", "-f", str(lab.workdir / MANIFESTS)]]
    assert read_settings(lab.workdir) == Cluster(None, "default", REGISTRY)  # later commands look there
    # it waited: the fake reports ready on the third look at the Topology
    assert len([c for c in calls if c[-3:] == ["--ignore-not-found", "-o", "json"]]) == 3

    objects = kube.cluster()["objects"]
    [topology] = [o for o in kube.cluster()["applied"] if o["kind"] == "Topology"]
    assert crd_errors(topology) == []
    assert topology["spec"]["statusProbes"]["probeConfiguration"]["tcpProbeConfiguration"] == {"port": 22}
    clab = yaml.safe_load(topology["spec"]["definition"]["containerlab"])
    assert set(clab["topology"]["nodes"]) == set(lab.plan.nodes)
    assert clab["topology"]["defaults"]["image"].startswith(f"{REGISTRY}/labctl/node-")
    maps = [o for o in objects.values() if o["kind"] == "ConfigMap"]
    keys = "".join(m["data"].get("authorized_keys", "") for m in maps)
    assert keys == (lab.workdir / "ssh" / "authorized_keys").read_text()  # the lab's own key logs in
    assert all(o["metadata"]["labels"]["labctl/lab"] == lab.plan.lab for o in objects.values())


def test_inspect_gives_each_node_its_ssh_service_and_nornir_connects_there(kube, ix_file):
    lab = generated(ix_file, Cluster(context="kind-labctl", namespace="labs"))
    lab.runtime.deploy(lab.topology)
    nodes = lab.runtime.inspect()
    assert set(nodes) == set(lab.plan.nodes)
    for i, name in enumerate(lab.plan.nodes):
        state = nodes[name]
        assert state.state == "running" and state.mgmt_ipv4 == ""
        assert state.ssh_endpoint == (f"172.18.255.{10 + i}", 22)
        assert (state.role, state.daemon) == (lab.plan.nodes[name].role, lab.plan.nodes[name].daemon)
        assert state.host.startswith("kind-worker")
    assert all(c[:4] == ["--context", "kind-labctl", "--namespace", "labs"] for c in kube.calls()
               if c[:1] != ["config"] and "api-resources" not in c)
    nr = lab.nornir()
    try:
        assert {n: (h.hostname, h.port) for n, h in nr.inventory.hosts.items()} == {
            n: s.ssh_endpoint for n, s in nodes.items()}
    finally:
        nr.close_connections()


def test_the_inventory_takes_any_port_the_backend_gives(ix_file):
    plan = lifecycle.open_lab(ix_file).plan
    states = {n: NodeState(n, n, "running", "img", "", "member", "frr", "lab", ssh_host="192.0.2.7", ssh_port=30022)
              for n in plan.nodes}
    states["rs1"] = NodeState("rs1", "rs1", "running", "img", "172.30.1.2", "route_server", "bird", "lab")
    nr = build_nornir(plan, states, Path("/nonexistent/key"))
    hosts = {n: (h.hostname, h.port) for n, h in nr.inventory.hosts.items()}
    assert hosts["rs1"] == ("172.30.1.2", 22) and hosts["alpha"] == ("192.0.2.7", 30022)


def test_exec_and_faults_run_inside_the_node_through_its_launcher(kube, ix_file):
    lab = generated(ix_file, Cluster(context="kind-labctl", namespace="labs"))
    lab.runtime.deploy(lab.topology)
    runtime = lab.runtime
    prefix = ["--context", "kind-labctl", "--namespace", "labs", "exec"]
    assert runtime.exec_argv("rs1", ["birdc", "show", "protocols"], stdin=True, tty=True) == [
        "kubectl", *prefix, "-i", "-t", "deploy/mini-ix-rs1", "--", "docker", "exec", "-i", "-t", "rs1",
        "birdc", "show", "protocols"]

    before = len(kube.calls())
    assert runtime.set_link("sw-lab", "eth1", up=False) == pytest.approx(1764657600.25)
    assert runtime.daemon_action("alpha", "frr", "stop") == pytest.approx(1764657600.25)
    assert runtime.pause_node("beta") == pytest.approx(1764657600.25)
    link, daemon, pause = kube.calls()[before:]
    assert link == [*prefix, "deploy/mini-ix-sw-lab", "--", "docker", "exec", "sw-lab", "sh", "-c",
                    "date +%s.%N; ip link set dev eth1 down"]
    assert daemon[:9] == [*prefix, "deploy/mini-ix-alpha", "--", "docker", "exec"] and "frr" in daemon[-1]
    assert pause == [*prefix, "deploy/mini-ix-beta", "--", "sh", "-c", "date +%s.%N; docker pause beta"]

    with pytest.raises(LabctlError, match="cannot run on clabernetes"):
        runtime.replace_node("rs1", "labctl/node-bookworm:x", ["eth1"])
    with pytest.raises(LabctlError, match="not on a Docker engine"):
        runtime.engine_of("rs1")

    result = CliRunner().invoke(app, ["exec", "-f", str(ix_file), "--json", "rs1", "--", "ip", "-br", "addr"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stdout"].strip() == "1764657600.250000000"
    assert kube.calls()[-1] == [*prefix, "deploy/mini-ix-rs1", "--", "docker", "exec", "rs1", "ip", "-br", "addr"]


def test_a_redeploy_recreates_the_topology_first(kube, ix_file):
    """An updated Topology keeps reporting ready while clabernetes has not replaced its nodes yet:
    a redeploy (the lab's nodes or links changed) deletes it, waits for the pods, then applies."""
    lab = generated(ix_file, Cluster(namespace="labs"))
    lab.runtime.deploy(lab.topology)
    before = len(kube.calls())
    lab.runtime.deploy(lab.topology, reconfigure=True)
    verbs = [c[2] for c in kube.calls()[before:] if c[:2] == ["--namespace", "labs"] and c[2] in ("delete", "apply")]
    assert verbs == ["delete", "apply"]
    assert lab.runtime.inspect()["rs1"].state == "running"


def test_down_deletes_the_labs_objects_and_waits_for_its_pods(kube, ix_file):
    lab = generated(ix_file, Cluster(namespace="labs"))
    lab.runtime.deploy(lab.topology)
    kube.set(objects={**kube.cluster()["objects"],
                      "ConfigMap/other": {"kind": "ConfigMap", "metadata": {"name": "other",
                                                                            "labels": {"labctl/lab": "other-ix"}}}})
    assert lab.runtime.containers() == len(lab.plan.nodes)
    result = CliRunner().invoke(app, ["down", "-f", str(ix_file), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["containers_removed"] == len(lab.plan.nodes)
    assert list(kube.cluster()["objects"]) == ["ConfigMap/other"]  # another lab's objects stay
    assert kube.cluster()["pods"] == [] and not lab.workdir.exists()


@pytest.mark.parametrize(
    ("switches", "exc", "message", "fix"),
    [({"context": None}, LabctlError, "no current context", "--context NAME"),
     ({"reachable": False}, LabctlError, "does not answer", "kubectl cluster-info"),
     ({"crd": False}, LabctlError, "clabernetes is not installed", "helm upgrade --install clabernetes"),
     ({"pull_fail": True}, LabctlError, f"cannot pull node image {REGISTRY}/labctl/node-", "labctl image push"),
     ({"lb": False}, LabctlError, "no LoadBalancer address", "cloud-provider-kind")],
    ids=["no-context", "cluster-down", "no-crd", "image-not-pullable", "no-load-balancer"],
)
def test_deploy_failures_say_what_and_how_to_fix_it(kube, ix_file, switches, exc, message, fix):
    lab = generated(ix_file, Cluster(registry=REGISTRY))
    kube.set(**switches)
    lab.runtime.ready_timeout = 0.5
    with pytest.raises(exc) as info:
        lab.runtime.deploy(lab.topology)
    assert message in info.value.message and fix in (info.value.hint or ""), str(info.value)


def test_no_kubectl_is_a_host_not_ready_error(tmp_path, monkeypatch, ix_file):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    lab = generated(ix_file, Cluster())
    with pytest.raises(HostNotReady, match="`kubectl` is not installed"):
        lab.runtime.deploy(lab.topology)


@pytest.fixture
def no_image_builds(monkeypatch):
    monkeypatch.setattr(images, "ensure_node_image", lambda key: images.node_image_tag(key))


@pytest.mark.parametrize(
    ("switches", "code", "message"),
    [({"context": None}, 1, "no current context"), ({"crd": False}, 1, "clabernetes is not installed"),
     (None, 3, "`kubectl` is not installed")],
    ids=["no-context", "no-crd", "no-kubectl"],
)
def test_cli_up_target_clabernetes_fails_cleanly(kube, ix_file, no_image_builds, monkeypatch, tmp_path,
                                                 switches, code, message):
    if switches is None:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    else:
        kube.set(**switches)
    result = CliRunner().invoke(app, ["up", "-f", str(ix_file), "--target", "clabernetes"])
    assert result.exit_code == code, result.output
    assert message in result.stderr and "fix:" in result.stderr and "Traceback" not in result.output
    folder = ix_file.parent / ".labctl" / "mini-ix"
    assert isinstance(open_backend("mini-ix", folder), ClabernetesBackend)  # `down -f` finds it there
    # nothing reached the cluster: `down` removes the folder without asking it
    result = CliRunner().invoke(app, ["down", "-f", str(ix_file)])
    assert result.exit_code == 0 and "removed 0 containers" in result.stdout and not folder.exists()
    assert not [c for c in (kube.calls() if switches else []) if "delete" in c]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--registry", REGISTRY], "apply to --target clabernetes only"),
     (["--target", "k8s"], "unknown --target 'k8s'"),
     (["--target", "clabernetes", "--hosts", "hosts.yml"], "do not go together")],
    ids=["registry-without-target", "unknown-target", "hosts-and-clabernetes"],
)
def test_cli_up_refuses_bad_target_options(ix_file, args, message):
    result = CliRunner().invoke(app, ["up", "-f", str(ix_file), *args])
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output


def test_a_lab_folder_stays_where_its_lab_runs(kube, ix_file):
    generated(ix_file, Cluster(namespace="labs"))
    with pytest.raises(LabctlError, match="runs on clabernetes"):
        lifecycle._check_target_switch(lifecycle.open_lab(ix_file).workdir, True, None)
    again = generated(ix_file, Cluster(registry=REGISTRY))  # a later up keeps the namespace, adds the registry
    assert read_settings(again.workdir) == Cluster(None, "labs", REGISTRY)


def test_the_upgrade_scenario_stops_before_it_touches_a_clabernetes_lab(kube, ix_file):
    from labctl.scenarios.engine import run_scenario
    from labctl.scenarios.spec import resolve

    data = yaml.safe_load(ix_file.read_text())
    data["route_servers"].append({"name": "rs2", "daemon": "frr", "site": "lab"})  # the upgrade needs two
    ix_file.write_text(yaml.safe_dump(data, sort_keys=False))
    lab = generated(ix_file, Cluster(namespace="labs"))
    lab.runtime.deploy(lab.topology)
    before = len(kube.calls())
    (scenario,) = resolve(["rs-upgrade"])
    result = run_scenario(lab, scenario, nr=None)
    assert not result.passed and "cannot run on clabernetes" in result.error
    assert kube.calls()[before:] == []  # no daemon stopped, nothing built or exec'd
