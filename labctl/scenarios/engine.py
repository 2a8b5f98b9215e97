"""Run a scenario on a running lab: start the observers, apply the fault, watch the RIBs, remove
the fault, collect, and hand the `Observation` to the judge (labctl.scenarios.judge).

Timeline terms follow RFC 4098 (METHODOLOGY.md): T0 is the instant the fault was applied,
T_detect the first reaction seen by any observer other than the faulted node itself, T_cp the
last routing change the fault caused. The same is measured for the recovery.
"""

from __future__ import annotations

import time

from labctl.automation import fleet
from labctl.automation.observe import collect_observers, start_observers
from labctl.automation.tasks import graceful_shutdown, wake_sessions
from labctl.errors import LabctlError
from labctl.lifecycle import Convergence, Lab, apply_trunk_attributes, collect, node_version, replace, wait_converged
from labctl.runtime import host, images
from labctl.scenarios.events import Event, ProbeResult, parse_daemon_log, parse_fping, parse_route_monitor
from labctl.scenarios.fault_plan import (PROBE_INTERVAL, PROPAGATION, FaultAction, FaultPlan, broken_sessions,
                                         detection_window, mismatch, peer_names, plan_fault, probe_address,
                                         recovery_limit)
from labctl.scenarios.judge import RESOLUTION, Observation, Recovery, UpgradeRun, judge
from labctl.scenarios.outcome import Check, ScenarioResult
from labctl.scenarios.spec import Scenario


class ScenarioAborted(LabctlError):
    """The scenario could not be carried out (set-up, fault or restore failed); nothing to judge."""


# ------------------------------------------------------------------ the fault's actions

def apply_fault(lab: Lab, a: FaultAction) -> float:
    """Apply the fault; the instant it took effect."""
    rt = lab.runtime
    if a.kind == "fabric":  # every switch's ports: the first switch's instant
        return min(rt.set_links(sw, list(ports), False) for sw, ports in a.fabric)
    if a.kind in ("link", "maintenance"):  # a maintenance was drained before (`drain`)
        return rt.set_link(a.node, a.port, False)
    if a.kind == "links":
        return rt.set_links(a.node, list(a.ports), False)
    if a.kind == "impair":
        imp = a.impair
        return rt.impair(a.node, a.port, imp.loss_percent, imp.rate_mbit, imp.delay_ms, a.netem)
    if a.kind in ("daemon-stop", "daemon-restart", "upgrade"):  # an upgrade begins with a graceful stop
        return rt.daemon_action(a.node, a.daemon, "restart" if a.kind == "daemon-restart" else "stop")
    return rt.pause_node(a.node)


def remove_fault(lab: Lab, a: FaultAction) -> float:
    """Remove the fault (a restarted daemon comes back by itself); the instant it took effect."""
    rt = lab.runtime
    if a.kind == "fabric":
        return max(rt.set_links(sw, list(ports), True) for sw, ports in a.fabric)
    if a.kind in ("link", "maintenance"):
        return rt.set_link(a.node, a.port, True)
    if a.kind == "links":
        return rt.set_links(a.node, list(a.ports), True)
    if a.kind == "impair":  # back to the trunk's own attributes from the IX model
        t = time.time()
        apply_trunk_attributes(lab, only=a.trunk)
        return t
    if a.kind == "daemon-stop":
        return rt.daemon_action(a.node, a.daemon, "start")
    if a.kind == "daemon-restart":
        return time.time()
    return rt.unpause_node(a.node)


def drain(nr, a: FaultAction, on: bool) -> None:
    """A maintenance's drain: graceful shutdown signalled on the router (on), or ended (off). With
    `on`, then the drain period, so that the route servers and members have moved the traffic."""
    d = a.drain
    if d.signal:
        _, errors = fleet.run(nr, graceful_shutdown, nodes=[d.router], asn=d.asn, on=on)
        if errors:
            raise LabctlError(f"graceful shutdown {'on' if on else 'off'}: {errors[d.router]}")
    if on:
        time.sleep(d.seconds)


# ------------------------------------------------------------------ running

def run_scenario(lab: Lab, sc: Scenario, nr, progress=lambda _: None) -> ScenarioResult:
    if sc.fault == "policy":
        return run_policy(lab, sc, nr, progress)
    result = ScenarioResult(sc.name, sc.description.strip(), sc.fault, sc.target, time.time())
    started = time.monotonic()
    netem = host.kernel_feature(host.KERNEL_FEATURES["netem"][0])[0]
    try:
        fp = plan_fault(lab.plan, sc, netem)
    except (ValueError, KeyError, StopIteration) as exc:
        result.error = f"cannot set up the fault: {exc}"
        return result
    result.target = fp.label
    if fp.action.upgrade and lab.runtime.replace_unsupported:  # before any step: nothing to put back
        result.error = lab.runtime.replace_unsupported
        return result
    try:
        if fp.action.upgrade:  # build or find the new release's image now: not inside the measurement
            progress(f"{sc.name}: image {fp.action.upgrade.new_image}")
            images.ensure_node_image(fp.action.upgrade.new_image)
        obs = observe(lab, sc, fp, nr, progress)
    except ScenarioAborted as exc:
        result.error = str(exc)
        return result
    verdict = judge(lab.plan, sc, fp, obs)
    result.t0, result.t_restore = obs.t0, obs.t_restore - obs.t0
    for key in ("t_detect", "t_cp", "recovery_detect", "recovery_cp", "checks", "events", "probes"):
        setattr(result, key, getattr(verdict, key))
    if obs.upgrade is not None:
        result.upgrade = _upgrade_summary(fp, obs.upgrade)
    if sc.recover and obs.recovery and not obs.recovery.converged and obs.upgrade is None:
        result.repair = _repair(lab, nr, fp)
    result.resolution = RESOLUTION
    result.seconds = time.monotonic() - started
    return result


def observe(lab: Lab, sc: Scenario, fp: FaultPlan, nr, progress) -> Observation:
    """Carry the fault out on the lab and record what happened; raises ScenarioAborted."""
    plan = lab.plan
    progress(f"{sc.name}: baseline")
    fleet.run(nr, wake_sessions, "routers")  # no back-off left over from an earlier fault (OpenBGPD's idle-hold)
    base = wait_converged(lab, nr, 30)
    if not base.converged:
        raise ScenarioAborted("the lab was not converged before the fault: " + "; ".join(_problems(base)))
    probes = _probes_by_node(lab, fp)
    started, errors = fleet.run(nr, lambda task: start_observers(
        task, [(s, d) for s, d, _, _ in probes.get(task.host.name, [])], int(PROBE_INTERVAL * 1000)), "routers")
    if errors:
        node = sorted(errors)[0]
        raise ScenarioAborted(f"observers could not start on {', '.join(sorted(errors))}: {errors[node]}")
    offsets = {n: r["log_offset"] for n, r in started.items()}
    time.sleep(1.0)  # probes settle; a baseline before T0

    progress(f"{sc.name}: fault — {fp.label}")
    fp.broken = broken_sessions(plan, sc, fp)
    try:
        if fp.action.drain:  # observed as part of the fault: the probes run through the drain
            d = fp.action.drain
            progress(f"{sc.name}: " + (f"graceful shutdown on {d.router}, " if d.signal else
                                       f"{d.router} as its operator left it (drained or not), ") + f"{d.seconds:g} s")
            drain(nr, fp.action, True)
        t0 = apply_fault(lab, fp.action)
    except LabctlError as exc:
        _try_remove(lab, fp, nr)
        fleet.run(nr, lambda task: collect_observers(task, offsets[task.host.name], 0), "routers")
        raise ScenarioAborted(f"applying the fault failed: {exc}") from exc
    during_ok, during_mismatch = _watch_during(lab, sc, fp, nr, t0)
    time.sleep(1.0)  # trailing updates reach the observers

    progress(f"{sc.name}: restore")
    run, earlier = None, {}
    if fp.action.kind == "upgrade":
        run = UpgradeRun()
        t_restore = observe_upgrade(lab, fp, nr, offsets, run, earlier)
    else:
        try:
            t_restore = remove_fault(lab, fp.action)
            if fp.action.drain:  # the maintenance is over: the router carries traffic again
                drain(nr, fp.action, False)
        except LabctlError as exc:
            raise ScenarioAborted(f"removing the fault failed: {exc}") from exc
    recovered = wait_converged(lab, nr, recovery_limit(plan), interval=0.5)
    time.sleep(1.0)

    progress(f"{sc.name}: collect")
    obs = Observation(t0, t_restore, during_ok, during_mismatch,
                      Recovery(recovered.converged, recovered.seconds, _problems(recovered)), upgrade=run)
    _collect(lab, nr, offsets, probes, obs, fp.after or plan, earlier)
    if run is not None:
        progress(f"{sc.name}: put {fp.action.upgrade.old_release} back on {fp.action.node}")
        put_back(lab, fp, nr, run)
    return obs


# ------------------------------------------------------------------ rolling upgrade

def observe_upgrade(lab: Lab, fp: FaultPlan, nr, offsets: dict[str, int], run: UpgradeRun,
                    earlier: dict[str, str]) -> float:
    """The node's daemon was stopped at T0: keep what its observers saw, replace its container
    by the new release's and configure it for the new daemon, then ask it which release runs.
    Returns the instant the replacement began (the restore). A failure is recorded on `run`: the
    recovery and the release checks then fail with it, and `put_back` still tries."""
    step = fp.action.upgrade
    node = step.node
    old_log, _ = fleet.run(nr, lambda task: collect_observers(task, offsets[node], 0), nodes=[node])
    earlier[node] = old_log.get(node, {}).get("daemon_log", "")
    offsets[node] = 0  # the new container's log starts empty
    t_restore = time.time()
    try:
        t_restore, run.replace, run.old_image_tag = replace(Lab(fp.after, lab.workdir, lab.ix_file), nr, node,
                                                             step.new_image)
        run.new_version = node_version(nr, node)
    except LabctlError as exc:
        run.new_error = str(exc)
    return t_restore


def put_back(lab: Lab, fp: FaultPlan, nr, run: UpgradeRun) -> None:
    """The original release back on the node, the same way (graceful stop, replacement, config),
    so the lab ends as it started; then the lab must converge again."""
    step = fp.action.upgrade
    started = time.monotonic()
    try:
        lab.runtime.daemon_action(step.node, step.new_daemon, "stop")
    except LabctlError:
        pass  # the new release may not have come up at all
    try:
        _, run.replace_back, _ = replace(lab, nr, step.node, step.old_image, image_tag=run.old_image_tag or None)
        run.back_version = node_version(nr, step.node)
    except LabctlError as exc:
        run.back_error = str(exc)
        return
    back = wait_converged(lab, nr, recovery_limit(lab.plan), interval=0.5)
    run.back_converged, run.back_seconds = back.converged, time.monotonic() - started
    if not back.converged:
        run.back_error = "; ".join(_problems(back))


def _upgrade_summary(fp: FaultPlan, run: UpgradeRun) -> dict:
    step = fp.action.upgrade
    return {"node": step.node, "from": step.old_release, "to": step.new_release,
            "daemon": [step.old_daemon, step.new_daemon], "image": [step.old_image, step.new_image],
            "running_after": run.new_version, "running_at_end": run.back_version,
            "replace_seconds": {k: round(v, 3) for k, v in run.replace.items()},
            "replace_back_seconds": {k: round(v, 3) for k, v in run.replace_back.items()},
            "back_converged_seconds": round(run.back_seconds, 2), "errors": [e for e in (run.new_error, run.back_error) if e]}


def _probes_by_node(lab: Lab, fp: FaultPlan) -> dict[str, list[tuple[str, str, str, bool]]]:
    """source node -> (source address, target address, target member, loss must be zero)."""
    out: dict[str, list[tuple[str, str, str, bool]]] = {}
    for src, dst, kind in fp.probes:
        out.setdefault(src, []).append((probe_address(lab.plan, src), probe_address(lab.plan, dst), dst, kind))
    return out


def _watch_during(lab: Lab, sc: Scenario, fp: FaultPlan, nr, t0: float) -> tuple[bool, list[str]]:
    """Poll the members' RIBs until they hold what the fault implies (and the fault has lasted its
    minimum), or the timers' window has passed: (as expected, how they differed)."""
    plan = lab.plan
    own = {n.name: {str(p) for p in n.prefixes} for n in plan.by_role("member")}
    window = detection_window(plan, sc.detection, fp.broken)
    slowest = detection_window(plan, "hold-timer" if any(not s.bfd for s in fp.broken) else sc.detection, fp.broken)
    min_wait = sc.duration or (3.0 if sc.detection in ("notification", "none") else 0.0)
    if not sc.duration and (sc.fault == "maintenance" or any(kind == "rerouted" for _, _, kind in fp.probes)):
        # the routes members hold do not change (another router of the member announces the same
        # prefixes): stay until the route servers can have noticed and rerouted, or nothing is shown
        min_wait = max(min_wait, (slowest or window or (0, 3.0))[1] + PROPAGATION)
    max_wait = sc.duration or (max(window[1] if window else 3.0, slowest[1] if slowest else 0) + PROPAGATION + 6)
    if sc.fault == "daemon-restart":
        max_wait = max(max_wait, recovery_limit(plan))
    while True:
        elapsed = time.time() - t0
        states, _ = collect(nr)
        differs = mismatch(fp.during, {n: set(s.routes["ipv4"]) | set(s.routes["ipv6"]) for n, s in states.items()}, own)
        settled = wait_converged(lab, nr, 0.1).converged if sc.fault == "daemon-restart" else not differs
        if settled and elapsed >= min_wait:
            return not differs, differs
        if elapsed >= max_wait:
            return False, differs
        time.sleep(0.5)


def _collect(lab: Lab, nr, offsets: dict[str, int], probes: dict[str, list], obs: Observation, plan=None,
             earlier: dict[str, str] | None = None) -> None:
    """The observers' output, parsed into events and probe results on `obs`. `plan`: what the nodes
    run now (an upgraded node's new daemon); `earlier`: daemon logs of replaced containers (lab.plan's daemon)."""
    plan = plan or lab.plan
    events: list[Event] = []
    for node, text in (earlier or {}).items():
        events += parse_daemon_log(node, lab.plan.nodes[node].daemon, text, peer_names(lab.plan, node))
    collected, errors = fleet.run(nr, lambda task: collect_observers(
        task, offsets[task.host.name], len(probes.get(task.host.name, []))), "routers")
    obs.observer_errors = errors
    results: list[tuple[ProbeResult, str]] = []
    for node, data in sorted(collected.items()):
        events += parse_daemon_log(node, plan.nodes[node].daemon, data["daemon_log"], peer_names(plan, node))
        events += parse_route_monitor(node, data["route_log"])
        for (_, _, dst, kind), raw in zip(probes.get(node, []), data["probes"]):
            results.append((parse_fping(node, dst, float(raw["start"] or 0), raw["out"], raw["err"], PROBE_INTERVAL),
                            kind))
    obs.events, obs.probes = sorted(events, key=lambda e: e.t), results


def _problems(c: Convergence) -> list[str]:
    return [str(s) for s in c.down_sessions[:3]] + [f"{m} lacks {len(v)} routes" for m, v in c.missing_routes.items()][:3]


def _repair(lab: Lab, nr, fp: FaultPlan) -> str:
    """The lab did not recover by itself: restart the daemons involved so that the next scenario
    starts from a converged lab. The scenario has failed already; this only limits the damage."""
    state = wait_converged(lab, nr, 0.1)
    nodes = set(fp.target_nodes) | {x for s in state.down_sessions for x in (s.node, s.peer)}
    nodes = {n for n in nodes if n in lab.plan.nodes and lab.plan.nodes[n].role != "switch"}
    for node in sorted(nodes):
        try:
            lab.runtime.daemon_action(node, lab.plan.nodes[node].daemon, "restart")
        except LabctlError:
            pass
    again = wait_converged(lab, nr, recovery_limit(lab.plan), interval=1.0)
    return (f"restarted the daemons on {', '.join(sorted(nodes))}: "
            + ("lab converged again" if again.converged else "lab still NOT converged"))


def _try_remove(lab: Lab, fp: FaultPlan, nr=None) -> None:
    try:
        remove_fault(lab, fp.action)
        if fp.action.drain and nr is not None:
            drain(nr, fp.action, False)
    except LabctlError:
        pass


def run_policy(lab: Lab, sc: Scenario, nr, progress=lambda _: None) -> ScenarioResult:
    """The route-server policy scenario (labctl/scenarios/rs_policy.py) as a scenario result:
    one check per case (route server x family x hostile/legitimate/steering/max-prefix)."""
    from labctl.scenarios.rs_policy.run import run_policy_scenario

    result = ScenarioResult(sc.name, sc.description.strip(), sc.fault, sc.target, time.time())
    started = time.monotonic()
    policy = run_policy_scenario(lab, nr, progress=progress)
    result.target = (f"hostile announcements by {', '.join(policy.attackers) or 'none'}"
                     + (f", max-prefix flood by {policy.flooder}" if policy.flooder else ""))
    result.error = policy.error
    for case in policy.cases:
        result.checks.append(Check(f"{case.route_server} {case.afi} {case.kind}: {case.case} ({case.member} {case.prefix})",
                                   case.expected, case.observed, "pass" if case.ok else "fail"))
    for skipped in policy.skipped:
        result.checks.append(Check(f"{skipped.afi} {skipped.case}".strip(), "case run", skipped.why, "unavailable"))
    result.resolution = "route state read from both route servers and every member after the announcements settled"
    result.seconds = time.monotonic() - started
    result.policy = policy.as_dict()
    return result
