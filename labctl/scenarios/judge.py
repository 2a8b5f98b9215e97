"""Judge what a scenario run observed against what the plan and the timers allow. Pure: the engine
hands over an `Observation` (times, RIB verdicts, parsed observer output) and gets checks and the
timeline back, so every check kind is unit-tested on captured observer output without a lab.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labctl.daemons import stacks
from labctl.plan import Plan
from labctl.scenarios.events import Event, ProbeResult
from labctl.scenarios.fault_plan import (PROBE_INTERVAL, PROPAGATION, FaultPlan, bfd_exposed, detection_window,
                                         recovery_limit, routers_of_members)
from labctl.scenarios.outcome import Check
from labctl.scenarios.spec import Scenario


@dataclass
class Recovery:
    """How the lab came back after the fault was removed (from the convergence check)."""

    converged: bool
    seconds: float
    problems: list[str] = field(default_factory=list)  # down sessions and missing routes, for people


@dataclass
class UpgradeRun:
    """What the replacement of a node did (fault `upgrade`): releases asked on the node, timings."""

    new_version: str = ""  # what the replaced node's daemon reported about itself, e.g. "BIRD 3.1.8"
    new_error: str = ""  # why it could not be asked (replacement or configuration failed)
    back_version: str = ""  # after the original release was put back
    back_error: str = ""
    back_converged: bool = False
    back_seconds: float = 0.0  # from putting it back to converged
    replace: dict[str, float] = field(default_factory=dict)  # step -> seconds (container, links, configure)
    replace_back: dict[str, float] = field(default_factory=dict)
    old_image_tag: str = ""  # the exact image the node had, to put back


@dataclass
class Observation:
    """Everything one run of a fault produced; all times on the host clock shared by the nodes."""

    t0: float  # the fault applied
    t_restore: float  # the fault removed
    during_ok: bool  # every member held exactly what the topology implies while the fault lasted
    mismatch: list[str]  # how they differed, when they did
    recovery: Recovery | None
    events: list[Event] = field(default_factory=list)
    probes: list[tuple[ProbeResult, str]] = field(default_factory=list)  # (probe, its ProbeKind)
    observer_errors: dict[str, str] = field(default_factory=dict)  # node -> why its observers gave nothing
    upgrade: UpgradeRun | None = None  # fault `upgrade`


@dataclass
class Verdict:
    t_detect: float | None = None  # seconds after T0
    t_cp: float | None = None
    recovery_detect: float | None = None  # seconds after the restore
    recovery_cp: float | None = None
    checks: list[Check] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # relative to T0
    probes: list[dict] = field(default_factory=list)


def judge(plan: Plan, sc: Scenario, fp: FaultPlan, obs: Observation) -> Verdict:
    v = Verdict()
    v.checks += [Check(f"observers on {node}", "collected", why[-200:], "fail") for node, why in obs.observer_errors.items()]
    in_fault = _timeline(v, obs, fp, routers_of_members(plan, fp.target_nodes))
    window = detection_window(plan, sc.detection, fp.broken)
    if window:
        v.checks += _detection_checks(plan, sc, fp, v, in_fault, window)
    else:
        v.checks.append(_sessions_stay_up(plan, sc, obs))
    v.checks.append(Check("routes during the fault", "every member holds exactly what the topology implies",
                          "as expected" if obs.during_ok else "; ".join(obs.mismatch[:6]),
                          "pass" if obs.during_ok else "fail"))
    for probe, kind in obs.probes:
        v.probes.append(_probe_summary(probe, kind, obs.t0))
        check = _probe_check(sc, probe, kind, obs)
        if check:
            v.checks.append(check)
    if fp.impair_note:
        v.checks.append(Check("delay impairment", f"{sc.impair.delay_ms} ms one-way delay", fp.impair_note, "unavailable"))
    if sc.recover:
        v.checks.append(_recovery_check(plan, obs.recovery, v.recovery_cp))
    if fp.action.upgrade is not None:
        v.checks += upgrade_checks(fp, obs.upgrade)
    return v


def upgrade_checks(fp: FaultPlan, run: UpgradeRun | None) -> list[Check]:
    """The new release is the one running on the node (asked on the node, not taken from the stack
    table), and afterwards the original one is back with the lab converged."""
    step = fp.action.upgrade
    run = run or UpgradeRun(new_error="not measured", back_error="not measured")
    new = Check("new release running", f"{step.new_release} on {step.node} ({step.new_daemon}, image {step.new_image})",
                run.new_version or run.new_error or "nothing reported",
                "pass" if run.new_version and stacks.release_matches(step.new_release, run.new_version) else "fail")
    if run.replace:
        new.observed += " after replacing the node in " + _steps(run.replace)
    back_ok = run.back_converged and run.back_version and stacks.release_matches(step.old_release, run.back_version)
    seen = run.back_version or run.back_error or "nothing reported"
    if run.back_version:
        seen += (f", lab converged {run.back_seconds:.1f} s after putting it back" if run.back_converged
                 else ", lab NOT converged" + (f": {run.back_error}" if run.back_error else ""))
    back = Check("original release restored", f"{step.old_release} on {step.node} again, lab converged", seen,
                 "pass" if back_ok else "fail")
    return [new, back]


def _steps(timings: dict[str, float]) -> str:
    return f"{sum(timings.values()):.2f} s (" + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()) + ")"


def _timeline(v: Verdict, obs: Observation, fp: FaultPlan, own: set[str]) -> list[Event]:
    """T_detect and T_cp from the first and last reaction away from the fault's own nodes."""
    events = sorted(obs.events, key=lambda e: e.t)
    v.events = [{"t": round(e.t - obs.t0, 6), "node": e.node, "kind": e.kind, "subject": e.subject,
                 "detail": e.detail} for e in events]
    # the fault's own nodes, and the other routers of a member it hit (they hear of it at once over
    # the member's backbone, which is not the IX reacting)
    in_fault = [e for e in events if obs.t0 <= e.t < obs.t_restore and e.node not in own]
    in_recovery = [e for e in events if e.t >= obs.t_restore]
    if in_fault:
        v.t_detect = in_fault[0].t - obs.t0
        routes = [e for e in in_fault if e.kind.startswith("route")]
        v.t_cp = (routes or in_fault)[-1].t - obs.t0
    if in_recovery:
        v.recovery_detect = in_recovery[0].t - obs.t_restore
        v.recovery_cp = in_recovery[-1].t - obs.t_restore
    return in_fault


def _detection_checks(plan: Plan, sc: Scenario, fp: FaultPlan, v: Verdict, in_fault: list[Event],
                      window: tuple[float, float]) -> list[Check]:
    lo, hi = window
    expected = f"{lo:.2f}-{hi:.2f} s after T0 ({sc.detection})"
    if v.t_detect is None:
        return [Check("detection", expected, "no reaction observed", "fail")]
    first = in_fault[0]
    checks = [Check("detection", expected, f"{v.t_detect:.3f} s ({first.node}: {first.kind} {first.subject})",
                    "pass" if lo <= v.t_detect <= hi else "fail")]
    # the last change comes with the slowest broken session: one without BFD waits for its hold timer
    slowest = detection_window(plan, "hold-timer" if any(not s.bfd for s in fp.broken) else sc.detection, fp.broken)
    if sc.fault == "daemon-restart":
        cp_hi = recovery_limit(plan)  # the session comes back by itself; its changes end with it
    else:
        cp_hi = (max(hi, slowest[1]) if slowest and sc.detection == "auto" else hi) + PROPAGATION
    ok = v.t_cp is not None and lo <= v.t_cp <= cp_hi
    checks.append(Check("control-plane convergence", f"<= {cp_hi:.2f} s after T0", f"{v.t_cp:.3f} s",
                        "pass" if ok else "fail"))
    return checks


def _sessions_stay_up(plan: Plan, sc: Scenario, obs: Observation) -> Check:
    """No fault that should break a session: none may leave Established (BFD flaps that random
    loss makes likely are the timers working, and are reported, not asserted)."""
    downs = [e for e in obs.events if obs.t0 <= e.t < obs.t_restore and e.kind == "session-down"]
    exposed = bfd_exposed(plan, sc, obs.t_restore - obs.t0)
    asserted = [e for e in downs if (e.node, e.subject.split(" ")[0]) not in exposed]
    note = (f"; {len(downs) - len(asserted)} on BFD sessions whose loss of {plan.model.ix.bfd.multiplier} "
            f"packets in a row is likely at this loss (not asserted)") if len(downs) != len(asserted) else ""
    first = f" (first: {asserted[0].node} {asserted[0].subject})" if asserted else ""
    return Check("sessions stay up", "no BGP session leaves Established",
                 f"{len(asserted)} session-down events{first}{note}", "pass" if not asserted else "fail")


def _probe_summary(probe: ProbeResult, kind: str, t0: float) -> dict:
    return {"from": probe.node, "to": probe.target, "interval_ms": probe.interval * 1000, "sent": probe.sent,
            "received": probe.received, "lost": probe.lost, "outage_ms": round(probe.outage_seconds * 1000, 1),
            "loss_windows": [[round(a - t0, 3), round(b - t0, 3)] for a, b in probe.lost_windows],
            "asserted": kind != "observed", "kind": kind}


def _probe_check(sc: Scenario, probe: ProbeResult, kind: str, obs: Observation) -> Check | None:
    name = f"data plane {probe.node} -> {probe.target}"
    if probe.sent == 0:
        return Check(name, "probes sent", "no probe ran", "fail")
    if kind == "rerouted":
        # ix-down's members meet again through their upstreams; a lost router's member through its other router
        via = "through transit" if sc.fault == "ix-down" else "through the member's other router"
        return _rerouted_check(name, probe, obs, via)
    strict = kind == "zero-loss"
    if sc.data_plane == "measured-loss" and not strict:
        p = (sc.impair.loss_percent if sc.impair else 0) / 100
        want = 1 - (1 - p) ** 2  # dropped once each way across the trunk
        sent, lost = probe.loss_between(obs.t0 + 0.5, obs.t_restore)  # impairment in force (tc/nft take effect)
        ratio = lost / sent if sent else 0.0
        tol = max(0.03, 5 * math.sqrt(want * (1 - want) / max(sent, 1)))
        return Check(name, f"round-trip loss {want:.1%} ± {tol:.1%} while impaired", f"{ratio:.1%} of {sent}",
                     "pass" if sent > 0 and abs(ratio - want) <= tol else "fail")
    if strict:
        return Check(name, "no loss", f"{probe.lost} lost of {probe.sent} ({probe.outage_seconds * 1000:.0f} ms outage)",
                     "pass" if probe.lost == 0 else "fail")
    return None  # an unasserted probe (the outage a lost member's customers see): reported, not judged


def _rerouted_check(name: str, probe: ProbeResult, obs: Observation, via: str) -> Check:
    """A member that lost a router keeps another (or, when the IX is down, its transit): its prefix
    answers again before the fault ends, `via` that path (the outage is what its customers see)."""
    tail = max(obs.t_restore - 1.0, obs.t0)
    sent, lost = probe.loss_between(tail, obs.t_restore)
    outage = f"{probe.outage_seconds * 1000:.0f} ms outage, {probe.lost} lost of {probe.sent}"
    ok = sent > 0 and lost == 0
    return Check(name, f"reachable again {via} before the fault ends",
                 f"{outage}; last second of the fault: {lost} lost of {sent}", "pass" if ok else "fail")


def _recovery_check(plan: Plan, rec: Recovery | None, recovery_cp: float | None) -> Check:
    expected = f"converged within {recovery_limit(plan):.0f} s of removing the fault"
    if rec is None:
        return Check("recovery", expected, "not measured", "fail")
    if not rec.converged:
        return Check("recovery", expected, "not converged: " + "; ".join(rec.problems[:6]), "fail")
    last = f"last change {recovery_cp:.3f} s" if recovery_cp is not None else "no routing change observed"
    return Check("recovery", expected, f"converged after {rec.seconds:.1f} s ({last})", "pass")


RESOLUTION = (f"data plane: one probe every {PROBE_INTERVAL * 1000:.0f} ms per pair (outage resolution "
              f"{PROBE_INTERVAL * 1000:.0f} ms); control plane: kernel route monitor and daemon logs, "
              f"microsecond timestamps on the shared host clock (BIRD stamps events with its loop time, ~1 ms)")
