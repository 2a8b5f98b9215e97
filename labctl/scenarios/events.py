"""Parse what the observers wrote into timestamped events. Pure; unit-tested on captured text.

All timestamps are seconds since the epoch on the host kernel's clock, which every lab node
shares, so events from different nodes are directly comparable.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from ipaddress import ip_network

from labctl import daemons


@dataclass(frozen=True)
class Event:
    t: float
    node: str
    kind: str  # "session-down", "session-up", "route-add", "route-del"
    subject: str  # peer (address or BIRD protocol) or prefix
    detail: str = ""


def _epoch(text: str, fmt: str) -> float:
    return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()


def parse_daemon_log(node: str, daemon: str, text: str, peer_names: dict[str, str] | None = None) -> list[Event]:
    """Session state changes from a daemon's log (its module knows the format). `peer_names` maps
    the daemon's session keys (a peer address, a BIRD protocol) to names for the report."""
    peer_names = peer_names or {}
    changes = daemons.get(daemon).parse_log(text, set(peer_names) or None)
    return [Event(c.t, node, "session-up" if c.up else "session-down", peer_names.get(c.peer, c.peer), c.detail)
            for c in changes]


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
    interval: float  # nominal; a loaded host sends a little slower, so times come from fping's lines
    sent: int
    received: int
    lost_windows: list[tuple[float, float]] = field(default_factory=list)  # send times of first and last lost
    first_sent: float = 0.0
    base: float = 0.0  # send time of sequence 0
    received_seqs: frozenset[int] = frozenset()
    send_times: list[float] = field(default_factory=list)  # per sequence number
    outage_seconds: float = 0.0  # from the first lost probe's send time to the next answered one's

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def loss_ratio(self) -> float:
        return self.lost / self.sent if self.sent else 0.0

    def loss_between(self, start: float, end: float) -> tuple[int, int]:
        """(sent, lost) for probes sent in [start, end)."""
        seqs = [i for i, t in enumerate(self.send_times[: self.sent]) if start <= t < end]
        return len(seqs), sum(1 for i in seqs if i not in self.received_seqs)


# [1795657806.88303] 198.18.2.1 : [0], 64 bytes, 0.207 ms (0.207 avg, 0% loss)
# [1795658953.38179] 198.18.2.1 : [186], timed out (0.035 avg, 0% loss)
_FPING = re.compile(r"^\[(\d+\.\d+)\] (\S+) : \[(\d+)\], (?:\d+ bytes, ([\d.]+) ms|(timed out))")
_FPING_SUM = re.compile(r"xmt/rcv/%loss = (\d+)/(\d+)/")


def parse_fping(node: str, target: str, start: float, out: str, err: str, interval: float,
                timeout: float = 0.5) -> ProbeResult:
    """fping -l -D output: replies carry their arrival time and RTT, timeouts their detection
    time (sent + timeout); both give each probe's real send time. Probes that left no line
    (sendto failed: no route) are placed between their neighbours."""
    received: set[int] = set()
    when: dict[int, float] = {}
    for line in out.splitlines():
        m = _FPING.match(line)
        if not m:
            continue
        seq, t = int(m.group(3)), float(m.group(1))
        if m.group(4) is not None:
            received.add(seq)
            when[seq] = t - float(m.group(4)) / 1000
        else:
            when.setdefault(seq, t - timeout)
    summary = _FPING_SUM.search(err)
    sent = int(summary.group(1)) if summary else (max(when) + 1 if when else 0)
    sent = max(sent, max(when, default=-1) + 1)
    send_times = _fill(when, sent, start, interval)
    result = ProbeResult(node, target, interval, sent, len(received), first_sent=start,
                         received_seqs=frozenset(received), send_times=send_times,
                         base=send_times[0] if send_times else start)
    lost = [i for i in range(sent) if i not in received]
    # Stopping fping counts the last probes as lost before their replies could arrive: drop a
    # trailing run no longer than the reply timeout; a longer one is a real outage.
    in_flight = int(timeout / interval) + 10
    tail = 0
    while tail < len(lost) and lost[len(lost) - 1 - tail] == sent - 1 - tail:
        tail += 1
    if 0 < tail <= in_flight:
        lost, sent = lost[:-tail], sent - tail
        result.sent = sent
    runs: list[list[int]] = []
    for seq in lost:
        if runs and seq == runs[-1][-1] + 1:
            runs[-1].append(seq)
        else:
            runs.append([seq])
    for run in runs:
        first, last = send_times[run[0]], send_times[run[-1]]
        after = send_times[run[-1] + 1] if run[-1] + 1 < len(send_times) else last + interval
        result.lost_windows.append((first, last))
        result.outage_seconds += after - first
    return result


def _fill(when: dict[int, float], count: int, start: float, interval: float) -> list[float]:
    """Send time per sequence: known ones from fping's lines, gaps interpolated between them."""
    known = sorted(when)
    times: list[float] = []
    for seq in range(count):
        if seq in when:
            times.append(when[seq])
            continue
        i = bisect.bisect_left(known, seq)
        before = known[i - 1] if i > 0 else None
        after = known[i] if i < len(known) else None
        if before is not None and after is not None:
            times.append(when[before] + (when[after] - when[before]) * (seq - before) / (after - before))
        elif before is not None:
            times.append(when[before] + interval * (seq - before))
        elif after is not None:
            times.append(when[after] - interval * (after - seq))
        else:
            times.append(start + interval * seq)
    return times
