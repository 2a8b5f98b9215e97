"""OpenBGPD (labctl/daemons/openbgpd.py): parsers against real `bgpctl -j` output and bgpd's
timestamped log (tests/fixtures/daemon-output/openbgpd/, README there), golden route-server and
member configs, the policy scenario's injection, and what `labctl validate` refuses."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from labctl import daemons
from labctl.daemons import openbgpd
from labctl.model.load import load_text
from labctl.plan import build_plan
from labctl.render import render_lab
from labctl.scenarios.rs_policy import build_spec
from tests.unit.test_validation_errors import FILE, findings, variant

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "daemon-output" / "openbgpd"
POLICY = REPO / "tests" / "fixtures" / "policy"
GOLDEN = POLICY / "golden-openbgpd"
UPDATE = os.environ.get("LABCTL_UPDATE_GOLDEN") == "1"


def text(name: str) -> str:
    return (OUT / name).read_text()


# ---------------------------------------------------------------- parsers on captured output

def test_neighbors_give_sessions_with_counts():
    sessions = {s.peer_address: s for s in openbgpd.parse_neighbors(text("bgpctl-show-neighbor.json"))}
    assert set(sessions) == {"10.0.0.2", "fd00::2", "10.0.0.9"}
    v4 = sessions["10.0.0.2"]
    assert (v4.afi, v4.state, v4.established, v4.received, v4.sent) == ("ipv4", "Established", True, 2, 1)
    assert (v4.description, v4.uptime) == ("rs1 (route-server)", "00:00:32")
    assert sessions["fd00::2"].afi == "ipv6" and sessions["fd00::2"].established
    assert (sessions["10.0.0.9"].state, sessions["10.0.0.9"].established) == ("Active", False)


def test_rib_prefixes_are_the_best_paths_only():
    routes = openbgpd.parse_rib_prefixes(text("bgpctl-show-rib.json"))
    # 198.18.9.0/24 has an unresolvable next hop in the capture: valid false, not best
    assert routes == {"ipv4": ["198.18.1.0/24"], "ipv6": ["2001:db8:1::/48", "2001:db8:9::/48"]}


def test_rib_detail_gives_attributes_and_well_known_communities():
    routes = {r.prefix: r for r in openbgpd.parse_rib(text("bgpctl-show-rib-detail.json"))}
    bh = routes["198.18.9.0/24"]
    assert (bh.source, bh.peer_name, bh.next_hop, bh.as_path, bh.best) == ("10.0.0.2", "rs1", "10.0.0.2", [], False)
    assert bh.communities == [(65535, 666)] and bh.large == [(64511, 1, 2)] and bh.local_pref == 100
    own = routes["198.18.1.0/24"]
    assert (own.source, own.peer_name, own.best) == ("???", "", True)
    assert routes["2001:db8:9::/48"].afi == "ipv6"
    assert openbgpd.parse_rib(text("bgpctl-show-rib-prefix-detail.json"))[0].prefix == "198.18.9.0/24"


def test_rejected_route_is_read_from_its_tag():
    doc = text("bgpctl-show-rib-detail.json").replace('"64511:1:2"', '"64511:1101:12", "64511:1101:14"')
    route = next(r for r in openbgpd.parse_rib(doc) if r.prefix == "198.18.9.0/24")
    assert route.reasons(64511) == [12, 14] and route.rejected(64511)


def test_neighbor_detail_after_a_cease():
    down = openbgpd.parse_neighbor_detail(text("bgpctl-show-neighbor-down.json"))
    assert down["state"] == "Idle" and down["reason"] == "Cease, administratively down" and down["resets"] >= 1
    up = openbgpd.parse_neighbor_detail(text("bgpctl-show-neighbor.json"))
    assert (up["state"], up["received"], up["resets"]) == ("Established", 2, 0)
    assert openbgpd.parse_neighbor_detail("")["state"] == "unknown"


def test_roa_counts_and_rtr_serial_from_bgpctl():
    """What `_rtr_sync` compares with the rendered ROA file and StayRTR's serial (the policy
    fixture's 3 IPv4 and 2 IPv6 ROAs, served by StayRTR in the trixie image)."""
    assert openbgpd.parse_roa_counts(text("bgpctl-show-sets.json")) == {"ipv4": 3, "ipv6": 2}
    assert openbgpd.rtr_serials(text("bgpctl-show-rtr.json")) == [0]
    assert openbgpd.parse_roa_counts("") == {"ipv4": 0, "ipv6": 0} and openbgpd.rtr_serials("") == []


def test_route_server_asks_stayrtr_for_the_roas():
    files = render_lab(plan_of(policy_ix()), "x")
    assert "roa-set" not in files["configs/rs1/bgpd.conf"]  # the ROAs come over RTR (see holds_every_check)
    assert files["configs/rs1/rpki.json"] == files["configs/rs2/rpki.json"]  # the same file as FRR's
    assert "configs/beta/rpki.json" not in files


def test_log_gives_up_and_down_with_timestamps():
    changes = openbgpd.parse_log(text("bgpd-log.txt"))
    assert [(c.peer, c.up) for c in changes] == [("10.0.0.2", True), ("fd00::2", True), ("10.0.0.2", False),
                                                   ("10.0.0.2", True)]
    assert changes[2].detail == "NOTIFICATION received"
    assert changes[3].t - changes[2].t == pytest.approx(6.854, abs=0.001)
    assert openbgpd.parse_log(text("bgpd-log.txt"), known={"fd00::2"}) == [changes[1]]


def test_logger_script_stamps_each_line(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "bgpd-log.py"
    script.write_text(openbgpd.logger_script())
    log = tmp_path / "bgpd.log"
    line = "neighbor 192.0.2.3 (alpha): state change OpenConfirm -> Established, reason: KEEPALIVE message received"
    subprocess.run([sys.executable, str(script), str(log)], input=f"startup\n{line}\n", text=True, check=True)
    lines = log.read_text().splitlines()
    assert len(lines) == 2 and lines[1].endswith(line)
    [change] = openbgpd.parse_log(log.read_text())
    assert (change.peer, change.up) == ("192.0.2.3", True)


# ---------------------------------------------------------------- configs

def policy_ix(edit=None) -> str:
    data = yaml.safe_load((POLICY / "ix.yml").read_text())
    data["route_servers"][0]["daemon"] = "openbgpd"
    next(m for m in data["members"] if m["name"] == "beta")["daemon"] = "openbgpd"
    if edit:
        edit(data)
    return yaml.safe_dump(data, sort_keys=False)


def plan_of(text_: str):
    return build_plan(load_text(text_, str(POLICY / "ix.yml")))


@pytest.mark.parametrize("node", ["rs1", "beta"])
def test_rendering_matches_golden_files(node):
    files = render_lab(plan_of(policy_ix()), "labctl/node:IMAGE")
    got = files[f"configs/{node}/bgpd.conf"]
    golden = GOLDEN / node / "bgpd.conf"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got)
    assert golden.read_text() == got, f"{golden} differs (rerun with LABCTL_UPDATE_GOLDEN=1 and review git diff)"
    assert files[f"configs/{node}/bgpd-log.py"] == openbgpd.logger_script()


def test_route_server_config_holds_every_check():
    conf = render_lab(plan_of(policy_ix()), "labctl/node:IMAGE")["configs/rs1/bgpd.conf"]
    for rule in ("rde evaluate all", "transparent-as yes", "set nexthop no-modify", "fib-update no",
                 "match from 192.0.2.5 peer-as != 64498 set large-community 64511:1101:6",
                 "match from 192.0.2.4 nexthop 192.0.2.4 set large-community delete 64511:1101:5",
                 "match from ebgp max-as-len 32 set large-community 64511:1101:1",
                 "match from ebgp ovs invalid set large-community 64511:1101:14",
                 "match from ebgp large-community 64511:1101:* set localpref 0",
                 "deny quick to ebgp large-community 64511:1101:*",
                 "match to 192.0.2.4 large-community 64511:102:64497 set { prepend-neighbor 2 "
                 "large-community delete 64511:103:64497 }",
                 "match to ebgp prefix 0.0.0.0/0 or-longer community 65535:666 set nexthop 192.0.2.66",
                 "max-prefix 20\n", "rtr 127.0.0.1 {\n  descr \"StayRTR\"\n  port 8282\n}"):
        assert rule in conf, rule
    # only alpha may blackhole
    assert "match from 192.0.2.3 community 65535:666" not in conf
    assert "match from 192.0.2.6 community 65535:666 set { large-community 64511:1101:16" in conf


def test_max_prefix_restart_minutes():
    conf = render_lab(plan_of(policy_ix(lambda d: d["ix"]["policy"].update(
        max_prefix_action="restart", max_prefix_restart_minutes=3))), "x")["configs/rs1/bgpd.conf"]
    assert "max-prefix 20 restart 3\n" in conf


def test_member_config_exports_its_own_prefixes_and_programs_the_fib():
    conf = render_lab(plan_of(policy_ix()), "x")["configs/beta/bgpd.conf"]
    assert "fib-update yes" in conf and "network 198.18.2.0/24" in conf and "deny to ebgp\n" in conf
    assert "allow to ebgp prefix-set own4" in conf and "enforce neighbor-as no" in conf


def test_injection_adds_networks_with_attributes():
    plan = plan_of(policy_ix())
    spec = build_spec(plan, attackers=["beta"], steerer="alpha")
    anns = [a for a in spec.announcements if a.member == "beta"]
    assert {a.case for a in anns} >= {"next-hop", "as-path-too-long", "hijack", "bogon"}
    assert not {a.case for a in anns} & {"first-as", "transit-leak", "reserved-asn"}
    assert {(s.case, s.why) for s in spec.skipped if s.case in ("transit-leak", "reserved-asn")} == {
        ("transit-leak", "needs an attacker on frr or bird or bird3"),
        ("reserved-asn", "needs an attacker on frr or bird or bird3")}
    node = plan.nodes["beta"]
    conf = daemons.get("openbgpd").injection(plan, node, anns, spec.flood, {})
    nh = next(a for a in anns if a.case == "next-hop" and a.afi == "ipv4")
    assert f"network {nh.prefix} set {{ nexthop {nh.next_hop} }}" in conf and f"allow to ebgp prefix {nh.prefix}" in conf
    long = next(a for a in anns if a.case == "as-path-too-long" and a.afi == "ipv4")
    assert f"network {long.prefix} set {{ prepend-self 32 }}" in conf
    assert all(f"network {p}\n" in conf for p in spec.flood["ipv4"])


def test_injection_refuses_a_path_it_cannot_originate():
    plan = plan_of(policy_ix())
    spec = build_spec(plan)
    leak = next(a for a in spec.announcements if a.case == "transit-leak")
    with pytest.raises(Exception, match="cannot announce the path"):
        daemons.get("openbgpd").injection(plan, plan.nodes["beta"], [leak], {}, {})


# ---------------------------------------------------------------- validate

def test_openbgpd_is_accepted_and_renders_bgpd():
    text_ = variant("{name: rs1, site: fra}", "{name: rs1, site: fra, daemon: openbgpd}")
    files = render_lab(build_plan(load_text(text_, FILE)), "x")
    assert "configs/rs1/bgpd.conf" in files and "configs/rs1/frr.conf" not in files


def test_bfd_on_an_openbgpd_node_is_refused_naming_the_alternatives():
    text_ = variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  bfd: {enabled: true}\n")
    text_ = variant("{name: rs1, site: fra}", "{name: rs1, site: fra, daemon: openbgpd}", text_)
    got = findings(text_)
    assert len(got) == 1 and got[0].path == "route_servers[0].daemon"
    assert "OpenBGPD has no BFD" in got[0].message and "daemon: frr or bird or bird3" in got[0].hint
    text_ = variant("{name: m1, asn: 64496,", "{name: m1, daemon: openbgpd, bfd: true, asn: 64496,")
    got = findings(text_)
    assert [f.path for f in got] == ["members[0].bfd"] and "set bfd: false" in got[0].hint


@pytest.mark.parametrize("action", ["warning", "block"])
def test_max_prefix_actions_openbgpd_lacks_are_refused(action):
    text_ = variant("  route_server_asn: 64511\n",
                    f"  route_server_asn: 64511\n  policy: {{max_prefix_action: {action}}}\n")
    text_ = variant("{name: rs1, site: fra}", "{name: rs1, site: fra, daemon: openbgpd}", text_)
    got = findings(text_)
    assert len(got) == 1 and got[0].path == "ix.policy.max_prefix_action"
    assert "OpenBGPD route server(s) rs1" in got[0].message


def test_golden_folder_holds_only_rendered_nodes():
    if UPDATE:
        for p in GOLDEN.iterdir():
            if p.name not in ("rs1", "beta"):
                shutil.rmtree(p)
    assert sorted(p.name for p in GOLDEN.iterdir()) == ["beta", "rs1"]


# ---------------------------------------------------------------- captured on a live lab (lab/ README)

def test_route_server_rib_tags_exactly_the_reasons_the_policy_gives():
    """rs1 (OpenBGPD) of the policy IX while beta (OpenBGPD) and alpha (FRR) announced their cases:
    every hostile route is in its RIB with the reasons RsPolicy.evaluate gives, LOCAL_PREF 0."""
    plan = plan_of(policy_ix())
    spec = build_spec(plan, attackers=["beta"], steerer="alpha")
    routes = openbgpd.parse_rib(text("lab/rs-show-rib-detail.json"))
    by_prefix = {(r.prefix, r.peer_name): r for r in routes}
    hostile = [a for a in spec.announcements if a.hostile]
    assert len(hostile) == 14
    for a in hostile:
        route = by_prefix[(a.prefix, a.member)]
        assert route.reasons(64511) == sorted(a.expected_reasons), a
        assert route.local_pref == 0
    accepted = [r for r in routes if not r.rejected(64511)]
    assert accepted and all(r.local_pref in (100, 0) for r in accepted)
    gshut = next(r for r in accepted if (65535, 0) in r.communities)
    assert gshut.local_pref == 0 and gshut.peer_name == "alpha"


def test_member_receives_steered_and_blackholed_routes_as_the_policy_says():
    routes = openbgpd.parse_rib(text("lab/member-show-rib-detail.json"))
    bh = next(r for r in routes if r.prefix == "198.18.1.0/32")
    assert bh.next_hop == "192.0.2.66" and (65535, 65281) in bh.communities and (65535, 666) in bh.communities
    assert all(g != 64511 for r in routes for g, _, _ in r.large), "control communities leaked to a member"
    # the steering communities name trudy, not beta: beta gets those routes unchanged, from both route servers
    plan = plan_of(policy_ix())
    steered = {a.case: a for a in build_spec(plan, attackers=["beta"], steerer="alpha").announcements if a.target}
    assert {a.target for a in steered.values()} == {"trudy"}
    for case in ("prepend-to", "do-not-announce-to"):
        got = [r for r in routes if r.prefix == steered[case].prefix]
        assert sorted(r.peer_name for r in got) == ["rs1", "rs2"] and all(r.as_path == [64496] for r in got), case
    kernel = text("lab/member-ip-route.txt")
    assert "198.18.1.0/24 via 192.0.2.3 dev eth1" in kernel  # fib-update yes: learned routes in the kernel


def test_max_prefix_shutdown_as_the_route_server_reports_it():
    detail = openbgpd.parse_neighbor_detail(text("lab/rs-show-neighbor-max-prefix.json"))
    assert detail["state"] == "Idle" and "max-prefix" in detail["reason"] and detail["resets"] >= 1
    changes = openbgpd.parse_log(text("lab/rs-log-max-prefix.txt"))
    assert [c.up for c in changes][-1] is False and changes[-1].peer == "192.0.2.4"


def test_recovery_window_allows_openbgpds_idle_hold():
    from labctl.scenarios.fault_plan import recovery_limit

    bird_frr = build_plan(load_text((POLICY / "ix.yml").read_text(), str(POLICY / "ix.yml")))
    with_openbgpd = plan_of(policy_ix())
    assert recovery_limit(with_openbgpd) - recovery_limit(bird_frr) == pytest.approx(60 - 10)


def test_looking_glass_explains_an_openbgpd_rejection():
    from labctl.policy.explain import explain
    from labctl.report.lg import render_lg

    routes = openbgpd.parse_rib(text("lab/rs-show-rib-prefix-detail.json"))
    result = {"node": "rs1", "daemon": "openbgpd", "role": "route_server", "prefix": "198.18.0.0/24",
              "rs_asn": 64511, "routes": [r.__dict__ for r in routes]}
    explained = explain(result)
    assert [x["key"] for x in explained["routes"][0]["reasons"]] == ["next-hop", "prefix-not-allowed"]
    text_ = render_lg(explained)
    assert "from beta (192.0.2.4)" in text_ and "why: 5 next-hop: NEXT_HOP is not the announcing member's own address" in text_
