"""Cross-field rules of the IX model. Each finding names the YAML path, what is wrong and the fix."""

from __future__ import annotations

import difflib
from collections import defaultdict

from labctl import daemons
from labctl.daemons import stacks
from labctl.model.addresses import BACKBONE_IPV4, BACKBONE_IPV6, TRANSIT_IPV4, TRANSIT_IPV6, assign_addresses
from labctl.model.graph import Components
from labctl.model.schema import IxModel
from labctl.model.policy_checks import check_policy

# (path, message, hint, point-at-key)
Problem = tuple[tuple, str, str, bool]


def switch_name(site: str) -> str:
    return f"sw-{site}"


def _unknown(kind: str, name: str, known: list[str]) -> tuple[str, str]:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else f"declare it under '{kind}' (known: {', '.join(known) or 'none'})"
    return f"unknown {kind[:-1].replace('_', ' ')} '{name}'", hint


def _routers(m: IxModel) -> list[tuple[tuple, object]]:
    """Route servers and member routers with the path each is written at (a node each)."""
    return [*((("route_servers", i), r) for i, r in enumerate(m.route_servers)),
            *((r.path, r) for r in m.member_routers())]


def check_model(m: IxModel, ref=None) -> list[Problem]:
    """Every cross-field rule, section by section. `ref` maps a path named inside a message back to
    the file (the loader passes one when it checks a model with broken items left out, whose list
    indexes differ from the file's)."""
    ref = ref or (lambda path: path)
    out: list[Problem] = []
    for check in (_check_names, _check_route_servers, _check_member_routers, _check_site_references, _check_addresses,
                  _check_lan_size, _check_members, _check_timers, _check_fabric, _check_daemons, _check_bfd,
                  _check_upstreams):
        out += check(m, ref)
    # -- route-server policy (ix.policy, members' policy fields, daemon capabilities)
    try:
        routers = {a for pair in assign_addresses(m).values() for a in pair}
    except Exception:  # noqa: BLE001 - a LAN too small for its routers is reported above
        routers = {getattr(x, afi) for _, x in _routers(m) for afi in ("ipv4", "ipv6")}
    out += check_policy(m, routers)
    return out


def _check_names(m: IxModel, ref) -> list[Problem]:
    out: list[Problem] = []
    site_names = [s.name for s in m.sites]
    # -- names: every node name must be unique (switches are named sw-<site>)
    seen: dict[str, tuple] = {}
    for i, s in enumerate(m.sites):
        if s.name in site_names[:i]:
            out.append((("sites", i, "name"), f"duplicate site name '{s.name}'", "give every site its own name", False))
    nodes = [(switch_name(s.name), ("sites", i, "name")) for i, s in enumerate(m.sites)]
    nodes += [(r.name, (*path, "name")) for path, r in _routers(m)]
    nodes += [(u.name, ("upstreams", i, "name")) for i, u in enumerate(m.upstreams)]
    # a member with several routers is no node, but its name is used for it (bilateral, lg): unique too
    nodes += [(x.name, ("members", i, "name")) for i, x in enumerate(m.members)
              if x.routers and x.name not in {r.name for r in x.routers}]
    for name, path in nodes:
        if name in seen and path[0] != "sites":
            out.append((path, f"duplicate node name '{name}' (also at {format_path(ref(seen[name]))})",
                        "node names must be unique across route servers, members and switches (sw-<site>)", False))
        seen.setdefault(name, path)
    return out


def _check_route_servers(m: IxModel, ref) -> list[Problem]:
    out: list[Problem] = []
    # -- route servers
    if not m.route_servers:
        out.append((("route_servers",), "no route server declared",
                    "add at least one under 'route_servers' (two, on different daemons and sites, is recommended)", True))
    return out


def _backbone_clash(m: IxModel, i: int) -> list[Problem]:
    """A member with several routers joins them over private links numbered from fixed ranges:
    those must not be the IX's own addresses (reported once, at the first such member)."""
    if any(x.routers for x in m.members[:i]):
        return []
    lan, space = m.ix.peering_lan, m.ix.lab_prefix_space
    clash = [str(n) for n in (lan.ipv4, lan.ipv6, *space.ipv4, *space.ipv6)
             if n.overlaps(BACKBONE_IPV4 if n.version == 4 else BACKBONE_IPV6)]
    if not clash:
        return []
    return [(("members", i, "routers"), f"the links between a member's routers use {BACKBONE_IPV4} and "
             f"{BACKBONE_IPV6}, which overlap {', '.join(clash)}", "move the peering LAN or lab prefix space "
             "out of those ranges", True)]


def _check_site_references(m: IxModel, ref) -> list[Problem]:
    out: list[Problem] = []
    site_names = [s.name for s in m.sites]
    # -- site references
    for path, item in _routers(m):
        if item.site and item.site not in site_names:
            msg, hint = _unknown("sites", item.site, site_names)
            out.append(((*path, "site"), msg, hint, False))
    return out


def _check_member_routers(m: IxModel, ref) -> list[Problem]:
    """A member is either one router (site on the member) or several (`routers`, each with its site)."""
    out: list[Problem] = []
    for i, x in enumerate(m.members):
        if not x.routers:
            if x.site is None:
                out.append((("members", i), f"member '{x.name}' has no site",
                            "add 'site', or list its routers under 'routers' (each with its site)", True))
            continue
        for key in ("site", "ipv4", "ipv6"):
            if getattr(x, key) is not None:
                out.append((("members", i, key), f"member '{x.name}' has routers: '{key}' belongs to each router",
                            f"move '{key}' into its entry under 'routers'", True))
        first: dict[str, int] = {}
        out += _backbone_clash(m, i)
        for j, r in enumerate(x.routers):
            if r.site in first and not x.same_site:
                out.append((("members", i, "routers", j, "site"),
                            f"routers '{x.routers[first[r.site]].name}' and '{r.name}' of member '{x.name}' "
                            f"are both at site '{r.site}'",
                            "two ports at one site are legitimate: say so with 'same_site: true' on the member; "
                            "otherwise fix the site", False))
            first.setdefault(r.site, j)
    return out


def _check_addresses(m: IxModel, ref) -> list[Problem]:
    out: list[Problem] = []
    lan4, lan6 = m.ix.peering_lan.ipv4, m.ix.peering_lan.ipv6
    # -- addresses: inside the LAN, not the network/broadcast address, unique
    owners: dict[object, tuple] = {}
    for where, item in _routers(m):
        for fam, lan in (("ipv4", lan4), ("ipv6", lan6)):
            addr = getattr(item, fam)
            if addr is None:
                continue
            path = (*where, fam)
            if addr not in lan:
                out.append((path, f"{addr} is outside the peering LAN {lan}", f"pick an address in {lan} or omit it to auto-assign", False))
            elif addr == lan.network_address or (fam == "ipv4" and addr == lan.broadcast_address):
                out.append((path, f"{addr} is the LAN's {'network' if addr == lan.network_address else 'broadcast'} address",
                            "pick a host address or omit it to auto-assign", False))
            if addr in owners:
                other = owners[addr]
                what = "a route server" if other[0] == "route_servers" else "another member"
                out.append((path, f"{addr} collides with {what} ({format_path(ref(other))})", "every address on the LAN must be unique", False))
            else:
                owners[addr] = path
    return out


def _check_lan_size(m: IxModel, ref) -> list[Problem]:
    out: list[Problem] = []
    lan4, lan6 = m.ix.peering_lan.ipv4, m.ix.peering_lan.ipv6
    # -- the LAN must hold every router: auto-assignment takes the lowest free host addresses
    routers = len(_routers(m))
    for fam, lan in (("ipv4", lan4), ("ipv6", lan6)):
        hosts = max(lan.num_addresses - (2 if fam == "ipv4" else 1), 0)
        if routers > hosts:
            out.append((("ix", "peering_lan", fam), f"the peering LAN {lan} has room for {hosts} addresses, "
                        f"but {routers} route servers and members need one each", "use a shorter prefix length", False))
    return out


def _check_members(m: IxModel, ref) -> list[Problem]:
    out: list[Problem] = []
    member_names = [x.name for x in m.members]
    lan4, lan6 = m.ix.peering_lan.ipv4, m.ix.peering_lan.ipv6
    # -- members: prefixes, bilateral peers
    space = m.ix.lab_prefix_space
    announced: dict[object, tuple] = {}
    named_peers = {p for x in m.members for p in x.bilateral}  # a session listed on one side is enough
    out += _check_member_asns(m, ref)
    for i, x in enumerate(m.members):
        for j, p in enumerate(x.prefixes):
            path = ("members", i, "prefixes", j)
            allowed = space.ipv4 if p.version == 4 else space.ipv6
            if not any(p.subnet_of(s) for s in allowed):
                out.append((path, f"{p} is outside the lab prefix space ({', '.join(map(str, allowed)) or 'empty'})",
                            "announce from ix.lab_prefix_space, or add this range to it", False))
            lan = lan4 if p.version == 4 else lan6
            if p.overlaps(lan):
                out.append((path, f"{p} overlaps the peering LAN {lan}", "the peering LAN must not be announced", False))
            if p in announced:
                out.append((path, f"{p} is already announced by {format_path(ref(announced[p]))}",
                            "each prefix has one origin in the model; hostile announcements belong in test scenarios", False))
            else:
                announced[p] = ("members", i, "name")
        for j, peer in enumerate(x.bilateral):
            path = ("members", i, "bilateral", j)
            if peer == x.name:
                out.append((path, f"member '{x.name}' cannot peer with itself", "remove it from 'bilateral'", False))
            elif peer not in member_names:
                msg, hint = _unknown("members", peer, [n for n in member_names if n != x.name])
                out.append((path, msg, hint, False))
        if not x.route_server and not x.bilateral and x.name not in named_peers:
            out.append((("members", i), f"member '{x.name}' has no BGP session",
                        "set route_server: true or list bilateral peers", True))
    return out


def _check_member_asns(m: IxModel, ref) -> list[Problem]:
    """One ASN is one member (its routers share it), and the route servers' ASN is nobody's: a member
    using it would be hidden by the transparent route servers and confuse every AS-path check."""
    out: list[Problem] = []
    first: dict[int, int] = {}
    for i, x in enumerate(m.members):
        path = ("members", i, "asn")
        if x.asn == m.ix.route_server_asn:
            out.append((path, f"member '{x.name}' uses the route servers' ASN {x.asn} (ix.route_server_asn)",
                        "give the member its own ASN, or change ix.route_server_asn", False))
        if x.asn in first:
            other = m.members[first[x.asn]].name
            out.append((path, f"ASN {x.asn} of member '{x.name}' is already used by member '{other}' "
                              f"(at {format_path(ref(('members', first[x.asn], 'asn')))})",
                        "one ASN is one member: give each member its own ASN", False))
        first.setdefault(x.asn, i)
    return out


def _check_timers(m: IxModel, ref) -> list[Problem]:
    out: list[Problem] = []
    # -- timers
    t = m.ix.bgp
    if t.hold < 3 * t.keepalive:
        out.append((("ix", "bgp", "hold"), f"hold time {t.hold}s is less than 3 x keepalive ({t.keepalive}s)",
                    f"use hold >= {3 * t.keepalive} or a shorter keepalive", False))
    return out


def _check_fabric(m: IxModel, ref) -> list[Problem]:
    out: list[Problem] = []
    site_names = [s.name for s in m.sites]
    # -- fabric: trunks join known, distinct sites; the fabric is connected; loops need STP
    groups_of = Components(site_names)
    loop_at = None
    pairs: set[frozenset] = set()
    for i, tr in enumerate(m.trunks):
        a, b = tr.between
        bad = False
        for k, end in enumerate((a, b)):
            if end not in site_names:
                msg, hint = _unknown("sites", end, site_names)
                out.append((("trunks", i, "between", k), msg, hint, False))
                bad = True
        if bad:
            continue
        if a == b:
            out.append((("trunks", i, "between"), f"trunk joins site '{a}' to itself", "a trunk joins two different sites", False))
            continue
        if not groups_of.join(a, b) or frozenset((a, b)) in pairs:
            loop_at = loop_at or ("trunks", i)
        pairs.add(frozenset((a, b)))
    if loop_at and m.ix.fabric.loop_prevention == "none":
        out.append((loop_at, "trunks form a loop and no loop prevention is declared",
                    "set ix.fabric.loop_prevention: stp, or remove a trunk", True))
    islands = {groups_of.root(s) for s in site_names}
    if len(islands) > 1 and not any(p[0][0] == "trunks" and "unknown" in p[1] for p in out):
        groups = defaultdict(list)
        for s in site_names:
            groups[groups_of.root(s)].append(s)
        text = " | ".join(", ".join(g) for g in groups.values())
        out.append((("trunks",), f"the sites are not all connected by trunks ({text})",
                    "add trunks so every site reaches every other", True))
    return out


def _check_daemons(m: IxModel, ref) -> list[Problem]:
    """Every node's daemon must exist in its stack's image, and labctl must be able to configure it."""
    out: list[Problem] = []
    for path, item in [*_routers(m), *((("upstreams", i), u) for i, u in enumerate(m.upstreams))]:
        stack = item.stack or m.ix.stack
        missing = stacks.missing_daemon(stack, item.daemon)
        if missing:
            where = "its stack" if item.stack else "ix.stack"
            out.append(((*path, "daemon"), f"daemon '{item.daemon}' is not in the {stack} image ({where})",
                        missing, False))
        elif item.daemon in stacks.NOT_IMPLEMENTED:
            usable = [d for d in stacks.STACKS[stack].daemons if d not in stacks.NOT_IMPLEMENTED]
            out.append(((*path, "daemon"), f"daemon '{item.daemon}': {stacks.NOT_IMPLEMENTED[item.daemon][1]}",
                        "use daemon: " + " or ".join(usable), False))
    return out


def _check_bfd(m: IxModel, ref) -> list[Problem]:
    """BFD asked of a node whose daemon has none (OpenBGPD): named with the daemons that have it."""
    out: list[Problem] = []
    known = set(daemons.names())
    able = " or ".join(d.name for d in daemons.all_daemons() if d.supports_bfd)
    on = [r for r in m.member_routers() if (r.bfd if r.bfd is not None else m.ix.bfd.enabled)]
    for r in on:
        if r.daemon in known and not daemons.get(r.daemon).supports_bfd:
            single = len(r.path) == 2  # ("members", i): a member with one router
            out.append(((*r.path, "bfd" if single and r.bfd else "daemon"),
                        f"{'member' if single else 'router'} '{r.name}' has BFD on, and {daemons.get(r.daemon).title} has no BFD",
                        f"set bfd: false for it, or use daemon: {able}", False))
    rs_bfd = [r.name for r in on if r.route_server]
    for i, rs in enumerate(m.route_servers):
        if rs_bfd and rs.daemon in known and not daemons.get(rs.daemon).supports_bfd:
            out.append((("route_servers", i, "daemon"),
                        f"route server '{rs.name}' would run BFD with {', '.join(rs_bfd)}, and "
                        f"{daemons.get(rs.daemon).title} has no BFD",
                        f"turn BFD off for those members (members[].bfd: false or ix.bfd.enabled: false), "
                        f"or use daemon: {able}", False))
    return out


def _check_upstreams(m: IxModel, ref) -> list[Problem]:
    """Upstreams: their own ASN, a daemon that can play one, prefixes from the lab space that no
    member announces, known customers, and transit links clear of the IX's addresses."""
    out: list[Problem] = []
    member_asns = {x.asn: x.name for x in m.members}
    member_names = [x.name for x in m.members]
    taken = {p: f"member '{x.name}'" for x in m.members for p in x.prefixes}
    space = m.ix.lab_prefix_space
    able = " or ".join(d.name for d in daemons.all_daemons() if d.can_be_upstream)
    seen_asn: dict[int, str] = {}
    for i, u in enumerate(m.upstreams):
        at = ("upstreams", i)
        if u.asn == m.ix.route_server_asn or u.asn in member_asns or u.asn in seen_asn:
            whose = ("the route servers (ix.route_server_asn)" if u.asn == m.ix.route_server_asn
                     else f"member '{member_asns[u.asn]}'" if u.asn in member_asns else f"upstream '{seen_asn[u.asn]}'")
            out.append(((*at, "asn"), f"ASN {u.asn} of upstream '{u.name}' is already used by {whose}",
                        "give every upstream an ASN of its own", False))
        seen_asn.setdefault(u.asn, u.name)
        if u.daemon in daemons.names() and not daemons.get(u.daemon).can_be_upstream:
            out.append(((*at, "daemon"), f"labctl cannot configure {daemons.get(u.daemon).title} as an upstream",
                        f"use daemon: {able}", False))
        for j, p in enumerate(u.prefixes):
            allowed = space.ipv4 if p.version == 4 else space.ipv6
            if not any(p.subnet_of(s) for s in allowed):
                out.append(((*at, "prefixes", j), f"{p} is outside the lab prefix space ({', '.join(map(str, allowed))})",
                            "upstreams announce lab space too: pick a range of ix.lab_prefix_space", False))
            clash = next((who for q, who in taken.items() if q.version == p.version and q.overlaps(p)), None)
            if clash:
                out.append(((*at, "prefixes", j), f"{p} overlaps a prefix of {clash}",
                            "give the upstream's 'Internet' prefixes a range no member or other upstream announces", False))
            taken.setdefault(p, f"upstream '{u.name}'")
        for j, c in enumerate(u.customers):
            if c not in member_names:
                msg, hint = _unknown("members", c, member_names)
                out.append(((*at, "customers", j), msg, hint, False))
            elif c in u.customers[:j]:
                out.append(((*at, "customers", j), f"member '{c}' is listed twice", "list each customer once", False))
    if m.upstreams:
        out += _transit_clash(m)
    if m.ix.design == "aggregator":
        taken = [x.name for x in m.members] + [r.name for r in m.member_routers()] + [u.name for u in m.upstreams]
        if "aggregator" in taken:
            out.append((("ix", "design"), "the aggregator design adds a node called 'aggregator', and the IX has one",
                        "rename that member, router or upstream", False))
    return out


def _transit_clash(m: IxModel) -> list[Problem]:
    lan, space = m.ix.peering_lan, m.ix.lab_prefix_space
    clash = [str(n) for n in (lan.ipv4, lan.ipv6, *space.ipv4, *space.ipv6)
             if n.overlaps(TRANSIT_IPV4 if n.version == 4 else TRANSIT_IPV6)]
    if not clash:
        return []
    return [(("upstreams",), f"the links to upstreams use {TRANSIT_IPV4} and {TRANSIT_IPV6}, which overlap "
             f"{', '.join(clash)}", "move the peering LAN or lab prefix space out of those ranges", True)]


def format_path(path: tuple) -> str:
    """('members', 3, 'asn') -> 'members[3].asn'"""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
