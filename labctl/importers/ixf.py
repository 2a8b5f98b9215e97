"""Import an IX-F Member Export (JSON, schema 0.6 to 1.0) as ix.yml text.

One job: IX-F JSON in, ix.yml text out (plus a report of what was taken and what was not).
The result always passes `labctl.model.load.load_text`; the importer checks that itself.

What is kept from the file and what the lab makes up:

* kept: each member's ASN, name, route-server flag, max-prefix limits and AS macro (as a note in
  `description`); every usable connection of a member (and every address pair of a connection
  with several) as one of its routers, with its peering-LAN addresses on the chosen VLAN and the
  switch/city it connects at; the VLAN's peering-LAN prefixes; the IXP's route-server ASN when the
  file marks its route servers.
* made up, deterministically: the prefixes members announce (one IPv4 /24 and one IPv6 /48 each
  from the lab prefix space, in input order: real routes are never invented), node names
  (slug of the member name, else `as<ASN>`; routers `<name>-1`, `<name>-2`, ...), the daemons
  (`ixf_layout.choose_daemons`: route servers by size), the lab's
  two route servers (on free LAN addresses) and the trunks (a star from the busiest site).

The steps, one function each: read the file (`ixf_schema`: typed, tolerant models), choose the
IXP and VLAN, collect the members (`ixf_members`), select (all, a sample or a list), lay out the
lab (`ixf_layout`: sites, names, daemons, route servers, prefixes), emit the YAML, validate it.

Members, connections and addresses that cannot be imported are reported with the reason and the
JSON location, never dropped silently. Bad files raise `LabctlError` naming the file and the JSON location.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labctl.errors import LabctlError
from labctl.importers.ixf_layout import (DEFAULT_LAB_SPACE4, LAB_SPACE6, ROUTE_SERVER_NAMES, WIDE_LAB_SPACE4, NAME_RE,
                                         DaemonChoice, LabPrefixes, SiteLayout, assign_lab_prefixes, check_room,
                                         choose_daemons, free_hosts, name_nodes, name_sites, place_members,
                                         route_server_asn, slug)
from labctl.importers.ixf_members import (Candidate, IxpView, MemberCollector, MemberPool, Network, RouterCandidate,
                                          fail, read_members)
from labctl.importers.ixf_result import (ImportedMember, ImportedRouter, ImportNote, ImportResult, MemberCounts,
                                         NoteKind, SkippedMember, SkippedPart)
from labctl.importers.ixf_schema import MAX_PROBLEMS, Envelope, Ixp, json_type, read_as
from labctl.model.schema import IxModel

__all__ = ["DEFAULT_LAB_SPACE4", "WIDE_LAB_SPACE4", "LAB_SPACE6", "ImportNote", "ImportResult", "ImportedMember",
           "ImportedRouter", "NoteKind", "SkippedMember", "SkippedPart", "choose_daemons", "import_ixf",
           "parse_members_option"]

MIN_VERSION, MAX_VERSION = (0, 6), (1, 0)
SCHEMA_HINT = "the format is the IX-F Member Export, https://github.com/euro-ix/json-schemas"


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


# --------------------------------------------------------------------------- reading the file


def _read(data: dict | str | Path, source: str | None) -> tuple[Any, str]:
    if isinstance(data, dict):
        return data, source or "<IX-F data>"
    path = Path(data)
    name = source or str(path)
    hint = "pass the path of an IX-F member export (JSON)"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LabctlError(f"{name}: no such file", hint) from None
    except IsADirectoryError:
        raise LabctlError(f"{name}: is a folder, not a file", hint) from None
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


def _check_version(doc: Any, source: str) -> str:
    if not isinstance(doc, dict):
        raise fail(source, "", f"the top level must be a JSON object, got {json_type(doc)}",
                   f"is this an IX-F member export? {SCHEMA_HINT}")
    if "version" not in doc:
        if "ixp_list" not in doc and "member_list" not in doc:
            raise fail(source, "", "not an IX-F member export (no 'version', 'ixp_list' or 'member_list')", SCHEMA_HINT)
        raise fail(source, ("version",), "required key is missing", "IX-F exports say their schema version, e.g. \"1.0\"")
    raw = doc["version"]
    text = str(raw) if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else None
    match = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.\d+)?\s*", text or "")
    if not match:
        raise fail(source, ("version",), f"{json.dumps(raw)} is not a schema version such as \"1.0\"", SCHEMA_HINT)
    if not MIN_VERSION <= (int(match[1]), int(match[2])) <= MAX_VERSION:
        raise fail(source, ("version",), f"IX-F schema version {text.strip()} is not supported",
                   "this importer reads versions 0.6 to 1.0; ask the IXP for a 1.0 export")
    return text.strip()


def _read_envelope(doc: dict, source: str) -> Envelope:
    """The frame of the file (IXPs, the member list); members are read one by one later."""
    envelope = read_as(Envelope, doc, ())
    if isinstance(envelope, Envelope):
        return envelope
    hint = f"fix the file or export it again; {SCHEMA_HINT}"
    if len(envelope) == 1:
        raise fail(source, envelope[0].loc, envelope[0].message, hint)
    shown = envelope[:MAX_PROBLEMS]
    more = f" (first {MAX_PROBLEMS} shown)" if len(envelope) > MAX_PROBLEMS else ""
    lines = "\n".join(f"  {p.location or '<top>'}: {p.message}" for p in shown)
    raise LabctlError(f"{source}: not a valid IX-F export, {len(envelope)} problem(s){more}:\n{lines}", hint)


def _choose_ixp(envelope: Envelope, ixp_id: int | None, source: str) -> tuple[int, Ixp]:
    ixps = envelope.ixp_list
    choices = ", ".join(f"{x.ixp_id} ({x.label})" for x in ixps)
    if not ixps:
        raise fail(source, ("ixp_list",), "the list is empty: the file names no IXP", "export the file again")
    if ixp_id is None:
        if len(ixps) > 1:
            raise fail(source, ("ixp_list",), f"the file describes {len(ixps)} IXPs: {choices}",
                       f"choose one with --ixp-id, e.g. --ixp-id {ixps[0].ixp_id}")
        return 0, ixps[0]
    for k, x in enumerate(ixps):
        if x.ixp_id == ixp_id:
            return k, x
    raise fail(source, ("ixp_list",), f"no IXP with ixp_id {ixp_id}; the file has {choices}",
               "pass one of those to --ixp-id")


# --------------------------------------------------------------------------- selection


def _stable_key(asn: int, name: str) -> bytes:
    return hashlib.sha256(f"{asn}\x00{name}".encode()).digest()


@dataclass
class _Selection:
    members: list[Candidate]
    label: str  # "all", "sample N", "members A,B"
    skipped: list[SkippedMember]  # the skipped members the selection concerns

    @property
    def skipped_parts(self) -> list[SkippedPart]:
        """Connections and addresses of the selected members that are not in the lab."""
        return [p for c in self.members for p in c.skipped]


def _select(view: IxpView, pool: MemberPool, sample: int | None, members: list[int] | None,
            notes: list[ImportNote]) -> _Selection:
    """Everything usable, a stable sample of it, or exactly the ASNs asked for (from the usable members,
    so the lab does not depend on what was skipped)."""
    usable = pool.usable
    if members is not None:
        at_ixp = {m.asn for m in view.members if m.asn is not None}
        missing = [a for a in dict.fromkeys(members) if a not in at_ixp]
        if missing:
            known = sorted(at_ixp)
            shown = ", ".join(map(str, known[:12])) + (", ..." if len(known) > 12 else "")
            raise LabctlError(f"{view.source}: not members of IXP {view.ixp.label} (ixp_id {view.ixp.ixp_id}): "
                              + ", ".join(f"AS{a}" for a in missing), f"members there include: {shown or 'none'}")
        wanted = set(members)
        return _Selection([c for c in usable if c.asn in wanted],
                          "members " + ",".join(str(a) for a in dict.fromkeys(members)),
                          [s for s in pool.skipped if s.asn in wanted])
    if sample is not None:
        keep = {c.index for c in sorted(usable, key=lambda c: _stable_key(c.asn, c.name))[:sample]}
        if sample > len(usable):
            notes.append(ImportNote(NoteKind.SAMPLE_ALL, "",
                                    f"sample of {sample} asked, {len(usable)} members usable: all imported"))
        return _Selection([c for c in usable if c.index in keep], f"sample {sample}", pool.skipped)
    return _Selection(list(usable), "all", pool.skipped)


def _require_members(view: IxpView, selection: _Selection) -> None:
    if selection.members:
        return
    skipped = selection.skipped
    first = "; ".join(s.render() for s in skipped[:3])
    raise LabctlError(f"{view.source}: no member of IXP {view.ixp.label} could be imported"
                      + (f" ({len(skipped)} skipped: {first}{' ...' if len(skipped) > 3 else ''})" if skipped else ""),
                      "check --ixp-id/--vlan-id, or the member addresses in the file")


# --------------------------------------------------------------------------- the lab


@dataclass
class _Lab:
    """Everything the ix.yml says, before it is written."""

    view: IxpView
    vlan: int | None
    lans: dict[str, Network]
    selection: _Selection
    pool: MemberPool
    sites: SiteLayout
    daemons: DaemonChoice
    routers: list[RouterCandidate]  # the selected members' routers, in output order
    rs_asn: int
    rs_addresses: dict[str, list]  # family -> the route servers' addresses
    prefixes: LabPrefixes


def _route_server_addresses(view: IxpView, vlan: int | None, lans: dict[str, Network]) -> dict[str, list]:
    """The lowest LAN addresses no member in the file uses (not even the IXP's own route servers)."""
    found = {fam: free_hosts(lan, set(view.vlan_addresses(vlan, fam)), len(ROUTE_SERVER_NAMES))
             for fam, lan in lans.items()}
    if any(len(x) < len(ROUTE_SERVER_NAMES) for x in found.values()):
        raise LabctlError(f"{view.source}: the peering LAN ({lans['ipv4']}, {lans['ipv6']}) has no two free "
                          "addresses for the route servers", "choose another VLAN with --vlan-id")
    return found


def _lay_out(view: IxpView, vlan: int | None, lans: dict[str, Network], pool: MemberPool, selection: _Selection,
             notes: list[ImportNote]) -> _Lab:
    """Sites, node names, daemons, route servers and lab prefixes around the selected members."""
    site_names, descriptions = name_sites(view.ixp, pool.usable)  # over every usable member: stable in samples
    name_nodes(pool.usable, {*ROUTE_SERVER_NAMES, *(f"sw-{s}" for s in site_names.values()), "sw-main"})
    sites = place_members(selection.members, site_names, descriptions, notes)
    rs_asn = route_server_asn(pool.rs_asn, pool.usable, notes)
    rs_addresses = _route_server_addresses(view, vlan, lans)
    check_room(view.source, lans, selection.members)
    prefixes = assign_lab_prefixes(view.source, pool.usable, lans, notes)
    routers = [r for c in selection.members for r in c.routers]
    daemons = choose_daemons(len(routers))
    for r, daemon in zip(routers, daemons.routers):
        r.daemon = daemon
    notes.append(ImportNote(NoteKind.ROUTE_SERVER_DAEMONS, "", daemons.reason))
    return _Lab(view, vlan, lans, selection, pool, sites, daemons, routers, rs_asn, rs_addresses, prefixes)


def _description(c: Candidate, where: str) -> str:
    desc = [c.name or "(no name in the IX-F file)"]
    if c.macros:
        desc.append("as-macro " + ", ".join(c.macros))
    desc.append(f"IX-F {where}")
    return "; ".join(desc)


def _addresses(r: RouterCandidate) -> dict[str, str]:
    return {fam: str(addr) for fam in ("ipv4", "ipv6") if (addr := getattr(r, fam)) is not None}


def _member_yaml(lab: _Lab, c: Candidate) -> dict[str, Any]:
    """One router: today's one-router form. Several: the member with `routers` (and `same_site`
    when two of them are at one site, which the file says: two ports there)."""
    first = c.routers[0]
    entry: dict[str, Any] = {"name": c.node, "description": _description(c, f"member_list[{c.index}]"), "asn": c.asn}
    if len(c.routers) == 1:
        entry.update({"site": first.site, "daemon": first.daemon, **_addresses(first)})
    else:
        entry["daemon"] = first.daemon
        sites = [r.site for r in c.routers]
        if len(set(sites)) < len(sites):
            entry["same_site"] = True
    entry["prefixes"] = list(lab.prefixes.by_member[c.index])
    if c.max_prefix:
        entry["max_prefix"] = {"ipv4": c.max_prefix.get("ipv4", 100), "ipv6": c.max_prefix.get("ipv6", 100)}
    if len(c.routers) > 1:
        entry["routers"] = [{"name": r.node, "site": r.site, **({"daemon": r.daemon} if r.daemon != first.daemon else {}),
                             **_addresses(r), "description": _description(c, r.location)} for r in c.routers]
    return entry


def _imported(lab: _Lab) -> list[ImportedMember]:
    out = []
    for c in lab.selection.members:
        routers = tuple(ImportedRouter(r.node, r.site, r.daemon, r.ipv4 and str(r.ipv4), r.ipv6 and str(r.ipv6),
                                       r.location) for r in c.routers)
        first = routers[0]
        out.append(ImportedMember(c.index, c.asn, c.name, c.node, first.site, first.daemon, first.ipv4, first.ipv6,
                                  lab.prefixes.by_member[c.index], tuple(c.notes), routers))
    return out


def _summary_notes(lab: _Lab, notes: list[ImportNote]) -> None:
    """Notes that count over the selected members (by kind, never by searching their text)."""
    selected = lab.selection.members
    multi = [c for c in selected if len(c.routers) > 1]
    if multi:
        notes.append(ImportNote(NoteKind.SEVERAL_CONNECTIONS, "",
                                f"{len(multi)} member(s) connect several routers ({sum(len(c.routers) for c in multi)} "
                                "routers): one per usable connection, or per address pair of a connection"))
    no_flag = sum(1 for c in selected if not c.rs_flag_given)
    if no_flag:
        notes.append(ImportNote(NoteKind.RS_CLIENT_ASSUMED, "",
                                f"{no_flag} member(s) do not say whether they use the route servers: "
                                "the lab makes them route-server clients"))


# --------------------------------------------------------------------------- writing the YAML


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: 10x faster, same output


def _dump(doc: dict) -> str:
    return "\n".join(yaml.dump({key: value}, Dumper=_DUMPER, sort_keys=False, allow_unicode=True,
                               default_flow_style=None, width=200) for key, value in doc.items())


def _comment(text: str) -> str:
    return "# " + text.replace("\n", " ").replace("\r", " ")


def _ix_name(ixp: Ixp) -> str:
    name = slug(ixp.shortname or ixp.name or "", 24)
    return name if name and NAME_RE.match(name) else f"ixp{ixp.ixp_id}"[:24]


def _body(lab: _Lab) -> str:
    ixp = lab.view.ixp
    ix = {
        "name": _ix_name(ixp),
        "description": f"{ixp.name or ixp.shortname or ''}, ixp_id {ixp.ixp_id}, VLAN {lab.view.vlan_label(lab.vlan)}: "
                       "imported from an IX-F export",
        "route_server_asn": lab.rs_asn,
        "peering_lan": {fam: str(lan) for fam, lan in lab.lans.items()},
        "lab_prefix_space": {"ipv4": [str(p) for p in lab.prefixes.space4], "ipv6": [str(p) for p in LAB_SPACE6]},
    }
    rs_sites = [lab.sites.by_size[0], lab.sites.by_size[min(1, len(lab.sites.by_size) - 1)]]
    route_servers = [{"name": n, "daemon": d, "site": rs_sites[k], "ipv4": str(lab.rs_addresses["ipv4"][k]),
                      "ipv6": str(lab.rs_addresses["ipv6"][k])} for k, (n, d) in enumerate(lab.daemons.route_servers)]
    members = [_member_yaml(lab, c) for c in lab.selection.members]
    sites = [{"name": s, "description": lab.sites.descriptions.get(s, "")} for s in lab.sites.order]
    body = _dump({"ix": ix, "sites": sites, "trunks": lab.sites.trunks, "route_servers": route_servers,
                  "members": members})
    return body if lab.sites.trunks else body.replace("trunks: []\n", "trunks: []  # a single site needs none\n")


def _header(lab: _Lab, version: str, timestamp: str | None) -> list[str]:
    view, sel = lab.view, lab.selection
    header = [
        f"Imported by `labctl import ixf` from {view.source}",
        f"  IX-F schema {version}, exported {timestamp or '(no timestamp)'}; "
        f"IXP {view.ixp.label} (ixp_id {view.ixp.ixp_id}), VLAN {view.vlan_label(lab.vlan)}",
        f"  {len(sel.members)} member(s) imported ({sel.label}) with {len(lab.routers)} router(s); "
        f"{len(lab.pool.usable)} usable of {len(view.members)} at this IXP; {len(sel.skipped)} skipped; "
        f"{len(sel.skipped_parts)} connection(s)/address(es) of imported members skipped",
        "Members keep their real ASNs and peering-LAN addresses. The prefixes they announce are lab",
        "ranges allocated in input order, not their real routes. rs1/rs2 are the lab's route servers",
        "on free LAN addresses. Re-running the import on the same file gives the same lab.",
    ]
    if sel.skipped:
        header += ["Skipped:", *(f"  {s.render()}" for s in sel.skipped)]
    if sel.skipped_parts:
        header += ["Skipped connections and addresses of imported members:", *(f"  {s.render()}" for s in sel.skipped_parts)]
    header.append(lab.daemons.reason[0].upper() + lab.daemons.reason[1:] + ".")
    return header


def _validate(text: str, source: str) -> IxModel:
    from labctl.model.load import ModelErrors, load_text

    try:
        return load_text(text, filename=f"<ix.yml imported from {source}>")
    except ModelErrors as exc:
        raise LabctlError("importer bug: the generated ix.yml does not validate:\n" + exc.render(),
                          "please report this together with the IX-F file") from None


# --------------------------------------------------------------------------- the importer


def _check_options(sample: int | None, members: list[int] | None) -> None:
    if sample is not None and members is not None:
        raise LabctlError("choose either a sample or a member list, not both", "drop --sample or --members")
    if sample is not None and sample < 1:
        raise LabctlError(f"sample size {sample} is not a positive number", "use --sample 10, for example")


def import_ixf(data: dict | str | Path, *, ixp_id: int | None = None, vlan_id: int | None = None,
               sample: int | None = None, members: list[int] | None = None,
               source: str | None = None) -> ImportResult:
    """Turn an IX-F member export into ix.yml text. See the module docstring for what is kept.

    data: the parsed JSON or a path to it. source: the name to use in messages and the header.
    sample: N members picked by a stable hash of (ASN, name); members: exactly these ASNs.
    """
    _check_options(sample, members)
    doc, source = _read(data, source)
    version = _check_version(doc, source)
    envelope = _read_envelope(doc, source)
    ixp_index, ixp = _choose_ixp(envelope, ixp_id, source)
    view = IxpView(ixp, ixp_index, read_members(envelope.member_list, ixp.ixp_id), source)
    notes: list[ImportNote] = []
    vlan = view.choose_vlan(vlan_id, notes)
    lans = {fam: view.peering_lan(vlan, fam, notes) for fam in ("ipv4", "ipv6")}
    pool = MemberCollector(view, vlan, lans).collect()
    selection = _select(view, pool, sample, members, notes)
    _require_members(view, selection)
    lab = _lay_out(view, vlan, lans, pool, selection, notes)
    _summary_notes(lab, notes)
    header = _header(lab, version, envelope.timestamp)
    text = "\n".join(_comment(h) for h in header) + "\n" + _body(lab)
    return ImportResult(text=text, model=_validate(text, source), source=source, version=version,
                        ixp_id=ixp.ixp_id, ixp_name=ixp.label, vlan_id=vlan, selection=selection.label,
                        counts=MemberCounts(in_file=len(envelope.member_list), at_ixp=len(view.members),
                                            usable=len(pool.usable)),
                        imported=_imported(lab), skipped=selection.skipped, skipped_parts=selection.skipped_parts,
                        notes=notes)
