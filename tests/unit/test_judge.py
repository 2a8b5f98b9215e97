"""labctl.scenarios.judge: every check kind, passing and failing, on captured observer output.

The observation is the one in tests/fixtures/observer-output (README there): kibinet (FRR) and
seto-net (BIRD) with keepalive 3 s / hold 9 s, seto-net's LAN port down at T0 and up again at
T_RESTORE. The plan is the bundled regional IX, which has both members and the same timers, with
the fault "link-down of seto-net". No lab is needed: the judge only reads what it is handed.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from labctl.model.load import load
from labctl.plan import build_plan
from labctl.scenarios.events import Event, ProbeResult, parse_daemon_log, parse_fping, parse_route_monitor
from labctl.scenarios.fault_plan import broken_sessions, peer_names, plan_fault
from labctl.scenarios.judge import Observation, Recovery, judge
from labctl.scenarios.spec import Impairment, Scenario

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "tests" / "fixtures" / "observer-output"
T0, T_RESTORE = 1795658952.595034, 1795658966.892112


@pytest.fixture(scope="module")
def plan():
    return build_plan(load(REPO / "topologies" / "regional-ix.yml"))


def text(name: str) -> str:
    return (FIX / name).read_text()


def captured_events(plan) -> list[Event]:
    return (parse_daemon_log("kibinet", "frr", text("frr-member.log"), peer_names(plan, "kibinet"))
            + parse_route_monitor("kibinet", text("route-monitor-frr-member.log"))
            + parse_daemon_log("seto-net", "bird", text("bird-member.log"), peer_names(plan, "seto-net"))
            + parse_route_monitor("seto-net", text("route-monitor-bird-member.log")))


def captured_probe() -> ProbeResult:
    start = float(text("fping-ipv4.start"))
    return parse_fping("kibinet", "seto-net", start, text("fping-ipv4.out"), text("fping-ipv4.err"), 0.01)


def clean_probe(loss: float = 0.0, sent: int = 2000, seed: int = 7) -> ProbeResult:
    """Probes every 10 ms around the fault, each lost with probability `loss` (a fixed seed)."""
    rng = random.Random(seed)
    times = [T0 - 1 + 0.01 * i for i in range(sent)]
    received = frozenset(i for i in range(sent) if rng.random() >= loss)
    return ProbeResult("kibinet", "seto-net", 0.01, sent, len(received), received_seqs=received, send_times=times,
                       first_sent=times[0], base=times[0])


def run(plan, sc: Scenario, **kw):
    fp = plan_fault(plan, sc, netem=kw.pop("netem", False))
    fp.broken = broken_sessions(plan, sc, fp)
    obs = Observation(T0, T_RESTORE, kw.pop("during_ok", True), kw.pop("mismatch", []),
                      kw.pop("recovery", Recovery(True, 4.2)), **kw)
    return judge(plan, sc, fp, obs)


def check(verdict, name: str):
    found = [c for c in verdict.checks if c.name == name]
    assert len(found) == 1, [c.name for c in verdict.checks]
    return found[0]


LINK_DOWN = Scenario(name="x", fault="link-down", target="seto-net")


# ---------------------------------------------------------------- timeline, detection, convergence

def test_captured_link_down_detects_within_the_hold_timer_window(plan):
    v = run(plan, LINK_DOWN, events=captured_events(plan))
    # kibinet's FRR dropped the IPv6 session 8.17 s after T0 (hold timer); seto-net itself is the target
    assert v.t_detect == pytest.approx(1795658960.764912 - T0, abs=1e-6)
    assert v.t_cp == pytest.approx(1795658961.037816 - T0, abs=1e-6)  # the last FIB change on kibinet
    detection = check(v, "detection")
    assert detection.status == "pass" and "kibinet: session-down fd00:ffff::3" in detection.observed
    assert check(v, "control-plane convergence").status == "pass"
    after = sorted(e.t for e in captured_events(plan) if e.t >= T_RESTORE)
    assert v.recovery_detect == pytest.approx(after[0] - T_RESTORE, abs=1e-6)
    assert v.recovery_cp == pytest.approx(after[-1] - T_RESTORE, abs=1e-6)
    assert v.events[0]["t"] < 0 < v.events[-1]["t"]  # relative to T0, baseline included


def test_detection_outside_the_window_fails(plan):
    sc = Scenario(name="x", fault="link-down", target="seto-net", detection="bfd")  # expects < 1.9 s
    v = run(plan, sc, events=captured_events(plan))
    assert check(v, "detection").status == "fail"
    assert check(v, "control-plane convergence").status == "fail"


def test_no_reaction_fails_detection(plan):
    v = run(plan, LINK_DOWN, events=[])
    assert check(v, "detection").status == "fail" and check(v, "detection").observed == "no reaction observed"
    assert v.t_detect is None and v.t_cp is None


def test_reactions_of_the_faulted_node_itself_do_not_count(plan):
    only_target = [e for e in captured_events(plan) if e.node == "seto-net"]
    v = run(plan, LINK_DOWN, events=only_target)
    assert check(v, "detection").status == "fail"


# ---------------------------------------------------------------- faults that must not break sessions

def test_sessions_stay_up_passes_without_session_changes(plan):
    sc = Scenario(name="x", fault="impair", target="okayama-kurashiki", impair=Impairment(loss_percent=1))
    v = run(plan, sc, events=[e for e in captured_events(plan) if e.kind.startswith("route")])
    assert check(v, "sessions stay up").status == "pass"


def test_sessions_stay_up_fails_on_a_session_down(plan):
    sc = Scenario(name="x", fault="impair", target="okayama-kurashiki", impair=Impairment(loss_percent=1))
    v = run(plan, sc, events=captured_events(plan))
    c = check(v, "sessions stay up")
    assert c.status == "fail" and "kibinet" in c.observed


# ---------------------------------------------------------------- routes during the fault

def test_routes_during_the_fault(plan):
    assert check(run(plan, LINK_DOWN, events=captured_events(plan)), "routes during the fault").status == "pass"
    v = run(plan, LINK_DOWN, events=captured_events(plan), during_ok=False, mismatch=["kibinet lacks 198.18.2.0/24"])
    c = check(v, "routes during the fault")
    assert c.status == "fail" and c.observed == "kibinet lacks 198.18.2.0/24"


# ---------------------------------------------------------------- data plane

def test_strict_probe_fails_on_the_captured_outage(plan):
    v = run(plan, LINK_DOWN, events=captured_events(plan), probes=[(captured_probe(), "zero-loss")])
    c = check(v, "data plane kibinet -> seto-net")
    assert c.status == "fail" and "ms outage" in c.observed
    assert v.probes[0]["lost"] > 0 and v.probes[0]["loss_windows"] and v.probes[0]["asserted"] is True


def test_strict_probe_without_loss_passes(plan):
    v = run(plan, LINK_DOWN, probes=[(clean_probe(), "zero-loss")])
    assert check(v, "data plane kibinet -> seto-net").status == "pass"


def test_unasserted_probe_is_reported_not_judged(plan):
    v = run(plan, LINK_DOWN, probes=[(captured_probe(), "observed")])
    assert not [c for c in v.checks if c.name.startswith("data plane")]
    assert v.probes and v.probes[0]["asserted"] is False


def test_a_probe_that_never_ran_fails(plan):
    empty = ProbeResult("kibinet", "seto-net", 0.01, 0, 0)
    assert check(run(plan, LINK_DOWN, probes=[(empty, "zero-loss")]), "data plane kibinet -> seto-net").status == "fail"


def test_measured_loss_against_the_impairment(plan):
    sc = Scenario(name="x", fault="impair", target="okayama-kurashiki", impair=Impairment(loss_percent=10),
                  data_plane="measured-loss")
    # 10 % each way: 19 % round trip expected
    assert check(run(plan, sc, probes=[(clean_probe(0.19), "observed")]), "data plane kibinet -> seto-net").status == "pass"
    assert check(run(plan, sc, probes=[(clean_probe(0.0), "observed")]), "data plane kibinet -> seto-net").status == "fail"


def test_delay_without_netem_is_unavailable_never_a_pass(plan):
    sc = Scenario(name="x", fault="impair", target="okayama-kurashiki", impair=Impairment(loss_percent=1, delay_ms=20))
    assert check(run(plan, sc), "delay impairment").status == "unavailable"
    assert not [c for c in run(plan, sc, netem=True).checks if c.name == "delay impairment"]


# ---------------------------------------------------------------- recovery and observers

def test_recovery(plan):
    assert check(run(plan, LINK_DOWN), "recovery").status == "pass"
    v = run(plan, LINK_DOWN, recovery=Recovery(False, 60.0, ["kibinet -> rs1 (ipv4): Active"]))
    assert check(v, "recovery").status == "fail" and "kibinet -> rs1" in check(v, "recovery").observed
    assert check(run(plan, LINK_DOWN, recovery=None), "recovery").status == "fail"
    no_recover = Scenario(name="x", fault="link-down", target="seto-net", recover=False)
    assert not [c for c in run(plan, no_recover).checks if c.name == "recovery"]


def test_observers_that_gave_nothing_fail(plan):
    v = run(plan, LINK_DOWN, observer_errors={"rs2": "ssh: connection refused"})
    assert check(v, "observers on rs2").status == "fail"


def test_ix_down_probes_are_judged_as_rerouted_through_transit(plan):
    # lost from T0 for 5 s (hold timers, then transit takes over), answered again before the restore
    times = [T0 - 1 + 0.01 * i for i in range(int((T_RESTORE - T0 + 2) / 0.01))]
    received = frozenset(i for i, t in enumerate(times) if not T0 <= t < T0 + 5)
    healed = ProbeResult("kibinet", "seto-net", 0.01, len(times), len(received), received_seqs=received,
                         send_times=times, first_sent=times[0], base=times[0])
    cut = ProbeResult("kibinet", "seto-net", 0.01, len(times), 100, received_seqs=frozenset(range(100)),
                      send_times=times, first_sent=times[0], base=times[0])
    sc = Scenario(name="x", fault="ix-down", target="auto")
    passed = check(run(plan, sc, probes=[(healed, "rerouted")]), "data plane kibinet -> seto-net")
    assert passed.status == "pass" and passed.expected == "reachable again through transit before the fault ends"
    assert check(run(plan, sc, probes=[(cut, "rerouted")]), "data plane kibinet -> seto-net").status == "fail"
    member = check(run(plan, LINK_DOWN, probes=[(healed, "rerouted")]), "data plane kibinet -> seto-net")
    assert "through the member's other router" in member.expected
