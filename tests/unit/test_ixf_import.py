"""The IX-F importer: IX-F member export (JSON) -> ix.yml text that the model accepts."""

from __future__ import annotations

import copy
import json
import re
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.errors import LabctlError
from labctl.importers import import_ixf
from labctl.importers.command import import_app
from labctl.importers.ixf import WIDE_LAB_SPACE4, NoteKind, parse_members_option
from labctl.model.load import load_text
from labctl.model.schema import NAME_PATTERN

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ixf"
# Real IX-F exports and the IX-F JSON schemas, shipped with the tests (provenance and licences:
# tests/fixtures/README.md), so a fresh clone runs every case.
REAL = FIXTURES / "real"
IXF_SCHEMAS = FIXTURES / "schemas"

GOOD = ["v10_two_cities.json", "v06_single_vlan.json", "partial.json"]


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def assert_valid(result) -> None:
    """The text validates, and what validates is what the result says it imported."""
    model = load_text(result.text)
    assert model == result.model
    assert [m.asn for m in model.members] == [x.asn for x in result.imported]
    for node in [*model.members, *model.member_routers(), *model.route_servers]:
        assert re.match(NAME_PATTERN, node.name)
    lan4, lan6 = model.ix.peering_lan.ipv4, model.ix.peering_lan.ipv6
    seen = set()
    for node in [*model.member_routers(), *model.route_servers]:
        for addr, lan in ((node.ipv4, lan4), (node.ipv6, lan6)):
            if addr is not None:
                assert addr in lan and addr not in seen
                seen.add(addr)
    assert result.text.startswith("# Imported by `labctl import ixf` from ")


# --------------------------------------------------------------------------- good files


@pytest.mark.parametrize("name", GOOD)
def test_fixtures_import_and_validate(name):
    result = import_ixf(FIXTURES / name)
    assert_valid(result)
    assert result.imported


def test_multi_ixp_file_imports_each_ixp():
    for ixp_id, asns in ((1, [64496, 64497]), (2, [64496, 64498, 64499])):
        result = import_ixf(FIXTURES / "multi_ixp.json", ixp_id=ixp_id)
        assert_valid(result)
        assert [m.asn for m in result.model.members] == asns
        assert result.skipped == []  # members of the other IXP are not "skipped"


def test_v10_details():
    r = import_ixf(FIXTURES / "v10_two_cities.json")
    m = r.model
    assert r.version == "1.0" and r.ixp_id == 1 and r.vlan_id == 100
    assert m.ix.name == "ex-ix"
    assert m.ix.route_server_asn == 65550  # the member whose services say ixrouteserver
    assert str(m.ix.peering_lan.ipv4) == "203.0.113.0/24" and str(m.ix.peering_lan.ipv6) == "2001:db8:ffff::/64"
    # one site per city; a switch without a city is its own site; star from the busiest site
    assert [s.name for s in m.sites] == ["okayama", "kurashiki", "edge-x"]
    assert [t.between for t in m.trunks] == [("okayama", "kurashiki"), ("okayama", "edge-x")]
    assert [(x.name, x.daemon, x.site) for x in m.route_servers] == [("rs1", "bird", "okayama"), ("rs2", "frr", "kurashiki")]
    # route servers take free addresses: not the members', not the IXP's own route server/collector
    assert [str(x.ipv4) for x in m.route_servers] == ["203.0.113.1", "203.0.113.2"]
    by_asn = {x.asn: x for x in m.members}
    kibi = by_asn[64496]
    assert kibi.name == "kibi-net-k-k" and str(kibi.ipv4) == "203.0.113.10" and str(kibi.ipv6) == "2001:db8:ffff::10"
    assert (kibi.max_prefix.ipv4, kibi.max_prefix.ipv6) == (50, 20)
    assert "AS-KIBI" in kibi.description and "Kibi Net K.K." in kibi.description
    assert by_asn[64503].name == "as64503"  # same name as 64496: falls back to as<ASN>
    assert by_asn[64499].name == "ubersee-networks-gmbh" and by_asn[64499].ipv6 is None
    assert by_asn[64502].name == "as64502" and by_asn[64502].ipv4 is None  # no name, IPv6 only
    assert by_asn[64498].site == "okayama" and str(by_asn[64498].ipv4) == "203.0.113.12"  # inactive conn skipped
    assert [x.daemon for x in m.members] == ["frr", "bird"] * 3
    # lab prefixes: one /24 and one /48 each, in input order, never the peering LAN
    assert [[str(p) for p in x.prefixes] for x in m.members][:2] == [["198.18.0.0/24", "2001:db8::/48"],
                                                                    ["198.18.1.0/24", "2001:db8:1::/48"]]
    # Momo's inactive first connection is not a router: a skipped connection, with its location and why
    momo = next(x for x in r.imported if x.asn == 64498)
    assert [r.node for r in momo.routers] == ["momo-telecom"]
    assert not [n for n in momo.notes if n.kind is NoteKind.SEVERAL_CONNECTIONS]
    assert [(p.asn, p.what, p.location, p.reason) for p in r.skipped_parts] == [
        (64498, "connection", "member_list[3].connection_list[0].state", "connection state is 'inactive'")]
    assert "# Skipped connections and addresses of imported members:" in r.text
    assert "AS64498 Momo Telecom: connection at member_list[3].connection_list[0].state" in r.text
    reasons = {s.asn: (s.location, s.reason) for s in r.skipped}
    assert set(reasons) == {65550, 64500, 64501, 65551}
    assert "route server" in reasons[65550][1] and "route collector" in reasons[65551][1]
    assert reasons[64500] == ("member_list[5].connection_list[0]", reasons[64500][1])
    assert "routeserver: false" in reasons[64500][1]
    assert reasons[64501][0] == "member_list[6].connection_list[0]" and "no address on VLAN 100" in reasons[64501][1]
    assert "# Skipped:" in r.text and "AS64501 Jumbo Only" in r.text


def test_generated_lab_plans_and_renders():
    from labctl.plan import build_plan
    from labctl.render import render_lab

    plan = build_plan(import_ixf(FIXTURES / "v10_two_cities.json").model)
    files = render_lab(plan, "labctl/node:test")
    assert files and len(plan.by_role("member")) == 6


def test_v06_derives_lan_and_route_server_asn():
    r = import_ixf(FIXTURES / "v06_single_vlan.json")
    assert_valid(r)
    m = r.model
    assert str(m.ix.peering_lan.ipv4) == "198.51.100.0/26"  # smallest covering prefix of member addresses
    assert str(m.ix.peering_lan.ipv6) == "2001:db8:5::/64"
    assert m.ix.route_server_asn == 64499  # member_type "routeserver" (0.6)
    assert [s.name for s in m.sites] == ["main"] and m.trunks == []
    assert {(x.name, x.site) for x in m.route_servers} == {("rs1", "main"), ("rs2", "main")}
    names = [x.name for x in m.members]
    assert names == ["alpha-networks", "as64497", "as64498", "delta-hosting"]  # '????' -> as<ASN>
    # two addresses per family on one connection: two routers, IPv4 and IPv6 paired in file order
    as64497 = next(x for x in r.imported if x.asn == 64497)
    assert [(x.node, x.ipv4, x.ipv6, x.location) for x in as64497.routers] == [
        ("as64497-1", "198.51.100.11", "2001:db8:5::b", "member_list[1].connection_list[0].vlan_list[0]"),
        ("as64497-2", "198.51.100.31", "2001:db8:5::1f", "member_list[1].connection_list[0].vlan_list[2]")]
    member = m.members[1]
    assert member.same_site and [(x.name, x.site) for x in member.routers] == [("as64497-1", "main"), ("as64497-2", "main")]
    assert [(n.location, n.message) for n in as64497.notes if n.kind is NoteKind.SEVERAL_ADDRESSES] == [
        ("member_list[1].connection_list[0]", "2 address pairs on the VLAN: one router each "
         "(IPv4 and IPv6 paired per VLAN entry, else in file order)")]
    assert [n.location for n in r.notes if n.kind is NoteKind.LAN_DERIVED] == ["ixp_list[0].vlan"] * 2
    # route servers avoid every address in the file, including the IXP's own route servers
    assert [str(x.ipv4) for x in m.route_servers] == ["198.51.100.2", "198.51.100.3"]


def test_partial_file_reports_every_skipped_member():
    r = import_ixf(FIXTURES / "partial.json")
    assert_valid(r)
    assert [x.asn for x in r.imported] == [64496, 64503]
    got = {(s.index, s.location): s.reason for s in r.skipped}
    expect = {
        (1, "member_list[1].connection_list[0]"): "no address on VLAN 10",
        (2, "member_list[2].connection_list[0]"): "no address on VLAN 10",
        (3, "member_list[3].connection_list[0].vlan_list[0].ipv4.address"): "outside the peering LAN 198.51.100.0/24",
        (4, "member_list[4].connection_list[0].vlan_list[0].ipv4.address"): "collides with member_list[0]",
        (5, "member_list[5].connection_list[0].vlan_list[0].ipv4.address"): "not a valid IP address",
        (6, "member_list[6].connection_list[0].vlan_list[0].ipv4.address"): "network address",
        (8, "member_list[8].connection_list[0].vlan_list[0].ipv4.address"): "not an IPv4 address",
        (9, "member_list[9].asnum"): "not a usable ASN",
        (10, "member_list[10].asnum"): "already imported from member_list[0]",
    }
    assert set(got) == set(expect)
    for key, fragment in expect.items():
        assert fragment in got[key]
    # 2001:db8:100::/64 is the LAN: the /48 around it is not handed out as a member prefix
    assert all(not p.overlaps(r.model.ix.peering_lan.ipv6) for x in r.model.members for p in x.prefixes)


def test_vlan_choice_and_vlan_id():
    r = import_ixf(FIXTURES / "v10_two_cities.json", vlan_id=200)
    assert_valid(r)
    assert [x.asn for x in r.model.members] == [64501]
    assert str(r.model.ix.peering_lan.ipv4) == "192.0.2.0/24"
    assert any(n.kind is NoteKind.LAN_DEFAULT and "no IPv6 prefix" in n.message for n in r.notes)
    with pytest.raises(LabctlError) as exc:
        import_ixf(FIXTURES / "v10_two_cities.json", vlan_id=999)
    assert "ixp_list[0].vlan" in exc.value.message and "100 (peering)" in exc.value.message
    assert "200 (jumbo)" in exc.value.message and "--vlan-id" in exc.value.hint


def test_names_with_line_breaks_stay_on_one_line():
    data = fixture("v10_two_cities.json")
    data["member_list"][1]["name"] = "Kibi\nNet\u2028K.K.\x85 \t"
    data["ixp_list"][0]["switch"][0]["colo"] = "DC\r\nOne"
    r = import_ixf(data)
    assert_valid(r)
    assert r.model.members[0].description.startswith("Kibi Net K.K.;")
    assert r.model.sites[0].description.startswith("IX-F ex-okayama-1 (id 10, DC One,")
    assert all(line.startswith("#") or not line.startswith(" Net") for line in r.text.splitlines())


def test_same_input_same_output():
    a = import_ixf(FIXTURES / "v10_two_cities.json").text
    b = import_ixf(fixture("v10_two_cities.json"), source=str(FIXTURES / "v10_two_cities.json")).text
    assert a == b


# --------------------------------------------------------------------------- selection


def synthetic(n: int, lan: str = "10.20.0.0/21") -> dict:
    net = ip_network(lan)
    members = []
    for i in range(n):
        members.append({"asnum": 65000 + i if i < 500 else 4200000000 + i, "name": f"Network {i}",
                        "connection_list": [{"ixp_id": 1, "if_list": [{"switch_id": i % 3}], "vlan_list": [
                            {"vlan_id": 1, "ipv4": {"address": str(net.network_address + 10 + i), "routeserver": True},
                             "ipv6": {"address": f"2001:db8:ffff::{10 + i:x}", "routeserver": True}}]}]})
    return {"version": "1.0", "timestamp": "2026-01-01T00:00:00Z",
            "ixp_list": [{"ixp_id": 1, "ixf_id": 1, "shortname": "SYN",
                          "switch": [{"id": 0, "name": "a", "city": "A"}, {"id": 1, "name": "b", "city": "B"},
                                     {"id": 2, "name": "c", "city": "C"}],
                          "vlan": [{"id": 1, "ipv4": {"prefix": str(net.network_address), "mask_length": net.prefixlen},
                                    "ipv6": {"prefix": "2001:db8:ffff::", "mask_length": 64}}]}],
            "member_list": members}


def test_sampling_is_deterministic_and_nested():
    data = synthetic(60)
    picked = {}
    for n in (1, 5, 10, 20, 40, 60):
        first = import_ixf(copy.deepcopy(data), sample=n)
        again = import_ixf(copy.deepcopy(data), sample=n)
        assert first.text == again.text
        assert_valid(first)
        assert len(first.imported) == n
        picked[n] = {x.asn: x for x in first.imported}
    sizes = sorted(picked)
    for small, big in zip(sizes, sizes[1:]):
        assert set(picked[small]) <= set(picked[big])
        for asn, member in picked[small].items():  # same node name, addresses and prefixes in every sample
            other = picked[big][asn]
            assert (member.node, member.ipv4, member.ipv6, member.prefixes) == (
                other.node, other.ipv4, other.ipv6, other.prefixes)
    # the sample follows the (ASN, name) hash, not the position in the file
    assert set(picked[10]) != {65000 + i for i in range(10)}
    # the same lab whatever the order of the file
    shuffled = copy.deepcopy(data)
    shuffled["member_list"].reverse()
    assert {x.asn for x in import_ixf(shuffled, sample=10).imported} == set(picked[10])


def test_sample_larger_than_file_takes_all():
    r = import_ixf(FIXTURES / "v10_two_cities.json", sample=100)
    assert len(r.imported) == 6 and [n.kind for n in r.notes].count(NoteKind.SAMPLE_ALL) == 1


def test_sample_on_real_exports_is_nested_too():
    r5 = import_ixf(FIXTURES / "v10_two_cities.json", sample=2)
    r3 = import_ixf(FIXTURES / "v10_two_cities.json", sample=4)
    assert {x.asn for x in r5.imported} <= {x.asn for x in r3.imported}


def test_members_option():
    r = import_ixf(FIXTURES / "v10_two_cities.json", members=[64503, 64497])
    assert_valid(r)
    assert [x.asn for x in r.imported] == [64497, 64503]  # file order
    assert r.skipped == []
    # a requested member that cannot be imported is reported, the rest still imported
    r = import_ixf(FIXTURES / "v10_two_cities.json", members=[64497, 64501])
    assert [x.asn for x in r.imported] == [64497] and [s.asn for s in r.skipped] == [64501]
    with pytest.raises(LabctlError) as exc:
        import_ixf(FIXTURES / "v10_two_cities.json", members=[64497, 1, 2])
    assert "AS1, AS2" in exc.value.message and "AS64497" not in exc.value.message
    with pytest.raises(LabctlError, match="either a sample or a member list"):
        import_ixf(FIXTURES / "v10_two_cities.json", members=[64497], sample=3)


def test_parse_members_option():
    assert parse_members_option("64500, AS64501 as64502") == [64500, 64501, 64502]
    with pytest.raises(ValueError, match="'foo'"):
        parse_members_option("64500,foo")


def test_many_members_widen_the_lab_prefix_space():
    r = import_ixf(synthetic(600))
    assert_valid(r)
    space = [str(p) for p in r.model.ix.lab_prefix_space.ipv4]
    assert space == [str(p) for p in WIDE_LAB_SPACE4]
    last = r.model.members[-1].prefixes[0]
    assert last.subnet_of(ip_network("100.64.0.0/10"))
    assert any(n.kind is NoteKind.PREFIX_SPACE_WIDENED and "widened" in n.message for n in r.notes)


def test_lan_overlapping_lab_space_is_avoided():
    r = import_ixf(synthetic(5, lan="198.18.0.0/24"))
    assert_valid(r)
    assert all(not p.overlaps(ip_network("198.18.0.0/24")) for x in r.model.members for p in x.prefixes)


# --------------------------------------------------------------------------- bad files


def test_broken_json_names_file_line_and_column():
    with pytest.raises(LabctlError) as exc:
        import_ixf(FIXTURES / "broken.json")
    assert re.search(r"broken\.json:\d+:\d+: not valid JSON", exc.value.message)
    assert exc.value.hint


def test_bad_frame_names_every_location():
    # The frame (ixp_list, member_list) must hold: every problem in it is listed, with its location.
    with pytest.raises(LabctlError) as exc:
        import_ixf(FIXTURES / "bad_frame.json")
    msg = exc.value.message
    assert "bad_frame.json" in msg and "3 problem(s)" in msg
    assert "ixp_list[0].ixp_id: required key is missing" in msg
    assert "ixp_list[0].vlan[0].ipv4: expected an object, got a string" in msg
    assert "member_list: expected a list, got an object" in msg


def test_unreadable_member_is_skipped_and_numbers_as_strings_are_read():
    # bad_structure.json: one member has no ASN (skipped, located); one writes ixp_id as "1" and one
    # max_prefix as "100": real exports do that, and they mean the numbers.
    r = import_ixf(FIXTURES / "bad_structure.json")
    assert_valid(r)
    assert [m.asn for m in r.imported] == [64496, 64498, 64499]
    assert [(s.index, s.asn, s.name, s.location, s.reason) for s in r.skipped] == [
        (1, None, "No ASN", "member_list[1].asnum", "required key is missing")]
    assert r.model.members[2].max_prefix.ipv4 == 100
    assert "# Skipped:\n#   member No ASN at member_list[1].asnum: required key is missing" in r.text


@pytest.mark.parametrize("change, location, fragment", [
    (lambda d: d.update(version="2.0"), "version", "not supported"),
    (lambda d: d.update(version="0.5"), "version", "not supported"),
    (lambda d: d.update(version="latest"), "version", "not a schema version"),
    (lambda d: d.pop("version"), "version", "required key is missing"),
    (lambda d: d.pop("member_list"), "member_list", "required key is missing"),
    (lambda d: d["ixp_list"][0].pop("ixp_id"), "ixp_list[0].ixp_id", "required key is missing"),
    (lambda d: d.update(member_list={"asnum": 1}), "member_list", "expected a list, got an object"),
    (lambda d: d["ixp_list"][0]["vlan"][0]["ipv4"].update(mask_length=33), "ixp_list[0].vlan[0].ipv4",
     "not a valid IPv4 prefix"),
    (lambda d: d["ixp_list"][0].update(ixp_id=True), "ixp_list[0].ixp_id", "expected an integer"),
])
def test_bad_content_names_location(change, location, fragment):
    data = fixture("v10_two_cities.json")
    change(data)
    with pytest.raises(LabctlError) as exc:
        import_ixf(data, source="x.json")
    assert exc.value.message.startswith("x.json: ")
    assert location in exc.value.message and fragment in exc.value.message
    assert exc.value.hint


def test_versions_in_range_are_read():
    for version in ("0.6", "0.7", "0.8", "1.0", "1.0.0"):
        data = fixture("v10_two_cities.json")
        data["version"] = version
        assert import_ixf(data).version == version


def test_not_an_ixf_file(tmp_path):
    for text, fragment in (("[1, 2]", "must be a JSON object"), ('{"a": 1}', "not an IX-F member export"),
                           ("", "empty")):
        path = tmp_path / "f.json"
        path.write_text(text)
        with pytest.raises(LabctlError, match=fragment):
            import_ixf(path)
    with pytest.raises(LabctlError, match="no such file"):
        import_ixf(tmp_path / "missing.json")


def test_multi_ixp_needs_a_choice():
    with pytest.raises(LabctlError) as exc:
        import_ixf(FIXTURES / "multi_ixp.json")
    assert "ixp_list" in exc.value.message and "1 (NORTH-IX)" in exc.value.message
    assert "2 (SOUTH-IX)" in exc.value.message and "--ixp-id" in exc.value.hint
    with pytest.raises(LabctlError, match="no IXP with ixp_id 9"):
        import_ixf(FIXTURES / "multi_ixp.json", ixp_id=9)


def test_no_importable_member_is_an_error_with_reasons():
    data = fixture("partial.json")
    data["member_list"] = [m for m in data["member_list"] if not m["name"].startswith(("Good", "Collider"))]
    with pytest.raises(LabctlError) as exc:
        import_ixf(data, source="p.json")
    assert "no member of IXP Partial IX could be imported" in exc.value.message
    assert "member_list[" in exc.value.message


# --------------------------------------------------------------------------- CLI


def run(*args):
    return CliRunner().invoke(import_app, ["ixf", *map(str, args)])


def test_cli_writes_validating_file_and_summary(tmp_path):
    out = tmp_path / "sub" / "ix.yml"
    res = run(FIXTURES / "v10_two_cities.json", "-o", out)
    assert res.exit_code == 0, res.output
    load_text(out.read_text())
    assert f"wrote {out}" in res.output
    for text in ("okayama", "kurashiki", "skipped: 4 member(s)", "64501", "no address on VLAN 100"):
        assert text in res.output
    assert [p.name for p in out.parent.iterdir()] == ["ix.yml"]  # no temporary file left


def test_cli_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "ix.yml"
    out.write_text("keep me\n")
    res = run(FIXTURES / "v10_two_cities.json", "-o", out)
    assert res.exit_code == 1 and "already exists" in res.output and "--force" in res.output
    assert out.read_text() == "keep me\n"
    res = run(FIXTURES / "v10_two_cities.json", "-o", out, "--force")
    assert res.exit_code == 0, res.output
    load_text(out.read_text())


def test_cli_json(tmp_path):
    out = tmp_path / "ix.yml"
    res = run(FIXTURES / "partial.json", "-o", out, "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["ok"] is True and data["output"] == str(out)
    assert data["counts"]["imported"] == 2 and data["counts"]["skipped"] == 9
    assert {s["location"] for s in data["skipped"]} >= {"member_list[9].asnum"}
    assert all(s["reason"] for s in data["skipped"])
    assert data["sites"][0]["name"] == "tsuyama" and data["sites"][0]["route_servers"] == ["rs1", "rs2"]


def test_cli_error_leaves_no_file(tmp_path):
    out = tmp_path / "ix.yml"
    res = run(FIXTURES / "bad_frame.json", "-o", out)
    assert res.exit_code == 1
    assert "ixp_list[0].ixp_id" in res.output and "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []
    res = run(FIXTURES / "broken.json", "-o", out, "--json")
    assert res.exit_code == 1 and json.loads(res.output)["ok"] is False
    assert list(tmp_path.iterdir()) == []


def test_cli_sample_and_members(tmp_path):
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    assert run(FIXTURES / "v10_two_cities.json", "--sample", 3, "-o", a).exit_code == 0
    assert run(FIXTURES / "v10_two_cities.json", "--sample", 3, "-o", b).exit_code == 0
    assert a.read_text() == b.read_text()
    c = tmp_path / "c.yml"
    res = run(FIXTURES / "v10_two_cities.json", "--members", "AS64496,64497", "-o", c)
    assert res.exit_code == 0, res.output
    assert [m.asn for m in load_text(c.read_text()).members] == [64496, 64497]
    res = run(FIXTURES / "v10_two_cities.json", "--members", "64496,nope", "-o", tmp_path / "d.yml")
    assert res.exit_code == 1 and "'nope'" in res.output
    res = run(FIXTURES / "v10_two_cities.json", "--members", "64496", "--sample", "2", "-o", tmp_path / "e.yml")
    assert res.exit_code == 1 and "cannot be used together" in res.output
    assert not (tmp_path / "d.yml").exists() and not (tmp_path / "e.yml").exists()


def test_cli_help_has_an_example():
    res = CliRunner().invoke(import_app, ["ixf", "--help"])
    assert res.exit_code == 0 and "Example: labctl import ixf" in res.output


# --------------------------------------------------------------------------- real exports


@pytest.mark.parametrize("name", ["bcix.json", "gr-ix.json"])
def test_shared_exports_import(name):
    r = import_ixf(REAL / name)
    assert_valid(r)
    data = json.loads((REAL / name).read_text())
    assert len(r.imported) + len(r.skipped) == len(data["member_list"])
    # members keep their real LAN addresses
    real = {a for m in data["member_list"] for c in m["connection_list"] for v in c["vlan_list"]
            for f in ("ipv4", "ipv6") if f in v for a in [ip_address(v[f]["address"])]}
    for m in r.model.member_routers():
        assert m.ipv4 is None or m.ipv4 in real
        assert m.ipv6 is None or m.ipv6 in real
    for rs in r.model.route_servers:
        assert rs.ipv4 not in real and rs.ipv6 not in real


def test_shared_export_sampling_is_nested():
    picked = [{x.asn for x in import_ixf(REAL / "bcix.json", sample=n).imported} for n in (5, 10, 30)]
    assert picked[0] <= picked[1] <= picked[2] and [len(p) for p in picked] == [5, 10, 30]
    assert import_ixf(REAL / "bcix.json", sample=10).text == import_ixf(REAL / "bcix.json", sample=10).text


def test_shared_official_example_reports_addresses_outside_the_lan():
    # The official example's member IPv4 addresses lie outside its VLAN's declared prefix. Each is a
    # skipped address with its location (it used to refuse the member, and so the whole file); the
    # member keeps its two connections (two switches in Amsterdam) as two routers on their IPv6 addresses.
    r = import_ixf(REAL / "official_more_complex_example.json")
    assert_valid(r)
    assert [(p.what, p.location) for p in r.skipped_parts] == [
        ("address", "member_list[0].connection_list[0].vlan_list[0].ipv4.address"),
        ("address", "member_list[0].connection_list[1].vlan_list[0].ipv4.address")]
    assert all("outside the peering LAN 80.249.208.0/21" in p.reason for p in r.skipped_parts)
    [netflix] = r.imported
    assert [(x.node, x.site, x.ipv4, x.ipv6) for x in netflix.routers] == [
        ("netflix-1", "amsterdam", None, "2001:7f8:1::a500:2906:2"), ("netflix-2", "amsterdam", None, "2001:7f8:1::a500:2906:1")]
    assert r.model.members[0].same_site


@pytest.mark.parametrize("name, schema", [
    ("v10_two_cities.json", "ixp-member-list.schema.json"),
    ("partial.json", "ixp-member-list.schema.json"),
    ("multi_ixp.json", "ixp-member-list.schema.json"),
    ("v06_single_vlan.json", "ixp-member-list-0.6.schema.json"),
    ("real/bcix.json", "ixp-member-list-0.6.schema.json"),
    ("real/gr-ix.json", "ixp-member-list-0.6.schema.json"),
    ("real/official_more_complex_example.json", "ixp-member-list-0.6.schema.json"),
])
def test_fixtures_follow_the_ixf_schema(name, schema):
    import jsonschema

    jsonschema.Draft4Validator(json.loads((IXF_SCHEMAS / schema).read_text())).validate(fixture(name))
