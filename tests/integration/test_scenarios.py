"""`labctl test` on the bundled regional IX: every built-in scenario green, the three outputs
written, and the measurement checked against itself (hold timer versus BFD)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.scenarios.spec import builtin_names

from .helpers import copy_example, leftovers

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_builtin_scenarios_on_the_regional_ix(lab_host, examples, tmp_path):
    ix = copy_example(examples["regional-ix"], tmp_path, "t-scen", "172.30.254.0/24")
    junit, results, report = tmp_path / "junit.xml", tmp_path / "results.json", tmp_path / "report"
    try:
        run = runner.invoke(app, ["test", "--up", str(ix), "--junit", str(junit), "--results", str(results),
                                  "--report", str(report)], catch_exceptions=False)
        data = json.loads(results.read_text())
        failed = {s["name"]: [c for c in s["checks"] if c["status"] == "fail"] or s["error"]
                  for s in data["scenarios"] if not s["passed"]}
        assert run.exit_code == 0 and not failed, (failed, run.stdout[-3000:])
        # locality with the IX up: every pair of members reached, all of it inside the region
        loc = runner.invoke(app, ["locality", "-f", str(ix), "--json"], catch_exceptions=False)
        locality = json.loads(loc.stdout)
        print(runner.invoke(app, ["locality", "-f", str(ix)], catch_exceptions=False).stdout)
        assert loc.exit_code == 0 and locality["summary"] == {"pairs": 28, "reached": 28, "in_region": 28,
                                                              "share_in_region": 1.0}, locality
    finally:
        down = runner.invoke(app, ["down", "-f", str(ix)], catch_exceptions=False)
    assert down.exit_code == 0 and leftovers("t-scen", tmp_path / ".labctl" / "t-scen") == []

    scenarios = {s["name"]: s for s in data["scenarios"]}
    assert list(scenarios) == builtin_names()

    # JUnit for CI: one testcase per scenario, none failed
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == str(len(scenarios)) and suite.get("failures") == "0" and suite.get("errors") == "0"
    assert {tc.get("name") for tc in suite.iter("testcase")} == set(scenarios)
    # the human report: a summary row and a timeline plot per scenario
    md = (report / "report.md").read_text()
    for name in scenarios:
        assert f"| {name} | PASS |" in md
        assert ET.parse(report / f"{name}.svg").getroot().tag.endswith("svg")
    # ... and the same as one self-contained page, the IX's picture at the top
    html = (report / "report.html").read_text()
    assert 'aria-label="topology of t-scen"' in html and "<script" not in html.lower()
    assert all(f'<section id="{name}">' in html for name in scenarios)

    # Self-test of the measurement: the same fault detected by the hold timer (9 s, keepalive 3 s,
    # BIRD jitter to 75 %) and by BFD (300 ms x 3) must show those timers, not the tool's speed.
    hold = scenarios["member-link-down"]["t_detect"]
    bfd = scenarios["member-link-down-bfd"]["t_detect"]
    assert 0.75 * 9 - 3 - 0.25 <= hold <= 9 + 1.0, hold
    assert 0.0 < bfd <= 0.9 + 1.0, bfd
    assert bfd < hold / 3
    # a route server is not in the forwarding path: its failure costs no probe
    assert all(p["lost"] == 0 for p in scenarios["rs-failover"]["probes"])
    assert all(p["sent"] > 100 for s in scenarios.values() for p in s["probes"])
    # impairment: delay needs netem; where it is missing, the report says so instead of passing it
    delay = [c for c in scenarios["impairment"]["checks"] if c["name"] == "delay impairment"]
    assert all(c["status"] == "unavailable" and "netem" in c["observed"] for c in delay)
    # dual-homed members (issue 11): seto-net loses its Kurashiki port and stays reachable through
    # seto-net-oka; Tsuyama's switch fails: momo-catv stays through momo-catv-oka, the single-homed
    # members there are gone (their outage reported, not asserted), the route servers carry on
    dual = scenarios["dual-homed-link-down"]
    rerouted = [p for p in dual["probes"] if p["kind"] == "rerouted"]
    assert [p["to"] for p in rerouted] == ["seto-net-oka"]
    assert any(c["name"] == "data plane " + rerouted[0]["from"] + " -> seto-net-oka" and c["status"] == "pass"
               for c in dual["checks"])
    site = scenarios["site-down"]
    assert {(p["to"], p["kind"]) for p in site["probes"] if p["kind"] != "zero-loss"} == {
        ("momo-catv-oka", "rerouted"), ("mimasaka-isp", "observed"), ("sanyo-transit", "observed")}
    assert all(p["lost"] == 0 for p in site["probes"] if p["kind"] == "zero-loss")
    assert all(p["lost"] > 0 for p in site["probes"] if p["kind"] == "observed")  # really gone
    # upstreams (issue 17): Tokyo gone, traffic between members stays on the IX and loses nothing;
    # the IX gone, transit customers reach each other again through their upstreams (outage measured)
    up = scenarios["upstream-down"]
    assert up["probes"] and all(p["kind"] == "zero-loss" and p["lost"] == 0 for p in up["probes"])
    ixd = scenarios["ix-down"]
    assert ixd["probes"] and all(p["kind"] == "rerouted" for p in ixd["probes"])
    assert all(c["status"] == "pass" for c in ixd["checks"] if c["name"].startswith("data plane"))
    print("ix-down outages:", [(p["from"], p["to"], p["lost"], p["outage_ms"]) for p in ixd["probes"]])
