"""The IX model: the typed description of an Internet exchange that ix.yml holds.

Every field is documented here; `docs/MODEL.md` is the user-facing reference and
`labctl validate` enforces both the types below and the cross-field rules in `checks.py`.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from labctl.daemons import stacks
from labctl.policy import data as policy_data
from labctl.policy.sources import read_as_sets, read_roas

# Node names become container names, hostnames and (with '-' -> '_') BIRD protocol names.
NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$"
NAME_RULE = "1-24 characters: lower-case letters, digits and '-', not starting or ending with '-'"


def _network(value: object, version: int | None = None) -> IPv4Network | IPv6Network:
    if isinstance(value, (IPv4Network, IPv6Network)):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a prefix such as 198.18.0.0/24, got {type(value).__name__}")
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"'{value}' is not a valid prefix ({exc})") from None
        raise ValueError(f"'{value}' has host bits set; did you mean {loose}?") from None
    if version and net.version != version:
        raise ValueError(f"'{value}' is IPv{net.version}, expected IPv{version}")
    return net


def _address(value: object, version: int) -> IPv4Address | IPv6Address:
    if isinstance(value, (IPv4Address, IPv6Address)):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an IPv{version} address, got {type(value).__name__}")
    try:
        addr = ipaddress.ip_address(value.split("/")[0] if "/" in value else value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP address") from None
    if "/" in value:
        raise ValueError(f"'{value}': give the address without a prefix length (the peering LAN sets it)")
    if addr.version != version:
        raise ValueError(f"'{value}' is IPv{addr.version}, expected IPv{version}")
    return addr


Prefix = Annotated[IPv4Network | IPv6Network, BeforeValidator(_network)]
Prefix4 = Annotated[IPv4Network, BeforeValidator(lambda v: _network(v, 4))]
Prefix6 = Annotated[IPv6Network, BeforeValidator(lambda v: _network(v, 6))]
Address4 = Annotated[IPv4Address, BeforeValidator(lambda v: _address(v, 4))]
Address6 = Annotated[IPv6Address, BeforeValidator(lambda v: _address(v, 6))]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


def _one_line(value: str) -> str:
    # descriptions end up in config comments: a line break would start a config statement
    value = value.strip()
    if "\n" in value or "\r" in value:
        raise ValueError("a description must be one line")
    return value


Description = Annotated[str, AfterValidator(_one_line)]
Asn = Annotated[int, Field(ge=1, le=4294967294)]
# The routing daemons labctl has a module for (labctl/daemons) and those the images ship that it
# cannot configure yet (validate says so); adding a daemon module extends this.
Daemon = Annotated[Literal[stacks.DAEMONS],  # type: ignore[valid-type]
                   BeforeValidator(lambda v: stacks.ALIASES.get(v, v) if isinstance(v, str) else v)]
StackName = Literal[tuple(stacks.STACKS)]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeeringLan(_Strict):
    """The IX's shared layer-2 network where members, route servers and switches meet."""

    ipv4: Prefix4 = Field(default=IPv4Network("192.0.2.0/24"), description="IPv4 peering LAN")
    ipv6: Prefix6 = Field(default=IPv6Network("fd00:ffff::/64"), description="IPv6 peering LAN")


class LabPrefixSpace(_Strict):
    """Address space members announce from. The bogon filter allows it; real bogons stay rejected."""

    ipv4: list[Prefix4] = Field(default_factory=lambda: [IPv4Network("198.18.0.0/15")])
    ipv6: list[Prefix6] = Field(default_factory=lambda: [IPv6Network("2001:db8::/32")])


class BgpTimers(_Strict):
    keepalive: int = Field(default=3, ge=1, le=21845, description="seconds between KEEPALIVEs")
    hold: int = Field(default=9, ge=3, le=65535, description="hold time in seconds (>= 3 x keepalive)")
    connect_retry: int = Field(default=5, ge=1, le=65535, description="seconds between attempts to open a session")
    graceful_restart: bool = Field(
        default=False,
        description="RFC 4724 graceful restart; when on, a route server keeps a vanished member's routes as stale "
                    "for the restart time instead of withdrawing them at hold-timer expiry")


class Bfd(_Strict):
    enabled: bool = Field(default=False, description="run BFD on route-server and bilateral sessions")
    interval_ms: int = Field(default=300, ge=10, le=60000, description="transmit/receive interval")
    multiplier: int = Field(default=3, ge=2, le=255, description="missed packets before down")


class Fabric(_Strict):
    loop_prevention: Literal["none", "stp"] = Field(
        default="none", description="'stp' runs spanning tree on site switches; required when trunks form a loop"
    )


class Management(_Strict):
    ipv4_subnet: Prefix4 | None = Field(default=None, description="containerlab management network; derived from the IX name when absent")



# ---------------------------------------------------------------- route-server policy (docs/POLICY.md)

MaxPrefixAction = Literal["shutdown", "restart", "warning", "block"]


class PolicyFile(str):
    """A file named in ix.policy, as written in ix.yml (relative to it); `.data` holds what was read."""

    data: object = None


def _policy_file(reader):
    def load(value: str | None, info: ValidationInfo) -> PolicyFile | None:
        if value is None:
            return None
        base = Path((info.context or {}).get("base_dir") or ".")
        ref = PolicyFile(value)
        ref.data = reader(base / value)  # ValueError -> a located validation error
        return ref
    return AfterValidator(load)


AsSetFile = Annotated[str, _policy_file(read_as_sets)]
RoaFile = Annotated[str, _policy_file(read_roas)]


class LengthBounds(_Strict):
    min: int = Field(ge=0, le=128, description="shortest prefix length accepted")
    max: int = Field(ge=0, le=128, description="longest prefix length accepted (blackhole requests may be longer)")


class PrefixLengths(_Strict):
    ipv4: LengthBounds = Field(default_factory=lambda: LengthBounds(min=8, max=24))
    ipv6: LengthBounds = Field(default_factory=lambda: LengthBounds(min=16, max=48))


class Roa(_Strict):
    """A Route Origin Authorisation of the lab's RPKI."""

    prefix: Prefix
    max_length: int | None = Field(default=None, ge=0, le=128, description="longest prefix it covers; default: the prefix's length")
    asn: int = Field(ge=0, le=4294967294, description="the authorised origin ASN (0: no origin is authorised, RFC 7607)")


class Rpki(_Strict):
    """The ROA set the route servers validate origins against (RPKI-invalid routes are rejected)."""

    roas: list[Roa] = Field(default_factory=list, description="ROAs written in the model")
    roa_file: RoaFile | None = Field(default=None, description="more ROAs: rpki-client/Routinator JSON, relative to ix.yml")


class Blackhole(_Strict):
    """Blackholing (RFC 7999, community 65535:666): members opt in with `members[].blackhole: true`."""

    next_hop_ipv4: Address4 | None = Field(default=None, description="route servers rewrite a blackhole route's next hop to this LAN address; default: unchanged")
    next_hop_ipv6: Address6 | None = Field(default=None, description="the same for IPv6")


class Policy(_Strict):
    """The route servers' filters (IX defaults; per-member overrides live on `members[]`). See docs/POLICY.md."""

    max_as_path_length: int = Field(default=32, ge=1, le=255, description="longer AS_PATHs are rejected")
    prefix_length: PrefixLengths = Field(default_factory=PrefixLengths, description="accepted prefix lengths per family")
    max_prefix_action: MaxPrefixAction = Field(
        default="shutdown", description="when a member exceeds max_prefix: shutdown (session down until cleared), "
        "restart (down, then re-established), warning (log only), block (keep the session, drop the excess; BIRD only)")
    max_prefix_restart_minutes: int = Field(default=1, ge=1, le=65535,
                                            description="FRR: minutes before a 'restart' re-establishes (BIRD restarts at once)")
    transit_free_asns: list[Asn] = Field(default_factory=lambda: list(policy_data.TRANSIT_FREE_ASNS),
                                         description="ASNs that must not appear in paths other members announce (route leaks)")
    as_set_file: AsSetFile | None = Field(default=None, description="AS-SET expansions (the lab's IRR), relative to ix.yml")
    rpki: Rpki = Field(default_factory=Rpki)
    blackhole: Blackhole = Field(default_factory=Blackhole)


class Ix(_Strict):
    name: Name = Field(description="lab name: containers are called clab-<name>-<node>")
    route_server_asn: Asn = Field(description="the route servers' ASN (transparent: never in members' AS paths)")
    peering_lan: PeeringLan = Field(default_factory=PeeringLan)
    lab_prefix_space: LabPrefixSpace = Field(default_factory=LabPrefixSpace)
    bgp: BgpTimers = Field(default_factory=BgpTimers)
    bfd: Bfd = Field(default_factory=Bfd)
    fabric: Fabric = Field(default_factory=Fabric)
    management: Management = Field(default_factory=Management)
    policy: Policy = Field(default_factory=Policy, description="route-server filters; IX defaults apply when absent")
    stack: StackName = Field(default=stacks.DEFAULT_STACK, description="software stack of every node: trixie (Debian 13: "
                             "FRR 10.3, BIRD 2.17/3.1, OpenBGPD 8.8) or bookworm (Debian 12: FRR 8.4, BIRD 2.0.12)")
    description: Description = ""
    design: Literal["ix", "aggregator"] = Field(
        default="ix", description="ix: the exchange as described; aggregator: the same members and upstreams without "
        "the IX fabric, every member connected to one aggregator router (AS route_server_asn) that buys the upstreams' "
        "transit (the 'aggregator ISP' model; docs/MODEL.md)")


class Site(_Strict):
    """A location of the regional fabric, with one switch (node `sw-<name>`)."""

    name: Name
    description: Description = ""


class Trunk(_Strict):
    """A link between two sites' switches, with the attributes a lab can impose on it."""

    between: tuple[Name, Name] = Field(description="the two sites it joins")
    latency_ms: float = Field(default=0, ge=0, le=10000, description="one-way delay (needs netem)")
    loss_percent: float = Field(default=0, ge=0, le=100, description="random loss")
    bandwidth_mbit: float | None = Field(default=None, gt=0, description="rate limit; none means line rate")


class RouteServer(_Strict):
    name: Name
    daemon: Daemon = Field(default="bird", description="frr, bird (BIRD 2; alias bird2), bird3 or openbgpd")
    stack: StackName | None = Field(default=None, description="override ix.stack for this node")
    site: Name
    ipv4: Address4 | None = Field(default=None, description="LAN address; auto-assigned when absent")
    ipv6: Address6 | None = Field(default=None, description="LAN address; auto-assigned when absent")


class MaxPrefix(_Strict):
    ipv4: int = Field(default=100, ge=1)
    ipv6: int = Field(default=100, ge=1)
    action: MaxPrefixAction | None = Field(default=None, description="override ix.policy.max_prefix_action")


class MemberRouter(_Strict):
    """One router of a member that connects more than one: its own node, port and LAN addresses.
    Daemon, stack and BFD default to the member's."""

    name: Name = Field(description="node name (unique across the lab)")
    site: Name = Field(description="the site whose switch its port is on")
    daemon: Daemon | None = Field(default=None, description="default: the member's daemon")
    stack: StackName | None = Field(default=None, description="default: the member's stack, then ix.stack")
    description: Description = Field(default="", description="default: the member's description")
    ipv4: Address4 | None = Field(default=None, description="LAN address; auto-assigned when absent")
    ipv6: Address6 | None = Field(default=None, description="LAN address; auto-assigned when absent")
    bfd: bool | None = Field(default=None, description="default: the member's bfd, then ix.bfd.enabled")


class Member(_Strict):
    name: Name
    asn: Asn
    site: Name | None = Field(default=None, description="where its one router is (with `routers`: per router)")
    daemon: Daemon = Field(default="frr", description="frr, bird (BIRD 2; alias bird2), bird3 or openbgpd")
    stack: StackName | None = Field(default=None, description="override ix.stack for this node")
    description: Description = ""
    ipv4: Address4 | None = Field(default=None, description="LAN address; auto-assigned when absent")
    ipv6: Address6 | None = Field(default=None, description="LAN address; auto-assigned when absent")
    routers: list[MemberRouter] = Field(default_factory=list, description="a member with several routers: one entry "
                                        "each (then no site/ipv4/ipv6 on the member itself)")
    same_site: bool = Field(default=False, description="its routers may share a site (two ports at one site)")
    prefixes: list[Prefix] = Field(default_factory=list, description="what the member announces")
    route_server: bool = Field(default=True, description="peer with every route server")
    bilateral: list[Name] = Field(default_factory=list, description="members to peer with directly")
    max_prefix: MaxPrefix = Field(default_factory=MaxPrefix, description="route servers' limit per family")
    bfd: bool | None = Field(default=None, description="override ix.bfd.enabled for this member's sessions")
    allowed_prefixes: list[Prefix] = Field(default_factory=list, description="registered beyond `prefixes` (the lab's IRR): "
                                           "the route servers accept these and their more-specifics from the member")
    allowed_origins: list[Asn] = Field(default_factory=list, description="origin ASNs beyond its own it may announce (its customers)")
    as_set: str | None = Field(default=None, description="AS-SET of ix.policy.as_set_file: its ASNs and prefixes are allowed too")
    blackhole: bool = Field(default=False, description="the route servers accept its blackhole requests (65535:666, RFC 7999)")


class Upstream(_Strict):
    """A transit provider outside the region (docs/MODEL.md `upstreams`): a router on its own
    long-haul links to the members that buy transit from it, never on the IX LAN. It announces
    "Internet" prefixes from the lab space (and a default route where asked), carries its
    customers' routes to the other upstreams and theirs to its customers."""

    name: Name = Field(description="node name (unique across the lab)")
    asn: Asn
    city: str = Field(default="", max_length=40, description="the city it stands for (reports, locality)")
    daemon: Daemon = Field(default="frr", description="its routing daemon (one that can play an upstream)")
    stack: StackName | None = Field(default=None, description="override ix.stack for this node")
    description: Description = ""
    prefixes: list[Prefix] = Field(default_factory=list, description="the 'Internet' it announces, from ix.lab_prefix_space")
    default_route: bool = Field(default=False, description="also announce a default route (0.0.0.0/0, ::/0) to customers")
    latency_ms: float = Field(default=0, ge=0, le=10000, description="one-way delay of each long-haul line (needs netem)")
    loss_percent: float = Field(default=0, ge=0, le=100, description="random loss on each long-haul line (needs netem)")
    bandwidth_mbit: float | None = Field(default=None, gt=0, description="rate of each long-haul line; none means line rate")
    customers: list[Name] = Field(default_factory=list, description="members that buy transit from it (their first router connects)")


class IxModel(_Strict):
    ix: Ix
    sites: list[Site] = Field(min_length=1)
    trunks: list[Trunk] = Field(default_factory=list)
    route_servers: list[RouteServer] = Field(default_factory=list)
    members: list[Member] = Field(default_factory=list)
    upstreams: list[Upstream] = Field(default_factory=list)

    def member_routers(self) -> list["Router"]:
        """Every member router (a node), in file order: the member itself when it has one router."""
        out: list[Router] = []
        for i, x in enumerate(self.members):
            if not x.routers:
                out.append(Router(x.name, x.site or "", x.daemon, x.stack, x.description, x.ipv4, x.ipv6, x.bfd,
                                  x, ("members", i)))
            for j, r in enumerate(x.routers):
                out.append(Router(r.name, r.site, r.daemon or x.daemon, r.stack or x.stack,
                                  r.description or x.description, r.ipv4, r.ipv6, r.bfd if r.bfd is not None else x.bfd,
                                  x, ("members", i, "routers", j)))
        return out


@dataclass(frozen=True)
class Router:
    """A member's router as a node: its own name, site, daemon and addresses; everything else
    (ASN, prefixes, policy, sessions wanted) is the member's and read through to it."""

    name: str
    site: str
    daemon: str
    stack: str | None
    description: str
    ipv4: IPv4Address | None
    ipv6: IPv6Address | None
    bfd: bool | None
    member: Member
    path: tuple  # where it is written in the file: ("members", i) or ("members", i, "routers", j)

    def __getattr__(self, key: str):
        if key == "member":  # not set yet (copy/pickle): no read-through
            raise AttributeError(key)
        return getattr(self.member, key)
