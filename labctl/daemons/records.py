"""The one shape every daemon's parsers produce: sessions, route tables, routes with attributes,
session state changes from the logs. Pure data; the daemon modules fill it, everyone else reads it."""

from __future__ import annotations

from dataclasses import dataclass, field

from labctl.policy.data import LC_REJECT


def afi_of(address_or_prefix: str) -> str:
    """"ipv4" or "ipv6" for an address or prefix in text form."""
    return "ipv6" if ":" in address_or_prefix else "ipv4"


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
    """A router's sessions and the prefixes of its best routes, per family."""

    sessions: list[BgpSession] = field(default_factory=list)
    routes: dict[str, list[str]] = field(default_factory=lambda: {"ipv4": [], "ipv6": []})


@dataclass
class Route:
    """One path for a prefix as a node holds it."""

    prefix: str
    afi: str
    source: str  # the peer's address, or the daemon's name for the session (a BIRD protocol)
    as_path: list[int] = field(default_factory=list)
    next_hop: str = ""  # the global next hop
    communities: list[tuple[int, int]] = field(default_factory=list)
    large: list[tuple[int, int, int]] = field(default_factory=list)
    local_pref: int | None = None
    best: bool = False
    filtered: bool = False  # kept apart by the daemon as rejected by its import filter
    peer_name: str = ""  # the node behind the source, where the daemon's output names it

    def reasons(self, rs_asn: int) -> list[int]:
        """The reject reason codes a route server with ASN rs_asn tagged this route with."""
        return sorted({c for g, f, c in self.large if g == rs_asn and f == LC_REJECT})

    def rejected(self, rs_asn: int) -> bool:
        """Rejected by the import policy: kept apart by the daemon, or tagged with a reason."""
        return self.filtered or bool(self.reasons(rs_asn))


@dataclass(frozen=True)
class SessionChange:
    """A session entering ("up") or leaving ("down") Established, from a daemon's log."""

    t: float  # seconds since the epoch (all lab nodes share the host's clock)
    up: bool
    peer: str  # the peer's address or the daemon's name for the session
    detail: str = ""
