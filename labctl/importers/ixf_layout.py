"""What the lab makes up around the imported members: sites, node names, daemons, route servers, prefixes.

All deterministic: the same members give the same layout. Sites and lab prefixes are computed over
every usable member (not only the selected ones), so a sample keeps the names and prefixes it would
have in the whole import.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from itertools import islice
from typing import Iterator

from labctl.errors import LabctlError
from labctl.importers.ixf_members import Address, Candidate, Network, host_count
from labctl.importers.ixf_result import ImportNote, NoteKind
from labctl.importers.ixf_schema import Ixp
from labctl.model.schema import NAME_PATTERN

DEFAULT_RS_ASN = 64511
ROUTE_SERVER_NAMES = ("rs1", "rs2")
# Members announce one /24 each from here; RFC 2544 benchmarking space (512 /24s).
DEFAULT_LAB_SPACE4 = [IPv4Network("198.18.0.0/15")]
# When a file has more usable members than that: add RFC 6598 shared address space (16,384 /24s).
WIDE_LAB_SPACE4 = [IPv4Network("198.18.0.0/15"), IPv4Network("100.64.0.0/10")]
# And one /48 each from the IPv6 documentation prefix (65,536 /48s).
LAB_SPACE6 = [IPv6Network("2001:db8::/32")]
NAME_RE = re.compile(NAME_PATTERN)


def slug(text: str, limit: int) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    out = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(out) <= limit:
        return out
    cut = out[:limit + 1].rfind("-")  # cut at a word boundary when a whole first word fits
    return (out[:cut] if cut > 0 else out[:limit]).rstrip("-")


# --------------------------------------------------------------------------- daemons


# Route servers: BIRD 2 and FRR (two implementations, as IXs run them) while FRR loads the
# configuration quickly; above this many member routers (each a client of every route server)
# BIRD 2 and BIRD 3. Config load of one route server in the project's scale runs: FRR 10.3 8.3 s,
# 12.1 s and 24.3 s at 25, 50 and 100 clients; BIRD 2.17 about 0.5 s (docs/IMPORT.md).
FRR_ROUTE_SERVER_MAX = 30


@dataclass(frozen=True)
class DaemonChoice:
    route_servers: tuple[tuple[str, str], ...]  # (name, daemon) of rs1, rs2
    routers: tuple[str, ...]  # daemon of each selected member router, in output order
    reason: str  # why these route-server daemons (printed in the summary)


def choose_daemons(router_count: int) -> DaemonChoice:
    """The routing daemon of every node of an imported lab: the one place that decides.

    Member routers alternate FRR, BIRD, FRR, ... in output order, so both daemons are exercised.
    Route servers by size (`FRR_ROUTE_SERVER_MAX`): up to 30 member routers rs1 BIRD and rs2 FRR;
    beyond that FRR takes 10 s and more to load a route-server configuration (24 s at 100
    clients), so rs2 is BIRD 3: still a second implementation line, loading in about a second.
    """
    routers = tuple("frr" if k % 2 == 0 else "bird" for k in range(router_count))
    if router_count <= FRR_ROUTE_SERVER_MAX:
        return DaemonChoice((("rs1", "bird"), ("rs2", "frr")), routers,
                            f"route servers rs1 BIRD 2 and rs2 FRR: {router_count} member router(s), at most "
                            f"{FRR_ROUTE_SERVER_MAX} (two implementations, as IXs run them)")
    return DaemonChoice((("rs1", "bird"), ("rs2", "bird3")), routers,
                        f"route servers rs1 BIRD 2 and rs2 BIRD 3: {router_count} member routers, more than "
                        f"{FRR_ROUTE_SERVER_MAX}; an FRR route server would load its configuration in 10 s or more "
                        "(24 s at 100 clients, BIRD under 1 s; docs/IMPORT.md)")


# --------------------------------------------------------------------------- sites


@dataclass
class SiteLayout:
    order: list[str]             # sites in order of first selected router
    descriptions: dict[str, str]
    by_size: list[str]           # most member routers first
    trunks: list[dict]           # a star from the busiest site


def _site_key(sw_id: int, switches: dict) -> tuple[tuple, str]:
    """(key, label): one site per city, else per switch."""
    sw = switches.get(sw_id)
    city = sw.city.strip() if sw and sw.city else ""
    if city:
        return ("city", city.casefold()), city
    return ("switch", sw_id), (sw.name if sw and sw.name else None) or f"switch{sw_id}"


def _switch_text(sw_id: int, switches: dict) -> str:
    sw = switches.get(sw_id)
    if sw is None:
        return f"switch id {sw_id} (not in the IXP's switch list)"
    extra = ", ".join(x for x in (sw.colo, sw.city, sw.country) if x)
    return f"{sw.name or 'switch'} (id {sw_id}{', ' + extra if extra else ''})"


def name_sites(ixp: Ixp, usable: list[Candidate]) -> tuple[dict[tuple, str], dict[str, str]]:
    """Site key per switch -> site name, and site name -> description. Sets each router's site_key."""
    switches = {}
    for s in ixp.switch:
        if s.id is not None:
            switches.setdefault(s.id, s)
    keys: dict[tuple, list[int]] = {}
    labels: dict[tuple, str] = {}
    for router in (r for c in usable for r in c.routers):
        if router.switch_id is None:
            continue
        key, label = _site_key(router.switch_id, switches)
        labels.setdefault(key, label)
        router.site_key = key
        ids = keys.setdefault(key, [])
        if router.switch_id not in ids:
            ids.append(router.switch_id)
    names: dict[tuple, str] = {}
    descriptions: dict[str, str] = {}
    for n, (key, ids) in enumerate(keys.items(), start=1):
        base = slug(labels[key], 21)
        if not base or not NAME_RE.match(base):
            base = f"site{n}"
        name, k = base, 2
        while name in descriptions or name == "main":
            suffix = f"-{k}"
            name, k = base[:21 - len(suffix)].rstrip("-") + suffix, k + 1
        names[key] = name
        descriptions[name] = ("IX-F " + "; ".join(_switch_text(sid, switches) for sid in ids))[:200]
    return names, descriptions


def place_members(selected: list[Candidate], site_names: dict[tuple, str], descriptions: dict[str, str],
                  notes: list[ImportNote]) -> SiteLayout:
    """Each selected router at its switch's site; routers naming no switch at the busiest site."""
    routers = [r for c in selected for r in c.routers]
    for r in routers:
        r.site = site_names[r.site_key] if r.site_key is not None else ""
    counts = Counter(r.site for r in routers if r.site)
    order = list(dict.fromkeys(r.site for r in routers if r.site))
    homeless = [(c, r) for c in selected for r in c.routers if not r.site]
    if homeless and order:
        biggest = min(order, key=lambda s: (-counts[s], order.index(s)))
        for c, r in homeless:
            r.site = biggest
            c.notes.append(ImportNote(NoteKind.NO_SWITCH, r.location, f"no switch in the file: placed at site {biggest}"))
        counts[biggest] += len(homeless)
        notes.append(ImportNote(NoteKind.NO_SWITCH, "",
                                f"{len(homeless)} member router(s) name no switch: placed at the busiest site, {biggest}"))
    elif homeless:
        for _, r in homeless:
            r.site = "main"
        counts["main"] = len(homeless)
        order = ["main"]
        descriptions = {**descriptions, "main": "single site: the IX-F file names no switches"}
    by_size = sorted(order, key=lambda s: (-counts[s], order.index(s)))
    trunks = [{"between": [by_size[0], s]} for s in order if s != by_size[0]]
    return SiteLayout(order, descriptions, by_size, trunks)


def name_nodes(usable: list[Candidate], reserved: set[str]) -> None:
    """Node names, unique and never a reserved name. A member is the slug of its name, else as<ASN>;
    a member with several routers keeps that name and its routers are `<name>-1`, `<name>-2`, ...
    in file order (the member name is shortened so that they fit 24 characters)."""
    taken = set(reserved)
    for cand in usable:
        n = len(cand.routers)
        suffixes = [f"-{k}" for k in range(1, n + 1)] if n > 1 else []
        room = 24 - (len(suffixes[-1]) if suffixes else 0)

        def free(name: str) -> bool:
            return name not in taken and not any(name + s in taken for s in suffixes)

        name = slug(cand.name, room)
        if not name or not NAME_RE.match(name) or not free(name):
            name = f"as{cand.asn}"
        base, k = name, 2
        while not free(name):
            name, k = f"{base}-{k}", k + 1
        cand.node = name
        taken.add(name)
        for router, suffix in zip(cand.routers, suffixes or [""]):
            router.node = name + suffix
            taken.add(router.node)


# --------------------------------------------------------------------------- route servers


def route_server_asn(file_rs_asn: int | None, usable: list[Candidate], notes: list[ImportNote]) -> int:
    if file_rs_asn is not None:
        notes.append(ImportNote(NoteKind.ROUTE_SERVER_ASN, "member_list",
                                f"route-server ASN {file_rs_asn} taken from the IXP's route servers in the file"))
        return file_rs_asn
    asns = {c.asn for c in usable}
    asn = DEFAULT_RS_ASN
    while asn in asns:
        asn -= 1
    notes.append(ImportNote(NoteKind.ROUTE_SERVER_ASN, "",
                            f"the file does not mark the IXP's route servers: route-server ASN {asn} (lab default)"))
    return asn


def free_hosts(lan: Network, used: set[Address], count: int) -> list[Address]:
    """The `count` lowest host addresses of the LAN not in `used` (fewer if the LAN is full)."""
    out, offset, last = [], 1, lan.num_addresses - (1 if lan.version == 4 else 0)
    while len(out) < count and offset < last:
        cand = lan.network_address + offset
        offset += 1
        if cand not in used:
            out.append(cand)
    return out


def check_room(source: str, lans: dict[str, Network], selected: list[Candidate]) -> None:
    """The LAN must hold the route servers and a lab address for routers lacking a family."""
    routers = [r for c in selected for r in c.routers]
    for fam, lan in lans.items():
        missing = sum(1 for r in routers if getattr(r, fam) is None)
        explicit = len(routers) - missing + len(ROUTE_SERVER_NAMES)
        if missing and host_count(lan) - explicit < missing:
            raise LabctlError(f"{source}: {missing} member router(s) have no IPv{fam[-1]} address and the LAN {lan} "
                              "has no room to assign them one", "import fewer members (--sample) or another VLAN")


# --------------------------------------------------------------------------- lab prefixes


def _lab_subnets(spaces: list[Network], new_prefix: int, avoid: Network) -> Iterator[Network]:
    for space in spaces:
        for net in space.subnets(new_prefix=new_prefix):
            if not net.overlaps(avoid):
                yield net


@dataclass
class LabPrefixes:
    space4: list[IPv4Network]
    by_member: dict[int, tuple[str, str]]  # member index -> (IPv4 /24, IPv6 /48)


def assign_lab_prefixes(source: str, usable: list[Candidate], lans: dict[str, Network],
                        notes: list[ImportNote]) -> LabPrefixes:
    """One /24 and one /48 per usable member, in file order, never overlapping the peering LAN."""
    n = len(usable)
    spaces4 = DEFAULT_LAB_SPACE4
    if n > sum(1 for _ in islice(_lab_subnets(DEFAULT_LAB_SPACE4, 24, lans["ipv4"]), n + 1)):
        spaces4 = WIDE_LAB_SPACE4
        notes.append(ImportNote(NoteKind.PREFIX_SPACE_WIDENED, "",
                                f"{n} usable members do not fit {DEFAULT_LAB_SPACE4[0]} (one /24 each): "
                                f"lab prefix space widened to {', '.join(map(str, WIDE_LAB_SPACE4))}"))
    nets4 = list(islice(_lab_subnets(spaces4, 24, lans["ipv4"]), n))
    nets6 = list(islice(_lab_subnets(LAB_SPACE6, 48, lans["ipv6"]), n))
    if len(nets4) < n or len(nets6) < n:
        raise LabctlError(f"{source}: {n} usable members do not fit the lab prefix space "
                          f"({', '.join(map(str, spaces4))}; {LAB_SPACE6[0]})", "import fewer members with --sample")
    return LabPrefixes(spaces4, {c.index: (str(nets4[k]), str(nets6[k])) for k, c in enumerate(usable)})
