"""labctl.daemons.frr.added_lines: the vtysh input a push loads instead of running frr-reload,
only when the new frr.conf adds lines to the installed one (anything else: None, frr-reload)."""

from __future__ import annotations

from pathlib import Path

from labctl.daemons.frr import added_lines
from labctl.model.load import load
from labctl.plan import build_plan
from labctl.render import render_node

REPO = Path(__file__).resolve().parents[2]

OLD = """! m1
frr defaults traditional
ip route 198.18.1.0/24 blackhole
!
router bgp 64496
 neighbor 192.0.2.1 remote-as 64511
 !
 address-family ipv4 unicast
  network 198.18.1.0/24
  neighbor 192.0.2.1 activate
 exit-address-family
exit
!
ip prefix-list OWN-IPV4 seq 5 permit 198.18.1.0/24
route-map EXPORT-IPV4 permit 10
 match ip address prefix-list OWN-IPV4
exit
"""


def test_a_new_prefix_becomes_its_lines_under_their_headers():
    new = (OLD.replace("ip route 198.18.1.0/24 blackhole\n", "ip route 198.18.1.0/24 blackhole\nip route 198.18.9.0/24 blackhole\n")
           .replace("  network 198.18.1.0/24\n", "  network 198.18.1.0/24\n  network 198.18.9.0/24\n")
           .replace("seq 5 permit 198.18.1.0/24\n", "seq 5 permit 198.18.1.0/24\nip prefix-list OWN-IPV4 seq 10 permit 198.18.9.0/24\n"))
    assert added_lines(OLD, new) == (
        "ip route 198.18.9.0/24 blackhole\n"
        "router bgp 64496\n address-family ipv4 unicast\n  network 198.18.9.0/24\n"
        "ip prefix-list OWN-IPV4 seq 10 permit 198.18.9.0/24\n")


def test_a_new_block_and_a_line_in_an_existing_one():
    new = OLD.replace(" match ip address prefix-list OWN-IPV4\nexit\n",
                      " match ip address prefix-list OWN-IPV4\n set local-preference 50\nexit\n"
                      "route-map EXPORT-IPV6 permit 10\n match ipv6 address prefix-list OWN-IPV6\nexit\n")
    assert added_lines(OLD, new) == ("route-map EXPORT-IPV4 permit 10\n set local-preference 50\n"
                                     "route-map EXPORT-IPV6 permit 10\n match ipv6 address prefix-list OWN-IPV6\n")


def test_nothing_added_is_empty_and_comments_do_not_count():
    assert added_lines(OLD, OLD.replace("! m1", "! m1, renamed") + "!\n") == ""


def test_a_removed_or_changed_line_needs_frr_reload():
    assert added_lines(OLD, OLD.replace("  network 198.18.1.0/24\n", "")) is None
    assert added_lines(OLD, OLD.replace("remote-as 64511", "remote-as 64512")) is None
    # the same line in another block is a removal from the old one
    assert added_lines(OLD, OLD.replace("  neighbor 192.0.2.1 activate\n", "").replace(
        " exit-address-family\n", " exit-address-family\n address-family ipv6 unicast\n  neighbor 192.0.2.1 activate\n")) is None


def test_rendered_configs_parse_into_blocks():
    plan = build_plan(load(REPO / "topologies" / "regional-ix.yml"))
    for node in plan.nodes.values():
        conf = render_node(plan, node).get("frr.conf")
        if conf:
            assert added_lines(conf, conf) == ""
            # a config against nothing is the whole config, every line under its headers
            whole = added_lines("", conf)
            assert whole is not None and "router bgp" in whole
