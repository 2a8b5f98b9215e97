"""Multi-host containerlab without Docker: the hosts file, the per-host topologies and the layout
the runtime reads, and which backend a lab folder selects."""

from __future__ import annotations

import json
from ipaddress import ip_network
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from labctl.cli import app
from labctl.errors import LabctlError
from labctl.model.hosts import load_hosts, mgmt_subnets
from labctl.model.load import load
from labctl.plan import build_plan
from labctl.render.multihost import (LAYOUT, host_topology_path, node_hosts, render_host_topologies, render_layout,
                                     tunnels)
from labctl.runtime.backend import LocalClab
from labctl.runtime.backends import lab_folder, open_backend
from labctl.runtime.engine import LOCAL
from labctl.runtime.multihost import MultiHostClab

from tests.unit.test_topology_schema import errors as schema_errors

REPO = Path(__file__).resolve().parents[2]
REGIONAL = REPO / "topologies" / "regional-ix.yml"
HOSTS = {"hosts": [
    {"name": "a", "sites": ["okayama"], "address": "10.253.77.1"},
    {"name": "b", "sites": ["kurashiki", "tsuyama"], "address": "10.253.77.2",
     "docker": "unix:///run/labctl-hb/docker.sock", "netns": "labctl-hb"}]}


def _hosts(tmp_path: Path, data: dict | str = HOSTS):
    path = tmp_path / "hosts.yml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def model():
    return load(REGIONAL)


@pytest.fixture
def split(model, tmp_path):
    plan = build_plan(model)
    hosts = load_hosts(_hosts(tmp_path), model)
    docs = {k: yaml.safe_load(v) for k, v in render_host_topologies(plan, "labctl/node:IMAGE", hosts).items()}
    return plan, hosts, docs


def test_each_node_runs_on_the_host_of_its_site_and_each_topology_validates(split):
    plan, hosts, docs = split
    assert set(docs) == {host_topology_path(plan, "a"), host_topology_path(plan, "b")}
    seen = [n for doc in docs.values() for n in doc["topology"]["nodes"]]
    assert sorted(seen) == sorted(plan.nodes)  # every node exactly once
    a = docs[host_topology_path(plan, "a")]["topology"]["nodes"]
    assert {plan.nodes[n].site for n in a if plan.nodes[n].role != "upstream"} == {"okayama"}
    # an upstream (at no site) runs on the host of its first customer: tokyo by kibinet, osaka by seto-net
    assert "tokyo" in a and "osaka" not in a
    for doc in docs.values():
        assert schema_errors(doc) == []
        assert doc["name"] == plan.lab
        assert all(b.startswith("../../ssh/") for b in doc["topology"]["defaults"]["binds"])


def test_links_that_cross_hosts_become_vxlan_pairs_and_every_link_has_the_tunnel_mtu(split):
    plan, hosts, docs = split
    placed = node_hosts(plan, hosts)
    crossing = [l for l in plan.links if placed[l.a] != placed[l.b]]
    assert {(l.a, l.b) for l in crossing if not l.transit} == {
        ("sw-okayama", "sw-kurashiki"), ("sw-okayama", "sw-tsuyama"), ("seto-net", "seto-net-oka"),
        ("momo-catv", "momo-catv-oka")}
    # the upstreams' long-haul links to customers on the other host, and between the two upstreams
    assert {(l.a, l.b) for l in crossing if l.transit} == {
        ("tokyo", "momo-catv"), ("tokyo", "sanyo-transit"), ("tokyo", "osaka")}
    vx = {}
    for path, doc in docs.items():
        host = path.split("/")[1]
        other = next(str(h.address) for h in hosts.hosts if h.name != host)
        for link in doc["topology"]["links"]:
            assert link["mtu"] == 1450
            if link.get("type") == "vxlan":
                assert link["remote"] == other and link["dst-port"] == 4789
                end = link["endpoint"]
                vx.setdefault(link["vni"], []).append((host, end["node"], end["interface"]))
            else:
                a, b = (e.split(":")[0] for e in link["endpoints"])
                assert placed[a] == placed[b] == host
    assert len(vx) == len(crossing) == len(tunnels(plan, hosts))
    for vni, ends in vx.items():  # one end on each host, the two ends of one planned link
        assert sorted(h for h, _, _ in ends) == ["a", "b"]
        link = next(t.link for t in tunnels(plan, hosts) if t.vni == vni)
        assert {(n, i) for _, n, i in ends} == {(link.a, link.a_if), (link.b, link.b_if)}


def test_mtu_and_vxlan_settings_from_the_hosts_file(model, tmp_path):
    plan = build_plan(model)
    hosts = load_hosts(_hosts(tmp_path, {**HOSTS, "mtu": 9000, "vxlan": {"vni": 7000, "port": 8472}}), model)
    doc = yaml.safe_load(render_host_topologies(plan, "img", hosts)[host_topology_path(plan, "b")])
    vx = [l for l in doc["topology"]["links"] if l.get("type") == "vxlan"]
    assert {l["mtu"] for l in doc["topology"]["links"]} == {8950}
    assert {l["dst-port"] for l in vx} == {8472} and min(l["vni"] for l in vx) == 7000


def test_management_subnets_split_the_labs_unless_given(model, tmp_path):
    plan = build_plan(model)
    hosts = load_hosts(_hosts(tmp_path), model)
    subnets = mgmt_subnets(hosts, plan.mgmt_ipv4, plan.mgmt_ipv6)
    assert [v4 for v4, _ in subnets.values()] == list(plan.mgmt_ipv4.subnets(1))
    assert all(v6.subnet_of(plan.mgmt_ipv6) for _, v6 in subnets.values())
    given = {**HOSTS, "hosts": [HOSTS["hosts"][0], {**HOSTS["hosts"][1], "mgmt_ipv4": "172.31.9.0/24"}]}
    subnets = mgmt_subnets(load_hosts(_hosts(tmp_path, given), model), plan.mgmt_ipv4, plan.mgmt_ipv6)
    assert subnets["b"][0] == ip_network("172.31.9.0/24")
    clash = {**HOSTS, "hosts": [HOSTS["hosts"][0], {**HOSTS["hosts"][1], "mgmt_ipv4": str(plan.mgmt_ipv4)}]}
    with pytest.raises(LabctlError, match="overlap"):
        mgmt_subnets(load_hosts(_hosts(tmp_path, clash), model), plan.mgmt_ipv4, plan.mgmt_ipv6)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["hosts"][1]["sites"].append("osaka"), r"hosts\[1\]\.sites\[2\]: unknown site 'osaka'"),
    (lambda d: d["hosts"][1]["sites"].append("okayama"), r"hosts\[1\]\.sites\[2\]: site 'okayama' is on host 'a'"),
    (lambda d: d["hosts"][1]["sites"].remove("tsuyama"), r"no host runs site\(s\) tsuyama"),
    (lambda d: d["hosts"][1].update(address="10.253.77.1"), r"same address"),
    (lambda d: d["hosts"][1].update(name="a"), r"same name"),
    (lambda d: d["hosts"][1].pop("docker"), r"hosts\[1\]: netns without docker"),
    (lambda d: d["hosts"][0].update(port=22), r"hosts\[0\]\.port: Extra inputs"),
    (lambda d: d["hosts"][0].update(docker="tcp://x:2375"), r"hosts\[0\]\.docker: String should match"),
    (lambda d: d.update(mtu=1000), r"mtu: Input should be greater than or equal to 1280"),
])
def test_a_wrong_hosts_file_is_explained(model, tmp_path, edit, message):
    data = json.loads(json.dumps(HOSTS))
    edit(data)
    path = _hosts(tmp_path, data)
    with pytest.raises(LabctlError, match=message) as caught:
        load_hosts(path, model)
    assert str(path) in caught.value.message and caught.value.hint


def test_unreadable_hosts_files(model, tmp_path):
    with pytest.raises(LabctlError, match="cannot read the hosts file"):
        load_hosts(tmp_path / "nope.yml", model)
    with pytest.raises(LabctlError, match="not valid YAML"):
        load_hosts(_hosts(tmp_path, "hosts: [\n"), model)


def test_the_lab_folder_selects_the_backend(model, tmp_path):
    plan = build_plan(model)
    hosts = load_hosts(_hosts(tmp_path), model)
    assert isinstance(open_backend(plan.lab, tmp_path), LocalClab)
    (tmp_path / LAYOUT).parent.mkdir(parents=True)
    (tmp_path / LAYOUT).write_text(render_layout(plan, hosts, "/x/hosts.yml"))
    backend = open_backend(plan.lab, tmp_path)
    assert isinstance(backend, MultiHostClab)
    assert backend.engine_of("rs1") == LOCAL
    b = backend.engine_of("rs2")
    assert (b.name, b.docker_host, b.netns) == ("b", "unix:///run/labctl-hb/docker.sock", "labctl-hb")
    assert b.docker() == ["docker", "-H", "unix:///run/labctl-hb/docker.sock"]
    assert b.wrap(["containerlab", "deploy"])[:2] == ["nsenter", "--net=/var/run/netns/labctl-hb"]
    assert backend.exec_argv("rs2", ["hostname"]) == [*b.docker(), "exec", f"clab-{plan.lab}-rs2", "hostname"]
    assert [h.topology for h in backend.hosts] == [tmp_path / host_topology_path(plan, h) for h in ("a", "b")]
    assert lab_folder(tmp_path / host_topology_path(plan, "b")) == tmp_path
    assert lab_folder(tmp_path / f"{plan.lab}.clab.yml") == tmp_path


def test_up_with_a_wrong_hosts_file_fails_before_touching_docker(tmp_path):
    ix = tmp_path / "ix.yml"
    ix.write_text(REGIONAL.read_text())
    hosts = _hosts(tmp_path, {"hosts": [{"name": "a", "sites": ["okayama"], "address": "10.0.0.1"}]})
    result = CliRunner().invoke(app, ["up", str(ix), "--hosts", str(hosts)])
    assert result.exit_code != 0
    assert "no host runs site(s) kurashiki, tsuyama" in result.stderr and "Traceback" not in result.stderr


def test_generate_writes_the_hosts_topologies(tmp_path):
    hosts = _hosts(tmp_path)
    out = tmp_path / "lab"
    result = CliRunner().invoke(app, ["generate", "-f", str(REGIONAL), "--hosts", str(hosts), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    written = json.loads(result.stdout)["files"]
    assert {"hosts/a/kibi-ix.clab.yml", "hosts/b/kibi-ix.clab.yml", LAYOUT, "kibi-ix.clab.yml"} <= set(written)
    layout = json.loads((out / LAYOUT).read_text())
    plan = build_plan(load(REGIONAL))
    assert layout["hosts_file"] == str(hosts.resolve())
    assert len(layout["tunnels"]) == len(tunnels(plan, load_hosts(hosts, plan.model)))
    bad = CliRunner().invoke(app, ["generate", "-f", str(REGIONAL), "--hosts", str(hosts), "--target", "clabernetes",
                                   "-o", str(tmp_path / "k8s")])
    assert bad.exit_code != 0 and "--hosts applies to --target containerlab only" in bad.stderr
