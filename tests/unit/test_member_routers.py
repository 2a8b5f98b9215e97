"""Members with several routers (issue 11): the model keys, their validation, and the plan they give:
a node and a route-server session per router, one ASN and policy per member, expected routes that
respect BGP loop prevention between a member's own routers."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from labctl.model.load import ModelErrors, load_text
from labctl.plan import build_plan

BASE = """\
ix:
  name: dual-ix
  route_server_asn: 64511
sites:
  - name: fra
  - name: ams
trunks:
  - {between: [fra, ams]}
route_servers:
  - {name: rs1, site: fra}
  - {name: rs2, site: ams, daemon: frr}
members:
  - name: acme
    asn: 64496
    daemon: bird
    prefixes: [198.18.1.0/24, "2001:db8:1::/48"]
    routers:
      - {name: acme-fra, site: fra}
      - {name: acme-ams, site: ams, daemon: frr, bfd: true}
  - {name: beta, asn: 64497, site: fra, prefixes: [198.18.2.0/24], bilateral: [acme]}
"""


def problems(text: str) -> list:
    with pytest.raises(ModelErrors) as info:
        load_text(text, "ix.yml")
    return info.value.findings


def test_a_member_with_two_routers_is_two_nodes_with_the_member_s_asn_and_prefixes():
    plan = build_plan(load_text(BASE, "ix.yml"))
    fra, ams = plan.nodes["acme-fra"], plan.nodes["acme-ams"]
    assert "acme" not in plan.nodes
    assert (fra.site, fra.daemon, ams.site, ams.daemon) == ("fra", "bird", "ams", "frr")
    assert fra.asn == ams.asn == 64496 and fra.member == ams.member == "acme"
    assert fra.prefixes == ams.prefixes == [ip_network("198.18.1.0/24"), ip_network("2001:db8:1::/48")]
    assert fra.ipv4 != ams.ipv4
    # a session per router and family with each route server; the route servers hold both routers
    assert sorted({s.peer for s in plan.nodes["rs1"].sessions}) == ["acme-ams", "acme-fra", "beta"]
    assert [s.bfd for s in ams.sessions if s.kind == "route-server"] == [True] * 4
    # one policy per member, applied to each of its sessions
    assert plan.policy.members["acme-fra"].allowed == plan.policy.members["acme-ams"].allowed
    # bilateral names the member: beta peers with both of its routers
    assert sorted(s.peer for s in plan.nodes["beta"].sessions if s.kind == "bilateral" and s.afi == "ipv4") == [
        "acme-ams", "acme-fra"]


def test_expected_routes_follow_loop_prevention_between_a_member_s_routers():
    plan = build_plan(load_text(BASE, "ix.yml"))
    # beta learns acme's prefixes (via either router); acme's routers never learn their own member's
    assert ip_network("198.18.1.0/24") in plan.expected_routes["beta"]
    assert plan.expected_routes["acme-fra"] == plan.expected_routes["acme-ams"] == [ip_network("198.18.2.0/24")]


def test_the_one_router_form_reads_as_before():
    plan = build_plan(load_text(BASE, "ix.yml"))
    assert plan.nodes["beta"].member == "beta" and plan.nodes["beta"].site == "fra"


def test_two_routers_at_one_site_need_same_site():
    text = BASE.replace("{name: acme-ams, site: ams,", "{name: acme-ams, site: fra,")
    (f,) = problems(text)
    assert f.path == "members[0].routers[1].site"
    assert "acme-fra" in f.message and "acme-ams" in f.message and "same_site: true" in f.hint
    load_text(text.replace("    daemon: bird\n", "    daemon: bird\n    same_site: true\n"), "ix.yml")


def test_member_with_routers_keeps_site_and_addresses_on_its_routers():
    (f,) = problems(BASE.replace("    daemon: bird\n", "    daemon: bird\n    site: fra\n"))
    assert f.path == "members[0].site" and "routers" in f.hint


def test_member_without_site_or_routers():
    (f,) = problems(BASE.replace("{name: beta, asn: 64497, site: fra,", "{name: beta, asn: 64497,"))
    assert f.path == "members[1]" and f.message == "member 'beta' has no site"


def test_router_names_are_node_names_and_must_be_unique():
    (f,) = problems(BASE.replace("{name: acme-ams,", "{name: beta,"))
    assert f.path.startswith("members[1].name") or f.path.startswith("members[0].routers[1].name")
    assert "duplicate node name 'beta'" in f.message


def test_router_addresses_and_sites_are_checked_per_router():
    found = problems(BASE.replace("{name: acme-ams, site: ams,", "{name: acme-ams, site: lon, ipv4: 10.0.0.1,"))
    paths = {f.path for f in found}
    assert {"members[0].routers[1].site", "members[0].routers[1].ipv4"} <= paths


def test_a_member_s_routers_are_joined_by_a_private_link_with_ibgp():
    plan = build_plan(load_text(BASE, "ix.yml"))
    (link,) = [l for l in plan.links if l.backbone]
    assert {link.a, link.b} == {"acme-fra", "acme-ams"}
    fra, ams = plan.nodes["acme-fra"], plan.nodes["acme-ams"]
    assert fra.backbone == [("eth2", "10.255.0.0/31", "fd00:bb::/127")]
    assert ams.backbone == [("eth2", "10.255.0.1/31", "fd00:bb::1/127")]
    ibgp = [(s.peer, s.afi, s.peer_address, s.peer_asn) for s in fra.sessions if s.kind == "ibgp"]
    assert ibgp == [("acme-ams", "ipv4", "10.255.0.1", 64496), ("acme-ams", "ipv6", "fd00:bb::1", 64496)]
    assert not [s for s in plan.nodes["beta"].sessions if s.kind == "ibgp"]


def test_a_router_cut_off_from_route_servers_still_expects_the_ix_through_its_backbone():
    from labctl.plan.build import bilateral_pairs, expected_routes

    plan = build_plan(load_text(BASE, "ix.yml"))
    # the trunk is cut: ams has rs2 (and acme-ams), fra has rs1, beta and acme-fra
    island = {"fra": 0, "ams": 1}
    got = expected_routes(plan.model, plan.nodes, bilateral_pairs(plan.model), frozenset(), island)
    assert got["acme-ams"] == got["acme-fra"] == [ip_network("198.18.2.0/24")]  # beta's, via acme-fra
    # with rs1 gone too, fra has no route server: acme-fra learns nothing from the IX, and acme-ams
    # nothing either (beta's only route server, rs1, is gone) but beta's bilateral session still serves
    got = expected_routes(plan.model, plan.nodes, bilateral_pairs(plan.model), frozenset({"rs1"}), island)
    assert got["beta"] == [ip_network("198.18.1.0/24"), ip_network("2001:db8:1::/48")]  # bilateral to acme-fra
    assert got["acme-ams"] == got["acme-fra"] == [ip_network("198.18.2.0/24")]


def test_backbone_ranges_must_not_clash_with_the_ix_addresses():
    (f,) = problems(BASE.replace("  route_server_asn: 64511\n",
                                 "  route_server_asn: 64511\n  peering_lan: {ipv4: 10.255.1.0/24, ipv6: 'fd00:ffff::/64'}\n"))
    assert f.path == "members[0].routers" and "10.255.0.0/16" in f.message and "10.255.1.0/24" in f.message


# ---------------------------------------------------------------- scenarios on the bundled regional IX

def _regional_fault(name: str):
    from pathlib import Path

    from labctl.model.load import load
    from labctl.scenarios import fault_plan as fp
    from labctl.scenarios.spec import resolve

    plan = build_plan(load(Path(__file__).resolve().parents[2] / "topologies" / "regional-ix.yml"))
    sc = resolve([name])[0]
    return plan, sc, fp.plan_fault(plan, sc, False)


def test_dual_homed_link_down_keeps_the_member_and_probes_through_its_other_router():
    plan, _, f = _regional_fault("dual-homed-link-down")
    assert f.target_nodes == {"seto-net"} and f.label == "IX port of seto-net down (sw-kurashiki:eth2)"
    # its prefixes stay expected everywhere: seto-net-oka still announces them
    assert all("198.18.2.0/24" in routes for m, routes in f.during.items() if plan.nodes[m].asn != 64497)
    strict = [(x, y) for x, y, k in f.probes if k == "zero-loss"]
    assert strict and not {"seto-net", "seto-net-oka"} & {n for pair in strict for n in pair}
    assert [(y, k) for _, y, k in f.probes if k != "zero-loss"] == [("seto-net-oka", "rerouted")]


def test_site_down_takes_the_site_s_routers_and_keeps_dual_homed_members():
    from labctl.scenarios.fault_plan import broken_sessions

    plan, sc, f = _regional_fault("site-down")
    assert f.label == "site tsuyama down (sw-tsuyama: 4 ports)" and f.action.ports == ("eth1", "eth2", "eth3", "eth4")
    assert f.target_nodes == {"momo-catv", "sanyo-transit", "mimasaka-isp"}
    gone = {"198.18.16.0/24", "198.18.20.0/24"}  # sanyo-transit's and mimasaka-isp's: off the IX
    customers = {c for u in plan.model.upstreams for c in u.customers}
    for member, routes in f.during.items():
        # ... but both buy transit: the other transit customers still reach them through an upstream
        assert (gone <= routes) if plan.nodes[member].member in customers else not gone & routes, member
        assert plan.nodes[member].asn == 64498 or "198.18.3.0/24" in routes, member  # momo-catv via Okayama
    assert {(y, k) for _, y, k in f.probes if k != "zero-loss"} == {
        ("momo-catv-oka", "rerouted"), ("mimasaka-isp", "observed"), ("sanyo-transit", "observed")}
    broken = broken_sessions(plan, sc, f)
    # the three Tsuyama routers' sessions with both route servers; not momo-catv's backbone iBGP (no switch carries it)
    assert {s.peer for s in broken if s.node == "rs1"} == {"momo-catv", "sanyo-transit", "mimasaka-isp"}
    assert not [s for s in broken if s.kind == "ibgp"]


def test_trunk_faults_never_ask_zero_loss_of_a_member_on_both_sides():
    _, _, cut = _regional_fault("trunk-down")  # okayama-tsuyama: momo-catv has a router on each side
    zero = {n for x, y, k in cut.probes if k == "zero-loss" for n in (x, y)}
    assert not zero & {"momo-catv", "momo-catv-oka"}
    assert [(y, k) for _, y, k in cut.probes if k != "zero-loss"] == [("momo-catv-oka", "rerouted")]
    assert cut.during["momo-catv"] == cut.during["momo-catv-oka"]  # cut off from the RSs, fed by its backbone
    _, _, lossy = _regional_fault("impairment")  # okayama-kurashiki: seto-net has a router on each side
    assert not {n for x, y, _ in lossy.probes for n in (x, y)} & {"seto-net", "seto-net-oka"}
