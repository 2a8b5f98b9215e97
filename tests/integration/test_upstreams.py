"""Upstreams on a real lab (tests/fixtures/upstreams/ix.yml: members on FRR, BIRD 2, BIRD 3 and
OpenBGPD buying transit from two upstreams): `labctl up` waits for the transit routes; every
customer holds the IX's path as best and the transit path as a backup (local preference 50);
the route servers never see a transit-learned route."""

from __future__ import annotations

import json
import shutil
import time
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.cli import app

from .helpers import edit_file, leftovers

pytestmark = pytest.mark.integration
runner = CliRunner()
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "upstreams" / "ix.yml"
LAB = "t-upstream"
LAN = (ip_network("192.0.2.0/24"), ip_network("fd00:ffff::/64"))
TRANSIT = (ip_network("10.254.0.0/16"), ip_network("fd00:ab::/48"), ip_network("10.255.0.0/16"), ip_network("fd00:bb::/48"))
UPSTREAM_ASNS = {2914, 2516}
UPSTREAM_PREFIXES = ["198.19.0.0/24", "2001:db8:f000::/48", "198.19.1.0/24", "2001:db8:f001::/48"]


def labctl(*args: str):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, result.stdout + result.stderr


def _in(addr: str, nets) -> bool:
    return any(ip_address(addr) in n for n in nets if n.version == ip_address(addr).version)


def _lg(ix: Path, node: str, prefix: str) -> list[dict]:
    code, out = labctl("lg", node, prefix, "-f", str(ix), "--json")
    assert code == 0, out
    return [r for r in out["routes"] if not r.get("rejected") and not r.get("filtered")]


def test_transit_is_backup_and_never_reaches_the_route_servers(lab_host, tmp_path):
    ix = tmp_path / "ix.yml"
    shutil.copy(FIXTURE, ix)
    edit_file(ix, lambda d: d["ix"].update(name=LAB, management={"ipv4_subnet": "172.30.236.0/24"}))
    started = time.monotonic()
    try:
        code, up = labctl("up", str(ix), "--json")
        assert code == 0, up  # converged: the customers' transit routes and the upstreams' routes included
        assert len(up["configured"]) == 12
        # customers on every daemon: another customer's prefixes best over the IX, backed up by transit
        for node, other in [("frr-isp", "198.18.2.0/24"), ("bird-isp", "2001:db8:1::/48"), ("obgp-isp", "198.18.2.0/24"),
                            ("dual-a", "198.18.3.0/24"), ("obgp-isp", "2001:db8:4::/48")]:
            paths = _lg(ix, node, other)
            best = [p for p in paths if p["best"]]
            assert len(best) == 1 and _in(best[0]["next_hop"], LAN) and best[0]["local_pref"] in (None, 100), (node, paths)
            backup = [p for p in paths if not p["best"] and p["local_pref"] == 50 and p["as_path"][0] in UPSTREAM_ASNS]
            assert backup and all(_in(p["next_hop"], TRANSIT) for p in backup), (node, other, paths)
        # the upstreams' "Internet": on customers (dual-b over its backbone), nowhere else at the IX
        for node in ("frr-isp", "bird-isp", "obgp-isp", "dual-b"):
            paths = _lg(ix, node, "198.19.1.0/24")
            assert [p["local_pref"] for p in paths if p["best"]] == [50], (node, paths)
        assert _lg(ix, "local-only", "198.19.0.0/24") == []
        # the route servers: no upstream prefix, and no member route learned through an upstream
        for rs in ("rs1", "rs2"):
            for prefix in UPSTREAM_PREFIXES:
                code, out = labctl("lg", rs, prefix, "-f", str(ix), "--json")
                assert code == 0 and out["routes"] == [], (rs, prefix, out)
            for prefix in ("198.18.1.0/24", "198.18.2.0/24", "2001:db8:3::/48", "198.18.4.0/24"):
                code, out = labctl("lg", rs, prefix, "-f", str(ix), "--json")
                assert code == 0 and out["routes"], (rs, prefix, out)
                assert all(not set(r["as_path"]) & UPSTREAM_ASNS for r in out["routes"]), (rs, prefix, out["routes"])
    finally:
        code, down = labctl("down", str(ix), "--json")
        print(f"test_upstreams: {time.monotonic() - started:.1f} s")
    assert code == 0
    assert leftovers(LAB, tmp_path / ".labctl" / LAB) == []


@pytest.mark.slow
@pytest.mark.extended  # ~5 min, two designs each brought up and faulted: run by hand (README), not in CI
def test_compare_the_regional_ix_with_its_aggregator_design(lab_host, examples, tmp_path):
    """`labctl compare`: both designs of the bundled regional IX, one after the other, through
    locality, upstream-down and ix-down; the report from the measurements."""
    from .helpers import copy_example

    ix = copy_example(examples["regional-ix"], tmp_path, "t-cmp", "172.30.235.0/24")
    out = tmp_path / "cmp"
    started = time.monotonic()
    result = runner.invoke(app, ["compare", "-f", str(ix), "-o", str(out), "--json"], catch_exceptions=False)
    print(f"compare: {time.monotonic() - started:.1f} s")
    runs = json.loads(result.stdout)
    print((out / "compare.md").read_text())
    assert result.exit_code == 0 and [r["design"] for r in runs] == ["ix", "aggregator"], runs
    ixd, agg = runs
    for r in runs:
        assert not r["error"] and r["locality"]["summary"]["reached"] == 28, r
        scen = {s["name"]: s for s in r["scenarios"]}
        up = scen["upstream-down"]
        assert up["probes"] and all(p["lost"] == 0 for p in up["probes"] if p["kind"] == "zero-loss"), up
    assert ixd["locality"]["summary"]["in_region"] == 28
    ix_down = {s["name"]: s for s in ixd["scenarios"]}["ix-down"]
    assert all(c["status"] == "pass" for c in ix_down["checks"] if c["name"].startswith("data plane")), ix_down["checks"]
    agg_down = {s["name"]: s for s in agg["scenarios"]}["ix-down"]
    assert agg_down["probes"] and all(p["lost"] > 0 for p in agg_down["probes"])  # nothing replaces the aggregator
    md = (out / "compare.md").read_text()
    assert "| member pairs whose traffic stays in the region |" in md and "## aggregator design: locality" in md
    for lab in ("t-cmp-ix", "t-cmp-agg"):
        assert leftovers(lab) == []
