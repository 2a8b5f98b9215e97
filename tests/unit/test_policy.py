"""Route-server policy: the model, the policy stated in Python, rendering, parsers, the RTR cache's files,
the looking glass's explanations and the scenario's judge. No lab needed."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from ipaddress import ip_network
from pathlib import Path

import pytest
import yaml

import labctl.daemons.rtr as rtr
from labctl.daemons.bird import bird_injection
from labctl.daemons.bird import parse_roa_table as parse_bird_roas
from labctl.daemons.bird import parse_routes as parse_bird_routes
from labctl.daemons.frr import frr_injection
from labctl.daemons.frr import parse_prefix as parse_frr_prefix
from labctl.daemons.frr import parse_rpki_table as parse_frr_roas
from labctl.daemons.frr import parse_table as parse_frr_table
from labctl.daemons.records import Route
from labctl.model.load import ModelErrors, load, load_text
from labctl.plan import build_plan
from labctl.daemons import capabilities
from labctl.policy import data
from labctl.policy.regex import ranges_regex, subtract
from labctl.render import render_lab
from labctl.policy.explain import explain
from labctl.report.lg import render_lg
from labctl.scenarios.rs_policy import (
    HOSTILE_CASES,
    INTENT,
    STEERING_CASES,
    View as _View,
    build_spec,
    evaluate,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "policy"
OUTPUT = FIXTURE / "output"


@pytest.fixture(scope="module")
def plan():
    return build_plan(load(FIXTURE / "ix.yml"))


def fixture_text(edit=None) -> str:
    d = yaml.safe_load((FIXTURE / "ix.yml").read_text())
    if edit:
        edit(d)
    return yaml.safe_dump(d, sort_keys=False)


def problems(text: str) -> list[str]:
    try:
        load_text(text, str(FIXTURE / "ix.yml"))
    except ModelErrors as exc:
        return [f"{f.path}: {f.message}" for f in exc.findings]
    return []


# ------------------------------------------------------------------ AS-path regexes

@pytest.mark.parametrize("ranges", [[(64512, 65534)], [(0, 0), (23456, 23456)], [(65552, 131071)],
                                    [(4200000000, 4294967294)], [(1, 9), (10, 99)], [(5, 1234)], [(199, 200)]])
def test_asn_range_regex_matches_exactly_the_range(ranges):
    rx = re.compile(f"^({ranges_regex(ranges)})$")
    rnd = random.Random(1)
    samples = {rnd.randrange(0, 2 ** 32) for _ in range(3000)}
    for lo, hi in ranges:
        samples |= set(range(max(0, lo - 50), lo + 50)) | set(range(max(0, hi - 50), hi + 50))
    for n in samples:
        assert bool(rx.match(str(n))) == any(lo <= n <= hi for lo, hi in ranges), n


def test_subtract_ranges():
    assert subtract([(64512, 65534)], [(64600, 64600), (64512, 64512)]) == [(64513, 64599), (64601, 65534)]
    assert subtract([(1, 5)], [(0, 10)]) == []


# ------------------------------------------------------------------ the model

def test_fixture_validates_and_reads_its_files(plan):
    pol = plan.policy
    assert pol.members["mallory"].origins == (64498, 65540)  # from the AS-SET file
    assert ip_network("198.18.96.0/24") in pol.members["mallory"].allowed["ipv4"]
    assert {str(r.prefix) for r in pol.roas} >= {"198.18.70.0/24", "2001:db8:470::/48", "198.18.3.0/24"}  # model + file
    assert pol.members["alpha"].blackhole and not pol.members["trudy"].blackhole
    assert pol.members["trudy"].max_prefix == {"ipv4": 20, "ipv6": 20}
    assert pol.lengths == {"ipv4": (8, 24), "ipv6": (16, 48)}


def test_defaults_need_no_policy_section():
    m = load(REPO / "topologies" / "minimal.yml")
    assert m.ix.policy.max_prefix_action == "shutdown"
    assert m.ix.policy.prefix_length.ipv4.max == 24 and m.ix.policy.prefix_length.ipv6.max == 48
    assert 3356 in m.ix.policy.transit_free_asns


def test_frr_cannot_block_on_max_prefix_and_validate_says_so():
    found = problems(fixture_text(lambda d: d["ix"]["policy"].update(max_prefix_action="block")))
    assert any("FRR" in p and "rs2" in p and "max-prefix-block" in p for p in found), found
    found = problems(fixture_text(lambda d: d["members"][0]["max_prefix"].update(action="block")
                                  if "max_prefix" in d["members"][0] else d["members"][0].update(max_prefix={"action": "block"})))
    assert any(p.startswith("members[0].max_prefix.action") and "FRR" in p for p in found), found
    # BIRD alone can
    assert problems(fixture_text(lambda d: (d["ix"]["policy"].update(max_prefix_action="block"),
                                            d.update(route_servers=[d["route_servers"][0]])))) == []


def test_policy_mistakes_are_located():
    def edit(d):
        d["members"][1]["prefixes"].append("198.18.9.0/25")  # longer than the IX accepts
        d["members"][2]["as_set"] = "AS-MALORY"  # typo
        d["ix"]["policy"]["rpki"]["roas"].append({"prefix": "198.18.2.0/24", "asn": 64510})  # beta's prefix, other origin
        d["ix"]["policy"]["blackhole"]["next_hop_ipv4"] = "192.0.2.3"  # alpha's address
        d["ix"]["policy"]["prefix_length"] = {"ipv6": {"min": 49, "max": 48}}
    found = problems(fixture_text(edit))
    text = "\n".join(found)
    assert "members[1].prefixes[2]: 198.18.9.0/25 is outside the route servers' prefix lengths" in text
    assert "members[2].as_set: unknown AS-SET 'AS-MALORY'" in text
    assert "members[1].prefixes[0]: 198.18.2.0/24 is RPKI-invalid for AS64497" in text
    assert "ix.policy.blackhole.next_hop_ipv4: 192.0.2.3 is a router's LAN address" in text
    assert "ix.policy.prefix_length.ipv6: min /49 is longer than max /48" in text
    assert "2001:db8:1::/48 is outside" not in text  # no cascade from impossible bounds


def test_missing_and_broken_policy_files_are_findings(tmp_path):
    (tmp_path / "as-sets.yml").write_text("AS-X: [1, 2]\n")
    (tmp_path / "roas.json").write_text('{"roas": [{"prefix": "198.18.0.0/24", "maxLength": 8, "asn": "AS1"}]}')
    d = yaml.safe_load((FIXTURE / "ix.yml").read_text())
    d["members"][2].pop("as_set")
    path = tmp_path / "ix.yml"
    path.write_text(yaml.safe_dump(d))
    with pytest.raises(ModelErrors) as err:
        load(path)
    text = err.value.render()
    assert "ix.policy.as_set_file" in text and "expected {asns: [...], prefixes: [...]}" in text
    assert "ix.policy.rpki.roa_file" in text and "maxLength 8 must lie in 24..32" in text
    (tmp_path / "as-sets.yml").unlink()
    with pytest.raises(ModelErrors) as err:
        load(path)
    assert "as-sets.yml: no such file" in err.value.render()


# ------------------------------------------------------------------ the policy, stated once

def test_evaluate_states_each_reason(plan):
    pol = plan.policy
    ev = pol.evaluate
    assert ev("alpha", "198.18.1.0/24", [64496], "192.0.2.3") == []
    assert ev("trudy", "10.67.0.0/16", [64499], "192.0.2.6") == [2]  # registered, but a bogon
    assert ev("trudy", "127.0.0.0/8", [64499], "192.0.2.6") == [2, 12]
    assert ev("alpha", "192.0.2.0/24", [64496], "192.0.2.3") == [2, 12]  # the peering LAN itself
    assert ev("mallory", "198.18.48.0/25", [64498], "192.0.2.5") == [13]
    assert ev("alpha", "198.18.1.0/25", [64496], "192.0.2.3") == [13, 14]  # longer than its ROA's max length
    assert ev("trudy", "198.18.2.0/24", [64499], "192.0.2.6") == [12]  # beta's prefix
    assert ev("alpha", "198.18.3.0/24", [64496], "192.0.2.3") == [12, 14]  # mallory's prefix, which has a ROA
    assert ev("mallory", "198.18.48.0/24", [65551, 64498], "192.0.2.5") == [6]
    assert ev("mallory", "198.18.48.0/24", [64498], "192.0.2.3") == [5]
    assert ev("trudy", "198.18.70.0/24", [64499], "192.0.2.6") == [14]
    assert ev("mallory", "198.18.96.0/24", [64498, 3356, 65540], "192.0.2.5") == [8]
    assert ev("mallory", "198.18.96.0/24", [64498, 65540], "192.0.2.5") == []  # its customer, via its AS-SET
    assert ev("mallory", "198.18.48.0/24", [64498, 64512, 64498], "192.0.2.5") == [7]
    assert ev("mallory", "198.18.48.0/24", [64498] * 33, "192.0.2.5") == [1]
    assert ev("mallory", "198.18.48.0/24", [64498] * 32, "192.0.2.5") == []
    assert ev("mallory", "198.18.48.0/24", [64498, 65541], "192.0.2.5") == [9]
    assert ev("trudy", "198.18.4.1/32", [64499], "192.0.2.6", [data.BLACKHOLE]) == [16]
    assert ev("alpha", "198.18.1.1/32", [64496], "192.0.2.3", [data.BLACKHOLE]) == []  # opted in
    assert ev("alpha", "2001:db8:1::/48", [64496], "fd00:ffff::3") == []
    assert ev("alpha", "fc00::/16", [64496], "fd00:ffff::3") == [2, 12]
    assert ev("alpha", "2a00::/12", [64496], "fd00:ffff::3") == [12, 13]


def test_documentation_and_own_asns_are_exempt():
    text = fixture_text(lambda d: d["members"][1].update(asn=64512))
    pol = build_plan(load_text(text, str(FIXTURE / "ix.yml"))).policy
    assert pol.evaluate("beta", "198.18.2.0/24", [64512], "192.0.2.4") == []  # its own private ASN
    assert pol.evaluate("mallory", "198.18.48.0/24", [64498, 64512], "192.0.2.5") == [7, 9]
    assert pol.evaluate("alpha", "198.18.1.0/24", [64496, 65537, 64496], "192.0.2.3") == []  # documentation ASN


def test_receivers_follow_the_community_scheme(plan):
    rs = plan.policy.rs_asn
    recv = plan.policy.receivers
    assert set(recv("alpha", [])) == {"beta", "mallory", "trudy"}
    assert set(recv("alpha", [(rs, 0, 64497)])) == {"mallory", "trudy"}
    assert set(recv("alpha", [(rs, 0, 0), (rs, 1, 64497)])) == {"beta"}
    assert recv("alpha", [(rs, 103, 64499)]) == {"beta": 0, "mallory": 0, "trudy": 3}
    assert set(recv("alpha", [(1, 0, 64497)])) == {"beta", "mallory", "trudy"}  # another ASN's namespace


# ------------------------------------------------------------------ rendering

def test_rendered_route_servers_carry_the_policy(plan):
    files = render_lab(plan, "labctl/node:test")
    frr = files["configs/rs2/frr.conf"]
    bird = files["configs/rs1/bird.conf"]
    assert "enforce-first-as" not in frr  # it would reset the session instead of rejecting the route
    assert " neighbor 192.0.2.6 maximum-prefix 20\n" in frr
    assert "route-map RS-IN-TRUDY permit 80\n" in frr and "route-map RS-OUT-TRUDY deny 10\n" in frr
    assert "call RS-IN-COMMON\n" in frr and "call RS-IN-COMMON-BH\n" in frr  # alpha may blackhole, trudy not
    assert "rpki cache tcp 127.0.0.1 8282 preference 1" in frr and "-M rpki" in files["configs/rs2/daemons"]
    assert "protocol rpki rtr_cache {" in bird and "remote 127.0.0.1 port 8282;" in bird and "rpki reload on;" in bird
    # both route servers serve the same ROA file through StayRTR; members get none
    assert files["configs/rs1/rpki.json"] == files["configs/rs2/rpki.json"]
    assert json.loads(files["configs/rs2/rpki.json"])["roas"][0] == {
        "asn": "AS64496", "prefix": "198.18.1.0/24", "maxLength": 24, "ta": "labctl"}
    assert not [f for f in files if f.endswith("/rpki.json") and "/rs" not in f]
    assert "receive limit 20 action disable;" in bird and "import keep filtered on;" in bird
    assert "define M_MALLORY_ORIGINS = [ 64498, 65540 ];" in bird
    # no ROAs: no RPKI at all
    text = fixture_text(lambda d: d["ix"]["policy"].update(rpki={"roas": []}))
    plain = render_lab(build_plan(load_text(text, str(FIXTURE / "ix.yml"))), "labctl/node:test")
    assert "rpki" not in plain["configs/rs2/frr.conf"] and "roa_check" not in plain["configs/rs1/bird.conf"]
    assert "configs/rs2/rpki.json" not in plain and "configs/rs1/rpki.json" not in plain


@pytest.mark.parametrize("action,frr,bird", [("restart", "maximum-prefix 100 restart 1", "action restart"),
                                             ("warning", "maximum-prefix 100 warning-only", "action warn")])
def test_max_prefix_actions_map_to_each_daemon(action, frr, bird):
    text = fixture_text(lambda d: d["ix"]["policy"].update(max_prefix_action=action))
    files = render_lab(build_plan(load_text(text, str(FIXTURE / "ix.yml"))), "x")
    assert frr in files["configs/rs2/frr.conf"] and f"receive limit 100 {bird};" in files["configs/rs1/bird.conf"]


def test_capability_table_in_docs_is_current():
    doc = (REPO / "docs" / "POLICY.md").read_text()
    assert capabilities.markdown_table() in doc, "docs/POLICY.md: paste capabilities.markdown_table() again"
    for reason in data.REASONS:
        assert f"| {reason.code} | `{reason.key}` |" in doc


# ------------------------------------------------------------------ parsers (captured from FRR 8.4 and BIRD 2.0.12)

def test_parse_bird_filtered_routes_with_reasons():
    routes = parse_bird_routes((OUTPUT / "bird-rs-filtered-ipv4.txt").read_text(), filtered=True)
    by_prefix = {r.prefix: r for r in routes}
    r = by_prefix["198.18.2.0/24"]
    assert r.filtered and r.source == "m_trudy_ipv4" and r.peer_name == "trudy" and r.reasons(64511) == [12]
    assert by_prefix["198.18.49.0/24"].next_hop == "192.0.2.3"


def test_parse_bird_member_table_and_roa_lines_skipped():
    routes = parse_bird_routes((OUTPUT / "bird-member-ipv4.txt").read_text())
    assert routes and all("-" not in r.prefix for r in routes)
    gshut = [r for r in routes if (65535, 0) in r.communities]
    assert gshut and gshut[0].as_path == [64496]
    v6 = parse_bird_routes((OUTPUT / "bird-rs-ipv6.txt").read_text())
    assert all(r.afi == "ipv6" and ":" in r.next_hop for r in v6 if r.next_hop)


def test_parse_frr_tables():
    rs = parse_frr_table((OUTPUT / "frr-rs-ipv4.json").read_text())
    hijack = [r for r in rs if r.prefix == "198.18.2.0/24" and r.source == "192.0.2.6"]
    assert hijack and hijack[0].reasons(64511) == [12]
    assert any(r.local_pref == 0 for r in rs)  # graceful shutdown
    member = parse_frr_table((OUTPUT / "frr-member-ipv4.json").read_text())
    bh = [r for r in member if r.prefix.endswith("/32")]
    assert bh and data.BLACKHOLE in bh[0].communities and data.NO_EXPORT in bh[0].communities
    assert bh[0].next_hop == "192.0.2.66"
    v6 = parse_frr_table((OUTPUT / "frr-rs-ipv6.json").read_text())
    assert all(not r.next_hop.startswith("fe80") for r in v6)
    one = parse_frr_prefix((OUTPUT / "frr-rs-prefix.json").read_text())
    assert {r.source for r in one} == {"192.0.2.4", "192.0.2.6"}


def test_looking_glass_explains_rejections():
    result = {"node": "rs2", "daemon": "frr", "role": "route_server", "prefix": "198.18.2.0/24", "rs_asn": 64511,
              "peers": {"192.0.2.4": "beta", "192.0.2.6": "trudy"},
              "routes": [r.__dict__ for r in parse_frr_prefix((OUTPUT / "frr-rs-prefix.json").read_text())]}
    text = render_lg(explain(result))
    assert "accepted:\n  from beta (192.0.2.4)  AS path 64497" in text
    assert "why: 12 prefix-not-allowed: prefix not registered for the member" in text


# ------------------------------------------------------------------ the RTR cache (StayRTR) and the daemons' ROA tables

def test_roa_file_is_rpki_client_json_with_every_roa(plan):
    """The model's ROAs and those of its roa_file, in the format StayRTR reads (rpki-client -j)."""
    text = rtr.roa_json(plan.policy)
    doc = json.loads(text)
    assert doc["metadata"]["vrps"] == len(doc["roas"]) == len(plan.policy.roas)
    assert all(set(r) == {"asn", "prefix", "maxLength", "ta"} and r["asn"].startswith("AS") for r in doc["roas"])
    assert rtr.vrps(text) == {(str(r.prefix), r.max_length, r.asn) for r in plan.policy.roas}
    assert ("198.18.3.0/24", 24, 64498) in rtr.vrps(text)  # from roas.json
    assert ("198.18.70.0/24", 24, 64510) in rtr.vrps(text)  # from ix.yml
    assert rtr.files(None) == {} and set(rtr.files(plan.policy)) == {"rpki.json"}


def test_stayrtr_command_serves_the_file_on_the_rendered_port():
    assert f"-cache {rtr.ROA_FILE} " in rtr.COMMAND and f"-bind :{rtr.PORT} " in rtr.COMMAND  # every address: members may use it too
    assert "-checktime=false" in rtr.COMMAND  # the lab's ROA file has no build time to check


@pytest.mark.parametrize("name", ["frr-10.3", "frr-8.4"])
def test_parse_frr_rpki_table(name):
    """`vtysh -c 'show rpki prefix-table'` after StayRTR served the policy fixture's ROA file
    (captured in the trixie and bookworm images)."""
    text = (OUTPUT / f"{name}-rpki-prefix-table.txt").read_text()
    got = parse_frr_roas(text)
    assert ("198.18.1.0/24", 24, 64496) in got and ("2001:db8:470::/48", 48, 64510) in got
    assert len(got) == 5 == int(re.search(r"IPv4 Prefixes: (\d+)", text).group(1)) + int(
        re.search(r"IPv6 Prefixes: (\d+)", text).group(1))


@pytest.mark.parametrize("name", ["bird-2.17", "bird-3.1", "bird-2.0"])
def test_parse_bird_roa_tables(name):
    """`birdc show route table rpki4/6` after StayRTR served the policy fixture's ROA file (captured
    in each node image: BIRD 2.17 and 3.1 on trixie, 2.0.12 on bookworm)."""
    got = parse_bird_roas((OUTPUT / f"{name}-roa-tables.txt").read_text())
    assert ("198.18.70.0/24", 24, 64510) in got and ("2001:db8:1::/48", 48, 64496) in got
    assert len(got) == 5


def test_parse_stayrtr_metrics():
    got = rtr.parse_metrics((OUTPUT / "stayrtr-metrics.txt").read_text())
    assert got["ipv4"] == 3 and got["ipv6"] == 2 and got["serial"] >= 0


# ------------------------------------------------------------------ the scenario's spec and judge

def test_spec_covers_every_case_with_one_reason_each(plan):
    spec = build_spec(plan)
    assert spec.skipped == []
    for afi in ("ipv4", "ipv6"):
        hostile = {a.case: a for a in spec.announcements if a.hostile and a.afi == afi}
        assert set(hostile) == set(HOSTILE_CASES)
        assert all(a.expected_reasons == (INTENT[a.case],) for a in hostile.values()), hostile
        steering = {a.case for a in spec.announcements if not a.hostile and a.afi == afi}
        assert steering == set(STEERING_CASES)
    assert {a.member for a in spec.announcements if a.hostile} == {"mallory", "trudy"}
    assert spec.flooder == "trudy" and len(spec.flood["ipv4"]) == 60
    prefixes = [a.prefix for a in spec.announcements if a.case != "hijack"] + spec.flood["ipv4"] + spec.flood["ipv6"]
    assert len(prefixes) == len(set(prefixes))  # every case its own prefix: no legitimate route is replaced


def test_injections_render(plan):
    spec = build_spec(plan)
    mallory = frr_injection(plan.nodes["mallory"], [a for a in spec.announcements if a.member == "mallory"])
    assert " neighbor 192.0.2.1 route-server-client" in mallory  # the first-as case: no own ASN prepended
    assert "set as-path prepend 65551 64498" in mallory and "set ip next-hop 192.0.2.3" in mallory
    assert "route-map EXPORT-IPV4 permit 10\n set as-path prepend 64498" in mallory  # its legitimate routes keep it
    files = render_lab(plan, "x")
    trudy = bird_injection(files["configs/trudy/bird.conf"], 64499, [a for a in spec.announcements if a.member == "trudy"],
                           spec.flood, {"ipv4": "192.0.2.6", "ipv6": "fd00:ffff::6"})
    assert "  route 198.18.4.0/32 blackhole { bgp_community.add((65535, 666)); };" in trudy
    assert trudy.count("  route ") == 2 + 10 + 120
    with pytest.raises(Exception, match="cannot inject"):
        bird_injection("router id 1.1.1.1;\n", 64499, [], {})


def _routes_as_a_correct_lab_would_hold(plan, spec) -> dict[str, list[Route]]:
    """What every router holds if both route servers implement the policy."""
    pol = plan.policy
    out: dict[str, list[Route]] = {n.name: [] for n in plan.nodes.values() if n.role != "switch"}
    members = [n for n in plan.by_role("member")]
    anns = [(n.name, str(p), (n.asn,), str(getattr(n, "ipv4" if p.version == 4 else "ipv6")), (), ()) for n in members
            for p in n.prefixes]
    anns += [(a.member, a.prefix, a.as_path, a.next_hop, a.communities, a.large) for a in spec.announcements]
    for rs in plan.by_role("route_server"):
        for member, prefix, path, nh, comms, large in anns:
            src = plan.nodes[member]
            afi = "ipv6" if ":" in prefix else "ipv4"
            source = str(getattr(src, afi)) if rs.daemon == "frr" else f"m_{member.replace('-', '_')}_{afi}"
            reasons = pol.evaluate(member, prefix, path, nh, comms, large)
            lp = 0 if data.GRACEFUL_SHUTDOWN in comms else 100
            out[rs.name].append(Route(prefix, afi, source, list(path), nh, list(comms),
                                      list(large) + [(pol.rs_asn, 1101, c) for c in reasons], lp,
                                      filtered=bool(reasons) and rs.daemon == "bird"))
            if reasons:
                continue
            for viewer, prepend in pol.receivers(member, large).items():
                src_name = str(getattr(rs, afi)) if plan.nodes[viewer].daemon == "frr" else f"m_{rs.name}_{afi}"
                hop = nh
                c2 = list(comms)
                if data.BLACKHOLE in comms:
                    hop = str(pol.blackhole_next_hop[afi])
                    c2.append(data.NO_EXPORT)
                kept = [x for x in large if not (x[0] == pol.rs_asn and x[1] in data.CONTROL_FUNCTIONS)]
                out[viewer].append(Route(prefix, afi, src_name, [path[0]] * prepend + list(path), hop, c2, kept))
    return out


def test_judge_passes_a_correct_lab_and_catches_each_kind_of_failure(plan):
    spec = build_spec(plan)
    good = _routes_as_a_correct_lab_would_hold(plan, spec)
    cases = evaluate(plan, spec, _View(plan, good))
    assert cases and all(c.ok for c in cases), [c for c in cases if not c.ok][:3]
    assert {(c.daemon, c.afi) for c in cases} == {("bird", "ipv4"), ("bird", "ipv6"), ("frr", "ipv4"), ("frr", "ipv6")}

    def judge(mutate) -> list:
        routes = {k: [replace(r) for r in v] for k, v in good.items()}
        mutate(routes)
        return [(c.route_server, c.afi, c.case) for c in evaluate(plan, spec, _View(plan, routes)) if not c.ok]

    # the FRR route server forgets the bogon filter: accepted, no reason
    def accept_bogon(routes):
        for r in routes["rs2"]:
            if r.prefix == "10.67.0.0/16":
                r.large = []
    assert judge(accept_bogon) == [("rs2", "ipv4", "bogon")]

    # a wrong reason is a failure too
    def wrong_reason(routes):
        for r in routes["rs1"]:
            if r.prefix == "198.18.70.0/24":
                r.large = [(64511, 1101, 12)]
    assert judge(wrong_reason) == [("rs1", "ipv4", "rpki-invalid")]

    # a hostile route leaks to a member
    def leak(routes):
        routes["beta"].append(Route("2001:db8:2::/48", "ipv6", "m_rs1_ipv6", [64499], "fd00:ffff::6"))
    assert judge(leak) == [("rs1", "ipv6", "hijack")]

    # do-not-announce-to ignored by one route server
    dna = next(a for a in spec.announcements if a.case == "do-not-announce-to" and a.afi == "ipv4")
    def ignore_dna(routes):
        routes["beta"].append(Route(dna.prefix, "ipv4", "m_rs2_ipv4", [64496], "192.0.2.3"))
    assert judge(ignore_dna) == [("rs2", "ipv4", "do-not-announce-to")]

    # a legitimate route goes missing at one member
    def lose(routes):
        routes["mallory"] = [r for r in routes["mallory"] if not (r.prefix == "198.18.2.0/24" and r.source == "192.0.2.1")]
    assert judge(lose) == [("rs1", "ipv4", "legitimate")]

    # the route server is not transparent
    def prepend_rs(routes):
        for r in routes["trudy"]:
            if r.prefix == "198.18.1.0/24" and r.source == "m_rs2_ipv4":
                r.as_path = [64511, 64496]
    assert judge(prepend_rs) == [("rs2", "ipv4", "legitimate")]


# ---------------------------------------------------------------- max-prefix verdicts (pure)

@pytest.mark.parametrize("action,now,before,went_down,ok", [
    ("shutdown", {"state": "Idle", "reason": "max-prefix", "received": 0, "resets": 1}, {"resets": 0}, False, True),
    ("shutdown", {"state": "Established", "reason": "", "received": 60, "resets": 0}, {"resets": 0}, False, False),
    ("restart", {"state": "Established", "reason": "", "received": 20, "resets": 1}, {"resets": 0}, False, True),
    ("restart", {"state": "Established", "reason": "", "received": 60, "resets": 0}, {"resets": 0}, True, True),
    ("warning", {"state": "Established", "reason": "", "received": 60, "resets": 0}, {"resets": 0}, False, True),
    ("warning", {"state": "Active", "reason": "", "received": 0, "resets": 1}, {"resets": 0}, True, False),
    ("block", {"state": "Established", "reason": "", "received": 20, "resets": 0}, {"resets": 0}, False, True),
    ("block", {"state": "Established", "reason": "", "received": 60, "resets": 0}, {"resets": 0}, False, False),
])
def test_max_prefix_verdict(action, now, before, went_down, ok):
    from labctl.scenarios.rs_policy.judge import max_prefix_verdict

    got, text = max_prefix_verdict(action, 20, now, before, went_down)
    assert got is ok and now["state"] in text
