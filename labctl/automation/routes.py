"""Routes with their attributes, from FRR and BIRD, in one shape. Pure functions over captured output.

Used by the policy scenario (what each route server decided, and what members received) and by
`labctl lg` (why a route was rejected).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

# FRR prints well-known communities by name (RFC 1997, 7999, 8326, ...)
WELL_KNOWN = {
    "graceful-shutdown": (65535, 0), "gracefulShutdown": (65535, 0),
    "accept-own": (65535, 1), "llgr-stale": (65535, 6), "no-llgr": (65535, 7),
    "blackhole": (65535, 666), "no-export": (65535, 65281), "noExport": (65535, 65281),
    "no-advertise": (65535, 65282), "noAdvertise": (65535, 65282),
    "local-AS": (65535, 65283), "localAs": (65535, 65283), "no-peer": (65535, 65284), "noPeer": (65535, 65284),
}


@dataclass
class Route:
    """One path for a prefix as a node holds it."""

    prefix: str
    afi: str
    source: str  # FRR: the peer's address; BIRD: the protocol name
    as_path: list[int] = field(default_factory=list)
    next_hop: str = ""  # the global next hop
    communities: list[tuple[int, int]] = field(default_factory=list)
    large: list[tuple[int, int, int]] = field(default_factory=list)
    local_pref: int | None = None
    best: bool = False
    filtered: bool = False  # BIRD: rejected by the import filter, kept by `import keep filtered`
    peer_name: str = ""  # FRR: the peer's hostname; BIRD: the node a labctl protocol name (m_<node>_<afi>) names

    def reasons(self, rs_asn: int) -> list[int]:
        return sorted({c for g, f, c in self.large if g == rs_asn and f == 1101})


def _afi(prefix: str) -> str:
    return "ipv6" if ":" in prefix else "ipv4"


def _community(text: str) -> tuple[int, int] | None:
    if text in WELL_KNOWN:
        return WELL_KNOWN[text]
    m = re.fullmatch(r"(\d+):(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def parse_frr_table(text: str) -> list[Route]:
    """`show bgp <afi> unicast json detail` (FRR 8.4): every path with its attributes."""
    data = json.loads(text or "{}")
    out = []
    for prefix, entries in (data.get("routes") or {}).items():
        for path in entries:
            if "aspath" not in path and "peer" not in path:
                continue  # the per-prefix header
            out.append(_frr_path(prefix, path))
    return out


def parse_frr_prefix(text: str) -> list[Route]:
    """`show bgp <afi> unicast PREFIX json`: the paths of one prefix."""
    data = json.loads(text or "{}")
    prefix = data.get("prefix")
    return [_frr_path(prefix, p) for p in data.get("paths", [])] if prefix else []


def _frr_path(prefix: str, path: dict) -> Route:
    aspath: list[int] = []
    for seg in (path.get("aspath") or {}).get("segments", []):
        aspath += [int(a) for a in seg.get("list", [])]
    if not aspath:
        aspath = [int(a) for a in re.findall(r"\d+", (path.get("aspath") or {}).get("string", "") or "")]
    hops = path.get("nexthops") or []
    nh = next((h.get("ip", "") for h in hops if h.get("scope", "global") == "global"), hops[0].get("ip", "") if hops else "")
    comms = [c for c in (_community(t) for t in ((path.get("community") or {}).get("string", "") or "").split()) if c]
    large = [tuple(int(x) for x in t.split(":")) for t in (path.get("largeCommunity") or {}).get("list", [])]
    best = path.get("bestpath", {}).get("overall", False) if isinstance(path.get("bestpath"), dict) else bool(path.get("bestpath"))
    peer = path.get("peer") or {}
    return Route(prefix, _afi(prefix), peer.get("peerId", ""), aspath, nh, comms,  # type: ignore[arg-type]
                 large, path.get("locPrf", path.get("localpref")), best, peer_name=peer.get("hostname", ""))


_BIRD_HEAD = re.compile(r"^(?P<prefix>[0-9a-fA-F:.]+/\d+)?\s+\S+\s+\[(?P<proto>\S+)[^\]]*\]\s*(?P<best>\*)?")


def parse_bird_routes(text: str, filtered: bool = False) -> list[Route]:
    """`show route [table T] all [filtered]` (BIRD 2): every route with its BGP attributes."""
    out: list[Route] = []
    prefix = ""
    current: Route | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith(("BIRD ", "Table ")):
            continue
        if not line.startswith("\t"):
            head = _BIRD_HEAD.match(line)
            if not head:
                current = None
                continue
            prefix = head.group("prefix") or prefix
            if not prefix or "-" in line.split("[")[0].split()[0]:
                current = None  # a ROA table entry (198.18.1.0/24-24 AS64496)
                continue
            proto = head.group("proto")
            name = re.fullmatch(r"m_(.+)_ipv[46]", proto)
            current = Route(prefix, _afi(prefix), proto, best=bool(head.group("best")), filtered=filtered,
                            peer_name=name.group(1).replace("_", "-") if name else "")
            out.append(current)
            continue
        if current is None:
            continue
        key, _, value = line.strip().partition(": ")
        if key == "BGP.as_path":
            current.as_path = [int(a) for a in re.findall(r"\d+", value)]
        elif key == "BGP.next_hop":
            current.next_hop = value.split()[0] if value.split() else ""
        elif key == "BGP.local_pref":
            current.local_pref = int(value)
        elif key == "BGP.community":
            current.communities = [(int(a), int(b)) for a, b in re.findall(r"\((\d+),\s*(\d+)\)", value)]
        elif key == "BGP.large_community":
            current.large = [(int(a), int(b), int(c)) for a, b, c in re.findall(r"\((\d+),\s*(\d+),\s*(\d+)\)", value)]
    return out
