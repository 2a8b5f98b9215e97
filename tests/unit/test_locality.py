"""Locality verdicts (labctl.plan.locality) from captured ping output, on the bundled regional IX."""

from __future__ import annotations

from pathlib import Path

from labctl.model.load import load
from labctl.plan import build_plan
from labctl.plan import locality as loc
from labctl.report.locality import locality_markdown

REPO = Path(__file__).resolve().parents[2]
EXCEEDED = "PING 198.18.3.1 (198.18.3.1) from 198.18.1.1 : 56(84) bytes of data.\nFrom {hop} icmp_seq=1 Time to live exceeded\n"
REPLY = "PING 198.18.3.1 (198.18.3.1) from 198.18.1.1 : 56(84) bytes of data.\n64 bytes from 198.18.3.1: icmp_seq=1 ttl=62 time=0.101 ms\n"
RTT = "3 packets transmitted, 3 received, 0% packet loss, time 402ms\nrtt min/avg/max/mdev = 0.061/0.083/0.101/0.016 ms\n"


def plan():
    return build_plan(load(REPO / "topologies" / "regional-ix.yml"))


def test_every_pair_of_members_once():
    pairs = loc.local_pairs(plan())
    assert len(pairs) == 8 * 7 // 2
    assert (pairs[0].source, pairs[0].target, pairs[0].target_address) == ("kibinet", "seto-net", "198.18.2.1")


def test_direct_over_the_ix_stays_in_region():
    p = plan()
    pair = next(x for x in loc.local_pairs(p) if (x.source, x.target) == ("kibinet", "momo-catv"))
    text = "@@ttl\n" + REPLY + "@@rtt\n" + RTT
    walk, rtt = loc.split_trace(text)
    hops, reached = loc.parse_ttl_walk(walk)
    loc.judge_pair(p, pair, hops, reached, loc.parse_rtt(rtt), [64498])
    assert pair.reached and pair.in_region and pair.long_haul == 0 and pair.rtt_ms == 0.083
    assert [(h.node, h.where) for h in pair.hops] == [("momo-catv", "tsuyama")]


def test_through_tokyo_leaves_the_region_and_crosses_two_long_haul_lines():
    p = plan()
    pair = next(x for x in loc.local_pairs(p) if (x.source, x.target) == ("kibinet", "momo-catv"))
    walk, rtt = loc.split_trace("@@ttl\n" + EXCEEDED.format(hop="10.254.0.0") + "@@ttl\n" + REPLY + "@@rtt\n" + RTT)
    hops, reached = loc.parse_ttl_walk(walk)
    loc.judge_pair(p, pair, hops, reached, loc.parse_rtt(rtt), [65001, 64498])
    assert [(h.node, h.where) for h in pair.hops] == [("tokyo", "Tokyo"), ("momo-catv", "tsuyama")]
    assert pair.in_region is False and pair.upstreams == ["tokyo"]
    assert pair.long_haul == 2 and pair.modelled_rtt_ms == 2 * (8 + 8)
    md = locality_markdown({"lab": "kibi-ix", "netem": False, "summary": loc.summary([pair]), "pairs": [pair.as_dict()]})
    assert "| kibinet > momo-catv | 65001 64498 | tokyo (Tokyo) > momo-catv (tsuyama) | no | 2 | 0.08 (model 32) |" in md
    assert "0 of 1 member pairs stay in the region" in md and "no netem" in md


def test_unanswered_hops_and_no_reply():
    walk = ["From 10.254.0.0 icmp_seq=1 Time to live exceeded\n", "\n--- 1 packets transmitted, 0 received\n"]
    assert loc.parse_ttl_walk(walk) == (["10.254.0.0", "*"], False)
    assert loc.parse_rtt("3 packets transmitted, 0 received, 100% packet loss") is None


def _fault(name: str):
    from labctl.scenarios.fault_plan import broken_sessions, plan_fault
    from labctl.scenarios.spec import resolve

    p = plan()
    [sc] = resolve([name])
    fp = plan_fault(p, sc, netem=False)
    return p, fp, broken_sessions(p, sc, fp)


def test_ix_down_cuts_every_session_over_the_fabric_and_keeps_transit():
    p, fp, broken = _fault("ix-down")
    assert fp.action.kind == "fabric" and {sw for sw, _ in fp.action.fabric} == {"sw-okayama", "sw-kurashiki", "sw-tsuyama"}
    assert {s.kind for s in broken} == {"route-server", "rs-client", "bilateral"}
    # transit customers keep each other (and the upstreams' prefixes), the others hold nothing
    assert "198.18.3.0/24" in fp.during["kibinet"] and "198.19.1.0/24" in fp.during["kibinet"]
    assert fp.during["city-net"] == set() and "198.18.6.0/24" not in fp.during["kibinet"]
    assert fp.probes and all(k == "rerouted" for _, _, k in fp.probes)
    customers = {r for u in p.model.upstreams for r in u.customers}
    assert all(p.nodes[x].member in customers and p.nodes[y].member in customers for x, y, _ in fp.probes)


def test_upstream_down_keeps_local_pairs_lossless():
    p, fp, broken = _fault("upstream-down")
    assert fp.target_nodes == {"tokyo"} and fp.action.kind == "daemon-stop"
    assert {s.kind for s in broken} == {"customer", "transit-peer", "upstream"}
    assert "198.19.0.0/24" not in fp.during["kibinet"] and "0.0.0.0/0" not in fp.during["kibinet"]
    assert "198.19.1.0/24" in fp.during["seto-net"]  # Osaka's customers keep Osaka
    assert fp.probes and all(k == "zero-loss" for _, _, k in fp.probes)


def _aggregator_plan():
    import yaml

    data = yaml.safe_load((REPO / "topologies" / "regional-ix.yml").read_text())
    data["ix"]["design"] = "aggregator"
    return data


def test_aggregator_design_has_no_fabric_and_one_shared_upstream(tmp_path):
    import yaml

    path = tmp_path / "ix.yml"
    path.write_text(yaml.safe_dump(_aggregator_plan()))
    p = build_plan(load(path))
    assert not p.by_role("switch") and not p.by_role("route_server")
    agg = p.nodes["aggregator"]
    assert agg.role == "aggregator" and agg.asn == 64511
    # every member's first router on the aggregator; the upstreams sell to the aggregator only
    assert sorted(t.peer for t in agg.transit) == sorted(["kibinet", "seto-net", "momo-catv", "city-net", "kibi-univ",
                                                          "cdn-cache", "sanyo-transit", "mimasaka-isp", "tokyo", "osaka"])
    assert {s.peer for s in p.nodes["tokyo"].sessions if s.kind == "customer"} == {"aggregator"}
    assert all(n.ipv4 is None and n.router_id.startswith("192.0.2.") for n in p.by_role("member"))
    want = {k: {str(x) for x in v} for k, v in p.expected_routes.items()}
    assert {"198.18.6.0/24", "198.19.0.0/24", "198.19.1.0/24", "0.0.0.0/0"} <= want["kibinet"]
    assert "198.18.1.0/24" not in want["kibinet"]
    # ix-down there is the aggregator failing: nothing left between members
    from labctl.scenarios.fault_plan import plan_fault
    from labctl.scenarios.spec import resolve

    fp = plan_fault(p, resolve(["ix-down"])[0], netem=False)
    assert fp.action.kind == "pause" and fp.target_nodes == {"aggregator"}
    assert all(routes == set() for routes in fp.during.values())
    assert fp.probes and all(k == "observed" for _, _, k in fp.probes)
    # locality: the aggregator is in the region (its site), the upstreams are not
    assert loc.hop_map(p)["10.254.0.0"] == ("aggregator", "okayama")


def test_compare_report_puts_both_designs_side_by_side():
    from labctl.report.compare import compare_html, compare_markdown

    probe = {"from": "kibinet", "to": "seto-net", "kind": "rerouted", "sent": 1000, "lost": 912, "outage_ms": 9120.0}
    local = {"from": "cdn-cache", "to": "city-net", "kind": "zero-loss", "sent": 900, "lost": 0, "outage_ms": 0.0}
    def run(design, outage_probe, in_region):
        return {"design": design, "nodes": 17, "error": "", "timings": {"up": 30.0, "locality": 9.1, "upstream-down": 20.0,
                                                                         "ix-down": 40.0, "down": 5.0},
                "locality": {"lab": design, "netem": False, "pairs": [],
                             "summary": {"pairs": 28, "reached": 28, "in_region": in_region,
                                         "share_in_region": in_region / 28}},
                "scenarios": [{"name": "upstream-down", "target": "tokyo", "error": "", "probes": [local],
                               "checks": [{"name": "data plane", "status": "pass", "observed": "0 lost"}]},
                              {"name": "ix-down", "target": "fabric", "error": "", "probes": [outage_probe],
                               "checks": [{"name": "data plane kibinet -> seto-net", "status": "pass", "observed": "ok"}]}]}
    md = compare_markdown("regional-ix", [run("ix", probe, 28), run("aggregator", {**probe, "kind": "observed",
                                                                                    "lost": 2000, "sent": 2000,
                                                                                    "outage_ms": 20000.0}, 28)])
    assert "| | ix | aggregator |" in md
    assert "| member pairs whose traffic stays in the region | 28/28 (100 %) | 28/28 (100 %) |" in md
    assert "kibinet > seto-net: 9120 ms (912/1000 lost)" in md and "kibinet > seto-net: 20000 ms (2000/2000 lost)" in md
    assert "| upstream-down: traffic between members | 1 member pairs, 0 of 900 probes lost |" in md
    # the same report as a self-contained page: same cells, escaped, no scripts or outside assets
    runs = [run("ix", probe, 28), run("aggregator", {**probe, "to": "<seto>"}, 27)]
    page = compare_html("regional-ix", runs)
    assert page.startswith("<!doctype html>") and "<script" not in page and "http" not in page
    assert "<th>ix</th><th>aggregator</th>" in page and "<td>28/28 (100 %)</td><td>27/28 (96 %)</td>" in page
    assert "kibinet &gt; &lt;seto&gt;: 9120 ms (912/1000 lost)" in page and "<seto>" not in page


def test_a_dual_homed_member_pings_from_its_own_lan_address():
    # 198.18.2.1 is on both seto-net routers: the answer could go to the other one
    p = plan()
    assert loc.source_address(p, "seto-net") == str(p.nodes["seto-net"].ipv4)
    assert loc.source_address(p, "kibinet") == "198.18.1.1"
