"""One test per class of validation error: the message, the hint where it carries the fix, the YAML
path and the line/column the user is sent to. Locations are asserted against the position of the
offending text in the document (`at(...)`), so the tests say *where* as well as *what*."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.model.load import Finding, ModelErrors, load_text

FILE = "ix.yml"

BASE = """\
ix:
  name: test-ix
  route_server_asn: 64511
sites:
  - name: fra
route_servers:
  - {name: rs1, site: fra}
members:
  - {name: m1, asn: 64496, site: fra, prefixes: [198.18.1.0/24]}
  - {name: m2, asn: 64497, site: fra, prefixes: [198.18.2.0/24]}
"""

THREE_SITES = BASE.replace("sites:\n  - name: fra\n", "sites:\n  - name: fra\n  - name: ams\n  - name: lon\n")


def variant(old: str, new: str, base: str = BASE) -> str:
    assert base.count(old) == 1, f"{old!r} must occur exactly once in the base document"
    return base.replace(old, new)


def at(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the nth occurrence of `needle` in `text`."""
    starts = [m.start() for m in re.finditer(re.escape(needle), text)]
    assert len(starts) > nth, f"{needle!r} not found {nth + 1} time(s)"
    offset = starts[nth]
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def findings(text: str) -> list[Finding]:
    with pytest.raises(ModelErrors) as info:
        load_text(text, FILE)
    assert info.value.findings, "ModelErrors without findings"
    return info.value.findings


def only(text: str) -> Finding:
    """The single finding of `text` (a test for one error class must not produce others)."""
    found = findings(text)
    assert len(found) == 1, "expected exactly one finding, got:\n" + "\n".join(f.render() for f in found)
    assert found[0].file == FILE
    return found[0]


def where(f: Finding) -> tuple[int | None, int | None]:
    return f.line, f.column


def test_base_document_is_valid():
    model = load_text(BASE, FILE)
    assert [m.name for m in model.members] == ["m1", "m2"]
    assert load_text(THREE_SITES.replace("members:", "trunks: [{between: [fra, ams]}, {between: [ams, lon]}]\nmembers:"))


# ---------------------------------------------------------------- YAML level

def test_yaml_syntax_error():
    text = variant("  route_server_asn: 64511\n", "   route_server_asn: 64511\n")  # one space too many
    f = only(text)
    assert f.message == "YAML syntax error: mapping values are not allowed here"
    assert f.path == ""
    assert where(f) == at(text, ": 64511")  # the colon PyYAML cannot accept, on the mis-indented line
    assert "indentation" in f.hint


def test_yaml_syntax_error_unclosed_flow_sequence():
    text = variant("  route_server_asn: 64511\n", "  route_server_asn: [64511\n")
    f = only(text)
    assert f.message.startswith("YAML syntax error: ") and "expected ',' or ']'" in f.message
    assert f.line == at(text, "sites:")[0]  # noticed where the next block key starts


def test_yaml_syntax_error_tab_indent():
    text = variant("  name: test-ix\n", "\tname: test-ix\n")
    f = only(text)
    assert "YAML syntax error" in f.message and "'\\t'" in f.message
    assert where(f) == at(text, "\tname")


def test_duplicate_yaml_key():
    text = variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  name: other-ix\n")
    f = only(text)
    assert f.message == "duplicate key 'name'"
    assert f.path == "ix.name"
    assert where(f) == at(text, "name: other-ix")  # the second occurrence, which YAML would silently keep
    assert "YAML keeps only the last" in f.hint


@pytest.mark.parametrize(
    ("old", "new", "key", "path", "suggestion"),
    [
        ("  route_server_asn: 64511\n", "  route_sever_asn: 64511\n", "route_sever_asn", "ix.route_sever_asn",
         "route_server_asn"),
        ("prefixes: [198.18.2.0/24]", "prefixs: [198.18.2.0/24]", "prefixs", "members[1].prefixs", "prefixes"),
        ("sites:\n", "site:\n", "site", "site", "sites"),
    ],
)
def test_unknown_key_did_you_mean(old, new, key, path, suggestion):
    text = variant(old, new)
    found = findings(text)
    f = next(f for f in found if f.message == f"unknown key '{key}'")
    assert f.path == path
    assert f.hint == f"did you mean '{suggestion}'?"
    assert where(f) == at(text, key + ":")


def test_unknown_key_without_close_match_lists_allowed_keys():
    text = variant("  - name: fra\n", "  - name: fra\n    zzz: 1\n")
    f = only(text)
    assert f.message == "unknown key 'zzz'" and f.path == "sites[0].zzz"
    assert f.hint == "allowed keys: description, name"
    assert where(f) == at(text, "zzz")


# ---------------------------------------------------------------- names

def test_duplicate_member_names():
    text = variant("{name: m2,", "{name: m1,")
    f = only(text)
    assert f.message == "duplicate node name 'm1' (also at members[0].name)"
    assert f.path == "members[1].name"
    assert where(f) == at(text, "m1", nth=1)
    assert "unique" in f.hint


def test_member_named_like_route_server_or_switch():
    f = only(variant("{name: m2,", "{name: rs1,"))
    assert f.message == "duplicate node name 'rs1' (also at route_servers[0].name)"
    assert f.path == "members[1].name"
    f = only(variant("{name: m2,", "{name: sw-fra,"))
    assert f.message == "duplicate node name 'sw-fra' (also at sites[0].name)"
    assert "sw-<site>" in f.hint


def test_duplicate_member_asn():
    text = variant("asn: 64497", "asn: 64496")
    f = only(text)
    assert f.message == "ASN 64496 of member 'm2' is already used by member 'm1' (at members[0].asn)"
    assert f.path == "members[1].asn"
    assert where(f) == at(text, "64496", nth=1)
    assert "own ASN" in f.hint


def test_member_with_the_route_server_asn():
    text = variant("asn: 64497", "asn: 64511")
    f = only(text)
    assert f.message == "member 'm2' uses the route servers' ASN 64511 (ix.route_server_asn)"
    assert f.path == "members[1].asn"
    assert where(f) == at(text, "64511", nth=1)
    assert "ix.route_server_asn" in f.hint


def test_duplicate_site_names():
    text = variant("  - name: fra\n", "  - name: fra\n  - name: fra\n")
    f = only(text)
    assert f.message == "duplicate site name 'fra'"
    assert f.path == "sites[1].name"
    assert where(f) == at(text, "fra", nth=1)


@pytest.mark.parametrize("bad", ["M2", "m_2", "-m2", "m2-", "a" * 25, "m.2"])
def test_invalid_node_name(bad):
    """Names become container and host names: containerlab (and DNS) would reject these."""
    text = variant("{name: m2,", f"{{name: '{bad}',")
    f = only(text)
    assert f.message == f"'{bad}' is not a valid name"
    assert f.path == "members[1].name"
    assert where(f) == at(text, f"'{bad}'")
    assert "lower-case letters, digits and '-'" in f.hint


# ---------------------------------------------------------------- addresses

def test_duplicate_addresses_between_members():
    text = variant("site: fra, prefixes: [198.18.1.0/24]", "site: fra, ipv4: 192.0.2.10, prefixes: [198.18.1.0/24]")
    text = variant("site: fra, prefixes: [198.18.2.0/24]", "site: fra, ipv4: 192.0.2.10, prefixes: [198.18.2.0/24]", text)
    f = only(text)
    assert f.message == "192.0.2.10 collides with another member (members[0].ipv4)"
    assert f.path == "members[1].ipv4"
    assert where(f) == at(text, "192.0.2.10", nth=1)
    assert f.hint == "every address on the LAN must be unique"


def test_address_collides_with_route_server():
    text = variant("{name: rs1, site: fra}", "{name: rs1, site: fra, ipv6: 'fd00:ffff::5'}")
    text = variant("site: fra, prefixes: [198.18.2.0/24]", "site: fra, ipv6: 'fd00:ffff::5', prefixes: [198.18.2.0/24]", text)
    f = only(text)
    assert f.message == "fd00:ffff::5 collides with a route server (route_servers[0].ipv6)"
    assert f.path == "members[1].ipv6"
    assert where(f) == at(text, "'fd00:ffff::5'", nth=1)


def test_address_outside_peering_lan():
    text = variant("site: fra, prefixes: [198.18.2.0/24]", "site: fra, ipv4: 10.0.0.1, prefixes: [198.18.2.0/24]")
    f = only(text)
    assert f.message == "10.0.0.1 is outside the peering LAN 192.0.2.0/24"
    assert f.path == "members[1].ipv4"
    assert where(f) == at(text, "10.0.0.1")
    assert "192.0.2.0/24" in f.hint


@pytest.mark.parametrize(("addr", "what"), [("192.0.2.0", "network"), ("192.0.2.255", "broadcast")])
def test_lan_network_and_broadcast_address(addr, what):
    text = variant("site: fra, prefixes: [198.18.2.0/24]", f"site: fra, ipv4: {addr}, prefixes: [198.18.2.0/24]")
    f = only(text)
    assert f.message == f"{addr} is the LAN's {what} address"
    assert f.path == "members[1].ipv4"
    assert where(f) == at(text, addr)


def test_ipv6_subnet_router_anycast_address():
    text = variant("{name: rs1, site: fra}", "{name: rs1, site: fra, ipv6: 'fd00:ffff::'}")
    f = only(text)
    assert f.message == "fd00:ffff:: is the LAN's network address"
    assert f.path == "route_servers[0].ipv6"


def test_address_with_prefix_length_or_wrong_family():
    text = variant("site: fra, prefixes: [198.18.2.0/24]", "site: fra, ipv4: 192.0.2.9/24, ipv6: 192.0.2.8, prefixes: [198.18.2.0/24]")
    found = findings(text)
    assert [(f.path, f.message) for f in found] == [
        ("members[1].ipv4", "'192.0.2.9/24': give the address without a prefix length (the peering LAN sets it)"),
        ("members[1].ipv6", "'192.0.2.8' is IPv4, expected IPv6"),
    ]
    assert where(found[0]) == at(text, "192.0.2.9/24")


def test_peering_lan_too_small_for_the_routers():
    text = variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  peering_lan: {ipv4: 192.0.2.0/30}\n")
    f = only(text)
    assert f.message == "the peering LAN 192.0.2.0/30 has room for 2 addresses, but 3 route servers and members need one each"
    assert f.path == "ix.peering_lan.ipv4"
    assert where(f) == at(text, "192.0.2.0/30")


# ---------------------------------------------------------------- prefixes

def test_invalid_prefix():
    text = variant("[198.18.2.0/24]", "[198.18.2.0/33]")
    f = only(text)
    assert f.message.startswith("'198.18.2.0/33' is not a valid prefix")
    assert f.path == "members[1].prefixes[0]"
    assert where(f) == at(text, "198.18.2.0/33")


def test_prefix_with_host_bits_suggests_the_network():
    text = variant("[198.18.2.0/24]", "[198.18.2.77/24]")
    f = only(text)
    assert f.message == "'198.18.2.77/24' has host bits set; did you mean 198.18.2.0/24?"
    assert f.path == "members[1].prefixes[0]"
    assert where(f) == at(text, "198.18.2.77/24")
    text6 = variant("[198.18.2.0/24]", "['2001:db8:2::1/48']")
    assert only(text6).message == "'2001:db8:2::1/48' has host bits set; did you mean 2001:db8:2::/48?"


def test_prefix_outside_lab_prefix_space():
    text = variant("[198.18.2.0/24]", "[203.0.113.0/24]")
    f = only(text)
    assert f.message == "203.0.113.0/24 is outside the lab prefix space (198.18.0.0/15)"
    assert f.path == "members[1].prefixes[0]"
    assert where(f) == at(text, "203.0.113.0/24")
    assert "lab_prefix_space" in f.hint


def test_prefix_overlapping_the_peering_lan():
    text = variant("  route_server_asn: 64511\n",
                   "  route_server_asn: 64511\n  lab_prefix_space: {ipv4: [192.0.0.0/16]}\n")
    text = variant("[198.18.1.0/24]", "[192.0.0.0/22]", text)  # contains the LAN
    text = variant("[198.18.2.0/24]", "[192.0.9.0/24]", text)
    f = only(text)
    assert f.message == "192.0.0.0/22 overlaps the peering LAN 192.0.2.0/24"
    assert f.path == "members[0].prefixes[0]"


def test_duplicate_prefix():
    text = variant("[198.18.2.0/24]", "[198.18.1.0/24]")
    f = only(text)
    assert f.message == "198.18.1.0/24 is already announced by members[0].name"
    assert f.path == "members[1].prefixes[0]"
    assert where(f) == at(text, "198.18.1.0/24", nth=1)


# ---------------------------------------------------------------- references

def test_unknown_site_reference():
    text = variant("{name: m2, asn: 64497, site: fra,", "{name: m2, asn: 64497, site: fr,")
    f = only(text)
    assert f.message == "unknown site 'fr'"
    assert f.hint == "did you mean 'fra'?"
    assert f.path == "members[1].site"
    assert where(f) == at(text, "fr,")


def test_unknown_site_without_close_match_lists_known_sites():
    f = only(variant("{name: rs1, site: fra}", "{name: rs1, site: tokyo}"))
    assert f.message == "unknown site 'tokyo'"
    assert f.hint == "declare it under 'sites' (known: fra)"
    assert f.path == "route_servers[0].site"


def test_unknown_bilateral_peer():
    text = variant("prefixes: [198.18.2.0/24]}", "prefixes: [198.18.2.0/24], bilateral: [m3]}")
    f = only(text)
    assert f.message == "unknown member 'm3'"
    assert f.hint == "did you mean 'm1'?"
    assert f.path == "members[1].bilateral[0]"
    assert where(f) == at(text, "m3")


def test_self_peering():
    text = variant("prefixes: [198.18.2.0/24]}", "prefixes: [198.18.2.0/24], bilateral: [m1, m2]}")
    f = only(text)
    assert f.message == "member 'm2' cannot peer with itself"
    assert f.path == "members[1].bilateral[1]"
    assert where(f) == at(text, "m2]")


# ---------------------------------------------------------------- fabric

def test_trunk_to_unknown_site():
    text = THREE_SITES.replace("members:", "trunks:\n  - {between: [fra, ams]}\n  - {between: [ams, lom]}\nmembers:")
    f = only(text)
    assert f.message == "unknown site 'lom'"
    assert f.hint == "did you mean 'lon'?"
    assert f.path == "trunks[1].between[1]"
    assert where(f) == at(text, "lom")


def test_trunk_joining_a_site_to_itself():
    text = variant("members:", "trunks: [{between: [fra, fra]}]\nmembers:")
    f = only(text)
    assert f.message == "trunk joins site 'fra' to itself"
    assert f.path == "trunks[0].between"


LOOP = THREE_SITES.replace(
    "members:", "trunks:\n  - {between: [fra, ams]}\n  - {between: [ams, lon]}\n  - {between: [lon, fra]}\nmembers:")


def test_trunk_loop_without_loop_prevention():
    f = only(LOOP)
    assert f.message == "trunks form a loop and no loop prevention is declared"
    assert f.hint == "set ix.fabric.loop_prevention: stp, or remove a trunk"
    assert f.path == "trunks[2]"  # the trunk that closes the loop
    assert where(f) == at(LOOP, "{between: [lon, fra]}")


def test_parallel_trunks_are_a_loop_too():
    text = variant("members:", "trunks: [{between: [fra, ams]}, {between: [ams, fra]}]\nmembers:", THREE_SITES)
    text = text.replace("  - name: lon\n", "")
    assert only(text).message == "trunks form a loop and no loop prevention is declared"


def test_trunk_loop_with_stp_is_accepted():
    text = variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  fabric: {loop_prevention: stp}\n", LOOP)
    model = load_text(text, FILE)
    assert model.ix.fabric.loop_prevention == "stp"
    assert len(model.trunks) == 3


def test_unknown_loop_prevention_value():
    text = variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  fabric: {loop_prevention: rstp}\n", LOOP)
    found = findings(text)
    f = next(f for f in found if f.path == "ix.fabric.loop_prevention")
    assert "'none' or 'stp'" in f.message
    assert where(f) == at(text, "rstp")


def test_disconnected_sites():
    text = variant("members:", "trunks:\n  - {between: [fra, ams]}\nmembers:", THREE_SITES)
    f = only(text)
    assert f.message == "the sites are not all connected by trunks (fra, ams | lon)"
    assert f.path == "trunks"
    assert where(f) == at(text, "trunks:")
    assert "every site reaches every other" in f.hint


def test_disconnected_sites_without_any_trunk_points_at_the_top():
    f = only(THREE_SITES)
    assert f.message == "the sites are not all connected by trunks (fra | ams | lon)"
    assert (f.path, where(f)) == ("trunks", (1, 1))


# ---------------------------------------------------------------- sessions and timers

def test_no_route_server():
    text = variant("route_servers:\n  - {name: rs1, site: fra}\n", "route_servers: []\n")
    f = only(text)
    assert f.message == "no route server declared"
    assert f.path == "route_servers"
    assert where(f) == at(text, "route_servers:")
    assert "route_servers" in f.hint


def test_no_route_server_key_at_all():
    f = only(variant("route_servers:\n  - {name: rs1, site: fra}\n", ""))
    assert (f.message, f.path, where(f)) == ("no route server declared", "route_servers", (1, 1))


def test_hold_time_below_three_keepalives():
    text = variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  bgp: {keepalive: 5, hold: 14}\n")
    f = only(text)
    assert f.message == "hold time 14s is less than 3 x keepalive (5s)"
    assert f.hint == "use hold >= 15 or a shorter keepalive"
    assert f.path == "ix.bgp.hold"
    assert where(f) == at(text, "14")


def test_hold_time_of_exactly_three_keepalives_is_fine():
    assert load_text(variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  bgp: {keepalive: 5, hold: 15}\n"))


def test_member_without_any_session():
    text = variant("prefixes: [198.18.2.0/24]}", "prefixes: [198.18.2.0/24], route_server: false}")
    f = only(text)
    assert f.message == "member 'm2' has no BGP session"
    assert f.hint == "set route_server: true or list bilateral peers"
    assert f.path == "members[1]"
    assert where(f) == at(text, "{name: m2")


def test_bilateral_session_listed_on_one_side_is_enough():
    """The plan builds a bilateral session from either side's list, so m2 does have a session."""
    text = variant("prefixes: [198.18.1.0/24]}", "prefixes: [198.18.1.0/24], route_server: false, bilateral: [m2]}")
    text = variant("prefixes: [198.18.2.0/24]}", "prefixes: [198.18.2.0/24], route_server: false}", text)
    model = load_text(text, FILE)
    assert model.members[1].bilateral == []


# ---------------------------------------------------------------- document shape

@pytest.mark.parametrize("text", ["", "\n\n", "# just a comment\n"])
def test_empty_file(text):
    f = only(text)
    assert f.message == "the file is empty"
    assert f.path == "" and where(f) == (None, None)
    assert "labctl init" in f.hint


@pytest.mark.parametrize("text", ["- ix\n- sites\n", "just a string\n", "42\n", "---\n", "null\n"])
def test_top_level_not_a_mapping(text):
    f = only(text)
    assert f.message == "the top level must be a mapping with 'ix', 'sites', ..."
    assert f.path == "" and where(f) == (1, 1)


def test_missing_required_keys():
    text = "ix:\n  name: x\nsites: [{name: a}]\nroute_servers: [{name: r, site: a}]\n"
    found = findings(text)
    assert [(f.path, f.message, f.hint, where(f)) for f in found] == [
        ("ix.route_server_asn", "required key is missing", "add 'route_server_asn'", (2, 3)),
    ]


def test_empty_value_is_a_type_error_not_a_crash():
    """`key:` with nothing after it is null; it used to crash the loader (ParserError)."""
    text = variant("  name: test-ix\n", "  name:\n")
    f = only(text)
    assert f.path == "ix.name" and f.message == "Input should be a valid string"
    line, col = at(text, "name:")
    assert where(f) == (line, col + len("name:"))  # the (empty) value, right after the key


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!python/object:os.system x", "cannot read this value with YAML tag 'tag:yaml.org,2002:python/object:os.system'"),
        ("!custom x", "cannot read this value with YAML tag '!custom'"),
        ("!!int abc", "cannot read this value with YAML tag 'tag:yaml.org,2002:int'"),
    ],
)
def test_unsupported_yaml_tags_are_findings(value, message):
    text = variant("  name: test-ix\n", f"  name: {value}\n")
    found = findings(text)
    f = next(f for f in found if f.message.startswith(message))
    assert f.path == "ix.name"
    assert f.line == at(text, value)[0]


def test_merge_key_is_reported():
    text = variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  <<: {description: x}\n")
    found = findings(text)
    f = next(f for f in found if "merge" in f.message)
    assert f.message == "YAML merge keys ('<<') are not supported"
    assert f.path == "ix.<<" and where(f) == at(text, "<<")


def test_anchors_and_aliases_work():
    text = variant("{name: rs1, site: fra}", "{name: rs1, site: &home fra}")
    text = variant("{name: m2, asn: 64497, site: fra,", "{name: m2, asn: 64497, site: *home,", text)
    assert load_text(text, FILE).members[1].site == "fra"


@pytest.mark.parametrize("text", ["a: &x [*x]\n", "ix: " + "[" * 700 + "]" * 700 + "\n"])
def test_recursive_alias_and_absurd_nesting(text):
    f = only(text)
    assert f.message == "the YAML nests too deeply, or an alias refers to a value that contains it"


def test_multiline_description_is_rejected():
    """Descriptions go into config comments; a line break would inject a config statement."""
    text = variant("{name: m2,", '{name: m2, description: "isp\\nrouter bgp 1",')
    f = only(text)
    assert f.message == "a description must be one line"
    assert f.path == "members[1].description"


def test_folded_description_with_trailing_newline_is_fine():
    text = variant("  - name: fra\n", "  - name: fra\n    description: >\n      Frankfurt\n      main site\n")
    assert load_text(text, FILE).sites[0].description == "Frankfurt main site"


# ---------------------------------------------------------------- all at once

def test_many_errors_reported_in_one_run():
    """Type errors (pydantic) and cross-field errors (checks) come back together, sorted by line."""
    text = """\
ix:
  name: Bad_Name
  route_server_asn: 64511
  bgp: {keepalive: 10, hold: 20}
  colour: blue
sites:
  - name: fra
  - name: ams
route_servers:
  - {name: rs1, site: fra, ipv4: 192.0.2.1}
members:
  - {name: m1, asn: 64496, site: fra, ipv4: 192.0.2.1, prefixes: [198.18.1.1/24]}
  - {name: m2, asn: not-a-number, site: fra}
  - {name: m3, asn: 64498, site: par, prefixes: [203.0.113.0/24], route_server: false, bilateral: [m9]}
  - {name: m3, asn: 64499, site: ams, prefixes: ['2001:db8:1::/48']}
"""
    found = findings(text)
    got = {(f.path, f.message) for f in found}
    expected = {
        ("ix.name", "'Bad_Name' is not a valid name"),                                            # type
        ("ix.colour", "unknown key 'colour'"),                                                     # type
        ("members[0].prefixes[0]", "'198.18.1.1/24' has host bits set; did you mean 198.18.1.0/24?"),  # type
        ("members[1].asn", "Input should be a valid integer, unable to parse string as an integer"),  # type
        ("ix.bgp.hold", "hold time 20s is less than 3 x keepalive (10s)"),                         # cross-field
        ("members[0].ipv4", "192.0.2.1 collides with a route server (route_servers[0].ipv4)"),      # cross-field
        ("members[2].site", "unknown site 'par'"),                                                 # cross-field
        ("members[2].prefixes[0]", "203.0.113.0/24 is outside the lab prefix space (198.18.0.0/15)"),  # cross-field
        ("members[2].bilateral[0]", "unknown member 'm9'"),                                        # cross-field
        ("members[3].name", "duplicate node name 'm3' (also at members[2].name)"),                 # cross-field
        ("trunks", "the sites are not all connected by trunks (fra | ams)"),                       # cross-field
    }
    assert expected <= got, "missing: " + repr(expected - got)
    assert len(found) == len(got), "duplicate findings"
    # every finding is located, and the list is in document order
    lines = [f.line for f in found]
    assert all(isinstance(n, int) and n >= 1 for n in lines)
    assert lines == sorted(lines)
    # m2 is broken (its asn), so the cross-field checks run without it; references in messages
    # still use the file's indexes ("also at members[2]", not the index m3 had without m2)
    by_path = {f.path: f for f in found}
    assert not [f for f in found if f.path.startswith("members[1]") and f.path != "members[1].asn"]
    assert where(by_path["members[2].site"]) == at(text, "par")
    assert by_path["members[2].bilateral[0]"].line == at(text, "[m9]")[0]
    assert where(by_path["ix.colour"]) == at(text, "colour")


def test_model_errors_render_and_json():
    text = variant("[198.18.2.0/24]", "[198.18.2.77/24]")
    with pytest.raises(ModelErrors) as info:
        load_text(text, "my.yml")
    exc = info.value
    line, col = at(text, "198.18.2.77/24")
    assert exc.render() == f"my.yml:{line}:{col}: members[1].prefixes[0]: '198.18.2.77/24' has host bits set; did you mean 198.18.2.0/24?"
    doc = json.loads(exc.as_json())
    assert doc == {"valid": False, "errors": [{
        "file": "my.yml", "line": line, "column": col, "path": "members[1].prefixes[0]",
        "message": "'198.18.2.77/24' has host bits set; did you mean 198.18.2.0/24?", "hint": "",
    }]}


# ---------------------------------------------------------------- the CLI

runner = CliRunner()


def _no_crash(result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yml"
    path.write_text(variant("{name: m2, asn: 64497, site: fra,", "{name: m2, asn: 64497, site: fr,"))
    return path


def test_cli_validate_reports_and_exits_1(bad_file):
    result = runner.invoke(app, ["validate", str(bad_file)])
    _no_crash(result)
    assert result.exit_code == 1
    line, col = at(bad_file.read_text(), "fr,")
    assert f"{bad_file}:{line}:{col}: members[1].site: unknown site 'fr'" in result.stderr
    assert "hint: did you mean 'fra'?" in result.stderr
    assert f"{bad_file}: 1 problem(s)" in result.stderr
    assert result.stdout == ""


def test_cli_validate_json_shape(bad_file, examples):
    good = examples["minimal"]
    result = runner.invoke(app, ["validate", str(good), str(bad_file), "--json"])
    _no_crash(result)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["valid"] is False
    ok, bad = doc["files"]
    assert ok == {"file": str(good), "valid": True, "members": 2, "route_servers": 1, "sites": 1}
    assert bad["file"] == str(bad_file) and bad["valid"] is False
    [error] = bad["errors"]
    assert set(error) == {"file", "line", "column", "path", "message", "hint"}
    assert (error["path"], error["message"], error["hint"]) == ("members[1].site", "unknown site 'fr'", "did you mean 'fra'?")
    assert (error["line"], error["column"]) == at(bad_file.read_text(), "fr,")


def test_cli_validate_bundled_examples_exit_0(examples):
    paths = [str(p) for p in examples.values()]
    result = runner.invoke(app, ["validate", *paths])
    _no_crash(result)
    assert result.exit_code == 0, result.output
    assert "ok " in result.stdout and "regional-ix.yml: 3 sites, 2 route servers, 8 members" in result.stdout
    result = runner.invoke(app, ["validate", "--json", *paths])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["valid"] is True and [f["valid"] for f in doc["files"]] == [True] * len(paths)


def test_cli_validate_missing_file(tmp_path):
    missing = tmp_path / "nope.yml"
    result = runner.invoke(app, ["validate", str(missing)])
    _no_crash(result)
    assert result.exit_code == 1
    assert "no such file" in result.stderr and "labctl init" in result.stderr
    result = runner.invoke(app, ["validate", "--json", str(missing)])
    doc = json.loads(result.stdout)
    assert doc["files"][0]["errors"][0]["message"] == f"{missing}: no such file"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ix: [unclosed\n",
        "- a list\n",
        "ix:\n  name:\n",
        "ix: !!python/object:os.system x\n",
        "a: &x [*x]\n",
        "ix: " + "[" * 700 + "]" * 700 + "\n",
        "\x00",
        "ix: {name: x, route_server_asn: 1}\nsites: [{name: a}]\nroute_servers: [{name: r, site: a}]\nmembers:\n",
    ],
    ids=["empty", "syntax", "list", "null-value", "python-tag", "recursive-alias", "deep", "nul", "members-null"],
)
def test_cli_never_tracebacks(tmp_path, text):
    path = tmp_path / "x.yml"
    path.write_text(text)
    for args in (["validate", str(path)], ["validate", "--json", str(path)], ["generate", str(path), "-o", str(tmp_path / "out")]):
        result = runner.invoke(app, args)
        _no_crash(result)
        assert result.exit_code == 1, (args, result.output)
    assert not (tmp_path / "out").exists()


def test_cli_undecodable_file(tmp_path):
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"ix: {name: caf\xe9}\n")
    result = runner.invoke(app, ["validate", str(path)])
    _no_crash(result)
    assert result.exit_code == 1 and "cannot read" in result.stderr
