"""Upstreams (transit providers, ix.yml `upstreams`): validation, plan, expected routes, and the
golden configs of members of every daemon that buy transit (tests/fixtures/upstreams/golden,
rewritten with LABCTL_UPDATE_GOLDEN=1 like the bundled examples' goldens)."""

from __future__ import annotations

import os
import shutil
from ipaddress import ip_network
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl import daemons
from labctl.cli import app
from labctl.model.load import load
from labctl.plan import build_plan
from labctl.plan.build import expected_routes, bilateral_pairs, upstream_routes
from labctl.render import write_lab

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "upstreams"
IX = HERE / "ix.yml"
GOLDEN = HERE / "golden"
TOKYO = {"198.19.0.0/24", "2001:db8:f000::/48", "0.0.0.0/0", "::/0"}
OSAKA = {"198.19.1.0/24", "2001:db8:f001::/48"}


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_golden_configs_of_transit_customers_on_every_member_daemon(render, golden_image):
    rendered = render(IX, golden_image)
    if os.environ.get("LABCTL_UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN, ignore_errors=True)
        write_lab(rendered, GOLDEN)
    assert _tree(GOLDEN) == rendered
    # the fixture covers every daemon a member can run, each buying transit
    plan = build_plan(load(IX))
    buying = {plan.nodes[s.node].daemon for n in plan.by_role("member") for s in n.sessions if s.kind == "upstream"}
    assert buying == set(daemons.names())


def _routes(got: dict) -> dict[str, set[str]]:
    return {k: {str(p) for p in v} for k, v in got.items()}


def test_customers_expect_transit_routes_and_ix_only_members_do_not():
    plan = build_plan(load(IX))
    want = _routes(plan.expected_routes)
    assert TOKYO | OSAKA <= want["frr-isp"] and TOKYO | OSAKA <= want["obgp-isp"]
    # Tokyo's prefixes through Osaka; Tokyo's default route goes to Tokyo's own customers only
    assert OSAKA <= want["bird-isp"] and TOKYO - {"0.0.0.0/0", "::/0"} <= want["bird-isp"]
    assert not {"0.0.0.0/0", "::/0"} & want["bird-isp"]
    assert TOKYO | OSAKA <= want["dual-b"]  # over the member's backbone from dual-a, the customer router
    assert not (TOKYO | OSAKA) & want["local-only"]  # nobody re-announces transit routes at the IX
    ups = _routes(plan.upstream_routes)
    assert "198.18.5.0/24" not in ups["tokyo"]  # local-only buys no transit
    assert {"198.18.1.0/24", "198.18.2.0/24", "198.18.4.0/24", "198.19.1.0/24"} <= ups["tokyo"]
    assert {"198.18.3.0/24", "198.19.0.0/24"} <= ups["osaka"]


def test_with_the_route_servers_gone_customers_keep_each_other_through_transit():
    m = load(IX)
    plan = build_plan(m)
    during = _routes(expected_routes(m, plan.nodes, bilateral_pairs(m), frozenset({"rs1", "rs2"})))
    assert {"198.18.2.0/24", "198.18.3.0/24"} <= during["frr-isp"]
    assert "198.18.5.0/24" not in during["frr-isp"]  # local-only reached through the IX only
    assert during["local-only"] == set()
    # an upstream gone: its prefixes and default leave, the other's stay; local routes unchanged
    without_tokyo = _routes(expected_routes(m, plan.nodes, bilateral_pairs(m), frozenset({"tokyo"})))
    assert not TOKYO & without_tokyo["frr-isp"] and OSAKA <= without_tokyo["frr-isp"]
    assert without_tokyo["local-only"] == _routes(plan.expected_routes)["local-only"]
    assert "tokyo" not in upstream_routes(m, plan.nodes, frozenset({"tokyo"}))


def test_plan_links_addresses_and_sessions():
    plan = build_plan(load(IX))
    tokyo = plan.nodes["tokyo"]
    assert tokyo.role == "upstream" and tokyo.ipv4 is None and tokyo.city == "Tokyo"
    assert [t.peer for t in tokyo.transit] == ["frr-isp", "obgp-isp", "dual-a", "osaka"]
    assert {s.kind for s in tokyo.sessions} == {"customer", "transit-peer"}
    assert not any(l.a == "tokyo" or l.b == "tokyo" for l in plan.links if not l.transit)  # never on the IX LAN
    frr = plan.nodes["frr-isp"]
    assert [(t.peer, t.delay_ms) for t in frr.transit] == [("tokyo", 8), ("osaka", 4)]
    assert ip_network(frr.transit[0].ipv4, strict=False) == ip_network("10.254.0.0/31")
    assert "dual-b" not in {t.peer for t in tokyo.transit}  # a member's first router connects


@pytest.mark.parametrize("change, message, hint", [
    ("customers: [bird-isp, frr-isp]", "unknown member 'bird-ips'", "did you mean 'bird-isp'"),
    ("asn: 2516", "ASN 64496 of upstream 'tokyo' is already used by member 'frr-isp'", "ASN of its own"),
    ("prefixes: [198.19.1.0/24", "198.18.1.0/25 overlaps a prefix of member 'frr-isp'", "no member or other upstream"),
    ("daemon: frr\n    latency_ms: 4", "cannot configure BIRD 2 as an upstream", "daemon: frr"),
])
def test_bad_upstreams_are_reported_with_a_fix(tmp_path, change, message, hint):
    text = IX.read_text()
    edits = {
        "customers: [bird-isp, frr-isp]": ("customers: [bird-isp, frr-isp]", "customers: [bird-ips, frr-isp]"),
        "asn: 2516": ("asn: 2914", "asn: 64496"),
        "prefixes: [198.19.1.0/24": ("prefixes: [198.19.0.0/24", "prefixes: [198.18.1.0/25"),
        "daemon: frr\n    latency_ms: 4": ("    latency_ms: 4\n", "    daemon: bird\n    latency_ms: 4\n"),
    }
    old, new = edits[change]
    assert old in text
    bad = tmp_path / "ix.yml"
    bad.write_text(text.replace(old, new, 1))
    result = CliRunner().invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert message in result.output and hint in result.output and "Traceback" not in result.output
    assert f"{bad}:" in result.output  # located in the file
