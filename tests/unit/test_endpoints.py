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
    return build_plan(load(REPO / "tests" / "fixtures" / "regional-ix-single-homed.yml"))


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


# ---------------------------------------------------------------- what connect, logs and exec run

def test_routing_cli_and_log_come_from_the_daemon_modules():
    from labctl.lifecycle import NodeTarget

    frr, bird, switch = (NodeTarget("lab", "a", "member", "frr"), NodeTarget("lab", "rs1", "route_server", "bird"),
                         NodeTarget("lab", "sw-x", "switch", "bridge"))
    assert frr.routing_cli == ["vtysh"] and frr.cli_command("show bgp summary") == ["vtysh", "-c", "show bgp summary"]
    assert bird.routing_cli == ["birdc"] and bird.cli_command("show protocols") == ["birdc", "show protocols"]
    assert frr.daemon_log == "/var/log/frr/frr.log" and bird.daemon_log == "/var/log/bird.log"
    assert switch.routing_cli is None and switch.daemon_log is None
    assert switch.cli_command("bridge link") == ["bash", "-c", "bridge link"]
    assert frr.cli_command("ls", shell=True) == ["bash", "-c", "ls"]


def test_exec_argv():
    from labctl.runtime.nodes import exec_argv

    assert exec_argv("kibi-ix", "rs1", ["ip", "-br", "addr"]) == ["docker", "exec", "clab-kibi-ix-rs1", "ip", "-br", "addr"]
    assert exec_argv("kibi-ix", "rs1", ["birdc"], stdin=True) == ["docker", "exec", "-i", "clab-kibi-ix-rs1", "birdc"]
    assert exec_argv("kibi-ix", "rs1", ["bash"], tty=True) == ["docker", "exec", "-i", "-t", "clab-kibi-ix-rs1", "bash"]
