"""labctl capture's target: NODE:IFACE, a router, a link or a trunk as one (node, interface) of the plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from labctl.errors import LabctlError
from labctl.model.load import load
from labctl.plan import build_plan
from labctl.plan.endpoints import capture_point

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plan():
    return build_plan(load(REPO / "topologies" / "regional-ix.yml"))


@pytest.mark.parametrize("spec,want", [
    ("rs1:eth1", ("rs1", "eth1")),
    ("rs1:eth0", ("rs1", "eth0")),                      # management network
    ("kibinet", ("kibinet", "eth1")),                   # a router's one data link
    ("kibinet:eth1--sw-okayama:eth2", ("kibinet", "eth1")),
    ("sw-okayama:eth2--kibinet:eth1", ("sw-okayama", "eth2")),
])
def test_node_and_link_forms(plan, spec, want):
    assert capture_point(plan, spec) == want


@pytest.mark.parametrize("spec,site", [("okayama--kurashiki", "okayama"), ("kurashiki--okayama", "kurashiki"),
                                       ("sw-okayama--sw-tsuyama", "okayama"), ("okayama-tsuyama", "okayama")])
def test_trunk_forms_pick_the_first_sites_switch_port(plan, spec, site):
    node, interface = capture_point(plan, spec)
    assert node == f"sw-{site}"
    assert interface in plan.nodes[node].trunk_ports


@pytest.mark.parametrize("spec,message,fix", [
    ("nosuch:eth1", "no node 'nosuch'", "nodes: "),
    ("rs1:eth7", "rs1 has no interface 'eth7'", "eth0, eth1"),
    ("sw-okayama", "has 6 data ports; name one", "sw-okayama:eth1"),
    ("kurashiki--tsuyama", "neither a link nor a trunk", "kibinet:eth1--sw-okayama"),
    ("nothing", "not a node, link or trunk", "NODE:IFACE"),
])
def test_errors_name_the_problem_and_the_choices(plan, spec, message, fix):
    with pytest.raises(LabctlError) as exc:
        capture_point(plan, spec)
    assert message in exc.value.message and fix in exc.value.hint
