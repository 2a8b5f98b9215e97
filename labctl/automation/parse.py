"""Turn FRR and BIRD command output into one shape. Pure functions, unit-tested on captured output."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field


@dataclass
class BgpSession:
    peer_address: str
    afi: str  # "ipv4" / "ipv6" (of the session's transport, as labctl plans one session per family)
    state: str  # "Established" or the daemon's state name
    received: int = 0
    accepted: int = 0
    sent: int = 0
    uptime: str = ""
    description: str = ""

    @property
    def established(self) -> bool:
        return self.state == "Established"


@dataclass
class NodeBgp:
    sessions: list[BgpSession] = field(default_factory=list)
    routes: dict[str, list[str]] = field(default_factory=lambda: {"ipv4": [], "ipv6": []})


def _afi_of(address: str) -> str:
    return "ipv6" if ":" in address else "ipv4"


def parse_frr_summary(text: str) -> list[BgpSession]:
    data = json.loads(text or "{}")
    sessions = []
    for family_key, afi in (("ipv4Unicast", "ipv4"), ("ipv6Unicast", "ipv6")):
        for address, peer in (data.get(family_key) or {}).get("peers", {}).items():
            if _afi_of(address) != afi:
                continue  # labctl activates each session in its own family only
            sessions.append(BgpSession(
                address, afi, peer.get("state", "Unknown"),
                received=int(peer.get("pfxRcd", 0) or 0), accepted=int(peer.get("pfxRcd", 0) or 0),
                sent=int(peer.get("pfxSnt", 0) or 0), uptime=str(peer.get("peerUptime", "")),
                description=peer.get("desc", ""),
            ))
    return sessions


def parse_frr_routes(text: str) -> list[str]:
    data = json.loads(text or "{}")
    return sorted((data.get("routes") or {}).keys())


_BIRD_PROTO = re.compile(r"^(?P<name>\S+)\s+BGP\s+\S+\s+(?P<state>\S+)\s+(?P<since>\S+(?: \S+)?)\s*(?P<info>.*)$")


def parse_bird_protocols(text: str) -> list[BgpSession]:
    """`birdc show protocols all`: one block per protocol; keep the BGP ones."""
    sessions: list[BgpSession] = []
    current: BgpSession | None = None
    for line in text.splitlines():
        head = _BIRD_PROTO.match(line)
        if head:
            info = head.group("info").strip()
            state = info.split()[0] if info else head.group("state")
            current = BgpSession("", "", "Established" if state == "Established" else state, uptime=head.group("since"))
            sessions.append(current)
            continue
        if current is None:
            continue
        stripped = line.strip()
        if stripped.startswith("Description:"):
            current.description = stripped.split(":", 1)[1].strip()
        elif stripped.startswith("Neighbor address:"):
            current.peer_address = stripped.split(":", 1)[1].strip()
            current.afi = _afi_of(current.peer_address)
        elif stripped.startswith("Routes:"):
            counts = dict((k, int(v)) for v, k in re.findall(r"(\d+) (\w+)", stripped))
            current.accepted = counts.get("imported", 0)
            current.received = counts.get("imported", 0) + counts.get("filtered", 0)
            current.sent = counts.get("exported", 0)
        elif line and not line[0].isspace() and not head:
            current = None  # a non-BGP protocol block starts
    return [s for s in sessions if s.peer_address]


_BIRD_ROUTE = re.compile(r"^(?P<prefix>[0-9a-fA-F:.]+/\d+)\s")


def parse_bird_routes(text: str) -> dict[str, list[str]]:
    routes: dict[str, set[str]] = {"ipv4": set(), "ipv6": set()}
    for line in text.splitlines():
        m = _BIRD_ROUTE.match(line)
        if m:
            prefix = m.group("prefix")
            routes[_afi_of(prefix)].add(prefix)
    return {afi: sorted(p) for afi, p in routes.items()}
