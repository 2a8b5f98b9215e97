"""The IX-F importer on malformed exports: typed, tolerant reading, located reasons, never a traceback.

Each case starts from a good fixture and breaks one thing the way real exports do (or worse).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.errors import LabctlError
from labctl.importers import NoteKind, import_ixf
from labctl.importers.command import import_app
from labctl.importers.ixf import choose_daemons
from labctl.model.load import load_text

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ixf"
REAL = FIXTURES / "real"  # real IX-F exports shipped with the tests (tests/fixtures/README.md)
V10 = FIXTURES / "v10_two_cities.json"
KIBI = 1  # member_list[1] of v10_two_cities.json: AS64496, Kibi Net K.K., one connection, both families


def v10() -> dict:
    return json.loads(V10.read_text())


def imported(data: dict, **kw):
    result = import_ixf(data, source="x.json", **kw)
    assert load_text(result.text) == result.model
    return result


def stringify_numbers(value):
    """Every integer as a string, the way some exporters write them."""
    if isinstance(value, dict):
        return {k: stringify_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify_numbers(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def add_noise(value):
    """Keys the schema does not know everywhere, and explicit nulls for absent optional keys."""
    if isinstance(value, dict):
        out = {k: add_noise(v) for k, v in value.items()}
        out["x_vendor_extension"] = {"anything": [1, "two"]}
        for key in ("state", "if_list", "member_type", "routeserver", "as_macro", "services", "colo"):
            out.setdefault(key, None)
        return out
    if isinstance(value, list):
        return [add_noise(v) for v in value]
    return value


# --------------------------------------------------------------------------- tolerated: same lab


@pytest.mark.parametrize("bend", [stringify_numbers, add_noise, lambda d: add_noise(stringify_numbers(d))],
                         ids=["numbers-as-strings", "unknown-keys-and-nulls", "both"])
def test_bent_but_readable_exports_give_the_same_lab(bend):
    data = v10()
    bent = bend(copy.deepcopy(data))
    bent["version"] = data["version"]  # the version is a string anyway
    assert imported(bent).text == imported(data).text


def test_integral_floats_and_padded_numbers_are_read():
    data = v10()
    data["member_list"][KIBI]["asnum"] = 64496.0
    data["member_list"][KIBI]["connection_list"][0]["ixp_id"] = " 1 "
    data["ixp_list"][0]["vlan"][0]["ipv4"]["mask_length"] = "24"
    assert imported(data).text == imported(v10()).text


@pytest.mark.parametrize("name", ["gr-ix.json", "bcix.json"])
def test_real_exports_with_numbers_as_strings_give_the_same_lab(name):
    data = json.loads((REAL / name).read_text())
    bent = stringify_numbers(data)
    assert import_ixf(bent, source=name).text == import_ixf(data, source=name).text


# --------------------------------------------------------------------------- a member that cannot be read


def _kibi(d: dict) -> dict:
    return d["member_list"][KIBI]


def _kibi_conn(d: dict) -> dict:
    return _kibi(d)["connection_list"][0]


MEMBER_CASES = [
    ("asn-boolean", lambda d: _kibi(d).update(asnum=True), "member_list[1].asnum",
     "expected an integer, got a boolean (true)"),
    ("asn-with-prefix", lambda d: _kibi(d).update(asnum="AS64496"), "member_list[1].asnum",
     'expected an integer, got a string ("AS64496")'),
    ("asn-fraction", lambda d: _kibi(d).update(asnum=64496.5), "member_list[1].asnum",
     "expected an integer, got a number (64496.5)"),
    ("asn-missing", lambda d: _kibi(d).pop("asnum"), "member_list[1].asnum", "required key is missing"),
    ("asn-null", lambda d: _kibi(d).update(asnum=None), "member_list[1].asnum", "must not be null"),
    ("name-list", lambda d: _kibi(d).update(name=["Kibi"]), "member_list[1].name",
     'expected a string, got a list (["Kibi"])'),
    ("member-string", lambda d: d["member_list"].__setitem__(KIBI, "Kibi"), "member_list[1]",
     'expected an object, got a string ("Kibi")'),
    ("member-null", lambda d: d["member_list"].__setitem__(KIBI, None), "member_list[1]", "must not be null"),
    ("connections-string", lambda d: _kibi(d).update(connection_list="1"), "member_list[1].connection_list",
     'expected a list, got a string ("1")'),
    ("connections-object", lambda d: _kibi(d).update(connection_list=_kibi_conn(d)), "member_list[1].connection_list",
     "expected a list, got an object"),
    ("connections-null", lambda d: _kibi(d).update(connection_list=None), "member_list[1].connection_list",
     "must not be null"),
    ("connections-missing", lambda d: _kibi(d).pop("connection_list"), "member_list[1].connection_list",
     "required key is missing"),
    ("connection-string", lambda d: _kibi(d).update(connection_list=["port 1"]), "member_list[1].connection_list[0]",
     'expected an object, got a string ("port 1")'),
    ("connection-list", lambda d: _kibi(d).update(connection_list=[[_kibi_conn(d)]]),
     "member_list[1].connection_list[0]", "expected an object, got a list"),
    ("vlans-object", lambda d: _kibi_conn(d).update(vlan_list=_kibi_conn(d)["vlan_list"][0]),
     "member_list[1].connection_list[0].vlan_list", "expected a list, got an object"),
    ("family-string", lambda d: _kibi_conn(d)["vlan_list"][0].update(ipv4="203.0.113.10"),
     "member_list[1].connection_list[0].vlan_list[0].ipv4", 'expected an object, got a string ("203.0.113.10")'),
    ("max-prefix-word", lambda d: _kibi_conn(d)["vlan_list"][0]["ipv4"].update(max_prefix="lots"),
     "member_list[1].connection_list[0].vlan_list[0].ipv4.max_prefix", 'expected an integer, got a string ("lots")'),
    ("routeserver-maybe", lambda d: _kibi_conn(d)["vlan_list"][0]["ipv4"].update(routeserver="maybe"),
     "member_list[1].connection_list[0].vlan_list[0].ipv4.routeserver", 'expected true or false, got a string ("maybe")'),
    ("switch-list", lambda d: _kibi_conn(d).update(if_list=[[10]]), "member_list[1].connection_list[0].if_list[0]",
     "expected an object, got a list ([10])"),
    ("vlan-id-word", lambda d: _kibi_conn(d)["vlan_list"][0].update(vlan_id="peering"),
     "member_list[1].connection_list[0].vlan_list[0].vlan_id", 'expected an integer, got a string ("peering")'),
]


@pytest.mark.parametrize("change, location, reason", [c[1:] for c in MEMBER_CASES], ids=[c[0] for c in MEMBER_CASES])
def test_unreadable_member_is_skipped_with_its_location(change, location, reason):
    data = v10()
    change(data)
    r = imported(data)
    skipped = {s.index: s for s in r.skipped}
    assert (skipped[KIBI].location, skipped[KIBI].reason) == (location, reason)
    assert 64496 not in {m.asn for m in r.imported}
    # the rest of the IXP is imported as before
    assert {m.asn for m in r.imported} == {64497, 64498, 64499, 64502, 64503}
    assert f"at {location}: {reason}" in r.text  # and the ix.yml header says so


def test_several_problems_in_one_member_are_all_named():
    data = v10()
    _kibi(data).pop("asnum")
    _kibi(data)["connection_list"] = None
    r = imported(data)
    s = next(s for s in r.skipped if s.index == KIBI)
    assert s.location == "member_list[1]" and s.asn is None and s.name == "Kibi Net K.K."
    assert s.reason == "member_list[1].asnum: required key is missing; member_list[1].connection_list: must not be null"


# --------------------------------------------------------------------------- connection lists of odd shapes


def test_broken_second_connection_does_not_hide_a_good_first_one():
    # (before issue 11 this was a note "used connection_list[0]"; now the broken connection is a
    # skipped connection of an imported member, with its location)
    data = v10()
    _kibi(data)["connection_list"].append("oops")
    r = imported(data)
    kibi = next(m for m in r.imported if m.asn == 64496)
    assert kibi.ipv4 == "203.0.113.10" and len(kibi.routers) == 1
    assert [(p.what, p.location, p.reason) for p in r.skipped_parts if p.index == KIBI] == [
        ("connection", "member_list[1].connection_list[1]", 'expected an object, got a string ("oops")')]


def test_broken_first_connection_is_passed_over():
    data = v10()
    conns = _kibi(data)["connection_list"]
    conns.insert(0, {"ixp_id": 1, "vlan_list": "none"})
    r = imported(data)
    kibi = next(m for m in r.imported if m.asn == 64496)
    assert kibi.ipv4 == "203.0.113.10"
    assert [(x.node, x.location) for x in kibi.routers] == [("kibi-net-k-k", "member_list[1].connection_list[1]")]
    assert [(p.what, p.location) for p in r.skipped_parts if p.index == KIBI] == [
        ("connection", "member_list[1].connection_list[0].vlan_list")]


def test_broken_connection_at_another_ixp_is_not_this_ixps_business():
    data = v10()
    _kibi(data)["connection_list"].append({"ixp_id": 2, "vlan_list": "none"})
    assert imported(data).text == imported(v10()).text


def test_member_without_connections_is_not_at_the_ixp():
    data = v10()
    _kibi(data)["connection_list"] = []
    r = imported(data)
    assert KIBI not in {m.index for m in r.imported} | {s.index for s in r.skipped}
    assert r.counts.in_file == 10 and r.counts.at_ixp == 9


def test_connection_without_vlans_is_a_located_skip():
    data = v10()
    _kibi_conn(data)["vlan_list"] = None
    s = next(s for s in imported(data).skipped if s.index == KIBI)
    assert (s.location, s.reason) == ("member_list[1].connection_list[0]", "no address on VLAN 100 (peering)")


def test_unreadable_member_of_another_ixp_is_not_reported():
    data = json.loads((FIXTURES / "multi_ixp.json").read_text())
    data["member_list"][2]["asnum"] = "South"  # connects at IXP 2 only
    assert imported(data, ixp_id=1).skipped == []
    [s] = imported(data, ixp_id=2).skipped
    assert (s.location, s.name) == ("member_list[2].asnum", "South Only")


# --------------------------------------------------------------------------- duplicates


def test_duplicate_asn_written_differently_is_still_a_duplicate():
    data = v10()
    data["member_list"][9]["asnum"] = "64496"  # AS64496 again, as a string
    r = imported(data)
    s = next(s for s in r.skipped if s.index == 9)
    assert (s.location, s.asn) == ("member_list[9].asnum", 64496)
    assert "already imported from member_list[1]" in s.reason
    assert [m.asn for m in r.model.members].count(64496) == 1


def test_duplicate_address_across_members_is_a_located_skip():
    # The rule applies per address (issue 11): the colliding IPv4 address is skipped, with its
    # location; the member keeps its router on its IPv6 address (the lab assigns an IPv4 one).
    data = v10()
    data["member_list"][9]["connection_list"][0]["vlan_list"][0]["ipv4"]["address"] = "203.0.113.10"
    r = imported(data)
    [s] = [p for p in r.skipped_parts if p.index == 9]
    assert (s.what, s.location) == ("address", "member_list[9].connection_list[0].vlan_list[0].ipv4.address")
    assert "collides with member_list[1]" in s.reason
    member = next(m for m in r.imported if m.index == 9)
    assert (member.ipv4, member.ipv6) == (None, "2001:db8:ffff::15")
    # with both addresses colliding, nothing of the member is usable: the member is skipped
    data["member_list"][9]["connection_list"][0]["vlan_list"][0]["ipv6"]["address"] = "2001:db8:ffff::10"
    s = next(s for s in imported(data).skipped if s.index == 9)
    assert s.location == "member_list[9]" and s.reason.count("collides with member_list[1]") == 2


# --------------------------------------------------------------------------- files that are not IX-F exports


@pytest.mark.parametrize("version, fragment", [
    ("1.1", "IX-F schema version 1.1 is not supported"),
    ("3", '"3" is not a schema version'),
    (None, "null is not a schema version"),
    (["1.0"], '["1.0"] is not a schema version'),
    ("0.5.9", "IX-F schema version 0.5.9 is not supported"),
])
def test_unknown_schema_version_is_one_clear_error(version, fragment):
    data = v10()
    data["version"] = version
    with pytest.raises(LabctlError) as exc:
        import_ixf(data, source="x.json")
    assert exc.value.message.startswith("x.json: version: ") and fragment in exc.value.message
    assert "0.6 to 1.0" in exc.value.hint or "IX-F Member Export" in exc.value.hint


def test_version_as_a_number_is_read():
    data = v10()
    data["version"] = 1.0
    assert imported(data).version == "1.0"


@pytest.mark.parametrize("doc, fragment", [
    ({"data": [{"asn": 64496, "name": "x"}], "meta": {}}, "not an IX-F member export"),  # a PeeringDB answer
    ({"name": "lab", "topology": {"nodes": {}}}, "not an IX-F member export"),  # a containerlab topology
    ("members", "the top level must be a JSON object, got a string"),
    (None, "the top level must be a JSON object, got null"),
    ({"version": "1.0", "ixp_list": "AMS-IX", "member_list": []}, "ixp_list: expected a list, got a string"),
])
def test_not_an_ixf_export_is_one_error_naming_the_file(tmp_path, doc, fragment):
    path = tmp_path / "download.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(LabctlError) as exc:
        import_ixf(path)
    assert exc.value.message.startswith(f"{path}: ") and fragment in exc.value.message
    assert "\n" not in exc.value.message and exc.value.hint


def test_every_member_unreadable_is_an_error_listing_reasons():
    data = v10()
    data["member_list"] = ["a", 7, None, {"asnum": 64496, "connection_list": "x"}]
    with pytest.raises(LabctlError) as exc:
        import_ixf(data, source="x.json")
    msg = exc.value.message
    assert msg.startswith("x.json: member_list: no member has an address at IXP EX-IX (ixp_id 1) that can be read "
                          "(4 problem(s): member_list[0]: expected an object, got a string (\"a\"); ")
    assert msg.endswith("...)") and "member_list[1]: expected an object, got an integer (7)" in msg
    # with one readable member left, the others are listed as skipped members
    data["member_list"].append(v10()["member_list"][KIBI])
    r = imported(data)
    assert [s.location for s in r.skipped] == [f"member_list[{i}]" for i in range(3)] + ["member_list[3].connection_list"]


# --------------------------------------------------------------------------- the CLI and --json


def test_cli_reports_unreadable_members_without_a_traceback(tmp_path):
    data = v10()
    _kibi(data)["asnum"] = "AS64496"
    src = tmp_path / "x.json"
    src.write_text(json.dumps(data))
    res = CliRunner().invoke(import_app, ["ixf", str(src), "-o", str(tmp_path / "ix.yml")])
    assert res.exit_code == 0, res.output
    assert "member_list[1].asnum: expected an integer" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(import_app, ["ixf", str(src), "-o", str(tmp_path / "ix2.yml"), "--json"])
    out = json.loads(res.output)
    assert {"location": "member_list[1].asnum", "asn": None} == {k: out["skipped"][1][k] for k in ("location", "asn")}


def test_json_notes_are_a_superset_of_the_text_notes(tmp_path):
    res = CliRunner().invoke(import_app, ["ixf", str(FIXTURES / "v06_single_vlan.json"), "-o", str(tmp_path / "a.yml"),
                                          "--json"])
    out = json.loads(res.output)
    assert out["notes"] == [n["message"] for n in out["note_details"]]
    kinds = {k.value for k in NoteKind}
    assert out["note_details"] and all(n["kind"] in kinds for n in out["note_details"])
    assert {"kind": "lan-derived", "location": "ixp_list[0].vlan"} == {
        k: out["note_details"][0][k] for k in ("kind", "location")}
    member = next(m for m in out["imported"] if m["asn"] == 64497)
    assert member["notes"] == [n["message"] for n in member["note_details"]]
    assert member["note_details"][0]["kind"] == "several-addresses"


# --------------------------------------------------------------------------- daemons


def test_daemon_choice_is_made_in_one_place():
    choice = choose_daemons(5)
    assert choice.route_servers == (("rs1", "bird"), ("rs2", "frr"))
    assert choice.routers == ("frr", "bird", "frr", "bird", "frr")
    r = imported(v10())
    assert [m.daemon for m in r.model.members] == list(choose_daemons(len(r.imported)).routers)
    assert [(x.name, x.daemon) for x in r.model.route_servers] == list(choose_daemons(6).route_servers)


def test_route_server_daemons_follow_the_size_and_the_summary_says_why():
    # up to 30 member routers BIRD 2 + FRR; beyond, FRR loads its config too slowly: BIRD 2 + BIRD 3
    assert choose_daemons(30).route_servers == (("rs1", "bird"), ("rs2", "frr"))
    assert choose_daemons(31).route_servers == (("rs1", "bird"), ("rs2", "bird3"))
    small, big = imported(v10()), import_ixf(REAL / "gr-ix.json")
    assert [x.daemon for x in big.model.route_servers] == ["bird", "bird3"]
    [why] = [n.message for n in big.notes if n.kind is NoteKind.ROUTE_SERVER_DAEMONS]
    assert why.startswith("route servers rs1 BIRD 2 and rs2 BIRD 3: 39 member routers, more than 30")
    [why] = [n.message for n in small.notes if n.kind is NoteKind.ROUTE_SERVER_DAEMONS]
    assert why.startswith("route servers rs1 BIRD 2 and rs2 FRR: 6 member router(s), at most 30")
    assert "Route servers rs1 BIRD 2 and rs2 BIRD 3" in big.text  # the ix.yml header says so too
