"""Derive the facts a lab needs from the model: nodes, interfaces, addresses, sessions, expected routes.

Pure functions over the validated model; the same model always gives the same plan.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Literal

from labctl.daemons import stacks
from labctl.model.addresses import BACKBONE_IPV4, BACKBONE_IPV6, TRANSIT_IPV4, TRANSIT_IPV6, assign_addresses
from labctl.model.checks import switch_name
from labctl.model.schema import IxModel
from labctl.policy.build import RsPolicy, build_policy

Role = Literal["switch", "route_server", "member", "upstream", "aggregator"]
AGGREGATOR = "aggregator"  # the node of the aggregator design
DEFAULT_ROUTES = (ip_network("0.0.0.0/0"), ip_network("::/0"))
Afi = Literal["ipv4", "ipv6"]


@dataclass(frozen=True)
class Link:
    a: str
    a_if: str
    b: str
    b_if: str
    trunk: bool = False
    backbone: bool = False  # a member's private link between two of its routers
    transit: bool = False  # a long-haul link of an upstream (to a customer or another upstream)


@dataclass(frozen=True)
class Session:
    """One BGP session seen from `node`."""

    node: str
    peer: str
    afi: Afi
    local_address: str
    peer_address: str
    local_asn: int
    peer_asn: int
    # what the peer is to `node`: "upstream" (it sells `node` transit), "customer" (it buys transit
    # from `node`, an upstream), "transit-peer" (upstreams between themselves)
    kind: Literal["rs-client", "route-server", "bilateral", "ibgp", "upstream", "customer", "transit-peer"]
    bfd: bool


@dataclass(frozen=True)
class TransitPort:
    """A node's end of a long-haul link: its addresses and the line's attributes (applied with netem
    where the kernel has it, on both ends, so each direction carries the upstream's one-way delay)."""

    iface: str
    ipv4: str  # address/31
    ipv6: str  # address/127
    peer: str
    delay_ms: float = 0
    loss_percent: float = 0
    rate_mbit: float | None = None


@dataclass
class Node:
    name: str
    role: Role
    daemon: str  # a routing daemon (labctl.daemons) or "bridge" on a site switch
    site: str
    description: str = ""
    image: str = stacks.DEFAULT_STACK  # node image key (labctl/daemons/stacks.py NODE_IMAGES)
    asn: int | None = None
    ipv4: IPv4Address | None = None
    ipv6: IPv6Address | None = None
    prefixes: list[IPv4Network | IPv6Network] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=list)  # data interfaces eth1..; a switch bridges them all
    trunk_ports: list[str] = field(default_factory=list)  # switches: the interfaces that are trunks
    sessions: list[Session] = field(default_factory=list)
    max_prefix: dict[str, int] = field(default_factory=dict)
    member: str = ""  # member routers: the member (one ASN, one policy) this router belongs to
    # addresses on interfaces beyond the IX port: (interface, IPv4/len, IPv6/len) of backbone links
    backbone: list[tuple[str, str, str]] = field(default_factory=list)
    transit: list[TransitPort] = field(default_factory=list)  # long-haul links to/from upstreams
    city: str = ""  # upstreams: the city it stands for
    default_route: bool = False  # upstreams: announce 0.0.0.0/0 and ::/0 to customers
    rid: str = ""  # router ID where the node has no LAN address (upstreams)

    @property
    def router_id(self) -> str:
        return self.rid or (str(self.ipv4) if self.ipv4 else "0.0.0.1")

    @property
    def prefixes4(self) -> list[IPv4Network]:
        return [p for p in self.prefixes if p.version == 4]

    @property
    def prefixes6(self) -> list[IPv6Network]:
        return [p for p in self.prefixes if p.version == 6]


@dataclass
class Plan:
    lab: str
    model: IxModel
    nodes: dict[str, Node]
    links: list[Link]
    mgmt_ipv4: IPv4Network
    mgmt_ipv6: IPv6Network
    # member -> prefixes it must learn (from route servers and bilateral peers)
    expected_routes: dict[str, list[IPv4Network | IPv6Network]]
    # the route servers' filters, per member (labctl.policy; docs/POLICY.md)
    policy: RsPolicy | None = None
    # upstream -> prefixes it must learn (its customers' and the other upstreams' and their customers')
    upstream_routes: dict[str, list[IPv4Network | IPv6Network]] = field(default_factory=dict)

    @property
    def lan_prefixlen(self) -> dict[str, int]:
        lan = self.model.ix.peering_lan
        return {"ipv4": lan.ipv4.prefixlen, "ipv6": lan.ipv6.prefixlen}

    @property
    def default_image(self) -> str:
        """The image of the IX's stack that switches use; nodes on another image name theirs."""
        return stacks.image_for(self.model.ix.stack, None)

    @property
    def image_keys(self) -> list[str]:
        return sorted({n.image for n in self.nodes.values()})

    def by_role(self, role: Role) -> list[Node]:
        return [n for n in self.nodes.values() if n.role == role]

    def trunk_port(self, a: str, b: str) -> tuple[str, str]:
        """The (switch, interface) at site a's end of the trunk between sites a and b."""
        link = next(l for l in self.links if l.trunk and {l.a, l.b} == {switch_name(a), switch_name(b)})
        return (link.a, link.a_if) if link.a == switch_name(a) else (link.b, link.b_if)

    def sessions(self) -> list[Session]:
        return [s for n in self.nodes.values() for s in n.sessions]


def _mgmt_subnets(m: IxModel) -> tuple[IPv4Network, IPv6Network]:
    """A management subnet per lab, stable for a name, so two labs can run side by side. The IPv6
    one follows the IPv4 one (172.30.5.0/24 -> 3fff:172:30:5::/64), so labs given distinct IPv4
    subnets (`labctl class up`, tests) never collide in IPv6 either."""
    digest = hashlib.sha256(m.ix.name.encode()).digest()
    v4 = m.ix.management.ipv4_subnet or ip_network(f"172.30.{digest[0]}.0/24")
    a, b, c, _ = v4.network_address.packed
    v6 = ip_network(f"3fff:{a}:{b}:{c:x}::/64")
    return v4, v6  # type: ignore[return-value]


def _image(m: IxModel, router) -> str:
    """A router's node image: its own stack or the IX's, and the image holding its daemon there."""
    return stacks.image_for(router.stack or m.ix.stack, router.daemon)


def build_plan(m: IxModel) -> Plan:
    if m.ix.design == "aggregator":
        return build_aggregator_plan(m)
    addresses = assign_addresses(m)
    nodes: dict[str, Node] = {}
    links: list[Link] = []
    switch_image = stacks.image_for(m.ix.stack, None)
    for site in m.sites:
        nodes[switch_name(site.name)] = Node(switch_name(site.name), "switch", "bridge", site.name, site.description,
                                             image=switch_image)
    for rs in m.route_servers:
        a4, a6 = addresses[rs.name]
        nodes[rs.name] = Node(rs.name, "route_server", rs.daemon, rs.site, "route server",
                              image=_image(m, rs), asn=m.ix.route_server_asn, ipv4=a4, ipv6=a6)
    routers = m.member_routers()
    for mem in routers:
        a4, a6 = addresses[mem.name]
        nodes[mem.name] = Node(mem.name, "member", mem.daemon, mem.site, mem.description,
                               image=_image(m, mem), asn=mem.asn,
                               ipv4=a4, ipv6=a6, prefixes=list(mem.prefixes),
                               max_prefix={"ipv4": mem.max_prefix.ipv4, "ipv6": mem.max_prefix.ipv6},
                               member=mem.member.name)

    # Fabric: every router's eth1 goes to its site switch; trunks join switches.
    def attach(node: Node, switch: Node, trunk: bool = False) -> Link:
        node_if, sw_if = f"eth{len(node.interfaces) + 1}", f"eth{len(switch.interfaces) + 1}"
        node.interfaces.append(node_if)
        switch.interfaces.append(sw_if)
        if trunk:
            node.trunk_ports.append(node_if)
            switch.trunk_ports.append(sw_if)
        return Link(node.name, node_if, switch.name, sw_if, trunk)

    for router in [*m.route_servers, *routers]:
        links.append(attach(nodes[router.name], nodes[switch_name(router.site)]))
    for tr in m.trunks:
        a, b = (nodes[switch_name(s)] for s in tr.between)
        links.append(attach(a, b, trunk=True))
    links += _backbones(m, nodes)
    links += _upstreams(m, nodes)

    # Sessions: every route-server member peers with every route server, per address family.
    bfd_default = m.ix.bfd.enabled
    member_bfd = {x.name: (x.bfd if x.bfd is not None else bfd_default) for x in routers}
    for mem in routers:
        if not mem.route_server:
            continue
        mn = nodes[mem.name]
        for rs in m.route_servers:
            rn = nodes[rs.name]
            for afi in ("ipv4", "ipv6"):
                la, ra = str(getattr(mn, afi)), str(getattr(rn, afi))
                bfd = member_bfd[mem.name]
                mn.sessions.append(Session(mn.name, rn.name, afi, la, ra, mn.asn, rn.asn, "route-server", bfd))
                rn.sessions.append(Session(rn.name, mn.name, afi, ra, la, rn.asn, mn.asn, "rs-client", bfd))
    pairs = bilateral_pairs(m)
    for a, b in pairs:
        an, bn = nodes[a], nodes[b]
        bfd = member_bfd[a] and member_bfd[b]
        for afi in ("ipv4", "ipv6"):
            la, lb = str(getattr(an, afi)), str(getattr(bn, afi))
            an.sessions.append(Session(a, b, afi, la, lb, an.asn, bn.asn, "bilateral", bfd))
            bn.sessions.append(Session(b, a, afi, lb, la, bn.asn, an.asn, "bilateral", bfd))
    for n in nodes.values():
        n.sessions.sort(key=lambda s: (s.kind != "route-server", s.kind == "ibgp", s.peer, s.afi))

    expected = expected_routes(m, nodes, pairs)
    v4, v6 = _mgmt_subnets(m)
    return Plan(m.ix.name, m, nodes, links, v4, v6, expected, build_policy(m, addresses),
                upstream_routes=upstream_routes(m, nodes))


def _backbones(m: IxModel, nodes: dict[str, Node]) -> list[Link]:
    """The routers of a member with several are joined in a full mesh of private links carrying
    iBGP (next hop self), as members join theirs over their own network: a router whose IX port
    or site fails still reaches the IX through the others. Over the IX LAN it would fail with the
    port it is meant to survive."""
    links: list[Link] = []
    groups: dict[str, list[Node]] = defaultdict(list)
    for r in m.member_routers():
        groups[r.member.name].append(nodes[r.name])
    index = 0
    for routers in groups.values():
        for i, a in enumerate(routers):
            for b in routers[i + 1:]:
                a_if, b_if = f"eth{len(a.interfaces) + 1}", f"eth{len(b.interfaces) + 1}"
                a.interfaces.append(a_if)
                b.interfaces.append(b_if)
                v4 = BACKBONE_IPV4.network_address + 2 * index
                v6 = BACKBONE_IPV6.network_address + 2 * index
                index += 1
                a.backbone.append((a_if, f"{v4}/31", f"{v6}/127"))
                b.backbone.append((b_if, f"{v4 + 1}/31", f"{v6 + 1}/127"))
                for afi, la, lb in (("ipv4", v4, v4 + 1), ("ipv6", v6, v6 + 1)):
                    a.sessions.append(Session(a.name, b.name, afi, str(la), str(lb), a.asn, b.asn, "ibgp", False))
                    b.sessions.append(Session(b.name, a.name, afi, str(lb), str(la), b.asn, a.asn, "ibgp", False))
                links.append(Link(a.name, a_if, b.name, b_if, backbone=True))
    return links


def transit_attachments(m: IxModel) -> list[tuple[str, str, str]]:
    """(upstream, router, member) of each transit link: a customer's first router connects."""
    first: dict[str, str] = {}
    for r in m.member_routers():
        first.setdefault(r.member.name, r.name)
    return [(u.name, first[c], c) for u in m.upstreams for c in u.customers if c in first]


def _upstream_nodes(m: IxModel, nodes: dict[str, Node]) -> None:
    for i, u in enumerate(m.upstreams):
        nodes[u.name] = Node(u.name, "upstream", u.daemon, "", u.description or (f"upstream ({u.city})" if u.city else "upstream"),
                             image=_image(m, u), asn=u.asn, prefixes=list(u.prefixes), city=u.city,
                             default_route=u.default_route, rid=str(TRANSIT_IPV4.network_address + 0xff00 + i + 1))


def _long_haul(nodes: dict[str, Node], pairs: list[tuple[str, str, tuple, tuple[str, str]]]) -> list[Link]:
    """Point-to-point links with eBGP, numbered from TRANSIT_IPV4/6 in order: (a, b, (delay, loss,
    rate), (what b is to a, what a is to b))."""
    links = []
    for index, (a_name, b_name, (delay, loss, rate), (kind_a, kind_b)) in enumerate(pairs):
        a, b = nodes[a_name], nodes[b_name]
        a_if, b_if = f"eth{len(a.interfaces) + 1}", f"eth{len(b.interfaces) + 1}"
        a.interfaces.append(a_if)
        b.interfaces.append(b_if)
        v4, v6 = TRANSIT_IPV4.network_address + 2 * index, TRANSIT_IPV6.network_address + 2 * index
        a.transit.append(TransitPort(a_if, f"{v4}/31", f"{v6}/127", b.name, delay, loss, rate))
        b.transit.append(TransitPort(b_if, f"{v4 + 1}/31", f"{v6 + 1}/127", a.name, delay, loss, rate))
        for afi, la, lb in (("ipv4", v4, v4 + 1), ("ipv6", v6, v6 + 1)):
            a.sessions.append(Session(a.name, b.name, afi, str(la), str(lb), a.asn, b.asn, kind_a, False))
            b.sessions.append(Session(b.name, a.name, afi, str(lb), str(la), b.asn, a.asn, kind_b, False))
        links.append(Link(a.name, a_if, b.name, b_if, transit=True))
    return links


def _line(u) -> tuple:
    return (u.latency_ms, u.loss_percent, u.bandwidth_mbit)


def _upstreams(m: IxModel, nodes: dict[str, Node]) -> list[Link]:
    """Upstream nodes (no IX port), their long-haul links to their customers and a full mesh of links
    between upstreams (the cities exchange among themselves at line rate), with eBGP on each."""
    _upstream_nodes(m, nodes)
    line = {u.name: _line(u) for u in m.upstreams}
    pairs = [(up, router, line[up], ("customer", "upstream")) for up, router, _ in transit_attachments(m)]
    pairs += [(a.name, b.name, (0, 0, None), ("transit-peer", "transit-peer"))
              for i, a in enumerate(m.upstreams) for b in m.upstreams[i + 1:]]
    return _long_haul(nodes, pairs)


def build_aggregator_plan(m: IxModel) -> Plan:
    """The aggregator-ISP design of the same file: no switches, no route servers, no IX LAN; every
    member's first router on its own link to one aggregator router (AS ix.route_server_asn, at the
    first site) that buys transit from every upstream, the upstreams meshed as in the IX design.
    Members keep their routers, prefixes and backbones; routes from the aggregator are transit to
    them (it is their only way out)."""
    addresses = assign_addresses(m)
    site = m.sites[0].name
    nodes: dict[str, Node] = {AGGREGATOR: Node(AGGREGATOR, "aggregator", "frr", site, "aggregator ISP: shared upstream",
                                               image=stacks.image_for(m.ix.stack, "frr"), asn=m.ix.route_server_asn,
                                               city=site, rid=str(TRANSIT_IPV4.network_address + 0xfe01))}
    routers = m.member_routers()
    for r in routers:
        nodes[r.name] = Node(r.name, "member", r.daemon, r.site, r.description, image=_image(m, r), asn=r.asn,
                             prefixes=list(r.prefixes), member=r.member.name, rid=str(addresses[r.name][0]),
                             max_prefix={"ipv4": r.max_prefix.ipv4, "ipv6": r.max_prefix.ipv6})
    links = _backbones(m, nodes)
    _upstream_nodes(m, nodes)
    first = list({r.member.name: r.name for r in reversed(routers)}.values())[::-1]
    pairs = [(AGGREGATOR, r, (0, 0, None), ("customer", "upstream")) for r in first]
    pairs += [(u.name, AGGREGATOR, _line(u), ("customer", "upstream")) for u in m.upstreams]
    pairs += [(a.name, b.name, (0, 0, None), ("transit-peer", "transit-peer"))
              for i, a in enumerate(m.upstreams) for b in m.upstreams[i + 1:]]
    links += _long_haul(nodes, pairs)
    for n in nodes.values():
        n.sessions.sort(key=lambda s: (s.kind == "ibgp", s.peer, s.afi))
    v4, v6 = _mgmt_subnets(m)
    return Plan(m.ix.name, m, nodes, links, v4, v6, expected_routes(m, nodes, []), None,
                upstream_routes=upstream_routes(m, nodes))


def _aggregator_expected(m: IxModel, nodes: dict[str, Node], down: frozenset, transit: bool) -> dict[str, list]:
    """Aggregator design: with the aggregator up, every member router holds every other member's
    prefixes and, `transit` asked, what the live upstreams announce (their defaults included: the
    aggregator passes on everything); with it down, nothing but its own."""
    live = [u for u in m.upstreams if u.name not in down]
    outside = {p for u in live for p in u.prefixes} | {d for u in live if u.default_route for d in DEFAULT_ROUTES}
    out: dict[str, list] = {}
    for r in m.member_routers():
        if r.name in down:
            continue
        got: set = set()
        if AGGREGATOR not in down:
            got = {p for x in m.members if x.asn != r.asn for p in x.prefixes} | (outside if transit else set())
        out[r.name] = sorted(got, key=_prefix_order)
    return out


def _transit_reach(m: IxModel, nodes: dict[str, Node], down: frozenset) -> tuple[set, dict[str, set]]:
    """(what the live upstreams carry between them, member -> the live upstreams it buys from; an
    upstream's default route goes to its own customers only). A member router in
    `down` is off the IX (its port, its site) but keeps its long-haul link; an upstream in `down` is gone."""
    live = [u for u in m.upstreams if u.name not in down]
    carried: set = {p for u in live for p in u.prefixes}
    reach: dict[str, set] = defaultdict(set)
    for up, _, member in transit_attachments(m):
        if up not in down:
            reach[member].add(up)
    for x in m.members:
        if reach.get(x.name):
            carried |= set(x.prefixes)
    return carried, reach


def upstream_routes(m: IxModel, nodes: dict[str, Node], down: frozenset = frozenset()) -> dict[str, list]:
    """Upstream -> what it should hold: everything the live upstreams carry but its own (in the
    aggregator design the aggregator is every upstream's one customer, and holds it all too)."""
    carried, _ = _transit_reach(m, nodes, down)
    if m.ix.design == "aggregator":
        carried = {p for u in m.upstreams if u.name not in down for p in u.prefixes}
        if AGGREGATOR not in down:
            carried |= {p for x in m.members for p in x.prefixes}
        holders = [*(u.name for u in m.upstreams), *([] if AGGREGATOR in down else [AGGREGATOR])]
        return {h: sorted((p for p in carried if p not in set(nodes[h].prefixes)), key=_prefix_order)
                for h in holders if h not in down}
    return {u.name: sorted((p for p in carried if p not in set(u.prefixes)), key=_prefix_order)
            for u in m.upstreams if u.name not in down}


def _prefix_order(p: IPv4Network | IPv6Network) -> tuple[int, int, int]:
    """Sort key: IPv4 first, then by address and length (the order of ipaddress's slow `<`)."""
    return p.version, int(p.network_address), p.prefixlen


def bilateral_pairs(m: IxModel) -> list[tuple[str, str]]:
    """Each bilateral session once, as a sorted pair of router names (one side naming it is enough).
    `bilateral` names members: every router of one peers with every router of the other."""
    routers: dict[str, list[str]] = defaultdict(list)
    for r in m.member_routers():
        routers[r.member.name].append(r.name)
    return sorted({tuple(sorted((a, b))) for x in m.members for p in x.bilateral if p != x.name
                   for a in routers[x.name] for b in routers.get(p, [])})


def expected_routes(m: IxModel, nodes: dict[str, Node], pairs: list[tuple[str, str]], down: frozenset = frozenset(),
                    island: dict[str, int] | None = None, transit: bool = True) -> dict[str, list]:
    """Member -> the prefixes the route servers and its bilateral peers should bring it, sorted.

    `down`: nodes that are gone (route servers, upstreams) or off the IX (member routers: their
    long-haul links to upstreams stay); `transit=False`: what the IX alone brings; `island`: site -> the group of sites it
    still reaches (a cut trunk splits the fabric; route servers then serve their own island only).
    Each member learns almost every prefix of the IX (1,000 members: 2 million entries), so this
    works on each prefix's rank in the sorted list of all prefixes: ints hash and sort in C,
    ipaddress objects in Python.
    """
    if m.ix.design == "aggregator":
        return _aggregator_expected(m, nodes, down, transit)
    island = island or {s.name: 0 for s in m.sites}
    carried, reach = _transit_reach(m, nodes, down)
    order = sorted({p for n in nodes.values() for p in n.prefixes} | set(DEFAULT_ROUTES), key=_prefix_order)
    rank = {p: i for i, p in enumerate(order)}
    own = {name: {rank[p] for p in n.prefixes} for name, n in nodes.items()}
    alive = [x for x in m.member_routers() if x.name not in down]
    served = {island[r.site] for r in m.route_servers if r.name not in down}
    rs_members = {x.name for x in alive if x.route_server and island[x.site] in served}
    # per island: which ASNs announce each prefix through the route servers. A router drops a path
    # holding its own ASN (loop prevention), so it learns a prefix only from another ASN: its own
    # prefix if another member announces it too, never one only its member's other routers announce.
    announcers: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))  # island: rank -> ASNs
    by_asn: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))  # island: ASN -> ranks
    for name in rs_members:
        here, asn = island[nodes[name].site], nodes[name].asn
        by_asn[here][asn] |= own[name]
        for r in own[name]:
            announcers[here][r].add(asn)
    peers: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        if a != b and a not in down and b not in down and island[nodes[a].site] == island[nodes[b].site]:
            peers[a].add(b)
            peers[b].add(a)
    learned: dict[str, set[int]] = {}
    for mem in alive:
        heard, asn = announcers[island[mem.site]], mem.asn
        looped = {r for r in by_asn[island[mem.site]].get(asn, ()) if len(heard[r]) == 1}
        ranks = set(heard) - looped if mem.name in rs_members else set()
        for peer in peers[mem.name]:
            if nodes[peer].asn != asn:
                ranks |= own[peer]
        if transit and reach.get(mem.member.name):  # transit: what the upstreams carry, but its own (loop prevention)
            ranks |= {rank[p] for p in carried} - own[mem.name]
            ranks |= {rank[d] for d in DEFAULT_ROUTES if any(nodes[u].default_route for u in reach[mem.member.name])}
        learned[mem.name] = ranks
    # a member's live routers share what each learned over their backbone (iBGP), minus the
    # member's own prefixes (no router of it learns those from outside but through another ASN)
    shared: dict[str, set[int]] = defaultdict(set)
    for mem in alive:
        shared[mem.member.name] |= learned[mem.name]
    expected: dict[str, list] = {}
    for mem in alive:
        ranks = shared[mem.member.name] if mem.member.routers else learned[mem.name]
        expected[mem.name] = [order[r] for r in sorted(ranks)]
    return expected
