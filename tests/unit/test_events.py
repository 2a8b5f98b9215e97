"""labctl.scenarios.events: daemon logs, the kernel route monitor and fping, turned into timed events.

Captured fixtures (tests/fixtures/observer-output/, see its README.md): an FRR member (kibinet,
10.254.77.2 / fd00:ffff::2) and a BIRD member (seto-net, .3 / ::3) with labctl's log settings;
at T0 = 1795658952.595034 the BIRD node's LAN port went down, at 1795658966.892112 it came back.
Observers ran as labctl runs them: `ip -tshort monitor route`, `fping -l -D -p 10 -t 500`.

Every timestamp is UTC seconds since the epoch (the nodes' clocks are the host's, in UTC):
2026-11-26 00:00:00 UTC is 1795651200.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labctl.scenarios.events import Event, parse_daemon_log, parse_fping, parse_route_monitor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "observer-output"
T0, T_RESTORE = 1795658952.595034, 1795658966.892112
EXACT = 1e-6  # one microsecond: the resolution of every clock involved
SEND = 2e-5  # a send time derived from a reply: fping prints the RTT to 1 us, rounded from its own clock


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def timeline(events: list[Event], subject: str | None = None) -> list[tuple[float, str]]:
    return [(e.t, e.kind) for e in events if subject is None or e.subject == subject]


# ---------------------------------------------------------------- FRR %ADJCHANGE

def test_frr_adjchange_up_and_down():
    names = {"10.254.77.3": "seto-net (ipv4)", "fd00:ffff::3": "seto-net (ipv6)"}
    events = parse_daemon_log("kibinet", "frr", text("frr-member.log"), names)
    # NOTIFICATION, End-of-RIB and config lines are not session changes
    assert [(e.t, e.kind, e.subject, e.detail) for e in events] == [
        (1795658910.785689, "session-up", "seto-net (ipv4)", ""),
        (1795658910.786327, "session-up", "seto-net (ipv6)", ""),
        (1795658960.764912, "session-down", "seto-net (ipv6)", "BGP Notification send"),  # hold timer expired
        (1795658960.934674, "session-down", "seto-net (ipv4)", "BGP Notification send"),
        (1795658967.102380, "session-up", "seto-net (ipv4)", ""),
        (1795658968.935183, "session-up", "seto-net (ipv6)", ""),
    ]
    assert all(e.node == "kibinet" for e in events)
    # detection 8.17 s after T0: inside [hold - keepalive, hold] = [6, 9] for hold 9, keepalive 3
    assert 6 <= events[2].t - T0 <= 9


def test_frr_adjchange_with_hostname_and_unmapped_peer():
    log = (
        "2026/11/26 02:04:49.462997 BGP: [N9HHH-F8H1M] %ADJCHANGE: neighbor 192.0.2.3(alpha) in vrf default Up\n"
        "2026/11/26 02:06:13.976824 BGP: [PXVXG-TFNNT] %ADJCHANGE: neighbor 192.0.2.5(mallory) in vrf default "
        "Down BGP Notification received\n"
        "2026/11/26 02:06:13.979778 BGP: [PXVXG-TFNNT] %ADJCHANGE: neighbor fd00:ffff::5(mallory) in vrf default "
        "Down BGP Notification received\n"
    )
    events = parse_daemon_log("rs2", "frr", log, {"192.0.2.5": "mallory (ipv4)"})
    assert [(e.t, e.kind, e.subject) for e in events] == [
        (1795658689.462997, "session-up", "192.0.2.3"),  # no name given: the address
        (1795658773.976824, "session-down", "mallory (ipv4)"),
        (1795658773.979778, "session-down", "fd00:ffff::5"),
    ]
    assert events[1].detail == "BGP Notification received"


def test_frr_log_format_is_not_read_as_bird_and_vice_versa():
    assert parse_daemon_log("kibinet", "bird", text("frr-member.log")) == []
    assert parse_daemon_log("seto-net", "frr", text("bird-member.log")) == []


# ---------------------------------------------------------------- BIRD "State changed to ..."

def test_bird_state_changes():
    names = {"m_kibinet_ipv4": "kibinet (ipv4)", "m_kibinet_ipv6": "kibinet (ipv6)"}
    events = parse_daemon_log("seto-net", "bird", text("bird-member.log"), names)
    assert all(e.node == "seto-net" for e in events)
    # start (daemon launch) -> up -> stop (port down) -> flush -> down -> start -> up;
    # one event per real transition: the launch's start (nothing known before) counts once,
    # the drop's stop counts and the start that follows it does not
    assert timeline(events, "kibinet (ipv4)") == [
        (1795658909.857990, "session-down"),
        (1795658910.785616, "session-up"),
        (1795658952.873374, "session-down"),
        (1795658967.102318, "session-up"),
    ]
    assert timeline(events, "kibinet (ipv6)") == [
        (1795658909.857990, "session-down"),
        (1795658910.786277, "session-up"),
        (1795658952.873374, "session-down"),
        (1795658968.935082, "session-up"),
    ]
    # the port went down at T0 (the docker exec that did it took ~0.28 s); BIRD saw it at once
    first_down = min(e.t for e in events if e.kind == "session-down" and e.t > T0)
    assert 0 < first_down - T0 < 0.5
    # with a map of the node's BGP sessions, other protocols (device, kernel, static) are not sessions
    assert {e.subject for e in events} == {"kibinet (ipv4)", "kibinet (ipv6)"}
    # without a map every protocol keeps its BIRD name
    unnamed = {e.subject for e in parse_daemon_log("seto-net", "bird", text("bird-member.log"))}
    assert {"m_kibinet_ipv4", "m_kibinet_ipv6", "device1"} <= unnamed


def test_bird_log_lines():
    log = (
        "2026-11-26 01:50:44.676882 <TRACE> m_kibinet_ipv4: State changed to stop\n"
        "2026-11-26 01:50:44.677001 <TRACE> m_kibinet_ipv4: State changed to flush\n"
        "2026-11-26 01:50:44.677102 <TRACE> m_kibinet_ipv4: State changed to down\n"
        "2026-11-26 01:50:44.677102 <TRACE> m_kibinet_ipv4: State changed to start\n"
        "2026-11-26 01:50:44.700000 <INFO> Reconfigured\n"
        "2026-11-26 01:51:02.000001 <TRACE> m_kibinet_ipv4: State changed to up\n"
        "2026-11-26 01:51:03.5 <TRACE> m_kibinet_ipv4: State changed to up\n"  # not %6f: still read
    )
    events = parse_daemon_log("rs1", "bird", log, {"m_kibinet_ipv4": "kibinet (ipv4)"})
    # stop then start is one drop; a repeated "up" is no new transition
    assert [(e.t, e.kind, e.subject) for e in events] == [
        (1795657844.676882, "session-down", "kibinet (ipv4)"),
        (1795657862.000001, "session-up", "kibinet (ipv4)"),
    ]


# ---------------------------------------------------------------- ip -tshort monitor route

def test_route_monitor_frr_member():
    events = parse_route_monitor("kibinet", text("route-monitor-frr-member.log"))
    assert [(e.t, e.kind, e.subject) for e in events] == [
        (1795658960.866797, "route-del", "2001:db8:2::/48"),
        (1795658961.037816, "route-del", "198.18.2.0/24"),
        (1795658968.099721, "route-add", "198.18.2.0/24"),
        (1795658969.732408, "route-add", "2001:db8:2::/48"),
    ]
    assert {e.node for e in events} == {"kibinet"}


def test_route_monitor_counts_only_routing_daemon_routes():
    # the BIRD node's port going down also removed connected, local and multicast routes: not BGP's doing
    events = parse_route_monitor("seto-net", text("route-monitor-bird-member.log"))
    assert [(e.t, e.kind, e.subject) for e in events] == [
        (1795658952.873590, "route-del", "2001:db8:1::/48"),
        (1795658968.303217, "route-add", "198.18.1.0/24"),
        (1795658970.137973, "route-add", "2001:db8:1::/48"),
    ]


def test_route_monitor_line_shapes():
    log = (
        "[2026-11-26T01:50:05.311305] Deleted 198.19.0.0/24 nhid 12 via 192.0.2.4 dev eth1 proto bgp metric 20 \n"
        "[2026-11-26T01:50:05.400000] blackhole 198.18.66.0/24 proto bgp metric 20 \n"
        "[2026-11-26T01:50:05.500000] Deleted blackhole 198.18.66.0/24 proto bgp metric 20 \n"
        "[2026-11-26T01:50:06.000100] 198.18.65.1 via 192.0.2.6 dev eth1 proto bird metric 32 \n"
        "[2026-11-26T01:50:06.100000] 198.18.8.0/22 nhid 40 proto bgp metric 20 \n"
        "\tnexthop via 192.0.2.7 dev eth1 weight 1 \n"
        "\tnexthop via 192.0.2.8 dev eth1 weight 1 \n"
        "[2026-11-26T01:50:06.200000] 198.18.9.0/24 via 192.0.2.9 dev eth1 proto static metric 20 \n"
        "[2026-11-26T01:50:06.300000] Deleted 192.0.2.0/24 dev eth1 proto kernel scope link src 192.0.2.3 \n"
        "[2026-11-26T01:50:06.400000] Deleted local 192.0.2.3 dev eth1 table local proto kernel scope host \n"
    )
    events = parse_route_monitor("city-net", log)
    assert [(e.t, e.kind, e.subject) for e in events] == [
        (1795657805.311305, "route-del", "198.19.0.0/24"),
        (1795657805.4, "route-add", "198.18.66.0/24"),
        (1795657805.5, "route-del", "198.18.66.0/24"),
        (1795657806.0001, "route-add", "198.18.65.1/32"),  # a host route
        (1795657806.1, "route-add", "198.18.8.0/22"),  # multipath: one event, nexthop lines skipped
    ]


# ---------------------------------------------------------------- fping -l -D -p 10 -t 500

START = 1795657806.88283  # `date +%s.%N` just before fping started
RTT = 0.0002
TARGET = "198.18.2.1"


def fping_run(count: int, lost: set[int] = frozenset(), in_flight: int = 0, interval: float = 0.01
              ) -> tuple[str, str]:
    """What fping writes when it sends `count` probes every `interval` from START and is stopped
    with SIGINT: a line per reply, a 'timed out' line per loss older than 500 ms, and the totals on
    stderr; the last `in_flight` probes were sent but neither answered nor timed out yet."""
    lines = []
    for i in range(count):
        sent = START + i * interval
        if i >= count - in_flight:
            continue
        if i in lost:
            lines.append((sent + 0.5, f"[{sent + 0.5:.5f}] {TARGET} : [{i}], timed out (0.207 avg, 1% loss)"))
        else:
            lines.append((sent + RTT, f"[{sent + RTT:.5f}] {TARGET} : [{i}], 64 bytes, 0.207 ms (0.207 avg, 0% loss)"))
    out = "".join(line + "\n" for _, line in sorted(lines))
    received = count - len(lost | set(range(count - in_flight, count)))
    err = f"\n{TARGET} : xmt/rcv/%loss = {count}/{received}/{round(100 * (count - received) / count)}%, " \
          f"min/avg/max = 0.018/0.207/0.950\n"
    return out, err


def probe(out: str, err: str, interval: float = 0.01):
    return parse_fping("kibinet", "seto-net", START, out, err, interval)


def test_fping_line_format_of_the_brief():
    out = "[1795657806.88303] 198.18.2.1 : [0], 64 bytes, 0.207 ms (0.207 avg, 0% loss)\n"
    r = probe(out, "198.18.2.1 : xmt/rcv/%loss = 1/1/0%")
    assert (r.sent, r.received, r.lost, r.lost_windows) == (1, 1, 0, [])
    # send time of sequence 0: its reply's arrival minus the RTT fping printed
    assert r.base == pytest.approx(1795657806.88303 - 0.000207, abs=EXACT)
    assert r.received_seqs == frozenset({0})


def test_fping_no_loss():
    r = probe(*fping_run(500))
    assert (r.node, r.target, r.interval) == ("kibinet", "seto-net", 0.01)
    assert (r.sent, r.received, r.lost, r.lost_windows) == (500, 500, 0, [])
    assert r.outage_seconds == 0 and r.loss_ratio == 0
    assert r.first_sent == START


def test_fping_loss_window_times():
    r = probe(*fping_run(500, lost=set(range(100, 150))))
    assert (r.sent, r.received, r.lost) == (500, 450, 50)
    base = START
    assert r.base == pytest.approx(base, abs=SEND)
    assert len(r.lost_windows) == 1
    first, last = r.lost_windows[0]
    assert first == pytest.approx(base + 1.00, abs=SEND)  # seq 100
    assert last == pytest.approx(base + 1.49, abs=SEND)  # seq 149
    assert r.outage_seconds == pytest.approx(0.5, abs=SEND)
    assert r.loss_ratio == pytest.approx(0.1)


def test_fping_separate_losses_are_separate_windows():
    r = probe(*fping_run(500, lost={10} | set(range(200, 203)) | set(range(300, 320))))
    base = START
    assert r.lost == 24
    assert r.lost_windows == [
        pytest.approx((base + 0.10, base + 0.10), abs=SEND),
        pytest.approx((base + 2.00, base + 2.02), abs=SEND),
        pytest.approx((base + 3.00, base + 3.19), abs=SEND),
    ]


def test_fping_first_probes_lost_are_timed_by_their_timeouts():
    r = probe(*fping_run(300, lost=set(range(0, 10))))
    assert r.base == pytest.approx(START, abs=SEND)  # 'timed out' at send + 0.5 s
    assert r.lost_windows == [pytest.approx((START, START + 0.09), abs=SEND)]


@pytest.mark.parametrize("tail", [1, 30, 59, 60])
def test_fping_trailing_in_flight_losses_are_not_counted(tail):
    """Stopping fping counts the probes still in flight as lost: up to 0.6 s of them is no outage."""
    r = probe(*fping_run(500, in_flight=tail))
    assert (r.sent, r.received, r.lost, r.lost_windows) == (500 - tail, 500 - tail, 0, [])


def test_fping_trailing_run_longer_than_the_reply_timeout_is_an_outage():
    r = probe(*fping_run(500, in_flight=61))  # 0.61 s: more than fping's 0.5 s timeout could hold back
    assert (r.sent, r.received, r.lost) == (500, 439, 61)
    assert r.lost_windows == [pytest.approx((START + 4.39, START + 4.99), abs=SEND)]


def test_fping_trailing_in_flight_with_a_real_loss_earlier():
    r = probe(*fping_run(500, lost=set(range(100, 150)), in_flight=20))
    assert (r.sent, r.lost, len(r.lost_windows)) == (480, 50, 1)


def test_fping_long_trailing_outage_is_counted():
    # the path died at seq 300 and never came back: 1.5 s of timeouts, then 0.5 s in flight
    r = probe(*fping_run(500, lost=set(range(300, 450)), in_flight=50))
    base = START
    assert (r.sent, r.received, r.lost) == (500, 300, 200)
    assert r.lost_windows == [pytest.approx((base + 3.00, base + 4.99), abs=SEND)]
    assert r.outage_seconds == pytest.approx(2.0, abs=SEND)


def test_fping_without_totals_counts_up_to_the_last_reply():
    out, _ = fping_run(500, lost=set(range(100, 150)), in_flight=40)
    r = probe(out, "")
    assert (r.sent, r.received, r.lost) == (460, 410, 50)


def test_fping_no_output_at_all():
    r = probe("", "")
    assert (r.sent, r.received, r.lost, r.lost_windows, r.loss_ratio) == (0, 0, 0, [], 0.0)
    assert r.loss_between(START, START + 10) == (0, 0)


def test_loss_between_counts_probes_sent_in_the_window():
    r = probe(*fping_run(500, lost=set(range(100, 150))))
    base = r.base
    # [base + 0.505, base + 1.205) holds the probes 51..120, of which 100..120 were lost
    assert r.loss_between(base + 0.505, base + 1.205) == (70, 21)
    assert r.loss_between(base + 0.005, base + 0.995) == (99, 0)  # 1..99: before the loss
    assert r.loss_between(base + 1.495, base + 2.005) == (51, 0)  # 150..200: after it
    assert r.loss_between(base + 1.095, base + 1.305) == (21, 21)  # 110..130: inside it
    assert r.loss_between(base - 5, base + 100) == (500, 50)  # clipped to what was sent
    assert r.loss_between(base + 20, base + 30) == (0, 0)  # after the last probe


def test_loss_between_after_dropping_in_flight_probes():
    r = probe(*fping_run(500, in_flight=30))
    assert r.loss_between(r.base - 1, r.base + 10) == (470, 0)


def test_fping_captured_outage():
    """The captured run: kibinet pinged seto-net's 198.18.2.1 through T0 and the restore."""
    r = parse_fping("kibinet", "seto-net", float(text("fping-ipv4.start")), text("fping-ipv4.out"),
                    text("fping-ipv4.err"), 0.01)
    assert (r.sent, r.received, r.lost) == (2641, 1454, 1187)  # xmt/rcv from stderr, lines agree
    assert r.base == pytest.approx(1795658950.25304 - 0.000152, abs=1e-4)  # the first reply minus its RTT
    assert len(r.lost_windows) == 1
    assert r.loss_between(r.base - 1, r.base + 100) == (2641, 1187)

    r6 = parse_fping("kibinet", "seto-net", float(text("fping-ipv6.start")), text("fping-ipv6.out"),
                     text("fping-ipv6.err"), 0.01)
    # 771 of the lost IPv6 probes left no line at all (no route: sendto failed); the totals count them
    assert (r6.sent, r6.received, r6.lost, len(r6.lost_windows)) == (2647, 1271, 1376, 1)


def test_fping_captured_outage_window_matches_the_probes_own_times():
    r = parse_fping("kibinet", "seto-net", float(text("fping-ipv4.start")), text("fping-ipv4.out"),
                    text("fping-ipv4.err"), 0.01)
    # seq 185 answered at 52.85789; seq 186 timed out at 53.38179 (sent ~0.5 s earlier);
    # seq 1372 timed out at 68.79530; seq 1373 answered at 68.30532
    (first, last), = r.lost_windows
    assert first == pytest.approx(1795658952.8818, abs=0.05)
    assert last == pytest.approx(1795658968.2953, abs=0.05)
