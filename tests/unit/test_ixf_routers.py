"""`labctl import ixf` keeps every connection (issue 11): each usable connection of a member, and
each address pair of a connection with several, is a router of that member; what cannot be used
is reported with its JSON location, in the summary, the ix.yml header and `--json`."""

from __future__ import annotations

import copy
import json
import re
from ipaddress import ip_address
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.importers import NoteKind, import_ixf
from labctl.importers.command import import_app
from labctl.model.load import load_text
from labctl.model.schema import NAME_PATTERN
from labctl.plan import build_plan
from labctl.render import render_lab

REAL = Path(__file__).parents[1] / "fixtures" / "ixf" / "real"  # byte copies of the shared exports


def rs_client_sessions(data: dict) -> set[tuple[int, str]]:
    """(ASN, address) of every route-server client session the export describes, computed from the
    JSON alone: each address on the IXP's one peering VLAN whose entry does not say routeserver: false
    (these 0.6 exports never say; absent means a client, as the importer assumes and notes), that is
    a valid address of its family, and that no earlier entry uses."""
    [ixp] = data["ixp_list"]
    [vlan] = ixp["vlan"]
    out, seen = set(), set()
    for member in data["member_list"]:
        for conn in member["connection_list"]:
            if conn["ixp_id"] != ixp["ixp_id"] or conn.get("state", "active") not in ("active", None):
                continue
            for entry in conn["vlan_list"]:
                for fam, version in (("ipv4", 4), ("ipv6", 6)):
                    info = entry.get(fam) if entry.get("vlan_id", vlan["id"]) == vlan["id"] else None
                    if not info or not info.get("address") or info.get("routeserver") is False:
                        continue
                    addr = ip_address(info["address"])
                    if addr.version == version and addr not in seen:
                        seen.add(addr)
                        out.add((member["asnum"], str(addr)))
    return out


@pytest.mark.parametrize("name, members, multi, routers, sessions", [
    ("gr-ix.json", 28, 11, 39, 74),
    ("bcix.json", 81, 13, 95, 182),
])
def test_real_exports_keep_every_route_server_session(name, members, multi, routers, sessions):
    data = json.loads((REAL / name).read_text())
    expected = rs_client_sessions(data)
    assert len(expected) == sessions
    r = import_ixf(REAL / name)
    model = load_text(r.text)  # the import validates
    assert model == r.model
    lab = {(x.asn, str(a)) for x in model.member_routers() for a in (x.ipv4, x.ipv6) if a is not None}
    assert lab == expected
    # ... and every one of them is a session of each route server in the plan
    plan = build_plan(model)
    for rs in ("rs1", "rs2"):
        got = {(s.peer_asn, s.peer_address) for s in plan.nodes[rs].sessions}
        assert expected <= got, sorted(expected - got)[:5]
    assert (len(model.members), len(model.member_routers())) == (members, routers)
    assert sum(1 for m in model.members if m.routers) == multi
    assert r.skipped == [] and r.skipped_parts == []
    # routers lacking a family in the file get a lab address (the model assigns it), and say so
    lacking = sum(1 for x in model.member_routers() for a in (x.ipv4, x.ipv6) if a is None)
    assert lacking == sum(1 for m in r.imported for n in m.notes if n.kind is NoteKind.ADDRESS_ASSIGNED)


def test_real_export_plans_a_node_per_router():
    r = import_ixf(REAL / "gr-ix.json")
    plan = build_plan(r.model)
    members = plan.by_role("member")
    assert len(members) == 39
    microsoft = sorted((n.name, n.asn, str(n.ipv4)) for n in members if n.asn == 8075)
    assert microsoft == [("microsoft-1", 8075, "176.126.38.18"), ("microsoft-2", 8075, "176.126.38.28")]
    assert (plan.nodes["rs1"].daemon, plan.nodes["rs2"].daemon) == ("bird", "bird3")
    files = render_lab(plan, "labctl/node:test")
    for rs in ("rs1", "rs2"):  # both route servers have a session with each of the member's routers
        conf = files[f"configs/{rs}/bird.conf"]
        assert "176.126.38.18" in conf and "176.126.38.28" in conf and "2001:7f8:6e::28" in conf


# --------------------------------------------------------------------------- small synthetic exports


def export(*members: dict, switches=({"id": 1, "name": "sw-a", "city": "Okayama"},
                                     {"id": 2, "name": "sw-b", "city": "Kurashiki"})) -> dict:
    return {"version": "1.0", "timestamp": "2026-12-01T00:00:00Z",
            "ixp_list": [{"ixp_id": 1, "shortname": "Two Sites", "switch": list(switches),
                          "vlan": [{"id": 10, "ipv4": {"prefix": "203.0.113.0", "mask_length": 24},
                                    "ipv6": {"prefix": "2001:db8:ffff::", "mask_length": 64}}]}],
            "member_list": list(members)}


def conn(switch: int | None, *entries: tuple, state: str | None = None) -> dict:
    """A connection at IXP 1; each entry (ipv4, ipv6) is one VLAN-10 entry (None: that family absent)."""
    out = {"ixp_id": 1, "vlan_list": []}
    if switch is not None:
        out["if_list"] = [{"switch_id": switch}]
    if state:
        out["state"] = state
    for v4, v6 in entries:
        e = {"vlan_id": 10}
        if v4:
            e["ipv4"] = {"address": v4, "routeserver": True}
        if v6:
            e["ipv6"] = {"address": v6, "routeserver": True}
        out["vlan_list"].append(e)
    return out


def member(asn: int, name: str, *conns: dict) -> dict:
    return {"asnum": asn, "name": name, "connection_list": list(conns)}


SINGLE = member(64497, "Seto Cable", conn(2, ("203.0.113.20", "2001:db8:ffff::20")))


def test_two_connections_at_two_switches_are_two_routers_at_two_sites():
    data = export(member(64496, "Kibi Net", conn(1, ("203.0.113.10", "2001:db8:ffff::10")),
                         conn(2, ("203.0.113.11", "2001:db8:ffff::11"))), SINGLE)
    r = import_ixf(data, source="x.json")
    kibi, seto = r.model.members
    assert (kibi.name, kibi.asn, kibi.site, kibi.ipv4, kibi.same_site) == ("kibi-net", 64496, None, None, False)
    assert [(x.name, x.site, str(x.ipv4), str(x.ipv6)) for x in kibi.routers] == [
        ("kibi-net-1", "okayama", "203.0.113.10", "2001:db8:ffff::10"),
        ("kibi-net-2", "kurashiki", "203.0.113.11", "2001:db8:ffff::11")]
    assert [x.daemon or kibi.daemon for x in kibi.routers] == ["frr", "bird"]  # routers alternate too
    assert not seto.routers and seto.site == "kurashiki"  # one router: today's one-router form
    assert "routers:" not in r.text.split("name: seto-cable")[1]
    imported = r.imported[0]
    assert [(x.node, x.site, x.location) for x in imported.routers] == [
        ("kibi-net-1", "okayama", "member_list[0].connection_list[0]"),
        ("kibi-net-2", "kurashiki", "member_list[0].connection_list[1]")]
    assert [n.message for n in imported.notes if n.kind is NoteKind.SEVERAL_CONNECTIONS] == [
        "2 usable connections at this IXP: one router each"]
    # one prefix space for the member, announced by both routers
    plan = build_plan(r.model)
    assert plan.nodes["kibi-net-1"].prefixes == plan.nodes["kibi-net-2"].prefixes
    assert {s.peer for s in plan.nodes["rs1"].sessions} == {"kibi-net-1", "kibi-net-2", "seto-cable"}


def test_two_address_pairs_on_one_connection_are_two_routers():
    data = export(member(64496, "Kibi Net", conn(1, ("203.0.113.10", "2001:db8:ffff::10"),
                                                 ("203.0.113.11", "2001:db8:ffff::11"))), SINGLE)
    r = import_ixf(data, source="x.json")
    kibi = r.model.members[0]
    assert kibi.same_site  # two ports at one site: said so, or validate would refuse it
    assert [(x.name, x.site, str(x.ipv4), str(x.ipv6)) for x in kibi.routers] == [
        ("kibi-net-1", "okayama", "203.0.113.10", "2001:db8:ffff::10"),
        ("kibi-net-2", "okayama", "203.0.113.11", "2001:db8:ffff::11")]
    assert [x.location for x in r.imported[0].routers] == ["member_list[0].connection_list[0].vlan_list[0]",
                                                           "member_list[0].connection_list[0].vlan_list[1]"]


def test_single_family_entries_pair_in_file_order_and_a_lonely_address_gets_a_lab_partner():
    # the 0.6 style: one family per VLAN entry; three IPv4 and two IPv6 addresses -> three routers
    entries = [("203.0.113.10", None), (None, "2001:db8:ffff::10"), ("203.0.113.11", None),
               (None, "2001:db8:ffff::11"), ("203.0.113.12", None)]
    r = import_ixf(export(member(64496, "Kibi Net", conn(1, *entries)), SINGLE), source="x.json")
    routers = r.imported[0].routers
    assert [(x.ipv4, x.ipv6) for x in routers] == [("203.0.113.10", "2001:db8:ffff::10"),
                                                   ("203.0.113.11", "2001:db8:ffff::11"), ("203.0.113.12", None)]
    [note] = [n for n in r.imported[0].notes if n.kind is NoteKind.ADDRESS_ASSIGNED]
    assert note.location == "member_list[0].connection_list[0].vlan_list[4]" and "no IPv6 address" in note.message
    assert r.model.member_routers()[2].ipv6 is None  # left to the model's assignment


def test_unusable_second_connection_is_listed_with_its_location(tmp_path):
    data = export(member(64496, "Kibi Net", conn(1, ("203.0.113.10", "2001:db8:ffff::10")),
                         conn(2, ("203.0.113.11", "2001:db8:ffff::11"), state="inactive"),
                         conn(2, ("198.51.100.7", None))), SINGLE)
    r = import_ixf(data, source="x.json")
    kibi = r.model.members[0]
    assert not kibi.routers and kibi.site == "okayama"  # one usable connection: the one-router form
    assert [(p.asn, p.what, p.location, p.reason) for p in r.skipped_parts] == [
        (64496, "connection", "member_list[0].connection_list[1].state", "connection state is 'inactive'"),
        (64496, "address", "member_list[0].connection_list[2].vlan_list[0].ipv4.address",
         "198.51.100.7 is outside the peering LAN 203.0.113.0/24")]
    src = tmp_path / "x.json"
    src.write_text(json.dumps(data))
    res = CliRunner().invoke(import_app, ["ixf", str(src), "-o", str(tmp_path / "ix.yml")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "skipped: none" not in text
    assert ("AS64496 Kibi Net: connection at member_list[0].connection_list[1].state: "
            "connection state is 'inactive'") in text
    assert "address at member_list[0].connection_list[2].vlan_list[0].ipv4.address: 198.51.100.7 is outside" in text
    assert "member_list[0].connection_list[1].state" in (tmp_path / "ix.yml").read_text()  # the header too


def test_json_summary_carries_skipped_connections_and_routers(tmp_path):
    data = export(member(64496, "Kibi Net", conn(1, ("203.0.113.10", "2001:db8:ffff::10")),
                         conn(2, ("203.0.113.11", "2001:db8:ffff::11")),
                         conn(2, ("203.0.113.12", None), state="disconnected")), SINGLE)
    src = tmp_path / "x.json"
    src.write_text(json.dumps(data))
    res = CliRunner().invoke(import_app, ["ixf", str(src), "-o", str(tmp_path / "ix.yml"), "--json"])
    out = json.loads(res.output)
    assert out["ok"] and out["counts"]["routers"] == 3 and out["counts"]["skipped_connections"] == 1
    assert out["skipped_connections"] == [{
        "index": 0, "asn": 64496, "name": "Kibi Net", "what": "connection",
        "location": "member_list[0].connection_list[2].state", "reason": "connection state is 'disconnected'"}]
    kibi = out["imported"][0]
    assert [(x["node"], x["site"], x["ipv4"]) for x in kibi["routers"]] == [
        ("kibi-net-1", "okayama", "203.0.113.10"), ("kibi-net-2", "kurashiki", "203.0.113.11")]
    assert {s["name"]: (s["members"], s["routers"]) for s in out["sites"]} == {"okayama": (1, 1), "kurashiki": (2, 2)}
    assert any(n["kind"] == "route-server-daemons" for n in out["note_details"])


def test_a_non_client_connection_is_a_skipped_connection_not_a_router():
    data = export(member(64496, "Kibi Net", conn(1, ("203.0.113.10", "2001:db8:ffff::10")),
                         conn(2, ("203.0.113.11", "2001:db8:ffff::11"))), SINGLE)
    for fam in ("ipv4", "ipv6"):
        data["member_list"][0]["connection_list"][1]["vlan_list"][0][fam]["routeserver"] = False
    r = import_ixf(data, source="x.json")
    assert len(r.model.member_routers()) == 2  # kibi's first connection and seto
    [p] = r.skipped_parts
    assert (p.what, p.location) == ("connection", "member_list[0].connection_list[1]") and "routeserver: false" in p.reason


def test_an_address_repeated_by_one_member_is_skipped_once():
    data = export(member(64496, "Kibi Net", conn(1, ("203.0.113.10", "2001:db8:ffff::10")),
                         conn(2, ("203.0.113.10", "2001:db8:ffff::11"))), SINGLE)
    r = import_ixf(data, source="x.json")
    [p] = r.skipped_parts
    assert p.location == "member_list[0].connection_list[1].vlan_list[0].ipv4.address"
    assert p.reason == ("203.0.113.10 is listed twice for this member "
                        "(first at member_list[0].connection_list[0].vlan_list[0].ipv4.address)")
    assert [(x.ipv4, x.ipv6) for x in r.imported[0].routers] == [("203.0.113.10", "2001:db8:ffff::10"),
                                                                 (None, "2001:db8:ffff::11")]


def test_router_names_are_unique_short_and_stable():
    long = "Very Long Network Operator Name International"
    data = export(member(64500, "kibi-1", conn(1, ("203.0.113.5", None))),  # takes the name a router would get
                  member(64496, "Kibi", conn(1, ("203.0.113.10", None)), conn(2, ("203.0.113.11", None))),
                  member(64497, long, *[conn(1, (f"203.0.113.{20 + k}", None)) for k in range(10)]),
                  member(64498, "Kibi", conn(2, ("203.0.113.40", None))))
    r = import_ixf(data, source="x.json")
    names = [x.name for x in r.model.member_routers()]
    assert names[:3] == ["kibi-1", "as64496-1", "as64496-2"]  # "kibi" would collide with kibi-1: as<ASN>
    assert names[3:13] == [f"very-long-network-{k}" for k in range(1, 11)]  # <= 24 characters with the suffix
    assert names[13] == "kibi"
    all_names = names + [m.name for m in r.model.members] + ["rs1", "rs2"]
    assert all(re.match(NAME_PATTERN, n) for n in all_names)
    node_names = names + [m.name for m in r.model.members if m.routers]
    assert len(node_names) == len(set(node_names))
    assert import_ixf(copy.deepcopy(data), source="x.json").text == r.text
    # a sample keeps every name it has in the whole import
    sample = import_ixf(data, source="x.json", sample=2)
    whole = {x.name for x in r.model.member_routers()}
    assert {x.name for x in sample.model.member_routers()} <= whole
