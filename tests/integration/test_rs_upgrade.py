"""The rolling-upgrade scenario on a real lab: the bundled regional IX (own name and management
subnet), rs1 replaced BIRD 2.17 -> BIRD 3.1 while rs2 carries the IX, then put back.

Proved here, on real daemons: the scenario passes (NOTIFICATION detection, no probe lost, the lab
converged on the new release), the node itself reports each release (asked again here with
`docker exec`, not through labctl), the switch port of rs1 is the one it was (its veth was moved,
not re-created), the lab ends as it started (same image, converged, `labctl push` finds nothing to
change), and `down` leaves nothing behind, parked links included."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from typer.testing import CliRunner

from labctl.cli import app

from .helpers import copy_example, leftovers

pytestmark = pytest.mark.integration
runner = CliRunner()
LAB = "t-upg"


def docker_exec(node: str, *argv: str) -> str:
    return subprocess.run(["docker", "exec", f"clab-{LAB}-{node}", *argv], capture_output=True, text=True,
                          timeout=60).stdout


def container(node: str) -> dict:
    out = subprocess.run(["docker", "inspect", f"clab-{LAB}-{node}"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]




def test_rs_upgrade_on_the_regional_ix(lab_host, examples, tmp_path):
    ix = copy_example(examples["regional-ix"], tmp_path, LAB, "172.30.238.0/24")
    results = tmp_path / "results.json"
    try:
        up = runner.invoke(app, ["up", "-f", str(ix)], catch_exceptions=False)
        assert up.exit_code == 0, up.stdout[-2000:]
        before = container("rs1")
        assert docker_exec("rs1", "birdc", "show", "status").splitlines()[1].startswith("BIRD 2.17")
        rs1_link = docker_exec("rs1", "cat", "/sys/class/net/eth1/iflink").strip()  # the switch end's ifindex
        switch_ports = docker_exec("sw-okayama", "ip", "-o", "link")

        run = runner.invoke(app, ["test", "rs-upgrade", "-f", str(ix), "--results", str(results)],
                            catch_exceptions=False)
        data = json.loads(results.read_text())
        sc = data["scenarios"][0]
        failed = [c for c in sc["checks"] if c["status"] != "pass"]
        assert run.exit_code == 0 and sc["passed"] and not failed, (failed, sc["error"], run.stdout[-3000:])

        print(f"rs-upgrade: t_detect {sc['t_detect'] * 1000:.0f} ms, t_cp {sc['t_cp'] * 1000:.0f} ms, "
              f"outage {max(p['outage_ms'] for p in sc['probes']):.0f} ms, replacement {sc['upgrade']['replace_seconds']}, "
              f"recovery cp {sc['recovery_cp']} s, back {sc['upgrade']['replace_back_seconds']} "
              f"converged {sc['upgrade']['back_converged_seconds']} s, scenario {sc['seconds']:.1f} s; "
              + "; ".join(f"{c['name']}: {c['observed']}" for c in sc["checks"]))
        # what changed, as labctl reports it and as the node says it itself
        up_ = sc["upgrade"]
        assert (up_["node"], up_["from"], up_["to"]) == ("rs1", "BIRD 2.17", "BIRD 3.1")
        assert up_["running_after"].startswith("BIRD 3.1.") and up_["running_at_end"].startswith("BIRD 2.17.")
        assert sc["target"] == "rs1 upgraded: BIRD 2.17 -> BIRD 3.1 (image trixie -> trixie-bird3)"
        checks = {c["name"]: c for c in sc["checks"]}
        assert checks["new release running"]["observed"].startswith(up_["running_after"])
        assert 0 <= sc["t_detect"] <= 1.0  # NOTIFICATION from the graceful stop
        assert sc["probes"] and all(p["lost"] == 0 and p["sent"] > 100 for p in sc["probes"])
        # the replaced node's own log: it went down before the replacement and came up after it
        rs1_events = [e for e in sc["events"] if e["node"] == "rs1"]
        assert any(e["kind"] == "session-down" and e["t"] < sc["t_restore"] for e in rs1_events)
        assert any(e["kind"] == "session-up" and e["t"] > sc["t_restore"] for e in rs1_events)

        # the lab ends as it started: the original image, BIRD 2.17, the same switch port
        after = container("rs1")
        assert after["Id"] != before["Id"] and after["Config"]["Image"] == before["Config"]["Image"]
        assert after["NetworkSettings"]["Networks"].keys() == before["NetworkSettings"]["Networks"].keys()
        ip_of = lambda c: next(iter(c["NetworkSettings"]["Networks"].values()))["IPAddress"]  # noqa: E731
        assert ip_of(after) == ip_of(before)
        assert docker_exec("rs1", "birdc", "show", "status").splitlines()[1].startswith("BIRD 2.17")
        assert docker_exec("rs1", "cat", "/sys/class/net/eth1/iflink").strip() == rs1_link
        assert docker_exec("sw-okayama", "ip", "-o", "link") == switch_ports
        status = runner.invoke(app, ["status", "-f", str(ix), "--json"], catch_exceptions=False)
        assert status.exit_code == 0, status.stdout[-2000:]
        push = runner.invoke(app, ["push", "--dry-run", "-f", str(ix), "--json"], catch_exceptions=False)
        assert push.exit_code == 0 and all(n["status"] == "unchanged" for n in json.loads(push.stdout)["nodes"]), \
            push.stdout[-2000:]
    finally:
        down = runner.invoke(app, ["down", "-f", str(ix)], catch_exceptions=False)
    assert down.exit_code == 0 and leftovers(LAB, tmp_path / ".labctl" / LAB) == []
    host_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert not re.findall(r"^\d+: up\d+eth\d+", host_links, re.M), host_links  # no parked veth left


def test_frr_route_server_from_the_legacy_stack_to_today(lab_host, examples, tmp_path):
    """The other default path: an FRR route server on the bookworm stack (FRR 8.4) replaced by
    trixie's (FRR 10.3), on the minimal IX with a second route server added to carry it meanwhile;
    the scenario is a user's file naming only its target."""
    def two_route_servers(data):
        data["route_servers"].append({"name": "rs2", "daemon": "frr", "site": "lab", "stack": "bookworm"})

    lab = "t-upg2"
    ix = copy_example(examples["minimal"], tmp_path, lab, "172.30.238.0/24", edit=two_route_servers)
    scenario = tmp_path / "frr-upgrade.yml"
    scenario.write_text("name: frr-upgrade\nfault: upgrade\ntarget: rs2\ndetection: notification\n")
    results = tmp_path / "results.json"
    try:
        up = runner.invoke(app, ["up", "-f", str(ix)], catch_exceptions=False)
        assert up.exit_code == 0, up.stdout[-2000:]
        run = runner.invoke(app, ["test", str(scenario), "-f", str(ix), "--results", str(results)],
                            catch_exceptions=False)
        sc = json.loads(results.read_text())["scenarios"][0]
        print(f"frr-upgrade: t_detect {sc['t_detect']} s, t_cp {sc['t_cp']} s, replacement "
              f"{sc['upgrade']['replace_seconds']}, recovery cp {sc['recovery_cp']} s, scenario {sc['seconds']:.1f} s; "
              + "; ".join(f"{c['name']}: {c['observed']}" for c in sc["checks"]))
        failed = [c for c in sc["checks"] if c["status"] != "pass"]
        assert run.exit_code == 0 and sc["passed"] and not failed, (failed, sc["error"], run.stdout[-3000:])
        assert (sc["upgrade"]["from"], sc["upgrade"]["to"]) == ("FRR 8.4", "FRR 10.3")
        assert sc["upgrade"]["running_after"].startswith("FRR 10.3")
        assert sc["upgrade"]["running_at_end"].startswith("FRR 8.4")
        out = subprocess.run(["docker", "exec", f"clab-{lab}-rs2", "vtysh", "-c", "show version"], capture_output=True,
                             text=True, timeout=60).stdout
        assert out.startswith("FRRouting 8.4"), out
    finally:
        down = runner.invoke(app, ["down", "-f", str(ix)], catch_exceptions=False)
    assert down.exit_code == 0 and leftovers(lab, tmp_path / ".labctl" / lab) == []
