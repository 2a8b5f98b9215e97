"""Parse what the observers wrote into timestamped events. Pure; unit-tested on captured text.

All timestamps are seconds since the epoch on the host kernel's clock, which every lab node
shares, so events from different nodes are directly comparable.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from ipaddress import ip_network


@dataclass(frozen=True)
class Event:
    t: float
    node: str
    kind: str  # "session-down", "session-up", "route-add", "route-del"
    subject: str  # peer (address or BIRD protocol) or prefix
    detail: str = ""


def _epoch(text: str, fmt: str) -> float:
    return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()


# FRR: 2026/11/26 01:50:44.677489 BGP: [PXVXG-TFNNT] %ADJCHANGE: neighbor 192.0.2.1(Unknown) in vrf default Down ...
_FRR_ADJ = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+) BGP: (?:\[[^\]]*\] )?%ADJCHANGE: neighbor (\S+?)\(.*?\) "
                      r"in vrf \S+ (Up|Down)(.*)$")
# BIRD: 2026-11-26 01:50:44.676882 <TRACE> m_kibinet_ipv4: State changed to stop
_BIRD_STATE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) <\w+> (\S+): State changed to (\w+)")


def parse_daemon_log(node: str, daemon: str, text: str, peer_names: dict[str, str] | None = None) -> list[Event]:
    """Session state changes. `peer_names` maps a BIRD protocol or a peer address to a node name."""
    peer_names = peer_names or {}
    events = []
    for line in text.splitlines():
        if daemon == "frr":
            m = _FRR_ADJ.match(line)
            if m:
                peer = peer_names.get(m.group(2), m.group(2))
                kind = "session-up" if m.group(3) == "Up" else "session-down"
                events.append(Event(_epoch(m.group(1), "%Y/%m/%d %H:%M:%S.%f"), node, kind, peer, m.group(4).strip()))
        else:
            m = _BIRD_STATE.match(line)
            # BIRD leaves Established to "stop" (shut down) or straight to "start" (hold timer, errors)
            if m and m.group(3) in ("up", "stop", "start"):
                peer = peer_names.get(m.group(2), m.group(2))
                kind = "session-up" if m.group(3) == "up" else "session-down"
                events.append(Event(_epoch(m.group(1), "%Y-%m-%d %H:%M:%S.%f"), node, kind, peer))
    return events


# [2026-11-26T01:50:05.311305] Deleted 198.19.0.0/24 nhid 12 via 192.0.2.4 dev eth1 proto bgp metric 20
_ROUTE = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\] (Deleted )?(?:(?:unicast|blackhole|unreachable) )?(\S+)")


def parse_route_monitor(node: str, text: str) -> list[Event]:
    events = []
    for line in text.splitlines():
        m = _ROUTE.match(line)
        if not m or "proto bgp" not in line and "proto bird" not in line:
            continue  # only routes a routing daemon put there
        try:
            prefix = str(ip_network(m.group(3), strict=False))
        except ValueError:
            continue
        kind = "route-del" if m.group(2) else "route-add"
        events.append(Event(_epoch(m.group(1), "%Y-%m-%dT%H:%M:%S.%f"), node, kind, prefix))
    return events


@dataclass
class ProbeResult:
    node: str
    target: str
    interval: float
    sent: int
    received: int
    lost_windows: list[tuple[float, float]] = field(default_factory=list)  # (first lost send time, last)
    first_sent: float = 0.0
    base: float = 0.0  # send time of sequence 0
    received_seqs: frozenset[int] = frozenset()

    def loss_between(self, start: float, end: float) -> tuple[int, int]:
        """(sent, lost) for probes sent in [start, end)."""
        first = max(0, math.ceil((start - self.base) / self.interval))
        last = min(self.sent, math.ceil((end - self.base) / self.interval))
        seqs = range(first, last)
        return len(seqs), sum(1 for i in seqs if i not in self.received_seqs)

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def outage_seconds(self) -> float:
        return self.lost * self.interval

    @property
    def loss_ratio(self) -> float:
        return self.lost / self.sent if self.sent else 0.0


# [1795657806.88303] 198.18.2.1 : [0], 64 bytes, 0.207 ms (0.207 avg, 0% loss)
_FPING = re.compile(r"^\[(\d+\.\d+)\] (\S+) : \[(\d+)\], \d+ bytes")
_FPING_SUM = re.compile(r"xmt/rcv/%loss = (\d+)/(\d+)/")


def parse_fping(node: str, target: str, start: float, out: str, err: str, interval: float) -> ProbeResult:
    received: dict[int, float] = {}
    for line in out.splitlines():
        m = _FPING.match(line)
        if m:
            received[int(m.group(3))] = float(m.group(1))
    summary = _FPING_SUM.search(err)
    sent = int(summary.group(1)) if summary else (max(received) + 1 if received else 0)
    result = ProbeResult(node, target, interval, sent, len(received), first_sent=start,
                         received_seqs=frozenset(received))
    # send times: seq i leaves about start + i*interval; anchor on a received reply for accuracy
    anchor = min(received, default=0)
    base = received[anchor] - anchor * interval if received else start
    result.base = base
    lost = [i for i in range(sent) if i not in received]
    # Stopping fping counts the last probes as lost before their replies could arrive: drop a
    # trailing run no longer than the reply timeout; a longer one is a real outage.
    in_flight = int(0.6 / interval)
    tail = 0
    while tail < len(lost) and lost[len(lost) - 1 - tail] == sent - 1 - tail:
        tail += 1
    if 0 < tail <= in_flight:
        lost, sent = lost[:-tail], sent - tail
        result.sent = sent
    window: list[int] = []
    for seq in lost:
        if window and seq != window[-1] + 1:
            result.lost_windows.append((base + window[0] * interval, base + window[-1] * interval))
            window = []
        window.append(seq)
    if window:
        result.lost_windows.append((base + window[0] * interval, base + window[-1] * interval))
    return result
