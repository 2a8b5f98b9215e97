"""Import an IX-F Member Export (JSON, schema 0.6 to 1.0) as ix.yml text.

One job: IX-F JSON in, ix.yml text out (plus a report of what was taken and what was not).
The result always passes `labctl.model.load.load_text`; the importer checks that itself.

What is kept from the file and what the lab makes up:

* kept: each member's ASN, name, peering-LAN addresses on the chosen VLAN, route-server flag,
  max-prefix limits and AS macro (as a note in `description`), the switch/city it connects at;
  the VLAN's peering-LAN prefixes; the IXP's route-server ASN when the file marks its route servers.
* made up, deterministically: the prefixes members announce (one IPv4 /24 and one IPv6 /48 each
  from the lab prefix space, in input order: real routes are never invented), node names
  (slug of the member name, else `as<ASN>`), the daemon (FRR and BIRD alternate), the lab's two
  route servers (rs1 BIRD, rs2 FRR on free LAN addresses) and the trunks (a star from the busiest site).

Members that cannot be imported are reported with the reason and the JSON location, never
dropped silently. Bad files raise `LabctlError` naming the file and the JSON location.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from itertools import islice
from pathlib import Path
from typing import Any, Iterator

import yaml

from labctl.errors import LabctlError
from labctl.model.checks import format_path
from labctl.model.schema import NAME_PATTERN, IxModel

__all__ = ["DEFAULT_LAB_SPACE4", "WIDE_LAB_SPACE4", "LAB_SPACE6", "ImportResult", "ImportedMember",
           "SkippedMember", "import_ixf", "parse_members_option"]

MIN_VERSION, MAX_VERSION = (0, 6), (1, 0)
DEFAULT_RS_ASN = 64511
# Members announce one /24 each from here; RFC 2544 benchmarking space (512 /24s).
DEFAULT_LAB_SPACE4 = [IPv4Network("198.18.0.0/15")]
# When a file has more usable members than that: add RFC 6598 shared address space (16,384 /24s).
WIDE_LAB_SPACE4 = [IPv4Network("198.18.0.0/15"), IPv4Network("100.64.0.0/10")]
# And one /48 each from the IPv6 documentation prefix (65,536 /48s).
LAB_SPACE6 = [IPv6Network("2001:db8::/32")]
ROUTE_SERVERS = (("rs1", "bird"), ("rs2", "frr"))
BAD_STATES = {"inactive", "disconnected", "quarantine", "decommissioned", "disabled", "down", "pending",
              "provisioning", "suspended"}
SCHEMA_HINT = "the format is the IX-F Member Export, https://github.com/euro-ix/json-schemas"
_NAME_RE = re.compile(NAME_PATTERN)
_MAX_PROBLEMS = 20

Loc = tuple[str | int, ...]
Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


# --------------------------------------------------------------------------- results


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
class ImportedMember:
    index: int
    asn: int
    name: str  # as in the file
    node: str  # node name in the lab
    site: str
    daemon: str
    ipv4: str | None
    ipv6: str | None
    prefixes: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass
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
    members_in_file: int
    members_at_ixp: int
    members_usable: int
    imported: list[ImportedMember]
    skipped: list[SkippedMember]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Machine-readable summary (what `labctl import ixf --json` prints)."""
        m = self.model
        per_site = Counter(x.site for x in m.members)
        return {
            "source": self.source,
            "ixf_version": self.version,
            "ixp": {"ixp_id": self.ixp_id, "name": self.ixp_name},
            "vlan_id": self.vlan_id,
            "selection": self.selection,
            "counts": {"in_file": self.members_in_file, "at_ixp": self.members_at_ixp,
                       "usable": self.members_usable, "imported": len(self.imported),
                       "skipped": len(self.skipped)},
            "ix": {"name": m.ix.name, "route_server_asn": m.ix.route_server_asn,
                   "peering_lan": {"ipv4": str(m.ix.peering_lan.ipv4), "ipv6": str(m.ix.peering_lan.ipv6)},
                   "lab_prefix_space": {"ipv4": [str(p) for p in m.ix.lab_prefix_space.ipv4],
                                        "ipv6": [str(p) for p in m.ix.lab_prefix_space.ipv6]}},
            "sites": [{"name": s.name, "description": s.description, "members": per_site[s.name],
                       "route_servers": [r.name for r in m.route_servers if r.site == s.name]} for s in m.sites],
            "trunks": [list(t.between) for t in m.trunks],
            "route_servers": [{"name": r.name, "daemon": r.daemon, "site": r.site, "ipv4": str(r.ipv4),
                               "ipv6": str(r.ipv6)} for r in m.route_servers],
            "imported": [asdict(x) for x in self.imported],
            "skipped": [asdict(x) for x in self.skipped],
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- reading and structure


def _fail(source: str, loc: Loc | str, message: str, hint: str | None = None) -> LabctlError:
    where = loc if isinstance(loc, str) else format_path(loc)
    return LabctlError(f"{source}: {where + ': ' if where else ''}{message}", hint)


def _read(data: dict | str | Path, source: str | None) -> tuple[Any, str]:
    if isinstance(data, dict):
        return data, source or "<IX-F data>"
    path = Path(data)
    name = source or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LabctlError(f"{name}: no such file", "pass the path of an IX-F member export (JSON)") from None
    except IsADirectoryError:
        raise LabctlError(f"{name}: is a folder, not a file", "pass the path of an IX-F member export (JSON)") from None
    except OSError as exc:
        raise LabctlError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabctlError(f"{name}: not UTF-8 text (byte {exc.start})",
                          "IX-F exports are JSON in UTF-8; is this the right file?") from None
    if not text.strip():
        raise LabctlError(f"{name}: the file is empty", "download the IX-F export again") from None
    try:
        return json.loads(text), name
    except json.JSONDecodeError as exc:
        raise LabctlError(f"{name}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",
                          "an IX-F export is one JSON document; a truncated download ends mid-document") from None


@dataclass(frozen=True)
class _Obj:
    fields: dict[str, tuple[Any, bool]]  # key -> (spec, required)


@dataclass(frozen=True)
class _List:
    item: Any


_ADDR = _Obj({"address": ("str", False), "routeserver": ("bool", False), "max_prefix": ("int", False),
              "as_macro": ("str", False), "services": (_List(_Obj({"type": ("str", False)})), False)})
_CONN = _Obj({"ixp_id": ("int", True), "state": ("str", False),
              "if_list": (_List(_Obj({"switch_id": ("int", False)})), False),
              "vlan_list": (_List(_Obj({"vlan_id": ("int", False), "ipv4": (_ADDR, False),
                                        "ipv6": (_ADDR, False)})), False)})
_MEMBER = _Obj({"asnum": ("int", True), "name": ("str", False), "member_type": ("str", False),
                "connection_list": (_List(_CONN), True)})
_LAN = _Obj({"prefix": ("str", False), "mask_length": ("int", False)})
_IXP = _Obj({"ixp_id": ("int", True), "shortname": ("str", False), "name": ("str", False),
             "switch": (_List(_Obj({"id": ("int", False), "name": ("str", False), "city": ("str", False),
                                    "country": ("str", False), "colo": ("str", False)})), False),
             "vlan": (_List(_Obj({"id": ("int", False), "name": ("str", False), "ipv4": (_LAN, False),
                                  "ipv6": (_LAN, False)})), False)})
_DOC = _Obj({"timestamp": ("str", False), "ixp_list": (_List(_IXP), True), "member_list": (_List(_MEMBER), True)})
_TYPE_NAMES = {"int": "an integer", "str": "a string", "bool": "true or false"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _check(value: Any, spec: Any, loc: Loc, problems: list[tuple[Loc, str]]) -> None:
    if len(problems) >= _MAX_PROBLEMS:
        return
    if isinstance(spec, _Obj):
        if not isinstance(value, dict):
            problems.append((loc, f"expected an object, got {_json_type(value)}"))
            return
        for key, (sub, required) in spec.fields.items():
            if value.get(key) is None:
                if required:
                    problems.append(((*loc, key), "required key is missing" if key not in value else "must not be null"))
                continue
            _check(value[key], sub, (*loc, key), problems)
    elif isinstance(spec, _List):
        if not isinstance(value, list):
            problems.append((loc, f"expected a list, got {_json_type(value)}"))
            return
        for i, item in enumerate(value):
            _check(item, spec.item, (*loc, i), problems)
    else:
        ok = {"int": isinstance(value, int) and not isinstance(value, bool),
              "str": isinstance(value, str), "bool": isinstance(value, bool)}[spec]
        if not ok:
            problems.append((loc, f"expected {_TYPE_NAMES[spec]}, got {_json_type(value)} ({json.dumps(value)[:40]})"))


def _check_version(doc: Any, source: str) -> str:
    if not isinstance(doc, dict):
        raise _fail(source, "", f"the top level must be a JSON object, got {_json_type(doc)}",
                    f"is this an IX-F member export? {SCHEMA_HINT}")
    if "version" not in doc:
        if "ixp_list" not in doc and "member_list" not in doc:
            raise _fail(source, "", "not an IX-F member export (no 'version', 'ixp_list' or 'member_list')",
                        SCHEMA_HINT)
        raise _fail(source, ("version",), "required key is missing", "IX-F exports say their schema version, e.g. \"1.0\"")
    raw = doc["version"]
    text = str(raw) if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else None
    match = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.\d+)?\s*", text or "")
    if not match:
        raise _fail(source, ("version",), f"{json.dumps(raw)} is not a schema version such as \"1.0\"", SCHEMA_HINT)
    version = (int(match[1]), int(match[2]))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise _fail(source, ("version",), f"IX-F schema version {text.strip()} is not supported",
                    "this importer reads versions 0.6 to 1.0; ask the IXP for a 1.0 export")
    return text.strip()


def _check_structure(doc: dict, source: str) -> None:
    problems: list[tuple[Loc, str]] = []
    _check(doc, _DOC, (), problems)
    if not problems:
        return
    if len(problems) == 1:
        loc, msg = problems[0]
        raise _fail(source, loc, msg, f"fix the file or export it again; {SCHEMA_HINT}")
    more = " (first 20 shown)" if len(problems) >= _MAX_PROBLEMS else ""
    lines = "\n".join(f"  {format_path(loc) or '<top>'}: {msg}" for loc, msg in problems)
    raise LabctlError(f"{source}: not a valid IX-F export, {len(problems)} problem(s){more}:\n{lines}",
                      f"fix the file or export it again; {SCHEMA_HINT}")


# --------------------------------------------------------------------------- helpers


def _clean(value: Any) -> Any:
    """A copy of the JSON with every string on one printable line (names end up in comments and configs)."""
    if isinstance(value, str):
        return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _slug(text: str, limit: int) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) <= limit:
        return slug
    cut = slug[:limit + 1].rfind("-")  # cut at a word boundary when a whole first word fits
    return (slug[:cut] if cut > 0 else slug[:limit]).rstrip("-")


def _stable_key(asn: int, name: str) -> bytes:
    return hashlib.sha256(f"{asn}\x00{name}".encode()).digest()


def _covering(addrs: list[Address]) -> Network:
    bits = addrs[0].max_prefixlen
    lo, hi = min(int(a) for a in addrs), max(int(a) for a in addrs)
    plen = bits - (lo ^ hi).bit_length()
    return ipaddress.ip_network((lo >> (bits - plen) << (bits - plen), plen))


def _is_host(addr: Address, lan: Network) -> bool:
    if addr not in lan or addr == lan.network_address:
        return False
    return not (lan.version == 4 and addr == lan.broadcast_address)


def _host_count(lan: Network) -> int:
    return lan.num_addresses - (2 if lan.version == 4 else 1)


def _free_hosts(lan: Network, used: set[Address], count: int) -> Iterator[Address]:
    found, offset, last = 0, 1, lan.num_addresses - (1 if lan.version == 4 else 0)
    while found < count and offset < last:
        cand = lan.network_address + offset
        offset += 1
        if cand not in used:
            found += 1
            yield cand


def _lab_subnets(spaces: list[Network], new_prefix: int, avoid: Network) -> Iterator[Network]:
    for space in spaces:
        for net in space.subnets(new_prefix=new_prefix):
            if not net.overlaps(avoid):
                yield net


def parse_members_option(text: str) -> list[int]:
    """'64500,AS64501 64502' -> [64500, 64501, 64502]; raises ValueError naming a bad item."""
    out = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        digits = item[2:] if item[:2].lower() == "as" else item
        if not digits.isdigit():
            raise ValueError(f"'{item}' is not an ASN (use numbers such as 64500 or AS64500)")
        out.append(int(digits))
    if not out:
        raise ValueError("give at least one ASN, e.g. --members 64500,64501")
    return out


# --------------------------------------------------------------------------- the importer


@dataclass
class _Candidate:
    """A member of the chosen IXP that has a usable connection on the chosen VLAN."""

    index: int
    asn: int
    name: str
    conn_index: int
    ipv4: Address | None
    ipv6: Address | None
    route_server: bool
    rs_flag_given: bool
    max_prefix: dict[str, int]
    macros: list[str]
    switch_id: int | None
    notes: list[str]
    node: str = ""
    site_key: tuple | None = None


@dataclass
class _Ixp:
    index: int
    data: dict
    ixp_id: int
    label: str


def _choose_ixp(doc: dict, ixp_id: int | None, source: str) -> _Ixp:
    ixps = [_Ixp(i, x, x["ixp_id"], x.get("shortname") or x.get("name") or f"ixp_id {x['ixp_id']}")
            for i, x in enumerate(doc["ixp_list"])]
    choices = ", ".join(f"{x.ixp_id} ({x.label})" for x in ixps)
    if not ixps:
        raise _fail(source, ("ixp_list",), "the list is empty: the file names no IXP", "export the file again")
    if ixp_id is None:
        if len(ixps) > 1:
            raise _fail(source, ("ixp_list",), f"the file describes {len(ixps)} IXPs: {choices}",
                        f"choose one with --ixp-id, e.g. --ixp-id {ixps[0].ixp_id}")
        return ixps[0]
    for x in ixps:
        if x.ixp_id == ixp_id:
            return x
    raise _fail(source, ("ixp_list",), f"no IXP with ixp_id {ixp_id}; the file has {choices}",
                "pass one of those to --ixp-id")


class _Importer:
    def __init__(self, doc: dict, source: str, version: str, ixp: _Ixp):
        self.doc, self.source, self.version, self.ixp = doc, source, version, ixp
        self.notes: list[str] = []
        self.vlans: list[dict] = [v for v in ixp.data.get("vlan") or []]
        declared = [v["id"] for v in self.vlans if v.get("id") is not None]
        self.sole_vlan = declared[0] if len(set(declared)) == 1 else None
        # (member index, connection index, connection) for every connection on this IXP
        self.conns: list[tuple[int, int, dict]] = [
            (i, j, c) for i, m in enumerate(doc["member_list"])
            for j, c in enumerate(m["connection_list"]) if c["ixp_id"] == ixp.ixp_id]
        self.members_at_ixp = sorted({i for i, _, _ in self.conns})

    # -- VLAN and peering LAN

    def entry_vlan(self, entry: dict) -> int | None:
        vid = entry.get("vlan_id")
        return self.sole_vlan if vid is None else vid

    def choose_vlan(self, vlan_id: int | None) -> tuple[int | None, tuple | None]:
        used: dict[int | None, set[int]] = {}
        for i, _, c in self.conns:
            for e in c.get("vlan_list") or []:
                if any(isinstance(e.get(f), dict) and e[f].get("address") for f in ("ipv4", "ipv6")):
                    used.setdefault(self.entry_vlan(e), set()).add(i)
        order: list[int | None] = []
        for v in self.vlans:
            if v.get("id") is not None and v["id"] not in order:
                order.append(v["id"])
        order += [v for v in used if v not in order and v is not None]
        if not order and None in used:
            order = [None]
        where = ("ixp_list", self.ixp.index, "vlan")
        if vlan_id is not None:
            if vlan_id not in order:
                listing = ", ".join(self._vlan_label(v) for v in order if v is not None) or "none"
                raise _fail(self.source, where, f"no VLAN {vlan_id} at IXP {self.ixp.label}; VLANs: {listing}",
                            "pass one of those to --vlan-id")
            chosen = vlan_id
        else:
            if not used:
                raise _fail(self.source, ("member_list",),
                            f"no member has an address at IXP {self.ixp.label} (ixp_id {self.ixp.ixp_id})",
                            "check --ixp-id, or export the file again with addresses")

            def rank(v: int | None) -> tuple:
                decl = self._vlan_decl(v)
                has4 = bool(decl and isinstance(decl[1].get("ipv4"), dict) and decl[1]["ipv4"].get("prefix"))
                return (-len(used.get(v, ())), not has4, order.index(v))

            chosen = min(order, key=rank)
            if len([v for v in order if used.get(v)]) > 1:
                self.notes.append(f"VLAN {self._vlan_label(chosen)} chosen: most members have an address on it "
                                  "(--vlan-id picks another)")
        return chosen, self._vlan_decl(chosen)

    def _vlan_decl(self, vid: int | None) -> tuple[int, dict] | None:
        for k, v in enumerate(self.vlans):
            if v.get("id") == vid or (vid is None and len(self.vlans) == 1):
                return k, v
        return None

    def _vlan_label(self, vid: int | None) -> str:
        decl = self._vlan_decl(vid)
        name = decl[1].get("name") if decl else None
        return f"{vid} ({name})" if name else str(vid)

    def vlan_addresses(self, vlan: int | None, fam: str) -> list[Address]:
        out = []
        for _, _, c in self.conns:
            for e in c.get("vlan_list") or []:
                info = e.get(fam)
                if self.entry_vlan(e) == vlan and isinstance(info, dict) and info.get("address"):
                    try:
                        addr = ipaddress.ip_address(info["address"])
                    except ValueError:
                        continue
                    if addr.version == (4 if fam == "ipv4" else 6):
                        out.append(addr)
        return out

    def peering_lan(self, vlan: int | None, decl: tuple[int, dict] | None, fam: str) -> Network:
        version = 4 if fam == "ipv4" else 6
        info = decl[1].get(fam) if decl else None
        if isinstance(info, dict) and info.get("prefix") is not None and info.get("mask_length") is not None:
            loc = ("ixp_list", self.ixp.index, "vlan", decl[0], fam)
            text = f"{info['prefix']}/{info['mask_length']}"
            try:
                lan = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise _fail(self.source, loc, f"'{text}' is not a valid IPv{version} prefix",
                            "fix prefix/mask_length, or drop them to derive the LAN from member addresses") from None
            if lan.version != version or lan.prefixlen > lan.max_prefixlen - 2:
                raise _fail(self.source, loc, f"'{text}' is not a usable IPv{version} peering LAN",
                            "fix prefix/mask_length, or drop them to derive the LAN from member addresses")
            if str(lan.network_address) != str(ipaddress.ip_address(info["prefix"])):
                self.notes.append(f"{format_path(loc)}: '{text}' has host bits set; using {lan}")
            return lan
        addrs = self.vlan_addresses(vlan, fam)
        if not addrs:
            default = IPv4Network("192.0.2.0/24") if version == 4 else IPv6Network("fd00:ffff::/64")
            self.notes.append(f"no IPv{version} prefix for the VLAN and no member IPv{version} address: "
                              f"using the lab default {default}; members get lab addresses")
            return default
        lan = _covering(addrs)
        if version == 6 and lan.prefixlen > 64:
            lan = lan.supernet(new_prefix=64)
        present = set(addrs)
        # Room for every address in the file, the two route servers and members lacking this family.
        need = len(present) + 2 + self.members_lacking(vlan, fam)
        while lan.prefixlen > 0 and (lan.network_address in present or (version == 4 and lan.broadcast_address in present)
                                     or _host_count(lan) < need):
            lan = lan.supernet()
        if lan.prefixlen < (16 if version == 4 else 32):
            raise _fail(self.source, ("ixp_list", self.ixp.index, "vlan"),
                        f"the VLAN has no IPv{version} prefix and member addresses span {lan}: no peering LAN can be derived",
                        f"add ipv{version} prefix/mask_length to the VLAN in the file, or choose another with --vlan-id")
        self.notes.append(f"the file gives no IPv{version} prefix for the VLAN: peering LAN {lan} derived from "
                          "member addresses (smallest covering prefix with room for the route servers)")
        return lan

    def members_lacking(self, vlan: int | None, fam: str) -> int:
        """Members with an address on the VLAN, but none of this family (the lab assigns them one)."""
        has: dict[int, set[str]] = {}
        for i, _, c in self.conns:
            for e in c.get("vlan_list") or []:
                if self.entry_vlan(e) == vlan:
                    for f in ("ipv4", "ipv6"):
                        if isinstance(e.get(f), dict) and e[f].get("address"):
                            has.setdefault(i, set()).add(f)
        return sum(1 for fams in has.values() if fam not in fams)

    # -- route-server ASN and IXP infrastructure

    def infra_kind(self, member: dict, conns: list[tuple[int, dict]]) -> str | None:
        kinds = set()
        for _, c in conns:
            for e in c.get("vlan_list") or []:
                for f in ("ipv4", "ipv6"):
                    for s in (e.get(f) or {}).get("services") or []:
                        kinds.add(s.get("type"))
        if "ixrouteserver" in kinds or (member.get("member_type") or "").lower() in ("routeserver", "route-server"):
            return "routeserver"
        if "ixroutecollector" in kinds:
            return "routecollector"
        return None

    # -- members

    def candidates(self, lan4: Network, lan6: Network, vlan: int | None
                   ) -> tuple[list[_Candidate], list[SkippedMember], int | None]:
        members = self.doc["member_list"]
        by_member: dict[int, list[tuple[int, dict]]] = {}
        for i, j, c in self.conns:
            by_member.setdefault(i, []).append((j, c))
        rs_asn: int | None = None
        infra: dict[int, str] = {}
        for i, conns in by_member.items():
            kind = self.infra_kind(members[i], conns)
            if kind:
                infra[i] = kind
                if kind == "routeserver" and rs_asn is None and 1 <= members[i]["asnum"] <= 4294967294:
                    rs_asn = members[i]["asnum"]
        out: list[_Candidate] = []
        skipped: list[SkippedMember] = []
        taken: dict[Address, int] = {}
        seen_asn: dict[int, int] = {}
        lans = {"ipv4": lan4, "ipv6": lan6}
        for i, conns in by_member.items():
            m = members[i]
            asn, name = m["asnum"], (m.get("name") or "").strip()

            def skip(loc: Loc, reason: str) -> None:
                skipped.append(SkippedMember(i, asn, name, format_path(loc), reason))

            if i in infra:
                what = "route server" if infra[i] == "routeserver" else "route collector"
                skip(("member_list", i), f"the IXP's own {what}, not a member: the lab runs its own route servers")
                continue
            if not 1 <= asn <= 4294967294 or asn == 23456:
                skip(("member_list", i, "asnum"), f"{asn} is not a usable ASN")
                continue
            if rs_asn is not None and asn == rs_asn:
                skip(("member_list", i, "asnum"), f"AS{asn} is the IXP's route-server ASN")
                continue
            if asn in seen_asn:
                skip(("member_list", i, "asnum"),
                     f"AS{asn} is already imported from member_list[{seen_asn[asn]}]; the lab has one node per ASN")
                continue
            reasons: list[tuple[Loc, str]] = []
            chosen = None
            for j, c in conns:
                cloc: Loc = ("member_list", i, "connection_list", j)
                state = (c.get("state") or "").strip().lower()
                if state in BAD_STATES:
                    reasons.append(((*cloc, "state"), f"connection state is '{c['state']}'"))
                    continue
                picked, problem = self._pick_addresses(c, cloc, vlan, lans, taken)
                if problem:
                    reasons.append(problem)
                    continue
                chosen = (j, c, picked)
                break
            if chosen is None:
                if len(reasons) == 1:
                    skip(*reasons[0])
                else:
                    skip(("member_list", i), "; ".join(f"{format_path(loc)}: {why}" for loc, why in reasons))
                continue
            j, c, picked = chosen
            notes: list[str] = []
            usable_conns = len(conns)
            if usable_conns > 1:
                notes.append(f"{usable_conns} connections at this IXP: used connection_list[{j}] (the first usable)")
            for fam in ("ipv4", "ipv6"):
                info = picked[fam]
                if info is None:
                    notes.append(f"no IPv{fam[-1]} address in the file: the lab assigns one")
                elif info[2] > 1:
                    notes.append(f"{info[2]} IPv{fam[-1]} addresses on the VLAN: used {info[0]}")
            entries = [info[1] for info in (picked["ipv4"], picked["ipv6"]) if info]
            flags = [e.get("routeserver") for e in entries if e.get("routeserver") is not None]
            if flags and not any(flags):
                skip(("member_list", i, "connection_list", j),
                     "not a route-server client (routeserver: false) and IX-F lists no bilateral sessions, "
                     "so the lab would give it no BGP session")
                continue
            if flags and not all(flags):
                notes.append("route-server client on one address family only in the file: the lab peers both")
            max_prefix = {}
            for fam in ("ipv4", "ipv6"):
                info = picked[fam]
                value = info[1].get("max_prefix") if info else None
                if value is not None and value < 1:
                    notes.append(f"max_prefix {value} for IPv{fam[-1]} ignored (must be at least 1)")
                    value = None
                if value is not None:
                    max_prefix[fam] = value
            macros: list[str] = []
            for e in entries:
                macro = (e.get("as_macro") or "").strip()
                if macro and macro not in macros:
                    macros.append(macro)
            switch_id = next((x["switch_id"] for x in c.get("if_list") or [] if x.get("switch_id") is not None), None)
            seen_asn[asn] = i
            for fam in ("ipv4", "ipv6"):
                if picked[fam]:
                    taken[picked[fam][0]] = i
            out.append(_Candidate(i, asn, name, j, picked["ipv4"] and picked["ipv4"][0],
                                  picked["ipv6"] and picked["ipv6"][0], True, bool(flags), max_prefix, macros,
                                  switch_id, notes))
        return out, skipped, rs_asn

    def _pick_addresses(self, conn: dict, cloc: Loc, vlan: int | None, lans: dict[str, Network],
                        taken: dict[Address, int]) -> tuple[dict, tuple[Loc, str] | None]:
        """The first good address per family on the VLAN, or the reason the connection is unusable."""
        found: dict[str, list[tuple[Loc, dict]]] = {"ipv4": [], "ipv6": []}
        for k, e in enumerate(conn.get("vlan_list") or []):
            if self.entry_vlan(e) != vlan:
                continue
            for fam in ("ipv4", "ipv6"):
                info = e.get(fam)
                if isinstance(info, dict) and info.get("address"):
                    found[fam].append(((*cloc, "vlan_list", k, fam, "address"), info))
        if not found["ipv4"] and not found["ipv6"]:
            return {}, (cloc, f"no address on VLAN {self._vlan_label(vlan)}")
        picked: dict[str, tuple[Address, dict, int] | None] = {"ipv4": None, "ipv6": None}
        for fam, entries in found.items():
            if not entries:
                continue
            first_problem = None
            lan = lans[fam]
            for loc, info in entries:
                text = info["address"]
                problem = None
                try:
                    addr = ipaddress.ip_address(text.strip())
                except ValueError:
                    addr, problem = None, f"'{text}' is not a valid IP address"
                if addr is not None:
                    if addr.version != lan.version:
                        problem = f"{addr} is not an IPv{lan.version} address"
                    elif addr not in lan:
                        problem = f"{addr} is outside the peering LAN {lan}"
                    elif not _is_host(addr, lan):
                        problem = f"{addr} is the peering LAN's {'network' if addr == lan.network_address else 'broadcast'} address"
                    elif addr in taken:
                        problem = f"{addr} collides with member_list[{taken[addr]}] (imported first)"
                if problem is None:
                    picked[fam] = (addr, info, len(entries))
                    break
                first_problem = first_problem or (loc, problem)
            if picked[fam] is None:
                return {}, first_problem
        return picked, None


def _site_plan(ixp: dict, usable: list[_Candidate]) -> tuple[dict[tuple, str], dict[str, str]]:
    """Site key per switch -> site name, and site name -> description (one site per city, else per switch)."""
    switches: dict[int, dict] = {}
    for s in ixp.get("switch") or []:
        if s.get("id") is not None:
            switches.setdefault(s["id"], s)
    keys: dict[tuple, list[int]] = {}
    labels: dict[tuple, str] = {}
    for cand in usable:
        if cand.switch_id is None:
            continue
        sw = switches.get(cand.switch_id)
        city = (sw or {}).get("city")
        if city and city.strip():
            key: tuple = ("city", city.strip().casefold())
            labels.setdefault(key, city.strip())
        else:
            key = ("switch", cand.switch_id)
            labels.setdefault(key, (sw or {}).get("name") or f"switch{cand.switch_id}")
        cand.site_key = key
        keys.setdefault(key, [])
        if cand.switch_id not in keys[key]:
            keys[key].append(cand.switch_id)
    names: dict[tuple, str] = {}
    descriptions: dict[str, str] = {}
    for n, (key, ids) in enumerate(keys.items(), start=1):
        base = _slug(labels[key], 21)
        if not base or not _NAME_RE.match(base):
            base = f"site{n}"
        name, k = base, 2
        while name in descriptions or name == "main":
            suffix = f"-{k}"
            name, k = base[:21 - len(suffix)].rstrip("-") + suffix, k + 1
        names[key] = name
        parts = []
        for sid in ids:
            sw = switches.get(sid)
            if sw is None:
                parts.append(f"switch id {sid} (not in the IXP's switch list)")
            else:
                extra = ", ".join(x for x in (sw.get("colo"), sw.get("city"), sw.get("country")) if x)
                parts.append(f"{sw.get('name') or 'switch'} (id {sid}{', ' + extra if extra else ''})")
        descriptions[name] = ("IX-F " + "; ".join(parts))[:200]
    return names, descriptions


def _name_nodes(usable: list[_Candidate], reserved: set[str]) -> None:
    taken = set(reserved)
    for cand in usable:
        slug = _slug(cand.name, 24)
        if not slug or slug in taken or not _NAME_RE.match(slug):
            slug = f"as{cand.asn}"
        base, k = slug, 2
        while slug in taken:
            slug, k = f"{base}-{k}", k + 1
        cand.node = slug
        taken.add(slug)


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: 10x faster, same output


def _dump(doc: dict) -> str:
    parts = []
    for key, value in doc.items():
        parts.append(yaml.dump({key: value}, Dumper=_DUMPER, sort_keys=False, allow_unicode=True,
                               default_flow_style=None, width=200))
    return "\n".join(parts)


def _comment(text: str) -> str:
    return "# " + text.replace("\n", " ").replace("\r", " ")


def import_ixf(data: dict | str | Path, *, ixp_id: int | None = None, vlan_id: int | None = None,
               sample: int | None = None, members: list[int] | None = None,
               source: str | None = None) -> ImportResult:
    """Turn an IX-F member export into ix.yml text. See the module docstring for what is kept.

    data: the parsed JSON or a path to it. source: the name to use in messages and the header.
    sample: N members picked by a stable hash of (ASN, name); members: exactly these ASNs.
    """
    if sample is not None and members is not None:
        raise LabctlError("choose either a sample or a member list, not both", "drop --sample or --members")
    if sample is not None and sample < 1:
        raise LabctlError(f"sample size {sample} is not a positive number", "use --sample 10, for example")
    doc, source = _read(data, source)
    version = _check_version(doc, source)
    _check_structure(doc, source)
    doc = _clean(doc)
    ixp = _choose_ixp(doc, ixp_id, source)
    imp = _Importer(doc, source, version, ixp)
    vlan, decl = imp.choose_vlan(vlan_id)
    lan4 = imp.peering_lan(vlan, decl, "ipv4")
    lan6 = imp.peering_lan(vlan, decl, "ipv6")
    usable, skipped, file_rs_asn = imp.candidates(lan4, lan6, vlan)  # type: ignore[arg-type]

    # -- selection (from the usable members, so the lab does not depend on what was skipped)
    if members is not None:
        at_ixp = {doc["member_list"][i]["asnum"] for i in imp.members_at_ixp}
        missing = [a for a in dict.fromkeys(members) if a not in at_ixp]
        if missing:
            listing = ", ".join(f"AS{a}" for a in missing)
            known = sorted(at_ixp)
            shown = ", ".join(map(str, known[:12])) + (", ..." if len(known) > 12 else "")
            raise LabctlError(f"{source}: not members of IXP {ixp.label} (ixp_id {ixp.ixp_id}): {listing}",
                              f"members there include: {shown or 'none'}")
        wanted = set(members)
        selected = [c for c in usable if c.asn in wanted]
        skipped = [s for s in skipped if s.asn in wanted]
        selection = "members " + ",".join(str(a) for a in dict.fromkeys(members))
    elif sample is not None:
        ranked = sorted(usable, key=lambda c: _stable_key(c.asn, c.name))[:sample]
        keep = {c.index for c in ranked}
        selected = [c for c in usable if c.index in keep]
        selection = f"sample {sample}"
        if sample > len(usable):
            imp.notes.append(f"sample of {sample} asked, {len(usable)} members usable: all imported")
    else:
        selected = list(usable)
        selection = "all"
    if not selected:
        first = "; ".join(s.render() for s in skipped[:3])
        raise LabctlError(f"{source}: no member of IXP {ixp.label} could be imported"
                          + (f" ({len(skipped)} skipped: {first}{' ...' if len(skipped) > 3 else ''})" if skipped else ""),
                          "check --ixp-id/--vlan-id, or the member addresses in the file")

    # -- sites (computed over every usable member so a sample keeps the same names)
    site_names, site_desc = _site_plan(ixp.data, usable)
    reserved = {rs for rs, _ in ROUTE_SERVERS} | {f"sw-{s}" for s in site_names.values()} | {"sw-main"}
    _name_nodes(usable, reserved)
    member_site: dict[int, str] = {}
    counts: Counter[str] = Counter()
    for c in selected:
        if c.site_key is not None:
            member_site[c.index] = site_names[c.site_key]
            counts[member_site[c.index]] += 1
    order = list(dict.fromkeys(member_site[c.index] for c in selected if c.index in member_site))
    homeless = [c for c in selected if c.index not in member_site]
    if homeless:
        if order:
            biggest = min(order, key=lambda s: (-counts[s], order.index(s)))
            for c in homeless:
                member_site[c.index] = biggest
                c.notes.append(f"no switch in the file: placed at site {biggest}")
            counts[biggest] += len(homeless)
            imp.notes.append(f"{len(homeless)} member(s) name no switch: placed at the busiest site, {biggest}")
        else:
            for c in homeless:
                member_site[c.index] = "main"
            counts["main"] = len(homeless)
            order = ["main"]
            site_desc["main"] = "single site: the IX-F file names no switches"
    by_size = sorted(order, key=lambda s: (-counts[s], order.index(s)))
    hub = by_size[0]
    trunks = [{"between": [hub, s]} for s in order if s != hub]

    # -- route servers: ASN from the file when it marks them, free LAN addresses
    all_asns = {c.asn for c in usable}
    if file_rs_asn is not None:
        rs_asn = file_rs_asn
        imp.notes.append(f"route-server ASN {rs_asn} taken from the IXP's route servers in the file")
    else:
        rs_asn = DEFAULT_RS_ASN
        while rs_asn in all_asns:
            rs_asn -= 1
        imp.notes.append(f"the file does not mark the IXP's route servers: route-server ASN {rs_asn} (lab default)")
    used4 = set(imp.vlan_addresses(vlan, "ipv4"))
    used6 = set(imp.vlan_addresses(vlan, "ipv6"))
    rs4, rs6 = list(_free_hosts(lan4, used4, 2)), list(_free_hosts(lan6, used6, 2))
    if len(rs4) < 2 or len(rs6) < 2:
        raise LabctlError(f"{source}: the peering LAN ({lan4}, {lan6}) has no two free addresses for the route servers",
                          "choose another VLAN with --vlan-id")
    for fam, lan, rs_addrs in (("ipv4", lan4, rs4), ("ipv6", lan6, rs6)):
        missing_fam = sum(1 for c in selected if getattr(c, fam) is None)
        explicit = sum(1 for c in selected if getattr(c, fam) is not None) + 2
        if missing_fam and _host_count(lan) - explicit < missing_fam:
            raise LabctlError(f"{source}: {missing_fam} member(s) have no IPv{fam[-1]} address and the LAN {lan} "
                              "has no room to assign them one", "import fewer members (--sample) or another VLAN")
    rs_sites = [by_size[0], by_size[1] if len(by_size) > 1 else by_size[0]]

    # -- lab prefixes: one /24 and one /48 per usable member, in input order
    spaces4 = DEFAULT_LAB_SPACE4
    room4 = sum(1 for _ in islice(_lab_subnets(DEFAULT_LAB_SPACE4, 24, lan4), len(usable) + 1))
    if len(usable) > room4:
        spaces4 = WIDE_LAB_SPACE4
        imp.notes.append(f"{len(usable)} usable members do not fit {DEFAULT_LAB_SPACE4[0]} (one /24 each): "
                         f"lab prefix space widened to {', '.join(map(str, WIDE_LAB_SPACE4))}")
    nets4 = list(islice(_lab_subnets(spaces4, 24, lan4), len(usable)))
    nets6 = list(islice(_lab_subnets(LAB_SPACE6, 48, lan6), len(usable)))
    if len(nets4) < len(usable) or len(nets6) < len(usable):
        raise LabctlError(f"{source}: {len(usable)} usable members do not fit the lab prefix space "
                          f"({', '.join(map(str, spaces4))}; {LAB_SPACE6[0]})", "import fewer members with --sample")
    rank = {c.index: k for k, c in enumerate(usable)}

    # -- the document
    ixp_name = ixp.data.get("name") or ixp.data.get("shortname") or ""
    ix_name = _slug(ixp.data.get("shortname") or ixp.data.get("name") or "", 24)
    if not ix_name or not _NAME_RE.match(ix_name):
        ix_name = f"ixp{ixp.ixp_id}"[:24]
    sites_out = [{"name": s, "description": site_desc.get(s, "")} for s in order]
    rs_out = [{"name": n, "daemon": d, "site": rs_sites[k], "ipv4": str(rs4[k]), "ipv6": str(rs6[k])}
              for k, (n, d) in enumerate(ROUTE_SERVERS)]
    members_out, imported = [], []
    multi = 0
    for k, c in enumerate(selected):
        daemon = "frr" if k % 2 == 0 else "bird"
        prefixes = [str(nets4[rank[c.index]]), str(nets6[rank[c.index]])]
        desc = [c.name or "(no name in the IX-F file)"]
        if c.macros:
            desc.append("as-macro " + ", ".join(c.macros))
        desc.append(f"IX-F member_list[{c.index}]")
        entry: dict[str, Any] = {"name": c.node, "description": "; ".join(desc), "asn": c.asn,
                                 "site": member_site[c.index], "daemon": daemon}
        if c.ipv4 is not None:
            entry["ipv4"] = str(c.ipv4)
        if c.ipv6 is not None:
            entry["ipv6"] = str(c.ipv6)
        entry["prefixes"] = prefixes
        if c.max_prefix:
            entry["max_prefix"] = {"ipv4": c.max_prefix.get("ipv4", 100), "ipv6": c.max_prefix.get("ipv6", 100)}
        members_out.append(entry)
        multi += any("connections at this IXP" in n for n in c.notes)
        imported.append(ImportedMember(c.index, c.asn, c.name, c.node, member_site[c.index], daemon,
                                       entry.get("ipv4"), entry.get("ipv6"), tuple(prefixes), tuple(c.notes)))
    if multi:
        imp.notes.append(f"{multi} member(s) have several connections at this IXP: the first usable one was taken")
    no_flag = sum(1 for c in selected if not c.rs_flag_given)
    if no_flag:
        imp.notes.append(f"{no_flag} member(s) do not say whether they use the route servers: "
                         "the lab makes them route-server clients")
    ix: dict[str, Any] = {
        "name": ix_name,
        "description": f"{ixp_name}, ixp_id {ixp.ixp_id}, VLAN {imp._vlan_label(vlan)}: imported from an IX-F export",
        "route_server_asn": rs_asn,
        "peering_lan": {"ipv4": str(lan4), "ipv6": str(lan6)},
        "lab_prefix_space": {"ipv4": [str(p) for p in spaces4], "ipv6": [str(p) for p in LAB_SPACE6]},
    }
    body = _dump({"ix": ix, "sites": sites_out, "trunks": trunks, "route_servers": rs_out, "members": members_out})
    if not trunks:
        body = body.replace("trunks: []\n", "trunks: []  # a single site needs none\n")
    members_in_file = len(doc["member_list"])
    header = [
        f"Imported by `labctl import ixf` from {source}",
        f"  IX-F schema {version}, exported {doc.get('timestamp') or '(no timestamp)'}; "
        f"IXP {ixp.label} (ixp_id {ixp.ixp_id}), VLAN {imp._vlan_label(vlan)}",
        f"  {len(selected)} member(s) imported ({selection}); {len(usable)} usable of {len(imp.members_at_ixp)} "
        f"at this IXP; {len(skipped)} skipped",
        "Members keep their real ASNs and peering-LAN addresses. The prefixes they announce are lab",
        "ranges allocated in input order, not their real routes. rs1/rs2 are the lab's route servers",
        "on free LAN addresses. Re-running the import on the same file gives the same lab.",
    ]
    if skipped:
        header.append("Skipped:")
        header += [f"  {s.render()}" for s in skipped]
    text = "\n".join(_comment(h) for h in header) + "\n" + body

    from labctl.model.load import ModelErrors, load_text

    try:
        model = load_text(text, filename=f"<ix.yml imported from {source}>")
    except ModelErrors as exc:
        raise LabctlError("importer bug: the generated ix.yml does not validate:\n" + exc.render(),
                          "please report this together with the IX-F file") from None
    return ImportResult(text, model, source, version, ixp.ixp_id, ixp.label, vlan, selection, members_in_file,
                        len(imp.members_at_ixp), len(usable), imported, skipped, imp.notes)
