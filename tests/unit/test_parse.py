"""The daemons' session and table parsers (labctl.daemons.frr / .bird) on output captured from FRR 8.4.4 and BIRD 2.0.12 (the lab node image).

Fixtures (tests/fixtures/daemon-output/, see its README.md):
- *-rs-*: a running policy lab (route servers rs1 = BIRD, rs2 = FRR; members alpha, beta, mallory,
  trudy), captured while mallory's sessions were down, and again with hostile routes filtered;
- *-member-*: an FRR member and a BIRD member peering over IPv4 and IPv6, plus a peer that does
  not answer (Active) and one that is administratively down (FRR shutdown / BIRD disabled).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labctl.daemons.bird import parse_protocols as parse_bird_protocols
from labctl.daemons.bird import parse_route_prefixes as parse_bird_routes
from labctl.daemons.frr import parse_route_prefixes as parse_frr_routes
from labctl.daemons.frr import parse_summary as parse_frr_summary
from labctl.daemons.records import BgpSession

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "daemon-output"


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def by_peer(sessions: list[BgpSession]) -> dict[str, BgpSession]:
    peers = {s.peer_address: s for s in sessions}
    assert len(peers) == len(sessions), "one session per peer address"
    return peers


# ---------------------------------------------------------------- FRR `show bgp summary json`

def test_frr_member_summary_established_and_not():
    sessions = parse_frr_summary(text("frr-member-summary.json"))
    peers = by_peer(sessions)
    assert set(peers) == {"10.254.77.3", "10.254.77.98", "10.254.77.99", "fd00:ffff::3"}

    up4 = peers["10.254.77.3"]
    assert (up4.afi, up4.state, up4.established) == ("ipv4", "Established", True)
    assert (up4.received, up4.accepted, up4.sent) == (1, 1, 2)
    assert up4.uptime == "00:00:17"
    assert up4.description == "seto-net"

    up6 = peers["fd00:ffff::3"]
    assert (up6.afi, up6.state, up6.established) == ("ipv6", "Established", True)
    assert (up6.received, up6.accepted, up6.sent) == (1, 1, 2)

    admin = peers["10.254.77.98"]  # `neighbor ... shutdown`
    assert (admin.state, admin.established) == ("Idle (Admin)", False)
    assert (admin.received, admin.accepted, admin.sent, admin.uptime) == (0, 0, 0, "never")
    assert admin.description == "cdn-cache"

    active = peers["10.254.77.99"]  # nobody answers
    assert (active.state, active.established) == ("Active", False)
    assert (active.received, active.sent) == (0, 0)


def test_frr_route_server_summary_both_families():
    sessions = parse_frr_summary(text("frr-rs-summary.json"))
    assert [s.afi for s in sessions] == ["ipv4"] * 4 + ["ipv6"] * 4
    peers = by_peer(sessions)
    for addr in ("192.0.2.5", "fd00:ffff::5"):  # mallory, just torn down
        assert (peers[addr].state, peers[addr].established, peers[addr].received) == ("Idle", False, 0)
        assert peers[addr].description == "mallory"
    established = [s for s in sessions if s.established]
    assert {s.description for s in established} == {"alpha", "beta", "trudy"}
    assert all(s.received == s.accepted == 1 for s in established)
    assert [peers[a].sent for a in ("192.0.2.3", "192.0.2.4", "192.0.2.6")] == [3, 3, 3]
    assert [peers[a].sent for a in ("fd00:ffff::3", "fd00:ffff::4", "fd00:ffff::6")] == [0, 0, 0]


def test_frr_summary_keeps_each_session_in_its_own_family():
    """With `bgp default ipv4-unicast`, FRR lists IPv6 neighbours under ipv4Unicast too; labctl
    plans one session per family, so a neighbour appears once, in the family of its address."""
    data = json.loads(text("frr-rs-summary.json"))
    v6_peer = dict(data["ipv6Unicast"]["peers"]["fd00:ffff::3"], state="Active", pfxRcd=0)
    data["ipv4Unicast"]["peers"]["fd00:ffff::3"] = v6_peer
    sessions = parse_frr_summary(json.dumps(data))
    assert [s.afi for s in sessions if s.peer_address == "fd00:ffff::3"] == ["ipv6"]
    assert by_peer(sessions)["fd00:ffff::3"].state == "Established"


def test_frr_summary_without_a_family_or_output():
    data = json.loads(text("frr-member-summary.json"))
    del data["ipv6Unicast"]
    assert {s.afi for s in parse_frr_summary(json.dumps(data))} == {"ipv4"}
    assert parse_frr_summary("") == []
    assert parse_frr_summary("{}") == []


# ---------------------------------------------------------------- FRR `show bgp ipv4|ipv6 unicast json`

@pytest.mark.parametrize("name, expected", [
    ("frr-member-ipv4-routes.json", ["198.18.1.0/24", "198.18.2.0/24"]),
    ("frr-member-ipv6-routes.json", ["2001:db8:1::/48", "2001:db8:2::/48"]),
    # a route-server client: each prefix arrives over both route servers, listed once
    ("frr-rs-client-ipv4-routes.json", ["198.18.1.0/24", "198.18.2.0/24", "198.18.4.0/24"]),
    ("frr-rs-client-ipv6-routes.json", ["2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:4::/48"]),
])
def test_frr_routes(name, expected):
    assert parse_frr_routes(text(name)) == expected


def test_frr_routes_empty_table():
    assert parse_frr_routes('{"vrfId": 0, "routerId": "192.0.2.3", "routes": {} }') == []
    assert parse_frr_routes("") == []


# ---------------------------------------------------------------- BIRD `birdc show protocols all`

def test_bird_member_protocols():
    sessions = parse_bird_protocols(text("bird-member-protocols-all.txt"))
    # device1, kernel_ipv4/6 and own_ipv4/6 (static) are not BGP and have Routes: lines of their own
    peers = by_peer(sessions)
    assert list(peers) == ["10.254.77.2", "fd00:ffff::2", "10.254.77.99", "10.254.77.98"]

    for addr, afi in (("10.254.77.2", "ipv4"), ("fd00:ffff::2", "ipv6")):
        s = peers[addr]
        assert (s.afi, s.state, s.established) == (afi, "Established", True)
        assert (s.received, s.accepted, s.sent) == (1, 1, 1)
        assert s.description == "kibinet"
        assert s.uptime == "2026-11-26 02:08:30"

    active = peers["10.254.77.99"]  # "start ... Active  Socket: No route to host"
    assert (active.state, active.established, active.afi) == ("Active", False, "ipv4")
    assert (active.received, active.accepted, active.sent) == (0, 0, 0)
    assert active.description == "kibi-univ"

    disabled = peers["10.254.77.98"]  # `disabled;`: protocol state "down", no Info column
    assert (disabled.state, disabled.established) == ("down", False)
    assert disabled.uptime == "2026-11-26 02:08:29"


def test_bird_route_server_counts_filtered_routes_as_received():
    peers = by_peer(parse_bird_protocols(text("bird-rs-protocols-all-filtered.txt")))
    assert len(peers) == 8 and all(s.established for s in peers.values())
    # Routes: <imported> imported, <filtered> filtered, <exported> exported, <preferred> preferred
    expected = {
        "192.0.2.3": (1, 1, 3), "fd00:ffff::3": (1, 1, 3),  # alpha
        "192.0.2.5": (5, 1, 3), "fd00:ffff::5": (3, 1, 3),  # mallory: 4 and 2 filtered
        "192.0.2.6": (7, 1, 3), "fd00:ffff::6": (6, 1, 3),  # trudy: 6 and 5 filtered
    }
    for addr, counts in expected.items():
        s = peers[addr]
        assert (s.received, s.accepted, s.sent) == counts, addr
    assert peers["192.0.2.5"].description == "mallory"
    assert peers["192.0.2.5"].uptime == "2026-11-26 02:06:15"


def test_bird_route_server_with_sessions_down():
    sessions = parse_bird_protocols(text("bird-rs-protocols-all.txt"))
    peers = by_peer(sessions)
    assert [s.afi for s in sessions] == ["ipv4", "ipv6"] * 4
    for addr in ("192.0.2.5", "fd00:ffff::5"):
        s = peers[addr]
        assert (s.state, s.established, s.description) == ("Active", False, "mallory")
        # its channel is DOWN and has no Routes: line; the previous block's counts must not leak
        assert (s.received, s.accepted, s.sent) == (0, 0, 0)
    assert sum(s.established for s in sessions) == 6
    assert (peers["192.0.2.4"].received, peers["192.0.2.4"].sent) == (1, 2)


def test_bird_protocols_only_bgp():
    sample = """BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     2026-11-26 02:04:38
kernel_ipv4 Kernel     master4    up     2026-11-26 02:04:38
  Channel ipv4
    State:          UP
    Routes:         9 imported, 2 exported, 9 preferred
own_ipv4   Static     master4    up     2026-11-26 02:04:38
  Channel ipv4
    Routes:         1 imported, 0 exported, 1 preferred
"""
    assert parse_bird_protocols(sample) == []
    assert parse_bird_protocols("") == []


# ---------------------------------------------------------------- BIRD `birdc show route`

def test_bird_member_routes():
    assert parse_bird_routes(text("bird-member-route.txt")) == {
        "ipv4": ["198.18.1.0/24", "198.18.2.0/24"],  # learned, and its own (static blackhole)
        "ipv6": ["2001:db8:1::/48", "2001:db8:2::/48"],
    }


def test_bird_route_server_routes_skip_roa_tables():
    routes = parse_bird_routes(text("bird-rs-route.txt"))
    # rpki4/rpki6 hold ROAs ("198.18.70.0/24-24 AS64510"), which are not routes
    assert routes == {
        "ipv4": ["198.18.1.0/24", "198.18.2.0/24", "198.18.4.0/24"],
        "ipv6": ["2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:4::/48"],
    }


def test_bird_routes_second_path_is_not_a_second_route():
    sample = """BIRD 2.0.12 ready.
Table master4:
198.18.4.0/24        unicast [m_rs1_ipv4 02:04:43.166 from 192.0.2.1] * (100) [AS64499i]
\tvia 192.0.2.6 on eth1
                     unicast [m_rs2_ipv4 02:04:50.552 from 192.0.2.2] (100) [AS64499i]
\tvia 192.0.2.6 on eth1
"""
    assert parse_bird_routes(sample) == {"ipv4": ["198.18.4.0/24"], "ipv6": []}
    assert parse_bird_routes("BIRD 2.0.12 ready.\n") == {"ipv4": [], "ipv6": []}


# ---------------------------------------------------------------- today's stack: FRR 10.3, BIRD 2.17, BIRD 3.1
# Captured from the bundled regional IX (as it was then: tests/fixtures/regional-ix-single-homed.yml) converged on the trixie stack
# (frr-10.3/, bird-2.17/) and with rs1 on BIRD 3 (bird-3.1/); see the fixtures README. Each parse
# is checked against the plan: every planned session and expected route, nothing else.

def _regional_plan():
    from labctl.model.load import load
    from labctl.plan import build_plan

    return build_plan(load(Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "regional-ix-single-homed.yml"))


def _planned(node: str) -> set[tuple[str, str]]:
    return {(s.peer_address, s.afi) for s in _regional_plan().nodes[node].sessions}


@pytest.mark.parametrize("node, name", [("rs2", "frr-rs-summary.json"), ("kibinet", "frr-member-summary.json")])
def test_frr_10_summary_every_planned_session_established(node, name):
    sessions = parse_frr_summary(text(f"frr-10.3/{name}"))
    assert {(s.peer_address, s.afi) for s in sessions} == _planned(node)
    assert all(s.established and s.state == "Established" and s.uptime for s in sessions)
    assert sum(s.received for s in sessions) > 0


@pytest.mark.parametrize("afi", ["ipv4", "ipv6"])
def test_frr_10_member_routes_are_the_expected_ones(afi):
    plan = _regional_plan()
    got = set(parse_frr_routes(text(f"frr-10.3/frr-member-{afi}-routes.json")))
    own = {str(p) for p in plan.nodes["kibinet"].prefixes if (p.version == 6) == (afi == "ipv6")}
    expected = {str(p) for p in plan.expected_routes["kibinet"] if (p.version == 6) == (afi == "ipv6")}
    assert expected and got == expected | own


def test_frr_10_detail_table_has_paths_under_each_prefix():
    """FRR 10 nests a prefix's paths under "paths" (FRR 8.4 listed them after a header entry):
    every path of every member is parsed with its source, AS path and RPKI-relevant attributes."""
    from labctl.daemons.frr import parse_prefix as parse_frr_prefix
    from labctl.daemons.frr import parse_table as parse_frr_table

    plan = _regional_plan()
    routes = parse_frr_table(text("frr-10.3/frr-rs-ipv4-detail.json"))
    members = {str(n.ipv4): n for n in plan.by_role("member")}
    assert {r.source for r in routes} <= set(members)
    for r in routes:
        m = members[r.source]
        assert r.afi == "ipv4" and r.as_path and r.as_path[0] == m.asn and r.next_hop == r.source
        assert r.peer_name == (m.name if m.daemon == "frr" else "")  # FRR peers send their hostname
    announced = {str(p) for n in plan.by_role("member") for p in n.prefixes4}
    assert {r.prefix for r in routes} == announced
    v6 = parse_frr_table(text("frr-10.3/frr-rs-ipv6-detail.json"))
    assert v6 and all(r.afi == "ipv6" and not r.next_hop.startswith("fe80") for r in v6)
    member = parse_frr_table(text("frr-10.3/frr-member-ipv4-detail.json"))
    assert any(r.source == "0.0.0.0" for r in member) and any(r.peer_name == "rs2" for r in member)
    one = parse_frr_prefix(text("frr-10.3/frr-rs-prefix.json"))
    assert [(r.prefix, r.source, r.as_path) for r in one] == [("198.18.1.0/24", "192.0.2.3", [64496])]


@pytest.mark.parametrize("release", ["bird-2.17", "bird-3.1"])
def test_bird_2_17_and_3_route_server_sessions_and_routes(release):
    sessions = parse_bird_protocols(text(f"{release}/bird-rs-protocols-all.txt"))
    assert {(s.peer_address, s.afi) for s in sessions} == _planned("rs1")
    assert all(s.established for s in sessions)
    routes = parse_bird_routes(text(f"{release}/bird-rs-route.txt"))
    plan = _regional_plan()
    for afi, version in (("ipv4", 4), ("ipv6", 6)):
        announced = {str(p) for n in plan.by_role("member") for p in n.prefixes if p.version == version}
        assert set(routes[afi]) == announced


def test_bird_2_17_member():
    sessions = parse_bird_protocols(text("bird-2.17/bird-member-protocols-all.txt"))
    assert {(s.peer_address, s.afi) for s in sessions} == _planned("seto-net")
    routes = parse_bird_routes(text("bird-2.17/bird-member-route.txt"))
    plan = _regional_plan()
    expected = {str(p) for p in plan.expected_routes["seto-net"]} | {str(p) for p in plan.nodes["seto-net"].prefixes}
    assert set(routes["ipv4"]) | set(routes["ipv6"]) == expected


@pytest.mark.parametrize("release", ["bird-2.17", "bird-3.1"])
def test_bird_route_attributes(release):
    from labctl.daemons.bird import parse_routes as parse_bird_paths

    paths = parse_bird_paths(text(f"{release}/bird-rs-route-all.txt"))
    kibinet = [r for r in paths if r.prefix == "198.18.1.0/24"]
    assert kibinet and kibinet[0].source == "m_kibinet_ipv4" and kibinet[0].as_path == [64496]
    assert kibinet[0].next_hop == "192.0.2.3" and kibinet[0].peer_name == "kibinet"


@pytest.mark.parametrize("release, daemon", [("bird-2.17", "bird"), ("bird-3.1", "bird"), ("frr-10.3", "frr")])
def test_session_events_from_todays_logs(release, daemon):
    """BIRD 3 puts the thread ([0002]) between time and level; FRR 10 logs ADJCHANGE as 8.4 did."""
    from labctl.scenarios.events import parse_daemon_log

    log = text(f"{release}/{'frr-member-log.txt' if daemon == 'frr' else 'bird-rs-log.txt'}")
    names = {f"m_{n.name.replace('-', '_')}_{afi}": n.name for n in _regional_plan().by_role("member") for afi in ("ipv4", "ipv6")}
    events = parse_daemon_log("node", daemon, log, None if daemon == "frr" else names)
    ups = [e for e in events if e.kind == "session-up"]
    assert ups, f"no session-up event parsed from {release}"
