"""Scenario files (labctl.scenarios.spec) and the pure half of the engine: what a fault implies
(expected routes, broken sessions, probe pairs) and the windows derived from the timers.

No lab is started: the engine's planning functions take the Plan of topologies/regional-ix.yml
(3 sites: okayama with rs1 (BIRD), kurashiki with rs2 (FRR), tsuyama with no route server;
trunks okayama-kurashiki and okayama-tsuyama; hold 9 s, keepalive 3 s; BFD 300 ms x 3 for
kibi-univ and cdn-cache, which also peer bilaterally).
"""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest

from labctl.errors import LabctlError
from labctl.model.load import load, load_text
from labctl.plan import build_plan
from labctl.scenarios import fault_plan as engine
from labctl.scenarios.fault_plan import FaultPlan, broken_sessions, detection_window, expected_routes, recovery_limit
from labctl.scenarios.spec import BUILTIN_DIR, Scenario, builtin_names, load_scenario, resolve

REPO = Path(__file__).resolve().parents[2]
# the regional IX before it had dual-homed members: these expectations are worked out for it
REGIONAL = REPO / "tests" / "fixtures" / "regional-ix-single-homed.yml"
TSUYAMA = {"momo-catv", "sanyo-transit", "mimasaka-isp"}
OKAYAMA = {"kibinet", "city-net", "kibi-univ"}
KURASHIKI = {"seto-net", "cdn-cache"}


@pytest.fixture(scope="module")
def plan():
    return build_plan(load(REGIONAL))


def variant(replacements: dict[str, str]):
    """The regional IX with some lines of its YAML replaced (each must occur)."""
    text = REGIONAL.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return build_plan(load_text(text, "variant.yml"))


def prefixes(plan, *members: str) -> set[str]:
    return {str(p) for m in members for p in plan.nodes[m].prefixes}


def fault_plan(plan, name: str, netem: bool = False) -> tuple[Scenario, FaultPlan]:
    sc = resolve([name])[0]
    return sc, engine.plan_fault(plan, sc, netem)


# ---------------------------------------------------------------- scenario files

FAULT_BUILTINS = ["rs-failover", "member-link-down", "member-link-down-bfd", "trunk-down", "rs-restart",
                  "impairment", "impairment-blackout", "rs-upgrade"]
DUAL_HOMED_BUILTINS = ["dual-homed-link-down", "site-down"]  # need a member with several routers
BUILTINS = ["rs-failover", "member-link-down", "member-link-down-bfd", "dual-homed-link-down", "trunk-down",
            "site-down", "rs-restart", "impairment", "impairment-blackout", "rs-upgrade", "upstream-down", "ix-down",
            "policy"]  # policy runs last


def test_every_builtin_loads():
    assert builtin_names() == BUILTINS
    assert sorted(p.stem for p in BUILTIN_DIR.glob("*.yml")) == sorted(BUILTINS)
    scenarios = resolve([])
    assert [s.name for s in scenarios] == BUILTINS  # each file's name matches its file name
    assert all(s.description.strip() for s in scenarios)
    by_name = {s.name: s for s in scenarios}
    assert (by_name["rs-failover"].fault, by_name["rs-failover"].detection) == ("daemon-stop", "notification")
    assert (by_name["member-link-down"].bfd, by_name["member-link-down"].detection) == (False, "hold-timer")
    assert (by_name["member-link-down-bfd"].bfd, by_name["member-link-down-bfd"].detection) == (True, "bfd")
    assert by_name["impairment"].impair.loss_percent == 10 and by_name["impairment"].data_plane == "measured-loss"
    assert by_name["policy"].fault == "policy"
    assert by_name["impairment-blackout"].impair.loss_percent == 100


def test_resolve_names_and_files(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nfault: trunk-down\ntarget: okayama-tsuyama\nduration: 12\n")
    chosen = resolve(["trunk-down", str(path)])
    assert [s.name for s in chosen] == ["trunk-down", "mine"]
    mine = chosen[1]
    # defaults of the format
    assert (mine.target, mine.duration, mine.detection, mine.data_plane, mine.recover, mine.bfd, mine.impair) == (
        "okayama-tsuyama", 12, "auto", "zero-loss", True, None, None)


def test_unknown_scenario_name():
    with pytest.raises(LabctlError) as info:
        resolve(["rs-failover", "rs-explode"])
    assert "rs-explode" in info.value.message
    assert info.value.hint and "rs-failover" in info.value.hint and ".yml" in info.value.hint


@pytest.mark.parametrize("body, words", [
    ("name: x\nfault: link-down\ntarjet: kibinet\n", ["tarjet"]),  # unknown key
    ("name: x\nfault: meteor-strike\n", ["fault"]),
    ("name: x\nfault: impair\nimpair: {loss_percent: 150}\n", ["loss_percent"]),
    ("name: x\nfault: impair\nimpair: {loss_percent: 5, jitter_ms: 3}\n", ["jitter_ms"]),
    ("name: x\nfault: link-down\nduration: 0\n", ["duration"]),
    ("name: x\nfault: link-down\ndetection: psychic\n", ["detection"]),
    ("fault: link-down\n", ["name"]),  # required
    ("- name: x\n  fault: link-down\n", ["invalid scenario"]),  # not a mapping
    ("", ["invalid scenario"]),  # empty file
    ("name: x\nfault: [link-down\n", ["YAML"]),
])
def test_invalid_scenario_file(tmp_path, body, words):
    path = tmp_path / "bad.yml"
    path.write_text(body)
    with pytest.raises(LabctlError) as info:
        resolve([str(path)])
    assert str(path) in info.value.message
    for word in words:
        assert word in info.value.message
    assert info.value.hint


def test_missing_scenario_file(tmp_path):
    with pytest.raises(LabctlError) as info:
        load_scenario(tmp_path / "nowhere.yml")
    assert "no such scenario file" in info.value.message
    assert "rs-failover" in info.value.hint


def test_impair_without_impairment_is_rejected(tmp_path, plan):
    path = tmp_path / "impair.yml"
    path.write_text("name: impair-nothing\nfault: impair\n")
    try:
        sc = resolve([str(path)])[0]
    except LabctlError:
        return  # rejected when loading: fine
    with pytest.raises(ValueError):  # or when planning: run_scenario reports a ValueError as the result's error
        engine.plan_fault(plan, sc, False)


# ---------------------------------------------------------------- expected routes

def test_no_fault_is_the_plan(plan):
    want = {m: {str(p) for p in routes} for m, routes in plan.expected_routes.items()}
    assert expected_routes(plan) == want
    assert len(want) == 8 and all(len(routes) == 15 or len(routes) == 16 for routes in want.values())


def test_dead_member_disappears_from_everyone(plan):
    before = expected_routes(plan)
    during = expected_routes(plan, down={"kibinet"})
    assert set(during) == set(before) - {"kibinet"}
    gone = prefixes(plan, "kibinet")
    assert gone == {"198.18.1.0/24", "2001:db8:1::/48"}
    for member, routes in during.items():
        assert routes == before[member] - gone, member


def test_dead_route_server_changes_nothing_while_the_other_lives(plan):
    assert expected_routes(plan, down={"rs1"}) == expected_routes(plan)
    assert expected_routes(plan, down={"rs2"}) == expected_routes(plan)


def test_without_route_servers_only_bilateral_routes_remain(plan):
    during = expected_routes(plan, down={"rs1", "rs2"})
    assert during["kibi-univ"] == prefixes(plan, "cdn-cache")
    assert during["cdn-cache"] == prefixes(plan, "kibi-univ")
    assert all(not routes for m, routes in during.items() if m not in {"kibi-univ", "cdn-cache"})


def test_trunk_to_tsuyama_removed(plan):
    """Tsuyama has no route server: cut off, its members keep nothing (they have no bilateral peers)."""
    before = expected_routes(plan)
    during = expected_routes(plan, removed_trunk=("okayama", "tsuyama"))
    assert expected_routes(plan, removed_trunk=("tsuyama", "okayama")) == during  # either order
    for member in TSUYAMA:
        assert during[member] == set(), member
    lost = prefixes(plan, *TSUYAMA)
    for member in OKAYAMA | KURASHIKI:
        assert during[member] == before[member] - lost, member


def test_trunk_removed_island_keeps_its_bilateral_routes():
    plan = variant({"    prefixes: [198.18.3.0/24, 198.18.4.0/23, \"2001:db8:3::/48\"]":
                    "    prefixes: [198.18.3.0/24, 198.18.4.0/23, \"2001:db8:3::/48\"]\n    bilateral: [mimasaka-isp]"})
    during = expected_routes(plan, removed_trunk=("okayama", "tsuyama"))
    assert during["momo-catv"] == prefixes(plan, "mimasaka-isp")
    assert during["mimasaka-isp"] == prefixes(plan, "momo-catv")
    assert during["sanyo-transit"] == set()


def test_split_with_a_route_server_on_each_side(plan):
    """okayama-kurashiki cut: kurashiki keeps rs2, okayama+tsuyama keep rs1; the bilateral
    kibi-univ (okayama) - cdn-cache (kurashiki) session crosses the cut."""
    during = expected_routes(plan, removed_trunk=("okayama", "kurashiki"))
    assert during["seto-net"] == prefixes(plan, "cdn-cache")
    assert during["cdn-cache"] == prefixes(plan, "seto-net")
    west = OKAYAMA | TSUYAMA
    for member in west:
        assert during[member] == prefixes(plan, *(west - {member})), member


# ---------------------------------------------------------------- windows from the timers

def test_hold_timer_window_with_a_bird_route_server(plan):
    # BIRD randomises its hold timer to 75-100 %: 0.75 x 9 - 3 = 3.75, minus 0.25 s slack; 9 + 1 s
    assert detection_window(plan, "hold-timer") == pytest.approx((3.5, 10.0))


def test_hold_timer_window_with_frr_route_servers_only():
    plan = variant({"{name: rs1, daemon: bird, site: okayama}": "{name: rs1, daemon: frr, site: okayama}"})
    assert detection_window(plan, "hold-timer") == pytest.approx((5.75, 10.0))  # [H - K, H] + slack


def test_hold_timer_window_follows_the_timers():
    plan = variant({"bgp: {keepalive: 3, hold: 9}": "bgp: {keepalive: 10, hold: 30}"})
    assert detection_window(plan, "hold-timer") == pytest.approx((0.75 * 30 - 10 - 0.25, 31.0))
    assert recovery_limit(plan) == pytest.approx(10 + 2 * 5 + 30 + 0.2 * 13)


def test_bfd_notification_and_none_windows(plan):
    assert detection_window(plan, "bfd") == pytest.approx((0.0, 0.3 * 3 + 1.0))
    assert detection_window(plan, "notification") == pytest.approx((0.0, 1.0))
    assert detection_window(plan, "none") is None
    fast = variant({"bfd: {enabled: false, interval_ms: 300, multiplier: 3}":
                    "bfd: {enabled: false, interval_ms: 100, multiplier: 5}"})
    assert detection_window(fast, "bfd") == pytest.approx((0.0, 1.5))


def test_auto_window_from_the_broken_sessions(plan):
    sessions = plan.sessions()
    with_bfd = [s for s in sessions if s.bfd]
    without = [s for s in sessions if not s.bfd]
    assert with_bfd and without
    assert detection_window(plan, "auto", []) is None
    assert detection_window(plan, "auto", None) is None
    assert detection_window(plan, "auto", without) == detection_window(plan, "hold-timer")
    assert detection_window(plan, "auto", without + with_bfd[:1]) == detection_window(plan, "bfd")


def test_recovery_limit(plan):
    # BIRD's error wait (10 s) + 2 connect retries (5 s) + hold (9 s) + 0.2 s per node (13 nodes)
    assert recovery_limit(plan) == pytest.approx(31.6)


def test_hold_timer_window_opens_early_for_any_bird_node_on_a_broken_session():
    plan = variant({"{name: rs1, daemon: bird, site: okayama}": "{name: rs1, daemon: frr, site: okayama}"})
    sc, fp = fault_plan(plan, "trunk-down")
    broken = broken_sessions(plan, sc, fp)
    assert any(plan.nodes[s.node].daemon == "bird" for s in broken)
    assert detection_window(plan, "auto", broken)[0] == pytest.approx(0.75 * 9 - 3 - 0.25)


# ---------------------------------------------------------------- what each built-in fault implies

def test_auto_targets_and_labels(plan):
    labels = {name: fault_plan(plan, name)[1].label for name in FAULT_BUILTINS}
    assert labels == {
        "rs-failover": "bird on rs1 stopped",
        "member-link-down": "IX port of kibinet down (sw-okayama:eth2)",  # first member without BFD
        "member-link-down-bfd": "IX port of kibi-univ down (sw-okayama:eth4)",  # first member with BFD
        "trunk-down": "trunk okayama-tsuyama down (sw-okayama:eth6)",  # the last trunk
        "rs-restart": "frr on rs2 restarted",  # the last route server
        "impairment": "trunk okayama-kurashiki impaired (10.0% loss, 2.0 Mbit/s; sw-okayama:eth5)",
        "impairment-blackout": "trunk okayama-kurashiki impaired (100.0% loss; sw-okayama:eth5)",
        "rs-upgrade": "rs1 upgraded: BIRD 2.17 -> BIRD 3.1 (image trixie -> trixie-bird3)",  # the first route server
    }
    _, with_netem = fault_plan(plan, "impairment", netem=True)
    assert with_netem.label == "trunk okayama-kurashiki impaired (10.0% loss, 2.0 Mbit/s, 20.0 ms delay; sw-okayama:eth5)"
    assert with_netem.impair_note == ""
    assert fault_plan(plan, "impairment")[1].impair_note == "delay 20.0 ms not applied: this kernel has no netem"


def test_fault_plan_errors(plan):
    no_bfd = variant({"    bfd: true\n": ""})
    with pytest.raises(ValueError, match="no router with BFD"):
        engine.plan_fault(no_bfd, resolve(["member-link-down-bfd"])[0], False)
    with pytest.raises(ValueError, match="okayama-kurashiki, okayama-tsuyama"):
        engine.plan_fault(plan, Scenario(name="x", fault="trunk-down", target="kurashiki-tsuyama"), False)
    named = engine.plan_fault(plan, Scenario(name="x", fault="trunk-down", target="kurashiki-okayama"), False)
    assert named.label == "trunk okayama-kurashiki down (sw-okayama:eth5)"


def test_fault_plan_during(plan):
    _, fp = fault_plan(plan, "member-link-down")
    assert fp.target_nodes == {"kibinet"} and fp.during == expected_routes(plan, down={"kibinet"})
    _, fp = fault_plan(plan, "trunk-down")
    assert fp.target_nodes == set() and fp.during == expected_routes(plan, removed_trunk=("okayama", "tsuyama"))
    _, fp = fault_plan(plan, "rs-restart")  # the daemon comes back by itself: nothing may be lost
    assert fp.target_nodes == {"rs2"} and fp.during == expected_routes(plan)
    _, fp = fault_plan(plan, "impairment")  # sessions are to survive: everything stays
    assert fp.during == expected_routes(plan)
    _, fp = fault_plan(plan, "impairment-blackout")  # 100 % loss splits like a cut trunk
    assert fp.during == expected_routes(plan, removed_trunk=("okayama", "kurashiki"))


# ---------------------------------------------------------------- broken sessions

def test_broken_sessions_of_a_stopped_route_server(plan):
    sc, fp = fault_plan(plan, "rs-failover")
    broken = broken_sessions(plan, sc, fp)
    assert len(broken) == 8 * 2 * 2  # 8 members x 2 families, seen from both ends
    assert all("rs1" in (s.node, s.peer) for s in broken)
    assert {s.peer for s in broken if s.node == "rs1"} == OKAYAMA | KURASHIKI | TSUYAMA


def test_broken_sessions_of_a_member_port(plan):
    sc, fp = fault_plan(plan, "member-link-down")
    broken = broken_sessions(plan, sc, fp)
    assert len(broken) == 2 * 2 * 2 and not any(s.bfd for s in broken)
    sc, fp = fault_plan(plan, "member-link-down-bfd")
    broken = broken_sessions(plan, sc, fp)
    assert len(broken) == (2 + 1) * 2 * 2 and all(s.bfd for s in broken)  # 2 RS + the bilateral peer
    assert {(s.node, s.peer) for s in broken if s.kind == "bilateral"} == {("kibi-univ", "cdn-cache"),
                                                                          ("cdn-cache", "kibi-univ")}


def test_broken_sessions_of_a_split(plan):
    sc, fp = fault_plan(plan, "trunk-down")
    broken = broken_sessions(plan, sc, fp)
    assert len(broken) == 3 * 2 * 2 * 2  # tsuyama's 3 members x 2 RS x 2 families x 2 ends
    assert all((s.node in TSUYAMA) != (s.peer in TSUYAMA) for s in broken)
    sc, fp = fault_plan(plan, "impairment-blackout")
    broken = broken_sessions(plan, sc, fp)
    kurashiki = KURASHIKI | {"rs2"}
    assert broken and all((s.node in kurashiki) != (s.peer in kurashiki) for s in broken)
    # the 6 western members with rs2, the 2 kurashiki members with rs1, and kibi-univ - cdn-cache
    pairs = {frozenset((s.node, s.peer)) for s in broken}
    assert len(pairs) == 6 + 2 + 1 and frozenset(("kibi-univ", "cdn-cache")) in pairs
    assert len(broken) == len(pairs) * 2 * 2  # x 2 families x 2 ends


def test_no_broken_sessions_when_the_line_only_degrades(plan):
    sc, fp = fault_plan(plan, "impairment")
    assert broken_sessions(plan, sc, fp) == []
    assert detection_window(plan, sc.detection, []) is None


# ---------------------------------------------------------------- probe pairs

def v4(plan, member: str) -> set[str]:
    return {str(p) for p in plan.nodes[member].prefixes if isinstance(p, IPv4Network)}


@pytest.mark.parametrize("name", FAULT_BUILTINS)
def test_probes_keep_reachability(plan, name):
    sc, fp = fault_plan(plan, name)
    before = expected_routes(plan)
    strict = [(x, y) for x, y, k in fp.probes if k == "zero-loss"]
    assert 1 <= len(strict) <= 3
    used = [n for pair in strict for n in pair]
    assert len(used) == len(set(used)), "a member probes at most once"
    site = {m.name: m.site for m in plan.model.members}
    for x, y in strict:
        assert x not in fp.target_nodes and y not in fp.target_nodes
        assert v4(plan, y) <= fp.during[x] and v4(plan, x) <= fp.during[y], (x, y)
        assert v4(plan, y) <= before[x]
    assert site[strict[0][0]] != site[strict[0][1]], "pairs across sites come first"


def test_link_down_also_probes_the_lost_member(plan):
    _, fp = fault_plan(plan, "member-link-down")
    assert [(x, y, k) for x, y, k in fp.probes if k != "zero-loss"] == [("cdn-cache", "kibinet", "observed")]


def test_trunk_down_probes_stay_inside_an_island_with_a_route_server(plan):
    _, fp = fault_plan(plan, "trunk-down")
    assert all(x not in TSUYAMA and y not in TSUYAMA for x, y, _ in fp.probes)


def test_impairment_probes_one_pair_across_the_line(plan):
    _, fp = fault_plan(plan, "impairment")
    west, east = OKAYAMA | TSUYAMA, KURASHIKI
    crossing = [(x, y, k) for x, y, k in fp.probes if (x in east) != (y in east)]
    assert crossing == [("kibinet", "seto-net", "observed")]  # measured, not asserted to be lossless
    assert all(x in west and y in west for x, y, k in fp.probes if k == "zero-loss")


def test_choose_probes_direct(plan):
    before = expected_routes(plan)
    during = {m: set(r) for m, r in before.items()}
    chosen = engine.choose_probes(plan, before, during, set())
    assert len(chosen) == 3 and all(k == "zero-loss" for _, _, k in chosen)
    # a member that would lose a route cannot be in a pair that needs it
    during["cdn-cache"] -= v4(plan, "city-net")
    chosen = engine.choose_probes(plan, before, during, set(), limit=8)
    assert ("cdn-cache", "city-net", "zero-loss") not in chosen
    assert len(chosen) == 4  # 8 members, each used once
    assert engine.choose_probes(plan, before, during, set(during), limit=3) == []
