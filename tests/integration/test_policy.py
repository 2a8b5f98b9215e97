"""Route-server policy on a live lab: hostile members attack both route servers (BIRD and FRR) in
both address families; every hostile route must be rejected with the right reason, every
legitimate route accepted and propagated, communities must steer, a max-prefix flood must meet
the configured action, and the lab must come back. Plus: every policy variant the model allows
renders to configs both daemons accept.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from labctl import lifecycle as labmod
from labctl import daemons
from labctl.automation.policy_tasks import inject, restore
from labctl.cli import app
from labctl.model.load import load_text
from labctl.plan import build_plan
from labctl.render import render_lab, write_lab
from labctl.scenarios.rs_policy import HOSTILE_CASES, INTENT, STEERING_CASES, build_spec, run_policy_scenario

from .helpers import leftovers
from .test_config_check import run_checks

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "policy"
runner = CliRunner()


def copy_fixture(dest: Path, lab: str, subnet: str, edit=None) -> Path:
    for f in FIXTURE.iterdir():
        if f.is_file():
            shutil.copy(f, dest / f.name)
    data = yaml.safe_load((dest / "ix.yml").read_text())
    data["ix"]["name"] = lab
    data["ix"]["management"] = {"ipv4_subnet": subnet}
    if edit:
        edit(data)
    (dest / "ix.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    return dest / "ix.yml"


def table(rows) -> str:
    return "\n".join(f"{'ok  ' if r.ok else 'FAIL'} {r.route_server}/{r.daemon} {r.afi} {r.kind} {r.case} "
                     f"{r.member} {r.prefix}\n      expected: {r.expected}\n      observed: {r.observed}" for r in rows)


def test_policy_scenario_on_bird_and_frr(lab_host, tmp_path):
    ix = copy_fixture(tmp_path, "p-policy", "172.30.241.0/24")
    started = time.monotonic()
    try:
        up = labmod.up(ix)
        assert up.ok, (up.failed_nodes, up.convergence.down_sessions, up.convergence.missing_routes)
        lab = labmod.open_lab(ix)

        # the looking glass explains a rejection on both daemons (one hostile route, then restored)
        spec = build_spec(lab.plan)
        hostile = next(a for a in spec.announcements if a.case == "next-hop" and a.afi == "ipv4")
        nr = lab.nornir(only=[hostile.member])
        try:
            node = lab.plan.nodes[hostile.member]
            text = daemons.get(node.daemon).injection(lab.plan, node, [hostile], {}, lab.node_files()[node.name])
            assert not nr.run(task=inject, text=text).failed
            for rs in ("rs1", "rs2"):
                deadline = time.monotonic() + 30
                while True:
                    code = runner.invoke(app, ["lg", rs, hostile.prefix, "--file", str(ix), "--json"])
                    assert code.exit_code == 0, code.output
                    got = json.loads(code.stdout)
                    rejected = [r for r in got["routes"] if r["rejected"]]
                    if rejected or time.monotonic() > deadline:
                        break
                    time.sleep(1)
                assert [x["key"] for x in rejected[0]["reasons"]] == ["next-hop"], got
                text = runner.invoke(app, ["lg", rs, hostile.prefix, "--file", str(ix)]).stdout
                assert "why: 5 next-hop: NEXT_HOP is not the announcing member's own address" in text, text
        finally:
            nr.run(task=restore)
            nr.close_connections()

        result = run_policy_scenario(lab, progress=lambda m: print(f"[{time.monotonic() - started:6.1f} s] {m}"))
        out = Path(os.environ.get("LABCTL_ARTIFACTS", tmp_path)) / "policy-result.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.as_dict(), indent=1, default=str))
        print(f"policy scenario: {result.seconds} s, phases {result.phases}; result in {out}")
        print("route servers:", json.dumps(result.resources, indent=1))
        assert not result.error, result.error
        assert result.skipped == [], result.skipped

        # coverage: every case on every route server and family
        for daemon in ("bird", "frr"):
            for afi in ("ipv4", "ipv6"):
                rows = [c for c in result.cases if c.daemon == daemon and c.afi == afi]
                assert {c.case for c in rows if c.kind == "hostile"} == set(HOSTILE_CASES), (daemon, afi)
                assert {c.case for c in rows if c.kind == "steering"} == set(STEERING_CASES), (daemon, afi)
                assert {c.member for c in rows if c.kind == "legitimate"} == {"alpha", "beta", "mallory", "trudy"}
                assert [c.case for c in rows if c.kind == "max-prefix"] == ["max-prefix-shutdown"]
        # the fixture makes every hostile route break exactly the rule it is built for
        for a in result.announcements:
            if a["case"] in INTENT:
                assert list(a["expected_reasons"]) == [INTENT[a["case"]]], a
        failed = [c for c in result.cases if not c.ok]
        assert not failed, "\n" + table(failed)
        assert result.ok

        # restored: full visibility, nothing left of the attack
        res = runner.invoke(app, ["status", str(ix), "--json"])
        status = json.loads(res.stdout)
        holes = [(v, o, afi) for v, row in status["matrix"].items() for o, cells in row.items()
                 for afi, seen in cells.items() if seen is False]
        assert res.exit_code == 0 and holes == [], holes
    finally:
        down = labmod.down(ix)
    assert leftovers("p-policy", tmp_path / ".labctl" / "p-policy") == [], down
    print(f"test run time incl. up and down: {time.monotonic() - started:.1f} s")


# Policy knobs the scenario's fixture does not turn: each variant must render to configs both
# daemons accept (no lab; one container checks them all).
VARIANTS = {
    "restart": lambda d: d["ix"]["policy"].update(max_prefix_action="restart", max_prefix_restart_minutes=3),
    "warning": lambda d: d["ix"]["policy"].update(max_prefix_action="warning"),
    "bird-block": lambda d: (d["ix"]["policy"].update(max_prefix_action="block"),
                             d.update(route_servers=[d["route_servers"][0]])),
    "bounds-and-lists": lambda d: d["ix"]["policy"].update(
        prefix_length={"ipv4": {"min": 1, "max": 32}, "ipv6": {"min": 0, "max": 128}},
        transit_free_asns=[], max_as_path_length=1, rpki={"roas": []}, blackhole={}),
    "own-reserved-and-transit-free-asns": lambda d: (d["members"][1].update(asn=4200000001),
                                                     d["members"][0].update(asn=3356),
                                                     d["ix"]["policy"]["rpki"].update(roas=[])),
}


def test_every_policy_variant_renders_to_configs_both_daemons_accept(lab_host, tmp_path):
    expected = set()
    for name, edit in VARIANTS.items():
        folder = tmp_path / name
        folder.mkdir()
        ix = copy_fixture(folder, f"p-{name}"[:24], "172.30.242.0/24", edit)
        files = render_lab(build_plan(load_text(ix.read_text(), str(ix))), lab_host)
        write_lab(files, folder / "out")
        expected |= {f"{name}/out/{rel}" for rel in files if rel.endswith(("/bird.conf", "/frr.conf"))}
    for p in tmp_path.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    tmp_path.chmod(0o755)
    results = run_checks(lab_host, tmp_path)
    assert expected <= set(results)
    failed = {p: out for p, (rc, out) in results.items() if rc != 0}
    assert not failed, failed


def test_policy_scenario_on_bird3(lab_host, tmp_path):
    """The whole policy scenario against a BIRD 3.1 route server (labctl/node-trixie-bird3) next to
    FRR 10.3: BIRD 3 gets BIRD 2's configuration, and must decide every case the same way."""
    def bird3(data):
        data["route_servers"][0]["daemon"] = "bird3"
    ix = copy_fixture(tmp_path, "p-bird3", "172.30.243.0/24", bird3)
    try:
        up = labmod.up(ix)
        assert up.ok, (up.failed_nodes, up.convergence.down_sessions, up.convergence.missing_routes)
        lab = labmod.open_lab(ix)
        assert lab.plan.nodes["rs1"].image == "trixie-bird3"
        result = run_policy_scenario(lab)
        assert not result.error, result.error
        for afi in ("ipv4", "ipv6"):
            rows = [c for c in result.cases if c.daemon == "bird3" and c.afi == afi]
            assert {c.case for c in rows if c.kind == "hostile"} == set(HOSTILE_CASES), afi
            assert {c.case for c in rows if c.kind == "steering"} == set(STEERING_CASES), afi
        # BIRD 3 renders without `secondary` (labctl/daemons/bird.py says why): every case must pass
        failed = [c for c in result.cases if not c.ok]
        assert not failed, "\n" + table(failed)
    finally:
        labmod.down(ix)
    assert leftovers("p-bird3", tmp_path / ".labctl" / "p-bird3") == []


@pytest.mark.slow
def test_policy_scenario_on_openbgpd_and_bird3(lab_host, tmp_path):
    """The whole policy scenario against an OpenBGPD 8.8 route server next to a BIRD 3.1 one, with
    an OpenBGPD member (beta) among the attackers: every case OpenBGPD can be given must pass on
    both route servers in both families. An OpenBGPD member cannot originate other ASNs, so the
    cases that need them go to the FRR and BIRD attackers."""
    def openbgpd(data):
        data["route_servers"][0]["daemon"] = "openbgpd"
        data["route_servers"][1]["daemon"] = "bird3"
        next(m for m in data["members"] if m["name"] == "beta")["daemon"] = "openbgpd"
    ix = copy_fixture(tmp_path, "p-obgpd", "172.30.247.0/24", openbgpd)
    started = time.monotonic()
    try:
        up = labmod.up(ix)
        assert up.ok, (up.failed_nodes, up.convergence.down_sessions, up.convergence.missing_routes)
        lab = labmod.open_lab(ix)
        assert (lab.plan.nodes["rs1"].daemon, lab.plan.nodes["rs2"].image) == ("openbgpd", "trixie-bird3")
        explain_one_rejection(lab, ix)
        result = run_policy_scenario(lab, progress=lambda m: print(f"[{time.monotonic() - started:6.1f} s] {m}"))
        out = Path(os.environ.get("LABCTL_ARTIFACTS", tmp_path)) / "policy-result-openbgpd.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.as_dict(), indent=1, default=str))
        print(f"policy scenario: {result.seconds} s, {len(result.cases)} cases, phases {result.phases}")
        print("route servers:", json.dumps(result.resources, indent=1))
        assert not result.error, result.error
        assert result.skipped == [], result.skipped
        assert result.flooder == "beta", "the OpenBGPD member floods"
        for daemon in ("openbgpd", "bird3"):
            for afi in ("ipv4", "ipv6"):
                rows = [c for c in result.cases if c.daemon == daemon and c.afi == afi]
                assert {c.case for c in rows if c.kind == "hostile"} == set(HOSTILE_CASES), (daemon, afi)
                assert {c.case for c in rows if c.kind == "steering"} == set(STEERING_CASES), (daemon, afi)
                assert {c.member for c in rows if c.kind == "legitimate"} == {"alpha", "beta", "mallory", "trudy"}
                assert [c.case for c in rows if c.kind == "max-prefix"] == ["max-prefix-shutdown"]
        failed = [c for c in result.cases if not c.ok]
        assert not failed, "\n" + table(failed)
        assert result.ok

        # again with the OpenBGPD member as the only attacker: its injected `network` statements
        # (prepend-self, third-party next hop, communities) carry every case it can originate
        alone = run_policy_scenario(lab, attackers=["beta"], flood=False)
        print(f"beta alone: {alone.seconds} s, {len(alone.cases)} cases")
        assert not alone.error, alone.error
        assert alone.attackers == ["beta"]
        assert sorted((s.case, s.afi) for s in alone.skipped) == sorted(
            (case, afi) for case in ("first-as", "transit-leak", "reserved-asn") for afi in ("ipv4", "ipv6"))
        failed = [c for c in alone.cases if not c.ok]
        assert not failed, "\n" + table(failed)
        assert len([c for c in alone.cases if c.kind == "hostile"]) == 2 * 2 * (len(HOSTILE_CASES) - 3)

        res = runner.invoke(app, ["status", str(ix), "--json"])
        holes = [(v, o, afi) for v, row in json.loads(res.stdout)["matrix"].items() for o, cells in row.items()
                 for afi, seen in cells.items() if seen is False]
        assert res.exit_code == 0 and holes == [], holes
    finally:
        labmod.down(ix)
    assert leftovers("p-obgpd", tmp_path / ".labctl" / "p-obgpd") == []
    print(f"test run time incl. up and down: {time.monotonic() - started:.1f} s")


def explain_one_rejection(lab, ix: Path) -> None:
    """`labctl lg` on the OpenBGPD route server explains a route its filter rejected: the OpenBGPD
    member beta announces a third-party next hop (then the rendered config is back)."""
    from labctl.policy.data import REASON_BY_CODE

    spec = build_spec(lab.plan, attackers=["beta"], steerer="alpha")
    hostile = next(a for a in spec.announcements if a.case == "next-hop" and a.afi == "ipv4")
    node = lab.plan.nodes["beta"]
    nr = lab.nornir(only=["beta"])
    try:
        assert not nr.run(task=inject, text=daemons.get("openbgpd").injection(
            lab.plan, node, [hostile], {}, lab.node_files()["beta"])).failed
        deadline = time.monotonic() + 30
        while True:
            got = json.loads(runner.invoke(app, ["lg", "rs1", hostile.prefix, "--file", str(ix), "--json"]).stdout)
            rejected = [r for r in got["routes"] if r["rejected"]]
            if rejected or time.monotonic() > deadline:
                break
            time.sleep(1)
        want = [REASON_BY_CODE[c].key for c in hostile.expected_reasons]
        assert "next-hop" in want and [x["key"] for x in rejected[0]["reasons"]] == want, got
        text = runner.invoke(app, ["lg", "rs1", hostile.prefix, "--file", str(ix)]).stdout
        assert "why: 5 next-hop: NEXT_HOP is not the announcing member's own address" in text, text
    finally:
        nr.run(task=restore)
        nr.close_connections()
