"""Failover scenarios on a lab with OpenBGPD 8.8 route servers and members (labctl/daemons/openbgpd.py):
`labctl test` brings up a small IX (rs1 OpenBGPD, rs2 BIRD 2; members on OpenBGPD, BIRD and FRR)
and runs rs-failover (rs1 stopped: zero loss), rs-restart and member-link-down against OpenBGPD
nodes, with the convergence observers reading bgpd's timestamped log."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from labctl.cli import app

from .helpers import leftovers

pytestmark = [pytest.mark.integration, pytest.mark.slow]
runner = CliRunner()

IX = """\
ix:
  name: t-obgpd
  route_server_asn: 64511
  peering_lan: {ipv4: 192.0.2.0/24, ipv6: "fd00:ffff::/64"}
  management: {ipv4_subnet: 172.30.248.0/24}
sites:
  - name: lab
route_servers:
  - {name: rs1, daemon: openbgpd, site: lab}
  - {name: rs2, daemon: bird, site: lab}
members:
  - {name: alpha, asn: 64496, site: lab, daemon: openbgpd, prefixes: [198.18.1.0/24, "2001:db8:1::/48"]}
  - {name: beta, asn: 64497, site: lab, daemon: bird, prefixes: [198.18.2.0/24, "2001:db8:2::/48"]}
  - {name: gamma, asn: 64498, site: lab, daemon: frr, prefixes: [198.18.3.0/24, "2001:db8:3::/48"]}
"""

SCENARIOS = {
    "rs-restart-openbgpd": {"fault": "daemon-restart", "target": "rs1", "detection": "notification",
                            "data_plane": "zero-loss"},
    "member-link-down-openbgpd": {"fault": "link-down", "target": "alpha", "detection": "hold-timer",
                                  "data_plane": "zero-loss"},
}


def test_failover_scenarios_with_openbgpd(lab_host, tmp_path):
    ix = tmp_path / "ix.yml"
    ix.write_text(IX)
    files = []
    for name, body in SCENARIOS.items():
        path = tmp_path / f"{name}.yml"
        path.write_text(yaml.safe_dump({"name": name, **body}))
        files.append(str(path))
    results = tmp_path / "results.json"
    try:
        run = runner.invoke(app, ["test", "--up", str(ix), "rs-failover", *files, "--results", str(results)],
                            catch_exceptions=False)
        data = json.loads(results.read_text())
        scenarios = {s["name"]: s for s in data["scenarios"]}
        for s in data["scenarios"]:
            print(s["name"], "passed" if s["passed"] else "FAILED", "t_detect", s.get("t_detect"),
                  "t_converge", s.get("t_converge"), "lost", [p["lost"] for p in s["probes"]])
        failed = {n: [c for c in s["checks"] if c["status"] == "fail"] or s["error"]
                  for n, s in scenarios.items() if not s["passed"]}
        assert run.exit_code == 0 and not failed, (failed, run.stdout[-3000:])
    finally:
        down = runner.invoke(app, ["down", "-f", str(ix)], catch_exceptions=False)
    assert down.exit_code == 0 and leftovers("t-obgpd", tmp_path / ".labctl" / "t-obgpd") == []
    assert list(scenarios) == ["rs-failover", *SCENARIOS]
    # the OpenBGPD route server is not in the forwarding path: stopping it costs no probe
    assert all(p["lost"] == 0 for p in scenarios["rs-failover"]["probes"])
    assert all(p["sent"] > 100 for s in scenarios.values() for p in s["probes"])
    # detection came from the observers' parsed session events (bgpd's log on alpha and rs1)
    assert scenarios["rs-failover"]["t_detect"] is not None and scenarios["rs-failover"]["t_detect"] < 1.0
