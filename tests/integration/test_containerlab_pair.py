"""The foundation works: containerlab deploys two nodes of the project's image, one running FRR and
one running BIRD, on a direct link; their BGP session comes up; destroy leaves nothing behind.

Deliberately below labctl's own pipeline (no IX model, no Nornir): if this fails, the host or
the image is at fault, not the lab logic.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from labctl.runtime import clab

from .helpers import leftovers, wait_for

pytestmark = pytest.mark.integration

LAB = "t-pair"

FRR_CONF = """frr defaults traditional
hostname frr1
router bgp 64496
 no bgp ebgp-requires-policy
 neighbor 192.0.2.2 remote-as 64497
 address-family ipv4 unicast
  network 198.18.1.0/24
 exit-address-family
ip route 198.18.1.0/24 blackhole
"""

BIRD_CONF = """router id 192.0.2.2;
protocol device {}
protocol bgp frr1 {
  local as 64497;
  neighbor 192.0.2.1 as 64496;
  ipv4 { import all; export none; };
}
"""


def _exec(node: str, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", f"clab-{LAB}-{node}", "sh", "-c", command],
                          capture_output=True, text=True, timeout=60)


def test_frr_and_bird_peer_over_a_containerlab_link(lab_host, tmp_path):
    (tmp_path / "frr.conf").write_text(FRR_CONF)
    (tmp_path / "bird.conf").write_text(BIRD_CONF)
    topo = {
        "name": LAB,
        "mgmt": {"network": f"labctl-{LAB}", "ipv4-subnet": "172.30.250.0/24"},
        "topology": {
            "defaults": {"kind": "linux", "image": lab_host, "privileged": False,
                         "cap-add": ["NET_ADMIN", "NET_RAW", "SYS_ADMIN"]},
            "nodes": {
                "frr1": {"binds": ["frr.conf:/etc/frr/frr.conf.in:ro"]},
                "bird1": {"binds": ["bird.conf:/etc/bird/bird.conf:ro"]},
            },
            "links": [{"endpoints": ["frr1:eth1", "bird1:eth1"]}],
        },
    }
    topo_file = tmp_path / f"{LAB}.clab.yml"
    topo_file.write_text(yaml.safe_dump(topo, sort_keys=False))
    clab.destroy(LAB, topo_file)  # a previous aborted run must not break this one
    try:
        clab.deploy(topo_file)
        assert set(clab.inspect(LAB)) == {"frr1", "bird1"}
        assert _exec("frr1", "ip addr add 192.0.2.1/24 dev eth1 && cp /etc/frr/frr.conf.in /etc/frr/frr.conf "
                             "&& /usr/lib/frr/frrinit.sh start").returncode == 0
        assert _exec("bird1", "ip addr add 192.0.2.2/24 dev eth1 && bird -c /etc/bird/bird.conf").returncode == 0

        def established():
            out = _exec("bird1", "birdc show protocols frr1").stdout
            return "Established" in out

        assert wait_for(established, timeout=60), _exec("bird1", "birdc show protocols all frr1").stdout
        route = wait_for(lambda: "BGP.as_path: 64496" in _exec("bird1", "birdc show route all 198.18.1.0/24").stdout,
                         timeout=30)
        assert route, _exec("bird1", "birdc show route all").stdout
        frr_summary = _exec("frr1", "vtysh -c 'show bgp summary'").stdout
        assert "64497" in frr_summary
    finally:
        clab.destroy(LAB, topo_file)
    assert leftovers(LAB, tmp_path / f"clab-{LAB}") == []
