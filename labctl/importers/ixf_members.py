"""The chosen IXP of an IX-F export: its members, its peering VLAN and LAN, and who can be in the lab.

Every member of the IXP ends up either as a `Candidate` (usable, with a router per usable
connection, or per address pair of a connection with several) or as a `SkippedMember` with the
JSON location and the reason. A usable member's connections and addresses that the lab cannot use
are `SkippedPart`s, each with its location and reason: nothing is dropped silently.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any, Iterator

from labctl.errors import LabctlError
from labctl.importers.ixf_result import ImportNote, NoteKind, SkippedMember, SkippedPart
from labctl.importers.ixf_schema import (AddressInfo, Connection, Ixp, Loc, MemberHead, Problem, Vlan, VlanEntry,
                                         one_line, read_as, to_int)
from labctl.model.checks import format_path

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
FAMILIES = ("ipv4", "ipv6")
BAD_STATES = {"inactive", "disconnected", "quarantine", "decommissioned", "disabled", "down", "pending",
              "provisioning", "suspended"}


def fail(source: str, loc: Loc | str, message: str, hint: str | None = None) -> LabctlError:
    where = loc if isinstance(loc, str) else format_path(loc)
    return LabctlError(f"{source}: {where + ': ' if where else ''}{message}", hint)


# --------------------------------------------------------------------------- members as read


@dataclass
class MemberEntry:
    """One member_list entry that (may) connect at the chosen IXP, as far as it could be read."""

    index: int
    head: MemberHead | None  # None: the entry itself cannot be read (see problems)
    problems: list[Problem]
    # Its connections at the IXP in file order: read, or the problems of one that cannot be read.
    connections: list[tuple[int, Connection | list[Problem]]] = field(default_factory=list)
    raw_asn: int | None = None
    raw_name: str = ""

    @property
    def asn(self) -> int | None:
        return self.head.asnum if self.head else self.raw_asn

    @property
    def name(self) -> str:
        return (self.head.name or "").strip() if self.head else self.raw_name

    def readable(self) -> Iterator[Connection]:
        return (c for _, c in self.connections if isinstance(c, Connection))


def _loose(raw: Any, key: str) -> Any:
    return raw.get(key) if isinstance(raw, dict) else None


def _int_or_none(value: Any) -> int | None:
    try:
        return to_int(value)
    except ValueError:
        return None


def _raw_ixp_id(raw: Any) -> int | None:
    return _int_or_none(_loose(raw, "ixp_id"))


def _may_connect_at(raw: Any, ixp_id: int) -> bool:
    """An unreadable entry counts as the IXP's unless every connection names another IXP."""
    conns = _loose(raw, "connection_list")
    if not isinstance(conns, list):
        return True
    return any(_raw_ixp_id(c) in (None, ixp_id) for c in conns)


def _read_member(index: int, raw: Any, ixp_id: int) -> MemberEntry | None:
    loc: Loc = ("member_list", index)
    head = read_as(MemberHead, raw, loc)
    if isinstance(head, list):
        if not _may_connect_at(raw, ixp_id):
            return None
        asn = _int_or_none(_loose(raw, "asnum"))
        name = _loose(raw, "name")
        return MemberEntry(index, None, head, raw_asn=asn, raw_name=one_line(name) if isinstance(name, str) else "")
    entry = MemberEntry(index, head, [])
    for j, raw_conn in enumerate(head.connection_list):
        conn = read_as(Connection, raw_conn, (*loc, "connection_list", j))
        if isinstance(conn, Connection) and conn.ixp_id == ixp_id:
            entry.connections.append((j, conn))
        elif isinstance(conn, list) and _raw_ixp_id(raw_conn) in (None, ixp_id):
            entry.connections.append((j, conn))
    return entry if entry.connections else None


def read_members(raw_members: list[Any], ixp_id: int) -> list[MemberEntry]:
    """The entries of member_list that connect at the IXP (or may: unreadable ones), in file order."""
    return [e for i, raw in enumerate(raw_members) if (e := _read_member(i, raw, ixp_id)) is not None]


# --------------------------------------------------------------------------- addresses and LANs


def covering(addrs: list[Address]) -> Network:
    bits = addrs[0].max_prefixlen
    lo, hi = min(int(a) for a in addrs), max(int(a) for a in addrs)
    plen = bits - (lo ^ hi).bit_length()
    return ipaddress.ip_network((lo >> (bits - plen) << (bits - plen), plen))


def is_host(addr: Address, lan: Network) -> bool:
    if addr not in lan or addr == lan.network_address:
        return False
    return not (lan.version == 4 and addr == lan.broadcast_address)


def host_count(lan: Network) -> int:
    return lan.num_addresses - (2 if lan.version == 4 else 1)


def _parse_address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


# --------------------------------------------------------------------------- the IXP and its VLANs


class IxpView:
    """One IXP of the file: its VLANs and the connections its members have there."""

    def __init__(self, ixp: Ixp, ixp_index: int, members: list[MemberEntry], source: str):
        self.ixp, self.ixp_index, self.members, self.source = ixp, ixp_index, members, source
        self.vlans: list[Vlan] = list(ixp.vlan)
        declared = [v.id for v in self.vlans if v.id is not None]
        self.sole_vlan = declared[0] if len(set(declared)) == 1 else None

    def all_entries(self) -> Iterator[tuple[MemberEntry, VlanEntry]]:
        """(member, VLAN entry) for every VLAN entry of the members' readable connections here."""
        for member in self.members:
            for conn in member.readable():
                for e in conn.vlan_list:
                    yield member, e

    def entries_on(self, vlan: int | None) -> Iterator[tuple[MemberEntry, VlanEntry]]:
        return ((m, e) for m, e in self.all_entries() if self.entry_vlan(e.vlan_id) == vlan)

    def entry_vlan(self, vid: int | None) -> int | None:
        return self.sole_vlan if vid is None else vid

    def vlan_decl(self, vid: int | None) -> tuple[int, Vlan] | None:
        for k, v in enumerate(self.vlans):
            if v.id == vid or (vid is None and len(self.vlans) == 1):
                return k, v
        return None

    def vlan_label(self, vid: int | None) -> str:
        decl = self.vlan_decl(vid)
        name = decl[1].name if decl else None
        return f"{vid} ({name})" if name else str(vid)

    def vlan_addresses(self, vlan: int | None, fam: str) -> list[Address]:
        """Every valid address of the family on the VLAN, of every member (also those not imported)."""
        out = []
        for _, e in self.entries_on(vlan):
            info = e.family(fam)
            addr = _parse_address(info.address) if info and info.address else None
            if addr is not None and addr.version == (4 if fam == "ipv4" else 6):
                out.append(addr)
        return out

    def members_lacking(self, vlan: int | None, fam: str) -> int:
        """Routers with an address on the VLAN but none of this family (the lab assigns them one):
        per connection, as many as it has addresses of the other family beyond this one's."""
        lacking = 0
        for member in self.members:
            for conn in member.readable():
                count = {f: sum(1 for e in conn.vlan_list if self.entry_vlan(e.vlan_id) == vlan
                                and e.family(f) and e.family(f).address) for f in FAMILIES}
                lacking += max(0, max(count.values()) - count[fam])
        return lacking

    def choose_vlan(self, vlan_id: int | None, notes: list[ImportNote]) -> int | None:
        """The VLAN asked for, else the one most members have an address on."""
        used: dict[int | None, set[int]] = {}
        for member, e in self.all_entries():
            if any(e.family(f) and e.family(f).address for f in FAMILIES):
                used.setdefault(self.entry_vlan(e.vlan_id), set()).add(member.index)
        order: list[int | None] = list(dict.fromkeys(v.id for v in self.vlans if v.id is not None))
        order += [v for v in used if v not in order and v is not None]
        if not order and None in used:
            order = [None]
        where = ("ixp_list", self.ixp_index, "vlan")
        if vlan_id is not None:
            if vlan_id not in order:
                listing = ", ".join(self.vlan_label(v) for v in order if v is not None) or "none"
                raise fail(self.source, where, f"no VLAN {vlan_id} at IXP {self.ixp.label}; VLANs: {listing}",
                           "pass one of those to --vlan-id")
            return vlan_id
        if not used:
            raise fail(self.source, ("member_list",),
                       f"no member has an address at IXP {self.ixp.label} (ixp_id {self.ixp.ixp_id})"
                       + self._unreadable_text(), "check --ixp-id, or export the file again with addresses")

        def rank(v: int | None) -> tuple:
            decl = self.vlan_decl(v)
            has4 = bool(decl and decl[1].ipv4 and decl[1].ipv4.prefix)
            return (-len(used.get(v, ())), not has4, order.index(v))

        chosen = min(order, key=rank)
        if len([v for v in order if used.get(v)]) > 1:
            notes.append(ImportNote(NoteKind.VLAN_CHOSEN, format_path(where),
                                    f"VLAN {self.vlan_label(chosen)} chosen: most members have an address on it "
                                    "(--vlan-id picks another)"))
        return chosen

    def _unreadable_text(self) -> str:
        problems = [p for m in self.members for p in m.problems]
        problems += [p for m in self.members for _, c in m.connections if isinstance(c, list) for p in c]
        if not problems:
            return ""
        shown = "; ".join(f"{p.location}: {p.message}" for p in problems[:3])
        return f" that can be read ({len(problems)} problem(s): {shown}{' ...' if len(problems) > 3 else ''})"

    def peering_lan(self, vlan: int | None, fam: str, notes: list[ImportNote]) -> Network:
        """The VLAN's declared prefix of the family, else one derived from the member addresses."""
        decl = self.vlan_decl(vlan)
        info = decl[1].family(fam) if decl else None
        if info and info.prefix is not None and info.mask_length is not None:
            return self._declared_lan(decl[0], fam, info.prefix, info.mask_length, notes)
        return self._derived_lan(vlan, fam, notes)

    def _declared_lan(self, k: int, fam: str, prefix: str, mask: int, notes: list[ImportNote]) -> Network:
        version = 4 if fam == "ipv4" else 6
        loc = ("ixp_list", self.ixp_index, "vlan", k, fam)
        text = f"{prefix}/{mask}"
        hint = "fix prefix/mask_length, or drop them to derive the LAN from member addresses"
        try:
            lan = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise fail(self.source, loc, f"'{text}' is not a valid IPv{version} prefix", hint) from None
        if lan.version != version or lan.prefixlen > lan.max_prefixlen - 2:
            raise fail(self.source, loc, f"'{text}' is not a usable IPv{version} peering LAN", hint)
        if str(lan.network_address) != str(ipaddress.ip_address(prefix)):
            notes.append(ImportNote(NoteKind.LAN_HOST_BITS, format_path(loc),
                                    f"{format_path(loc)}: '{text}' has host bits set; using {lan}"))
        return lan

    def _derived_lan(self, vlan: int | None, fam: str, notes: list[ImportNote]) -> Network:
        version = 4 if fam == "ipv4" else 6
        where = ("ixp_list", self.ixp_index, "vlan")
        addrs = self.vlan_addresses(vlan, fam)
        if not addrs:
            default = IPv4Network("192.0.2.0/24") if version == 4 else IPv6Network("fd00:ffff::/64")
            notes.append(ImportNote(NoteKind.LAN_DEFAULT, format_path(where),
                                    f"no IPv{version} prefix for the VLAN and no member IPv{version} address: "
                                    f"using the lab default {default}; members get lab addresses"))
            return default
        lan = covering(addrs)
        if version == 6 and lan.prefixlen > 64:
            lan = lan.supernet(new_prefix=64)
        present = set(addrs)
        # Room for every address in the file, the two route servers and members lacking this family.
        need = len(present) + 2 + self.members_lacking(vlan, fam)
        while lan.prefixlen > 0 and (lan.network_address in present or (version == 4 and lan.broadcast_address in present)
                                     or host_count(lan) < need):
            lan = lan.supernet()
        if lan.prefixlen < (16 if version == 4 else 32):
            raise fail(self.source, where,
                       f"the VLAN has no IPv{version} prefix and member addresses span {lan}: no peering LAN can be derived",
                       f"add ipv{version} prefix/mask_length to the VLAN in the file, or choose another with --vlan-id")
        notes.append(ImportNote(NoteKind.LAN_DERIVED, format_path(where),
                                f"the file gives no IPv{version} prefix for the VLAN: peering LAN {lan} derived from "
                                "member addresses (smallest covering prefix with room for the route servers)"))
        return lan


# --------------------------------------------------------------------------- who can be in the lab


NOT_RS_CLIENT = ("not a route-server client (routeserver: false) and IX-F lists no bilateral sessions, "
                 "so the lab would give it no BGP session")


@dataclass
class RouterCandidate:
    """One router of a member: a connection, or one (IPv4, IPv6) address pair of a connection that has
    several addresses per family on the VLAN. A family it lacks gets a lab-made address (noted)."""

    conn_index: int
    location: str  # JSON path: the connection, or the VLAN entry of its first address when the connection has several routers
    ipv4: Address | None
    ipv6: Address | None
    infos: dict[str, tuple[Loc, AddressInfo]]  # per family with an address: where it is written, its IX-F entry
    switch_id: int | None
    node: str = ""
    site_key: tuple | None = None
    site: str = ""
    daemon: str = ""


@dataclass
class Candidate:
    """A member of the chosen IXP with at least one usable router on the chosen VLAN."""

    index: int
    asn: int
    name: str
    routers: list[RouterCandidate]
    rs_flag_given: bool
    max_prefix: dict[str, int]
    macros: list[str]
    notes: list[ImportNote]
    skipped: list[SkippedPart]  # its connections and addresses that are not in the lab, and why
    node: str = ""  # the member's name in ix.yml: its node when it has one router


@dataclass
class MemberPool:
    usable: list[Candidate]
    skipped: list[SkippedMember]
    rs_asn: int | None  # the route-server ASN the file marks, if any


def infra_kind(member: MemberEntry) -> str | None:
    """'routeserver' / 'routecollector' for the IXP's own machines listed as members, else None."""
    kinds = {s.type for conn in member.readable() for e in conn.vlan_list for f in FAMILIES
             for s in (e.family(f).services if e.family(f) else [])}
    member_type = ((member.head.member_type if member.head else None) or "").lower()
    if "ixrouteserver" in kinds or member_type in ("routeserver", "route-server"):
        return "routeserver"
    if "ixroutecollector" in kinds:
        return "routecollector"
    return None


def _usable_asn(asn: int) -> bool:
    return 1 <= asn <= 4294967294 and asn != 23456


def _joined(problems: list[tuple[Loc, str]], member_loc: Loc) -> tuple[Loc, str]:
    if len(problems) == 1:
        return problems[0]
    return member_loc, "; ".join(f"{format_path(loc)}: {why}" for loc, why in problems)


Pair = dict[str, tuple[Loc, AddressInfo]]  # family -> (location of the address, its IX-F entry)


def address_pairs(entries: list[tuple[int, VlanEntry]], cloc: Loc) -> list[Pair]:
    """A connection's addresses on the VLAN as router address pairs, in file order: a VLAN entry with
    both families is one pair; single-family entries (the 0.6 style: one entry per family) pair the
    k-th IPv4 with the k-th IPv6 address; what is left over is a single-family pair."""
    pairs: list[Pair] = []
    singles: dict[str, list[tuple[Loc, AddressInfo]]] = {f: [] for f in FAMILIES}
    for k, e in entries:
        found = {fam: ((*cloc, "vlan_list", k, fam, "address"), info) for fam in FAMILIES
                 if (info := e.family(fam)) and info.address}
        if len(found) == len(FAMILIES):
            pairs.append(found)
            continue
        for fam, item in found.items():
            singles[fam].append(item)
    for n in range(max(len(s) for s in singles.values())):
        pairs.append({fam: s[n] for fam, s in singles.items() if n < len(s)})
    return sorted(pairs, key=lambda p: min(loc[5] for loc, _ in p.values()))


def _pair_loc(pair: Pair) -> Loc:
    """The VLAN entry of a pair's first address (in file order)."""
    return min((loc for loc, _ in pair.values()), key=lambda loc: loc[5])[:6]


class MemberCollector:
    """Goes through the IXP's members in file order; addresses and ASNs are first come, first served.

    Every usable connection of a member, and every address pair of a connection with several, is a
    router of that member; what cannot be used is a `SkippedPart` (or, when nothing of the member
    is usable, the member is a `SkippedMember`)."""

    def __init__(self, view: IxpView, vlan: int | None, lans: dict[str, Network]):
        self.view, self.vlan, self.lans = view, vlan, lans
        self.taken: dict[Address, int] = {}
        self.seen_asn: dict[int, int] = {}
        self.infra = {m.index: k for m in view.members if m.head and (k := infra_kind(m))}
        self.rs_asn = next((m.asn for m in view.members if self.infra.get(m.index) == "routeserver"
                            and 1 <= m.asn <= 4294967294), None)

    def collect(self) -> MemberPool:
        usable: list[Candidate] = []
        skipped: list[SkippedMember] = []
        for member in self.view.members:
            outcome = self._member(member)
            if isinstance(outcome, Candidate):
                usable.append(outcome)
            else:
                loc, reason = outcome
                skipped.append(SkippedMember(member.index, member.asn, member.name, format_path(loc), reason))
        return MemberPool(usable, skipped, self.rs_asn)

    def _member(self, member: MemberEntry) -> Candidate | tuple[Loc, str]:
        refusal = self._refusal(member)
        if refusal:
            return refusal
        routers: list[RouterCandidate] = []
        parts: list[tuple[str, Loc, str]] = []
        own: dict[Address, Loc] = {}  # this member's addresses so far (a repeat is a skip too)
        for j, conn in member.connections:
            got, lost = self._connection(member.index, j, conn, own)
            routers += got
            parts += lost
        if not routers:
            return _joined([(loc, why) for _, loc, why in parts], ("member_list", member.index))
        self.seen_asn[member.asn] = member.index
        self.taken.update({addr: member.index for addr in own})
        skipped = [SkippedPart(member.index, member.asn, member.name, what, format_path(loc), why)
                   for what, loc, why in parts]
        return _candidate(member, routers, skipped)

    def _refusal(self, member: MemberEntry) -> tuple[Loc, str] | None:
        """Why the member as a whole cannot be in the lab (before looking at its addresses)."""
        i, loc = member.index, ("member_list", member.index, "asnum")
        if member.head is None:
            return _joined([(p.loc, p.message) for p in member.problems], ("member_list", i))
        asn = member.asn
        if i in self.infra:
            what = "route server" if self.infra[i] == "routeserver" else "route collector"
            return ("member_list", i), f"the IXP's own {what}, not a member: the lab runs its own route servers"
        if not _usable_asn(asn):
            return loc, f"{asn} is not a usable ASN"
        if self.rs_asn is not None and asn == self.rs_asn:
            return loc, f"AS{asn} is the IXP's route-server ASN"
        if asn in self.seen_asn:
            return loc, (f"AS{asn} is already imported from member_list[{self.seen_asn[asn]}]; the lab has one "
                         "member per ASN (to make these connections routers of that member, merge the two entries)")
        return None

    def _connection(self, i: int, j: int, conn: Connection | list[Problem], own: dict[Address, Loc]
                    ) -> tuple[list[RouterCandidate], list[tuple[str, Loc, str]]]:
        """The routers one connection gives, and what of it cannot be used: (what, location, why)."""
        cloc: Loc = ("member_list", i, "connection_list", j)
        if isinstance(conn, list):
            return [], [("connection", *_joined([(p.loc, p.message) for p in conn], cloc))]
        if (conn.state or "").strip().lower() in BAD_STATES:
            return [], [("connection", (*cloc, "state"), f"connection state is '{conn.state}'")]
        entries = [(k, e) for k, e in enumerate(conn.vlan_list) if self.view.entry_vlan(e.vlan_id) == self.vlan]
        pairs = address_pairs(entries, cloc)
        if not pairs:
            return [], [("connection", cloc, f"no address on VLAN {self.view.vlan_label(self.vlan)}")]
        switch_id = next((x.switch_id for x in conn.if_list if x.switch_id is not None), None)
        routers, lost = [], []
        for pair in pairs:
            where = cloc if len(pairs) == 1 else _pair_loc(pair)
            good: dict[str, tuple[Address, Loc, AddressInfo]] = {}
            for fam, (loc, info) in pair.items():
                addr, problem = self._check_address(info.address, self.lans[fam], own)
                if problem is None:
                    good[fam] = (addr, loc, info)
                else:
                    lost.append(("address", loc, problem))
            flags = [info.routeserver for _, _, info in good.values() if info.routeserver is not None]
            if good and flags and not any(flags):
                lost.append(("connection" if len(pairs) == 1 else "address", where, NOT_RS_CLIENT))
            elif good:
                own.update({addr: loc for addr, loc, _ in good.values()})
                routers.append(RouterCandidate(j, format_path(where), *(good[f][0] if f in good else None for f in FAMILIES),
                                               {f: (loc, info) for f, (_, loc, info) in good.items()}, switch_id))
        return routers, lost

    def _check_address(self, text: str, lan: Network, own: dict[Address, Loc]) -> tuple[Address | None, str | None]:
        addr = _parse_address(text)
        if addr is None:
            return None, f"'{text}' is not a valid IP address"
        if addr.version != lan.version:
            return addr, f"{addr} is not an IPv{lan.version} address"
        if addr not in lan:
            return addr, f"{addr} is outside the peering LAN {lan}"
        if not is_host(addr, lan):
            return addr, f"{addr} is the peering LAN's {'network' if addr == lan.network_address else 'broadcast'} address"
        if addr in self.taken:
            return addr, f"{addr} collides with member_list[{self.taken[addr]}] (imported first)"
        if addr in own:
            return addr, f"{addr} is listed twice for this member (first at {format_path(own[addr])})"
        return addr, None


def _candidate(member: MemberEntry, routers: list[RouterCandidate], skipped: list[SkippedPart]) -> Candidate:
    """The member as the lab will have it: its routers, and what the member as a whole takes from them."""
    infos = [(fam, loc, info) for r in routers for fam, (loc, info) in r.infos.items()]
    flags = [info.routeserver for _, _, info in infos if info.routeserver is not None]
    notes = _several_notes(member.index, routers)
    for r in routers:
        notes += _router_notes(r)
    max_prefix: dict[str, int] = {}
    for fam, loc, info in infos:
        value = info.max_prefix
        if value is not None and value < 1:
            notes.append(ImportNote(NoteKind.MAX_PREFIX_IGNORED, format_path((*loc[:-1], "max_prefix")),
                                    f"max_prefix {value} for IPv{fam[-1]} ignored (must be at least 1)"))
        elif value is not None:
            max_prefix[fam] = max(value, max_prefix.get(fam, 0))  # the routers differ: the largest
    macros = list(dict.fromkeys(m for _, _, x in infos if (m := (x.as_macro or "").strip())))
    return Candidate(member.index, member.asn, member.name, routers, bool(flags), max_prefix, macros, notes, skipped)


def _several_notes(i: int, routers: list[RouterCandidate]) -> list[ImportNote]:
    if len(routers) < 2:
        return []
    conns = list(dict.fromkeys(r.conn_index for r in routers))
    notes = []
    if len(conns) > 1:
        notes.append(ImportNote(NoteKind.SEVERAL_CONNECTIONS, f"member_list[{i}].connection_list",
                                f"{len(conns)} usable connections at this IXP: one router each"))
    for j in conns:
        here = [r for r in routers if r.conn_index == j]
        if len(here) > 1:
            notes.append(ImportNote(NoteKind.SEVERAL_ADDRESSES, f"member_list[{i}].connection_list[{j}]",
                                    f"{len(here)} address pairs on the VLAN: one router each "
                                    "(IPv4 and IPv6 paired per VLAN entry, else in file order)"))
    return notes


def _router_notes(r: RouterCandidate) -> list[ImportNote]:
    notes = []
    for fam in FAMILIES:
        if getattr(r, fam) is None:
            notes.append(ImportNote(NoteKind.ADDRESS_ASSIGNED, r.location,
                                    f"no IPv{fam[-1]} address in the file for {r.location}: the lab assigns one"))
    flags = [info.routeserver for _, info in r.infos.values() if info.routeserver is not None]
    if flags and not all(flags):
        notes.append(ImportNote(NoteKind.RS_ONE_FAMILY, r.location,
                                "route-server client on one address family only in the file: the lab peers both"))
    return notes
