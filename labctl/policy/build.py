"""The route servers' policy derived from the model: what each filter checks, per member and family.

`build_policy(model)` is pure. The templates render it (frr-rs.conf.j2, bird-rs.conf.j2) and
`RsPolicy.evaluate` states, in Python, what both daemons must decide for a route: the policy
scenario asserts that each route server's verdict equals it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, collapse_addresses, ip_address, ip_network
from typing import TYPE_CHECKING, Iterable

from labctl.policy import data
from labctl.policy.regex import merge_ranges, ranges_regex, subtract

if TYPE_CHECKING:
    from labctl.model.schema import IxModel, Member

Net = IPv4Network | IPv6Network
AFIS = ("ipv4", "ipv6")


def afi_of(net: Net | IPv4Address | IPv6Address) -> str:
    return "ipv4" if net.version == 4 else "ipv6"


@dataclass(frozen=True)
class Roa:
    prefix: Net
    max_length: int
    asn: int


@dataclass(frozen=True)
class MemberPolicy:
    name: str
    asn: int
    next_hop: dict[str, IPv4Address | IPv6Address]
    allowed: dict[str, list[Net]]  # registered prefixes per family (more-specifics allowed too), collapsed
    origins: tuple[int, ...]  # allowed origin ASNs, sorted
    reserved: tuple[tuple[int, int], ...]  # ASN ranges rejected anywhere in its paths (its own ASN excepted)
    transit_free: tuple[int, ...]  # transit-free ASNs rejected in its paths (its own excepted)
    max_prefix: dict[str, int]
    max_prefix_action: str
    blackhole: bool

    @property
    def reserved_regex(self) -> str:
        return ranges_regex(list(self.reserved))

    @property
    def own_reserved_exemption(self) -> bool:
        """True when the member's own ASN lies in a reserved range (its reserved list then differs from the IX's)."""
        return any(lo <= self.asn <= hi for lo, hi in _reserved_checked())


@dataclass(frozen=True)
class RsPolicy:
    rs_asn: int
    max_as_path_length: int
    lengths: dict[str, tuple[int, int]]
    peering_lan: dict[str, Net]
    lab_space: dict[str, list[Net]]
    bogons: dict[str, list[Net]]  # IPv6 also: anything outside 2000::/3
    reserved: tuple[tuple[int, int], ...]
    transit_free: tuple[int, ...]
    roas: tuple[Roa, ...]
    blackhole_next_hop: dict[str, IPv4Address | IPv6Address | None]
    max_prefix_restart_minutes: int
    members: dict[str, MemberPolicy] = field(default_factory=dict)

    # ---------------------------------------------------------------- helpers for templates
    @property
    def rpki(self) -> bool:
        return bool(self.roas)

    def roas_for(self, afi: str) -> list[Roa]:
        return [r for r in self.roas if afi_of(r.prefix) == afi]

    @property
    def reserved_regex(self) -> str:
        return ranges_regex(list(self.reserved))

    @property
    def transit_free_regex(self) -> str:
        return "|".join(str(a) for a in self.transit_free)

    @property
    def peer_asns(self) -> list[int]:
        return sorted({m.asn for m in self.members.values()})

    # ---------------------------------------------------------------- the policy, stated once
    def is_bogon(self, net: Net) -> bool:
        afi = afi_of(net)
        if net.subnet_of(self.peering_lan[afi]):  # type: ignore[arg-type]
            return True
        if any(net.subnet_of(s) for s in self.lab_space[afi]):  # type: ignore[arg-type]
            return False
        if afi == "ipv6" and not net.subnet_of(data.IPV6_GLOBAL_UNICAST):  # type: ignore[arg-type]
            return True
        return any(net.subnet_of(b) for b in self.bogons[afi])  # type: ignore[arg-type]

    def rpki_state(self, net: Net, origin: int | None) -> str:
        covering = [r for r in self.roas if r.prefix.version == net.version and net.subnet_of(r.prefix)]  # type: ignore[arg-type]
        if not covering:
            return "not-found"
        if origin and any(r.asn == origin and net.prefixlen <= r.max_length for r in covering):
            return "valid"
        return "invalid"

    def evaluate(self, member: str, prefix: str | Net, as_path: Iterable[int], next_hop: str | None,
                 communities: Iterable[tuple[int, int]] = (), large: Iterable[tuple[int, int, int]] = ()) -> list[int]:
        """The reject reasons (codes, sorted) a route server must tag this route with; [] = accept."""
        m = self.members[member]
        net = ip_network(prefix) if isinstance(prefix, str) else prefix
        afi = afi_of(net)
        path = list(as_path)
        comms = set(communities)
        lo, hi = self.lengths[afi]
        reasons: set[int] = set()
        if self.is_bogon(net):
            reasons.add(2)
        blackhole = data.BLACKHOLE in comms
        if blackhole:
            if not m.blackhole:
                reasons.add(16)
            elif net.prefixlen < lo:
                reasons.add(13)
        elif not lo <= net.prefixlen <= hi:
            reasons.add(13)
        if not path or path[0] != m.asn:
            reasons.add(6)
        if any(a_lo <= a <= a_hi for a in path for a_lo, a_hi in m.reserved):
            reasons.add(7)
        if len(path) > self.max_as_path_length:
            reasons.add(1)
        if any(a in m.transit_free for a in path):
            reasons.add(8)
        if next_hop is None or ip_address(next_hop) != m.next_hop[afi]:
            reasons.add(5)
        if not any(net.subnet_of(a) for a in m.allowed[afi]):  # type: ignore[arg-type]
            reasons.add(12)
        if not path or path[-1] not in m.origins:
            reasons.add(9)
        # blackhole requests are exempt: a /32 or /128 is longer than any ROA allows
        if self.rpki and not blackhole and self.rpki_state(net, path[-1] if path else None) == "invalid":
            reasons.add(14)
        return sorted(reasons)

    def receivers(self, member: str, large: Iterable[tuple[int, int, int]]) -> dict[str, int]:
        """Which other members the route servers announce a (clean) route of `member` to, with the
        number of extra prepends of the member's ASN each sees."""
        lcs = {(g, f, p) for g, f, p in large if g == self.rs_asn}
        out = {}
        own_asn = self.members[member].asn
        for name, peer in self.members.items():
            if name == member or peer.asn == own_asn:  # its member's other routers: AS-path loop
                continue
            if (self.rs_asn, data.LC_DO_NOT_ANNOUNCE, peer.asn) in lcs:
                continue
            if (self.rs_asn, data.LC_DO_NOT_ANNOUNCE, 0) in lcs and (self.rs_asn, data.LC_ANNOUNCE, peer.asn) not in lcs:
                continue
            prepend = 0
            for times, function in enumerate(data.LC_PREPEND, start=1):
                if (self.rs_asn, function, peer.asn) in lcs:
                    prepend = times
                    break
            out[name] = prepend
        return out


def _reserved_checked() -> list[tuple[int, int]]:
    """Reserved ASN ranges the filter rejects: all of them except the documentation ranges."""
    return subtract(list(data.RESERVED_ASNS), list(data.DOCUMENTATION_ASNS))


def _collapse(nets: Iterable[Net]) -> dict[str, list[Net]]:
    out: dict[str, list[Net]] = {}
    for afi, version in (("ipv4", 4), ("ipv6", 6)):
        out[afi] = list(collapse_addresses(sorted({n for n in nets if n.version == version})))  # type: ignore[type-var]
    return out


def member_policy(m: "IxModel", member: "Member", address4, address6) -> MemberPolicy:
    pol = m.ix.policy
    as_sets = pol.as_set_file.data if pol.as_set_file is not None else {}
    allowed = list(member.prefixes) + list(member.allowed_prefixes)
    origins = {member.asn, *member.allowed_origins}
    if member.as_set and member.as_set in as_sets:  # an unknown AS-SET is a validation error
        entry = as_sets[member.as_set]
        allowed += list(entry.prefixes)
        origins |= set(entry.asns)
    own = [(member.asn, member.asn)]
    return MemberPolicy(
        name=member.name, asn=member.asn,
        next_hop={"ipv4": address4, "ipv6": address6},
        allowed=_collapse(allowed),
        origins=tuple(sorted(origins)),
        reserved=tuple(subtract(_reserved_checked(), own)),
        transit_free=tuple(a for a in sorted(set(pol.transit_free_asns)) if a != member.asn),
        max_prefix={"ipv4": member.max_prefix.ipv4, "ipv6": member.max_prefix.ipv6},
        max_prefix_action=member.max_prefix.action or pol.max_prefix_action,
        blackhole=member.blackhole,
    )


def all_roas(m: "IxModel") -> tuple[Roa, ...]:
    pol = m.ix.policy.rpki
    roas = {Roa(r.prefix, r.max_length if r.max_length is not None else r.prefix.prefixlen, r.asn) for r in pol.roas}
    if pol.roa_file is not None:
        roas |= {Roa(r.prefix, r.max_length, r.asn) for r in pol.roa_file.data}  # type: ignore[union-attr]
    return tuple(sorted(roas, key=lambda r: (r.prefix.version, r.prefix, r.max_length, r.asn)))


def build_policy(m: "IxModel", addresses: dict[str, tuple]) -> RsPolicy:
    """`addresses`: member name -> (IPv4, IPv6) LAN address, as the plan assigned them."""
    pol = m.ix.policy
    lan = m.ix.peering_lan
    rs = RsPolicy(
        rs_asn=m.ix.route_server_asn,
        max_as_path_length=pol.max_as_path_length,
        lengths={"ipv4": (pol.prefix_length.ipv4.min, pol.prefix_length.ipv4.max),
                 "ipv6": (pol.prefix_length.ipv6.min, pol.prefix_length.ipv6.max)},
        peering_lan={"ipv4": lan.ipv4, "ipv6": lan.ipv6},
        lab_space={"ipv4": list(m.ix.lab_prefix_space.ipv4), "ipv6": list(m.ix.lab_prefix_space.ipv6)},
        bogons={"ipv4": list(data.BOGONS_IPV4), "ipv6": list(data.BOGONS_IPV6)},
        reserved=tuple(_reserved_checked()),
        transit_free=tuple(sorted(set(pol.transit_free_asns))),
        roas=all_roas(m),
        blackhole_next_hop={"ipv4": pol.blackhole.next_hop_ipv4, "ipv6": pol.blackhole.next_hop_ipv6},
        max_prefix_restart_minutes=pol.max_prefix_restart_minutes,
    )
    for router in m.member_routers():  # a session each; a member's routers share its policy
        if router.route_server:
            a4, a6 = addresses[router.name]
            rs.members[router.name] = member_policy(m, router, a4, a6)
    return rs


__all__ = ["MemberPolicy", "Roa", "RsPolicy", "build_policy", "merge_ranges"]
