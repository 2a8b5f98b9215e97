"""The `maintenance` fault (a planned maintenance: the router drained with graceful shutdown, then
its IX port down; probes towards its member must lose nothing): the scenario keys, the fault plan
on the bundled regional IX (members with two routers), the drain's steps in the engine and FRR's
graceful-shutdown command. No lab: the engine's neighbours (fleet, runtime, clock) are stand-ins.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from labctl import daemons
from labctl.daemons.base import NodeCommandFailed
from labctl.daemons.frr import graceful_shutdown_command
from labctl.errors import LabctlError
from labctl.model.load import load
from labctl.plan import build_plan
from labctl.scenarios import engine
from labctl.scenarios.fault_plan import DRAIN_SECONDS, broken_sessions, detection_window, plan_fault
from labctl.scenarios.judge import Observation, Recovery, judge
from labctl.scenarios.events import ProbeResult
from labctl.scenarios.spec import Scenario, resolve

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plan():
    return build_plan(load(REPO / "topologies" / "regional-ix.yml"))


def maintenance(**kw) -> Scenario:
    return Scenario(name="m", fault="maintenance", **kw)


# ---------------------------------------------------------------- scenario keys

def test_drain_keys_belong_to_maintenance():
    with pytest.raises(ValidationError, match="'drain' belongs to fault 'maintenance'"):
        Scenario(name="x", fault="link-down", drain="none")
    with pytest.raises(ValidationError, match="'drain_seconds' belongs to fault 'maintenance'"):
        Scenario(name="x", fault="link-down", drain_seconds=3)
    with pytest.raises(ValidationError):
        maintenance(drain="pray")
    with pytest.raises(ValidationError):
        maintenance(drain_seconds=-1)


def test_a_scenario_file_with_a_wrong_drain_names_the_key(tmp_path):
    path = tmp_path / "m.yml"
    path.write_text("name: m\nfault: trunk-down\ndrain: none\n")
    with pytest.raises(LabctlError) as info:
        resolve([str(path)])
    assert "drain" in info.value.message and "maintenance" in info.value.message


# ---------------------------------------------------------------- the plan

def test_auto_target_is_the_first_router_labctl_can_drain(plan):
    # seto-net (BIRD) comes first among members with two routers, but labctl signals graceful
    # shutdown only on FRR: its Okayama router (FRR) is chosen; with drain none, seto-net itself
    fp = plan_fault(plan, maintenance(), False)
    assert fp.action.kind == "maintenance" and fp.action.drain.router == "seto-net-oka"
    assert fp.action.drain.signal and fp.action.drain.seconds == DRAIN_SECONDS
    assert fp.action.drain.asn == plan.nodes["seto-net-oka"].asn
    assert fp.target_nodes == {"seto-net-oka"}
    assert plan_fault(plan, maintenance(drain="none"), False).action.drain.router == "seto-net"


def test_the_port_probes_and_routes_of_a_maintenance(plan):
    fp = plan_fault(plan, maintenance(target="momo-catv", drain="none", drain_seconds=1), False)
    link = next(l for l in plan.links if l.a == "momo-catv")
    assert (fp.action.node, fp.action.port) == (link.b, link.b_if)
    assert not fp.action.drain.signal and fp.action.drain.seconds == 1
    assert "maintenance of momo-catv" in fp.label and "no drain by labctl" in fp.label
    towards = [(src, kind) for src, dst, kind in fp.probes if dst == "momo-catv"]
    assert len(towards) == 2 and all(kind == "zero-loss" for _, kind in towards)
    assert not {src for src, _ in towards} & {"momo-catv", "momo-catv-oka"}  # from other members only
    # the member keeps its prefixes through its Okayama router: everyone still holds them
    mine = {str(p) for p in plan.nodes["momo-catv"].prefixes}
    assert all(mine <= held for m, held in fp.during.items() if plan.nodes[m].member != "momo-catv")


def test_a_maintenance_breaks_the_routers_ix_sessions_not_its_backbone(plan):
    sc = maintenance(target="momo-catv")
    fp = plan_fault(plan, sc, False)
    broken = broken_sessions(plan, sc, fp)
    assert broken and all("momo-catv" in (s.node, s.peer) for s in broken)
    assert all(s.kind != "ibgp" for s in broken)
    assert detection_window(plan, sc.detection, broken)[1] == pytest.approx(plan.model.ix.bgp.hold + 1.0)


@pytest.mark.parametrize("target, words", [
    ("kibinet", "only router"),  # single-homed: nothing carries its prefixes
    ("rs1", "not a member router"),
    ("nowhere", "not a member router"),
    ("seto-net", "drain: none"),  # BIRD: labctl cannot signal graceful shutdown on it
])
def test_maintenance_refuses_targets_it_cannot_drain(plan, target, words):
    with pytest.raises(ValueError, match=words):
        plan_fault(plan, maintenance(target=target), False)


def test_a_drained_router_loses_nothing_and_a_lossy_one_fails(plan):
    sc = maintenance(target="momo-catv", drain="none")
    fp = plan_fault(plan, sc, False)
    fp.broken = broken_sessions(plan, sc, fp)
    t0, t1 = 1000.0, 1012.0
    times = [t0 - 2 + 0.01 * i for i in range(1500)]

    def verdict(lost: set[int]):
        probe = ProbeResult("city-net", "momo-catv", 0.01, len(times), len(times) - len(lost),
                            received_seqs=frozenset(set(range(len(times))) - lost), send_times=times,
                            first_sent=times[0], base=times[0])
        obs = Observation(t0, t1, True, [], Recovery(True, 3.0), probes=[(probe, "zero-loss")])
        return next(c for c in judge(plan, sc, fp, obs).checks if c.name == "data plane city-net -> momo-catv")

    assert verdict(set()).status == "pass"
    lossy = verdict(set(range(200, 1000)))  # 8 s without answers: the hold timer's outage
    assert lossy.status == "fail" and "800 lost of 1500" in lossy.observed


# ---------------------------------------------------------------- the engine's steps

class Runtime:
    def __init__(self):
        self.calls = []

    def set_link(self, node, port, up):
        self.calls.append(("link", node, port, up))
        return 42.0


class Lab:
    def __init__(self):
        self.runtime = Runtime()


def test_drain_signals_waits_then_the_port_goes_and_comes_back(plan, monkeypatch):
    fp = plan_fault(plan, maintenance(target="momo-catv", drain_seconds=2.5), False)
    steps = []
    monkeypatch.setattr(engine.fleet, "run", lambda nr, task, nodes, **kw: (
        steps.append((task.__name__, tuple(nodes), kw)), ({nodes[0]: "ok"}, {}))[1])
    monkeypatch.setattr(engine.time, "sleep", lambda s: steps.append(("sleep", s)))
    lab = Lab()
    engine.drain("nr", fp.action, True)
    assert engine.apply_fault(lab, fp.action) == 42.0
    assert engine.remove_fault(lab, fp.action) == 42.0
    engine.drain("nr", fp.action, False)
    asn = plan.nodes["momo-catv"].asn
    assert steps == [("graceful_shutdown", ("momo-catv",), {"asn": asn, "on": True}), ("sleep", 2.5),
                     ("graceful_shutdown", ("momo-catv",), {"asn": asn, "on": False})]
    assert lab.runtime.calls == [("link", fp.action.node, fp.action.port, False),
                                 ("link", fp.action.node, fp.action.port, True)]


def test_drain_none_only_waits(plan, monkeypatch):
    fp = plan_fault(plan, maintenance(target="momo-catv", drain="none", drain_seconds=1), False)
    steps = []
    monkeypatch.setattr(engine.fleet, "run", lambda *a, **kw: steps.append("fleet"))
    monkeypatch.setattr(engine.time, "sleep", lambda s: steps.append(("sleep", s)))
    engine.drain("nr", fp.action, True)
    engine.drain("nr", fp.action, False)
    assert steps == [("sleep", 1)]


def test_a_failed_signal_is_an_error_naming_the_router(plan, monkeypatch):
    fp = plan_fault(plan, maintenance(target="momo-catv"), False)
    monkeypatch.setattr(engine.fleet, "run", lambda *a, **kw: ({}, {"momo-catv": "vtysh: bgpd is not running"}))
    with pytest.raises(LabctlError, match="graceful shutdown on: vtysh: bgpd is not running"):
        engine.drain("nr", fp.action, True)


# ---------------------------------------------------------------- the daemons

class Shell:
    node = "r1"

    def __init__(self, out=""):
        self.out, self.commands = out, []

    def run(self, command, check=True, timeout=None):
        self.commands.append(command)
        return 0, self.out


def test_frr_graceful_shutdown_command():
    assert graceful_shutdown_command(64498, True) == ("vtysh -c 'configure terminal' -c 'router bgp 64498' "
                                                      "-c 'bgp graceful-shutdown'")
    assert graceful_shutdown_command(64498, False).endswith("-c 'no bgp graceful-shutdown'")
    sh = Shell()
    daemons.get("frr").graceful_shutdown(sh, 64498, True)
    assert sh.commands == [graceful_shutdown_command(64498, True) + " 2>&1"]
    with pytest.raises(NodeCommandFailed, match="r1"):
        daemons.get("frr").graceful_shutdown(Shell("% BGP instance not found"), 64498, True)


@pytest.mark.parametrize("name", ["bird", "openbgpd"])
def test_daemons_without_a_graceful_shutdown_signal_say_so(name):
    assert not daemons.get(name).supports_graceful_shutdown
    with pytest.raises(NodeCommandFailed) as info:
        daemons.get(name).graceful_shutdown(Shell(), 64498, True)
    assert "drain: none" in info.value.hint
