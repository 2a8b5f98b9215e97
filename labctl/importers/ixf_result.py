"""What `labctl import ixf` produced: the ix.yml text, the validated model, and the report records."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from labctl.model.schema import IxModel


class NoteKind(str, Enum):
    """What a note is about. Values are stable: scripts read them from `--json`."""

    VLAN_CHOSEN = "vlan-chosen"                    # several VLANs had addresses; the busiest was taken
    LAN_HOST_BITS = "lan-host-bits"                # the VLAN's prefix had host bits set
    LAN_DEFAULT = "lan-default"                    # no prefix and no address of a family: lab default LAN
    LAN_DERIVED = "lan-derived"                    # peering LAN derived from member addresses
    SAMPLE_ALL = "sample-all"                      # the sample asked for more than there is
    NO_SWITCH = "no-switch"                        # placed at a site because the file names no switch
    ROUTE_SERVER_ASN = "route-server-asn"          # where the route servers' ASN comes from
    PREFIX_SPACE_WIDENED = "prefix-space-widened"  # too many members for the default lab IPv4 space
    SEVERAL_CONNECTIONS = "several-connections"    # a member has several usable connections: a router each
    SEVERAL_ADDRESSES = "several-addresses"        # a connection has several address pairs on the VLAN: a router each
    ADDRESS_ASSIGNED = "address-assigned"          # no address of a family in the file: the lab assigns one
    RS_CLIENT_ASSUMED = "rs-client-assumed"        # the file does not say whether members use the route servers
    RS_ONE_FAMILY = "rs-one-family"                # route-server client on one family only
    MAX_PREFIX_IGNORED = "max-prefix-ignored"      # a max_prefix below 1
    ROUTE_SERVER_DAEMONS = "route-server-daemons"  # which daemons the route servers run, and why (by size)


@dataclass(frozen=True)
class ImportNote:
    """Something the import decided or assumed. `location` is a JSON path in the file ("" if none)."""

    kind: NoteKind
    location: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "location": self.location, "message": self.message}


@dataclass(frozen=True)
class SkippedMember:
    """A member of the chosen IXP that is not in the lab, and why."""

    index: int  # position in member_list
    asn: int | None
    name: str
    location: str  # JSON location of the problem, e.g. member_list[12].connection_list[0]
    reason: str

    def render(self) -> str:
        who = f"AS{self.asn}" if self.asn is not None else "member"
        return f"{who} {self.name or '(no name)'} at {self.location}: {self.reason}"


@dataclass(frozen=True)
class SkippedPart:
    """A connection or an address of an imported member that is not in the lab, and why."""

    index: int  # the member's position in member_list
    asn: int
    name: str
    what: str  # "connection" or "address"
    location: str  # JSON location, e.g. member_list[3].connection_list[0].state
    reason: str

    def render(self) -> str:
        return f"AS{self.asn} {self.name or '(no name)'}: {self.what} at {self.location}: {self.reason}"


@dataclass(frozen=True)
class ImportedRouter:
    """One router (node) of an imported member."""

    node: str
    site: str
    daemon: str
    ipv4: str | None  # None: the lab assigns one (noted)
    ipv6: str | None
    location: str  # the connection it comes from, or its VLAN entry when the connection has several routers


@dataclass(frozen=True)
class ImportedMember:
    """An imported member. `node`: its name in ix.yml (its node when it has one router); `site`,
    `daemon`, `ipv4`, `ipv6`: those of its first router; `routers`: all of them."""

    index: int
    asn: int
    name: str  # as in the file
    node: str
    site: str
    daemon: str
    ipv4: str | None
    ipv6: str | None
    prefixes: tuple[str, ...]
    notes: tuple[ImportNote, ...] = ()
    routers: tuple[ImportedRouter, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["notes"] = [n.message for n in self.notes]
        out["note_details"] = [n.as_json() for n in self.notes]
        return out


@dataclass(frozen=True)
class MemberCounts:
    in_file: int  # entries of member_list
    at_ixp: int   # of those, with a connection at the chosen IXP
    usable: int   # of those, importable (the selection is made from these)


@dataclass(kw_only=True)
class ImportResult:
    """What `import_ixf` produced: the ix.yml text, the validated model and the report."""

    text: str
    model: IxModel
    source: str
    version: str
    ixp_id: int
    ixp_name: str
    vlan_id: int | None
    selection: str
    counts: MemberCounts
    imported: list[ImportedMember]
    skipped: list[SkippedMember]
    skipped_parts: list[SkippedPart] = field(default_factory=list)  # of imported members
    notes: list[ImportNote] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Machine-readable summary (what `labctl import ixf --json` prints; docs/IMPORT.md)."""
        m = self.model
        routers = m.member_routers()
        per_site = Counter(r.site for r in routers)
        members_at = {s.name: len({r.member.name for r in routers if r.site == s.name}) for s in m.sites}
        return {
            "source": self.source,
            "ixf_version": self.version,
            "ixp": {"ixp_id": self.ixp_id, "name": self.ixp_name},
            "vlan_id": self.vlan_id,
            "selection": self.selection,
            "counts": {"in_file": self.counts.in_file, "at_ixp": self.counts.at_ixp,
                       "usable": self.counts.usable, "imported": len(self.imported), "routers": len(routers),
                       "skipped": len(self.skipped), "skipped_connections": len(self.skipped_parts)},
            "ix": {"name": m.ix.name, "route_server_asn": m.ix.route_server_asn,
                   "peering_lan": {"ipv4": str(m.ix.peering_lan.ipv4), "ipv6": str(m.ix.peering_lan.ipv6)},
                   "lab_prefix_space": {"ipv4": [str(p) for p in m.ix.lab_prefix_space.ipv4],
                                        "ipv6": [str(p) for p in m.ix.lab_prefix_space.ipv6]}},
            "sites": [{"name": s.name, "description": s.description, "members": members_at[s.name], "routers": per_site[s.name],
                       "route_servers": [r.name for r in m.route_servers if r.site == s.name]} for s in m.sites],
            "trunks": [list(t.between) for t in m.trunks],
            "route_servers": [{"name": r.name, "daemon": r.daemon, "site": r.site, "ipv4": str(r.ipv4),
                               "ipv6": str(r.ipv6)} for r in m.route_servers],
            "imported": [x.as_json() for x in self.imported],
            "skipped": [asdict(x) for x in self.skipped],
            "skipped_connections": [asdict(x) for x in self.skipped_parts],
            "notes": [n.message for n in self.notes],
            "note_details": [n.as_json() for n in self.notes],
        }
