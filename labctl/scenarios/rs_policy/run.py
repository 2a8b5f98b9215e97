"""Run the policy scenario on a live lab: inject, observe until the judge is satisfied or time is
up, restore, flood, restore. Everything said to the nodes goes through labctl.automation."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Callable

from labctl import daemons
from labctl.automation import fleet
from labctl.automation.policy_tasks import clear_sessions, collect_routes, inject, resources, restore, session_detail
from labctl.automation.tasks import wake_sessions
from labctl.errors import LabctlError
from labctl.lifecycle import Convergence, Lab, convergence_timeout, wait_converged
from labctl.plan import Plan
from labctl.policy.build import RsPolicy
from labctl.scenarios.rs_policy.cases import AFIS, Spec, build_spec
from labctl.scenarios.rs_policy.judge import (MAX_PREFIX_WANT, CaseResult, PolicyResult, View, evaluate,
                                                  max_prefix_verdict, missing_elsewhere)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _run(nr, task, scope: fleet.Scope = "all", nodes=None, **kwargs) -> dict:
    """Every selected node must answer: the scenario cannot judge with a node missing."""
    done, errors = fleet.run(nr, task, scope, nodes, **kwargs)
    if errors:
        raise LabctlError("policy scenario: " + "; ".join(f"{h}: {e}" for h, e in sorted(errors.items())))
    return done


def _sample_resources(nr) -> dict[str, dict]:
    out = _run(nr, resources, "route_servers")
    now = time.monotonic()
    for v in out.values():
        v["at"] = now
    return out


def _cpu_percent(a: dict, b: dict) -> float:
    wall = b["at"] - a["at"]
    return round(100 * (b["cpu_seconds"] - a["cpu_seconds"]) / wall, 1) if wall > 0 else 0.0


WAKE_EVERY = 10.0  # seconds between wake-ups of sessions the scenario's resets left in a daemon's back-off


def _converge(lab: Lab, nr, timeout: float) -> Convergence:
    """wait_converged, waking sessions the scenario's resets left in a daemon's back-off (OpenBGPD's
    idle-hold) every WAKE_EVERY seconds."""
    deadline = time.monotonic() + timeout
    while True:
        conv = wait_converged(lab, nr, max(0.0, min(WAKE_EVERY, deadline - time.monotonic())))
        if conv.converged or time.monotonic() >= deadline:
            return conv
        _run(nr, wake_sessions, "routers")


def _converged_or_fail(lab: Lab, nr, timeout: float, when: str) -> None:
    conv = _converge(lab, nr, timeout)
    if not conv.converged:
        raise LabctlError(f"the lab is not converged {when}: " + "; ".join(
            [str(s) for s in conv.down_sessions[:5]] + [f"{m} lacks {len(v)} routes" for m, v in conv.missing_routes.items()]))


def run_policy_scenario(lab: Lab, nr=None, progress: Progress = _quiet, attackers: list[str] | None = None,
                        steerer: str | None = None, flood: bool = True, timeout: float | None = None) -> PolicyResult:
    """Attack the running lab, judge, restore. See labctl.scenarios.rs_policy."""
    plan = lab.plan
    started = time.monotonic()
    result = PolicyResult(plan.lab, started=time.time())
    own_nr = nr is None
    nr = nr or lab.nornir()
    timeout = timeout or convergence_timeout(plan)
    injected: list[str] = []
    try:
        spec = build_spec(plan, attackers, steerer, flood)
        result.attackers = sorted({a.member for a in spec.announcements if a.hostile})
        result.steerer = next((a.member for a in spec.announcements if not a.hostile), "")
        result.flooder, result.skipped = spec.flooder, spec.skipped
        result.announcements = [asdict(a) for a in spec.announcements]
        _phases(lab, nr, spec, timeout, injected, result, progress)
        result.ok = bool(result.cases) and all(c.ok for c in result.cases)
    except LabctlError as exc:
        result.error = exc.message
        result.ok = False
    finally:
        if injected:  # an error left injections behind: take them out, best effort
            try:
                fleet.run(nr, restore, nodes=injected)
            except Exception:  # noqa: BLE001 - the error that got us here is the one to report
                pass
        if own_nr:
            nr.close_connections()
        result.seconds = round(time.monotonic() - started, 2)
    return result


def _phases(lab: Lab, nr, spec: Spec, timeout: float, injected: list[str], result: PolicyResult,
            progress: Progress) -> None:
    plan = lab.plan
    t = time.monotonic()

    def phase(name: str) -> None:
        nonlocal t
        now = time.monotonic()
        result.phases[name] = round(now - t, 2)
        t = now

    progress("policy: lab converged?")
    _converged_or_fail(lab, nr, timeout, "before the policy scenario")
    base = _sample_resources(nr)
    phase("preflight")

    members = sorted({a.member for a in spec.announcements})
    progress(f"policy: {len(spec.announcements)} announcements from {', '.join(members)}")
    files = lab.node_files()
    for member in members:
        node = plan.nodes[member]
        text = daemons.get(node.daemon).injection(plan, node, [a for a in spec.announcements if a.member == member],
                                                  {}, files[member])
        injected.append(member)
        _run(nr, inject, nodes=[member], text=text)
    phase("inject")

    progress("policy: observing route servers and members")
    deadline = time.monotonic() + timeout
    woken = time.monotonic()
    while True:
        cases = evaluate(plan, spec, View(plan, _run(nr, collect_routes, "routers")))
        if all(c.ok for c in cases) or time.monotonic() > deadline:
            break
        if time.monotonic() - woken > WAKE_EVERY:
            _run(nr, wake_sessions, "routers")
            woken = time.monotonic()
        time.sleep(1.0)
    result.cases = cases
    phase("observe")
    hostile = _sample_resources(nr)

    progress("policy: restoring the attackers")
    _run(nr, restore, nodes=list(injected))
    injected.clear()
    _converged_or_fail(lab, nr, timeout, "after the hostile routes were removed")
    phase("restore")

    flooded = None
    if spec.flooder:
        progress(f"policy: {spec.flooder} floods the route servers")
        result.cases += _flood(lab, nr, spec, timeout, injected, progress)
        flooded = _sample_resources(nr)
        phase("max-prefix")
    result.resources = _resources_report(base, hostile, flooded)


def _resources_report(base: dict, hostile: dict, flooded: dict | None) -> dict[str, dict]:
    keys = ("rss_kb", "cpu_seconds", "processes")
    out = {}
    for name, b in base.items():
        entry = {"baseline": {k: b[k] for k in keys}, "hostile": {k: hostile[name][k] for k in keys},
                 "cpu_percent_during_hostile_phase": _cpu_percent(b, hostile[name])}
        if flooded:
            entry["after_flood"] = {k: flooded[name][k] for k in keys}
            entry["cpu_percent_during_flood_phase"] = _cpu_percent(hostile[name], flooded[name])
        out[name] = entry
    return out


def _flood(lab: Lab, nr, spec: Spec, timeout: float, injected: list[str], progress: Progress) -> list[CaseResult]:
    """The flooder announces 3 x its max-prefix limit; each route server must act as configured
    while every other member keeps its routes."""
    plan = lab.plan
    policy: RsPolicy = plan.policy  # type: ignore[assignment]
    f = spec.flooder
    fm, node = policy.members[f], plan.nodes[f]
    action = fm.max_prefix_action
    text = daemons.get(node.daemon).injection(plan, node, [], spec.flood, lab.node_files()[f])
    peers = {str(getattr(node, afi)): f for afi in AFIS}
    before = _run(nr, session_detail, "route_servers", peers=peers)
    injected.append(f)
    _run(nr, inject, nodes=[f], text=text)
    flooded_at = time.monotonic()

    def verdict(rs: str, afi: str, now: dict, went_down: dict) -> tuple[bool, str]:
        addr = str(getattr(node, afi))
        return max_prefix_verdict(action, fm.max_prefix[afi], now[rs][addr], before[rs][addr], went_down.get((rs, afi), False))

    seen_down: dict = {}
    while True:
        now = _run(nr, session_detail, "route_servers", peers=peers)
        seen_down.update({(rs, afi): True for rs in now for afi in AFIS
                          if now[rs][str(getattr(node, afi))]["state"] != "Established"})
        done = all(verdict(rs, afi, now, seen_down)[0] for rs in now for afi in AFIS)
        if action in ("warning", "block"):  # nothing to wait for but the routes: give them time to arrive
            done = done and time.monotonic() - flooded_at > 5
        if done or time.monotonic() > flooded_at + timeout:
            break
        time.sleep(0.5)
    reacted = round(time.monotonic() - flooded_at, 2)
    later = now
    if action == "shutdown":  # it must stay down: longer than a reconnect would take
        time.sleep(2 * plan.model.ix.bgp.connect_retry + 1)
        later = _run(nr, session_detail, "route_servers", peers=peers)
    collateral = _collateral(plan, policy, f, View(plan, _run(nr, collect_routes, "routers")))
    rows = []
    for rs in plan.by_role("route_server"):
        for afi in AFIS:
            ok, text = verdict(rs.name, afi, now, seen_down)
            if action == "shutdown":
                still = later[rs.name][str(getattr(node, afi))]["state"] != "Established"
                ok = ok and still
                text += "; still down after a reconnect interval" if still else "; came back up"
            if collateral:
                ok = False
                text += "; collateral: " + ", ".join(collateral[:5])
            rows.append(CaseResult(rs.name, rs.daemon, afi, "max-prefix", f"max-prefix-{action}", f,
                                   f"{len(spec.flood[afi])} routes over a limit of {fm.max_prefix[afi]}",
                                   f"{MAX_PREFIX_WANT[action]}; nothing else changes", f"{text}; reacted within {reacted} s",
                                   ok, {"action": action, "limit": fm.max_prefix[afi], "flood": len(spec.flood[afi])}))
    _unflood(lab, nr, f, peers, injected, rows, timeout, progress)
    return rows


def _collateral(plan: Plan, policy: RsPolicy, flooder: str, view: View) -> list[str]:
    """Everyone else keeps their routes while the flooder floods."""
    members = [n for n in plan.by_role("member") if n.name in policy.members]
    out = []
    for rs in plan.by_role("route_server"):
        for origin in members:
            if origin.name == flooder:
                continue
            for p in origin.prefixes:
                afi = "ipv6" if p.version == 6 else "ipv4"
                out += [f"{x} via {rs.name}" for x in
                        missing_elsewhere(policy, rs.name, origin, str(p), afi, members, view, skip=[flooder])]
    return out


def _unflood(lab: Lab, nr, flooder: str, peers: dict[str, str], injected: list[str], rows: list[CaseResult],
             timeout: float, progress: Progress) -> None:
    progress(f"policy: removing the flood from {flooder}")
    _run(nr, restore, nodes=[flooder])
    injected.remove(flooder)
    _run(nr, clear_sessions, "route_servers", peers=peers)
    if not _converge(lab, nr, timeout).converged:
        for r in rows:
            r.ok = False
            r.observed += "; the lab did not converge after the flood was removed"
