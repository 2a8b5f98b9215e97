"""Run a scenario on a running lab: observe, apply the fault, measure, restore, judge.

Timeline terms follow RFC 4098 (METHODOLOGY.md): T0 is the instant the fault was applied,
T_detect the first reaction seen by any observer other than the faulted node itself, T_cp the
last routing change the fault caused. The same is measured for the recovery.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Network

from labctl import daemons
from labctl.automation.tasks import is_router
from labctl.errors import LabctlError
from labctl.automation.observe import collect_observers, start_observers
from labctl.lab import Lab, apply_trunk_attributes, collect, trunk_port, wait_converged
from labctl.plan import Plan
from labctl.runtime import faults, host
from labctl.scenarios.events import Event, ProbeResult, parse_daemon_log, parse_fping, parse_route_monitor
from labctl.scenarios.spec import Scenario

PROBE_INTERVAL = 0.01  # seconds between probes of one pair (METHODOLOGY: 10 ms or finer)
SLACK_BEFORE = 0.25  # scheduling slack allowed before a timer-derived window opens
SLACK_AFTER = 1.0  # ... and after it closes (process scheduling on a loaded 2-core host)
PROPAGATION = 2.0  # route server -> member propagation allowed on top of detection


@dataclass
class Check:
    name: str
    expected: str
    observed: str
    status: str  # "pass", "fail", "unavailable" (the host cannot do it; never counted as a pass)


@dataclass
class ScenarioResult:
    name: str
    description: str
    fault: str
    target: str
    started: float
    seconds: float = 0.0
    t0: float = 0.0
    t_detect: float | None = None  # seconds after T0
    t_cp: float | None = None
    t_restore: float | None = None  # seconds after T0 when the fault was removed
    recovery_detect: float | None = None  # seconds after the restore
    recovery_cp: float | None = None
    checks: list[Check] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # relative to T0
    probes: list[dict] = field(default_factory=list)
    resolution: str = ""
    error: str = ""
    repair: str = ""  # what was done to restore the lab for the next scenario, when recovery failed
    policy: dict = field(default_factory=dict)  # the policy scenario's full result (cases, resources)

    @property
    def passed(self) -> bool:
        return not self.error and all(c.status != "fail" for c in self.checks) and any(
            c.status == "pass" for c in self.checks)


# ------------------------------------------------------------------ what a fault implies

@dataclass
class FaultPlan:
    label: str
    apply: object  # () -> float
    restore: object  # () -> float
    target_nodes: set[str]
    during: dict[str, set[str]]  # member -> prefixes it must hold while the fault lasts
    probes: list[tuple[str, str, bool]]  # (source member, target member, loss must be zero)
    impair_note: str = ""
    broken: list = field(default_factory=list)  # planned sessions the fault cuts


def _bilateral(plan: Plan) -> set[frozenset]:
    return {frozenset((m.name, p)) for m in plan.model.members for p in m.bilateral}


def _islands(plan: Plan, removed_trunk: tuple[str, str] | None) -> dict[str, int]:
    sites = [s.name for s in plan.model.sites]
    parent = {s: s for s in sites}

    def root(s):
        while parent[s] != s:
            s = parent[s]
        return s

    for tr in plan.model.trunks:
        if removed_trunk and set(tr.between) == set(removed_trunk):
            continue
        parent[root(tr.between[0])] = root(tr.between[1])
    roots = sorted({root(s) for s in sites})
    return {s: roots.index(root(s)) for s in sites}


def expected_routes(plan: Plan, down: set[str] = frozenset(), removed_trunk: tuple[str, str] | None = None
                    ) -> dict[str, set[str]]:
    """The prefixes each live member should hold, given dead nodes and a missing trunk."""
    island = _islands(plan, removed_trunk)
    members = [m for m in plan.model.members if m.name not in down]
    servers = [r for r in plan.model.route_servers if r.name not in down]
    pairs = _bilateral(plan)
    out: dict[str, set[str]] = {}
    for x in members:
        routes: set[str] = set()
        for y in members:
            if y.name == x.name or island[x.site] != island[y.site]:
                continue
            via_rs = x.route_server and y.route_server and any(island[r.site] == island[x.site] for r in servers)
            if via_rs or frozenset((x.name, y.name)) in pairs:
                routes |= {str(p) for p in y.prefixes}
        out[x.name] = routes
    return out


def _probe_address(plan: Plan, member: str) -> str | None:
    v4 = [p for p in plan.nodes[member].prefixes if isinstance(p, IPv4Network)]
    return str(v4[0].network_address + 1) if v4 else None


def _choose_probes(plan: Plan, before: dict[str, set[str]], during: dict[str, set[str]], exclude: set[str],
                   limit: int = 3) -> list[tuple[str, str, bool]]:
    """Pairs that must keep reachability through the fault, spread over sites."""
    site = {m.name: m.site for m in plan.model.members}
    candidates = []
    for x in sorted(during):
        for y in sorted(during):
            if x >= y or x in exclude or y in exclude:
                continue
            ok = all(_probe_address(plan, n) for n in (x, y))
            py = {str(p) for p in plan.nodes[y].prefixes if isinstance(p, IPv4Network)}
            px = {str(p) for p in plan.nodes[x].prefixes if isinstance(p, IPv4Network)}
            if ok and py and py <= during[x] and px <= during[y] and py <= before.get(x, set()):
                candidates.append((site[x] == site[y], x, y))
    candidates.sort()  # pairs across sites first
    chosen, used = [], set()
    for _, x, y in candidates:
        if x in used or y in used:
            continue
        chosen.append((x, y, True))
        used |= {x, y}
        if len(chosen) == limit:
            break
    return chosen


def _switch_port(plan: Plan, member: str) -> tuple[str, str]:
    link = next(l for l in plan.links if l.a == member)
    return link.b, link.b_if


def _trunk(plan: Plan, target: str) -> tuple[str, str, str, str]:
    """(site a, site b, switch, switch port) of the trunk named 'a-b' or 'auto'."""
    trunks = plan.model.trunks
    if not trunks:
        raise ValueError("the IX has no trunks")
    if target == "auto":
        a, b = trunks[0].between
    else:
        match = [t for t in trunks if "-".join(t.between) == target or "-".join(reversed(t.between)) == target]
        if not match:
            raise ValueError(f"no trunk '{target}' (trunks: {', '.join('-'.join(t.between) for t in trunks)})")
        a, b = match[0].between
    return (a, b, *trunk_port(plan, a, b))


def _restore_trunk(lab: Lab, a: str, b: str) -> float:
    """Lift a scenario's impairment: back to the trunk's own attributes from the IX model."""
    t = time.time()
    apply_trunk_attributes(lab, only=(a, b))
    return t


def plan_fault(lab: Lab, sc: Scenario, netem: bool) -> FaultPlan:
    plan, name = lab.plan, lab.plan.lab
    before = expected_routes(plan)
    if sc.fault == "link-down":
        members = plan.model.members
        if sc.target == "auto":
            ix_bfd = plan.model.ix.bfd.enabled
            pick = [m for m in members if sc.bfd is None or ((m.bfd if m.bfd is not None else ix_bfd) == sc.bfd)]
            if not pick:
                raise ValueError(f"no member {'with' if sc.bfd else 'without'} BFD to take down")
            target = pick[0].name
        else:
            target = sc.target
        sw, port = _switch_port(plan, target)
        during = expected_routes(plan, down={target})
        probes = _choose_probes(plan, before, during, {target})
        other = next((x for x, _, _ in probes), None)
        if other and _probe_address(plan, target):
            probes.append((other, target, False))  # the outage the member's customers see
        return FaultPlan(f"IX port of {target} down ({sw}:{port})",
                         lambda: faults.set_link(name, sw, port, False), lambda: faults.set_link(name, sw, port, True),
                         {target}, during, probes)
    if sc.fault in ("trunk-down", "impair"):
        target = sc.target
        if sc.fault == "trunk-down" and target == "auto":
            target = "-".join(plan.model.trunks[-1].between) if plan.model.trunks else "auto"
        a, b, sw, port = _trunk(plan, target)
        imp = sc.impair
        split = sc.fault == "trunk-down" or (imp is not None and imp.loss_percent >= 100)
        during = expected_routes(plan, removed_trunk=(a, b)) if split else before
        probes = _choose_probes(plan, before, expected_routes(plan, removed_trunk=(a, b)), set())
        if sc.fault == "trunk-down":
            return FaultPlan(f"trunk {a}-{b} down ({sw}:{port})", lambda: faults.set_link(name, sw, port, False),
                             lambda: faults.set_link(name, sw, port, True), set(), during, probes)
        island = _islands(plan, (a, b))
        cross = [(x.name, y.name) for x in plan.model.members for y in plan.model.members
                 if island[x.site] != island[y.site] and _probe_address(plan, x.name) and _probe_address(plan, y.name)]
        if cross and not split:
            probes = probes[:2] + [(cross[0][0], cross[0][1], False)]
        note = "" if not imp.delay_ms or netem else f"delay {imp.delay_ms} ms not applied: this kernel has no netem"
        return FaultPlan(f"trunk {a}-{b} impaired ({imp.loss_percent}% loss"
                         + (f", {imp.rate_mbit} Mbit/s" if imp.rate_mbit else "")
                         + (f", {imp.delay_ms} ms delay" if imp.delay_ms and netem else "") + f"; {sw}:{port})",
                         lambda: faults.impair(name, sw, port, imp.loss_percent, imp.rate_mbit, imp.delay_ms, netem),
                         lambda: _restore_trunk(lab, a, b), set(), during, probes, note)
    servers = [r.name for r in plan.model.route_servers]
    if sc.target == "auto":
        target = servers[0] if sc.fault == "daemon-stop" else servers[-1]
    else:
        target = sc.target
    daemon = plan.nodes[target].daemon
    during = expected_routes(plan, down={target} if sc.fault != "daemon-restart" else set())
    probes = _choose_probes(plan, before, during, {target})
    if sc.fault == "daemon-stop":
        return FaultPlan(f"{daemon} on {target} stopped", lambda: faults.daemon_action(name, target, daemon, "stop"),
                         lambda: faults.daemon_action(name, target, daemon, "start"), {target}, during, probes)
    if sc.fault == "daemon-restart":
        return FaultPlan(f"{daemon} on {target} restarted", lambda: faults.daemon_action(name, target, daemon, "restart"),
                         lambda: time.time(), {target}, during, probes)
    return FaultPlan(f"{target} frozen (container paused)", lambda: faults.pause_node(name, target),
                     lambda: faults.unpause_node(name, target), {target}, during, probes)


def broken_sessions(plan: Plan, sc: Scenario, fp: FaultPlan) -> list:
    """The planned sessions a fault cuts: those of a dead node, or those crossing a split."""
    if fp.target_nodes:
        return [s for s in plan.sessions() if s.node in fp.target_nodes or s.peer in fp.target_nodes]
    if sc.fault == "trunk-down" or (sc.impair and sc.impair.loss_percent >= 100):
        a, b, _, _ = _trunk(plan, sc.target if sc.target != "auto" or sc.fault != "trunk-down"
                            else "-".join(plan.model.trunks[-1].between))
        island = _islands(plan, (a, b))
        site = {n.name: n.site for n in plan.nodes.values()}
        return [s for s in plan.sessions() if island[site[s.node]] != island[site[s.peer]]]
    return []


# ------------------------------------------------------------------ windows from the timers

def detection_window(plan: Plan, detection: str, broken: list | None = None) -> tuple[float, float] | None:
    """The window for T_detect; with 'auto', from the broken sessions (BFD first, else hold timer)."""
    t = plan.model.ix.bgp
    if detection == "auto":
        if not broken:
            return None
        detection = "bfd" if any(s.bfd for s in broken) else "hold-timer"
    if detection == "hold-timer":
        # The last KEEPALIVE left up to K before the fault, so expiry lies in [H - K, H]. Some
        # daemons jitter their hold timer (BIRD: 75-100 % of H, RFC 4271): the window opens at
        # the earliest any end of a broken session may expire.
        ends = {x for b in broken for x in (b.node, b.peer)} if broken else {r.name for r in plan.model.route_servers}
        floor = min((daemons.get(plan.nodes[n].daemon).hold_timer_floor for n in ends
                     if n in plan.nodes and plan.nodes[n].role != "switch"), default=1.0)
        low = floor * t.hold - t.keepalive
        return low - SLACK_BEFORE, t.hold + SLACK_AFTER
    if detection == "bfd":
        bfd = plan.model.ix.bfd
        return 0.0, bfd.interval_ms * bfd.multiplier / 1000 + SLACK_AFTER
    if detection == "notification":
        return 0.0, SLACK_AFTER
    return None


def recovery_limit(plan: Plan) -> float:
    """A session comes back after the daemon's error wait (BIRD: up to 10 s) and a connect retry."""
    t = plan.model.ix.bgp
    return 10 + 2 * t.connect_retry + t.hold + 0.2 * len(plan.nodes)


# ------------------------------------------------------------------ running

def _rib(lab: Lab, nr) -> dict[str, set[str]]:
    states, _ = collect(nr)
    return {n: set(s.routes["ipv4"]) | set(s.routes["ipv6"]) for n, s in states.items()}


def _mismatch(want: dict[str, set[str]], rib: dict[str, set[str]], own: dict[str, set[str]]) -> list[str]:
    """How members' RIBs differ from what they should hold (their own prefixes aside)."""
    out = []
    for member, routes in sorted(want.items()):
        have = rib.get(member, set())
        missing, extra = routes - have, have - routes - own.get(member, set())
        if missing:
            out.append(f"{member} lacks {', '.join(sorted(missing)[:4])}")
        if extra:
            out.append(f"{member} still has {', '.join(sorted(extra)[:4])}")
    return out


def _peer_names(plan: Plan, node: str) -> dict[str, str]:
    """The node's daemon's keys for its sessions (addresses, protocol names) -> "peer (afi)"."""
    daemon = daemons.get(plan.nodes[node].daemon)
    names = {}
    for s in plan.nodes[node].sessions:
        names[s.peer_address] = f"{s.peer} ({s.afi})"
        names[daemon.session_key(s.peer, s.peer_address, s.afi)] = f"{s.peer} ({s.afi})"
    return names


def _bfd_exposed(plan: Plan, sc: Scenario, seconds: float) -> set[tuple[str, str]]:
    """(node, peer) BFD sessions that random loss will likely take down: the chance of M packets
    lost in a row somewhere in the window exceeds 1 %. Such flaps are the timers working."""
    if not sc.impair or not sc.impair.loss_percent:
        return set()
    bfd = plan.model.ix.bfd
    q = sc.impair.loss_percent / 100
    packets = 2 * seconds / (bfd.interval_ms / 1000)
    if 1 - (1 - q ** bfd.multiplier) ** packets <= 0.01:
        return set()
    return {(s.node, s.peer) for s in plan.sessions() if s.bfd}


def _repair(lab: Lab, nr, fp: FaultPlan, state) -> str:
    """The lab did not recover by itself: restart the daemons involved so that the next scenario
    starts from a converged lab. The scenario has failed already; this only limits the damage."""
    nodes = set(fp.target_nodes) | {d.split(" ", 1)[0] for d in state.down_sessions}
    nodes |= {d.split(" -> ", 1)[1].split(" ", 1)[0] for d in state.down_sessions}
    nodes = {n for n in nodes if n in lab.plan.nodes and lab.plan.nodes[n].role != "switch"}
    for node in sorted(nodes):
        try:
            faults.daemon_action(lab.plan.lab, node, lab.plan.nodes[node].daemon, "restart")
        except LabctlError:
            pass
    again = wait_converged(lab, nr, recovery_limit(lab.plan), interval=1.0)
    return (f"restarted the daemons on {', '.join(sorted(nodes))}: "
            + ("lab converged again" if again.converged else "lab still NOT converged"))


def _try_restore(fp: FaultPlan) -> None:
    try:
        fp.restore()
    except LabctlError:
        pass


def run_policy(lab: Lab, sc: Scenario, nr, progress=lambda _: None) -> ScenarioResult:
    """The route-server policy scenario (labctl/scenarios/policy.py) as a scenario result:
    one check per case (route server x family x hostile/legitimate/steering/max-prefix)."""
    from labctl.scenarios.policy import run_policy_scenario

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
        result.checks.append(Check(f"{skipped.get('afi', '')} {skipped.get('case', '')}".strip(),
                                   "case run", str(skipped.get("why", skipped)), "unavailable"))
    result.resolution = "route state read from both route servers and every member after the announcements settled"
    result.seconds = time.monotonic() - started
    result.policy = policy.as_dict()
    return result


def run_scenario(lab: Lab, sc: Scenario, nr, progress=lambda _: None) -> ScenarioResult:
    if sc.fault == "policy":
        return run_policy(lab, sc, nr, progress)
    plan = lab.plan
    result = ScenarioResult(sc.name, sc.description.strip(), sc.fault, sc.target, time.time())
    started = time.monotonic()
    own = {m.name: {str(p) for p in plan.nodes[m.name].prefixes} for m in plan.model.members}
    netem = host.kernel_feature(host.KERNEL_FEATURES["netem"][0])[0]
    try:
        fp = plan_fault(lab, sc, netem)
    except (ValueError, KeyError, StopIteration) as exc:
        result.error = f"cannot set up the fault: {exc}"
        return result
    result.target = fp.label
    progress(f"{sc.name}: baseline")
    base = wait_converged(lab, nr, 30)
    if not base.converged:
        result.error = "the lab was not converged before the fault: " + "; ".join(
            base.down_sessions[:3] + [f"{m} lacks routes" for m in base.missing_routes][:3])
        return result

    routers = nr.filter(filter_func=is_router)
    probes_by_node: dict[str, list[tuple[str, str, str, bool]]] = {}
    for src, dst, strict in fp.probes:
        probes_by_node.setdefault(src, []).append((_probe_address(plan, src), _probe_address(plan, dst), dst, strict))
    started_obs = routers.run(task=lambda task: start_observers(
        task, [(s, d) for s, d, _, _ in probes_by_node.get(task.host.name, [])], int(PROBE_INTERVAL * 1000)),
        on_failed=True)
    failed = [n for n, r in started_obs.items() if r.failed]
    if failed:
        result.error = f"observers could not start on {', '.join(failed)}: {started_obs[failed[0]][0].exception}"
        return result
    offsets = {n: r[0].result["log_offset"] for n, r in started_obs.items()}
    time.sleep(1.0)  # probes settle; a baseline before T0

    progress(f"{sc.name}: fault — {fp.label}")
    fp.broken = broken_sessions(plan, sc, fp)
    window = detection_window(plan, sc.detection, fp.broken)
    # the last change comes with the slowest broken session: a session without BFD waits for its hold timer
    slowest = detection_window(plan, "hold-timer" if any(not s.bfd for s in fp.broken) else sc.detection, fp.broken)
    try:
        t0 = fp.apply()
    except LabctlError as exc:
        result.error = f"applying the fault failed: {exc}"
        _try_restore(fp)
        routers.run(task=lambda task: collect_observers(task, offsets[task.host.name], 0), on_failed=True)
        return result
    result.t0 = t0
    min_wait = sc.duration or (3.0 if sc.detection in ("notification", "none") else 0.0)
    max_wait = sc.duration or (max(window[1] if window else 3.0, slowest[1] if slowest else 0) + PROPAGATION + 6)
    if sc.fault == "daemon-restart":
        max_wait = max(max_wait, recovery_limit(plan))
    during_ok, mismatch = False, ["not checked"]
    while True:
        elapsed = time.time() - t0
        rib = _rib(lab, nr)
        mismatch = _mismatch(fp.during, rib, own)
        if sc.fault == "daemon-restart":
            settled = wait_converged(lab, nr, 0.1).converged
        else:
            settled = not mismatch
        if settled and elapsed >= min_wait:
            during_ok = not mismatch
            break
        if elapsed >= max_wait:
            break
        time.sleep(0.5)
    time.sleep(1.0)  # trailing updates reach the observers

    progress(f"{sc.name}: restore")
    try:
        t_restore = fp.restore()
    except LabctlError as exc:
        result.error = f"removing the fault failed: {exc}"
        return result
    result.t_restore = t_restore - t0
    recovered = wait_converged(lab, nr, recovery_limit(plan), interval=0.5)
    time.sleep(1.0)

    progress(f"{sc.name}: collect")
    collected = routers.run(task=lambda task: collect_observers(
        task, offsets[task.host.name], len(probes_by_node.get(task.host.name, []))), on_failed=True)
    events: list[Event] = []
    probes: list[tuple[ProbeResult, bool]] = []
    for node, multi in collected.items():
        if multi.failed:
            result.checks.append(Check(f"observers on {node}", "collected", str(multi[0].exception)[-200:], "fail"))
            continue
        data = multi[0].result
        daemon = plan.nodes[node].daemon
        events += parse_daemon_log(node, daemon, data["daemon_log"], _peer_names(plan, node))
        events += parse_route_monitor(node, data["route_log"])
        for (_, _, dst, strict), raw in zip(probes_by_node.get(node, []), data["probes"]):
            start = float(raw["start"] or 0)
            probes.append((parse_fping(node, dst, start, raw["out"], raw["err"], PROBE_INTERVAL), strict))
    events.sort(key=lambda e: e.t)
    result.events = [{"t": round(e.t - t0, 6), "node": e.node, "kind": e.kind, "subject": e.subject,
                      "detail": e.detail} for e in events]

    # -- the timeline
    in_fault = [e for e in events if t0 <= e.t < t_restore and e.node not in fp.target_nodes]
    in_recovery = [e for e in events if e.t >= t_restore]
    if in_fault:
        result.t_detect = in_fault[0].t - t0
        routes = [e for e in in_fault if e.kind.startswith("route")]
        result.t_cp = (routes or in_fault)[-1].t - t0
    if in_recovery:
        result.recovery_detect = in_recovery[0].t - t_restore
        result.recovery_cp = in_recovery[-1].t - t_restore

    # -- judge against the windows derived from the timers
    if window:
        lo, hi = window
        if result.t_detect is None:
            result.checks.append(Check("detection", f"{lo:.2f}-{hi:.2f} s after T0 ({sc.detection})",
                                       "no reaction observed", "fail"))
        else:
            ok = lo <= result.t_detect <= hi
            result.checks.append(Check("detection", f"{lo:.2f}-{hi:.2f} s after T0 ({sc.detection})",
                                       f"{result.t_detect:.3f} s ({in_fault[0].node}: {in_fault[0].kind} {in_fault[0].subject})",
                                       "pass" if ok else "fail"))
            cp_hi = recovery_limit(plan) if sc.fault == "daemon-restart" else (
                max(hi, slowest[1]) if slowest and sc.detection == "auto" else hi) + PROPAGATION
            ok = result.t_cp is not None and lo <= result.t_cp <= cp_hi
            result.checks.append(Check("control-plane convergence", f"<= {cp_hi:.2f} s after T0",
                                       f"{result.t_cp:.3f} s", "pass" if ok else "fail"))
    else:
        downs = [e for e in events if t0 <= e.t < t_restore and e.kind == "session-down"]
        exposed = _bfd_exposed(plan, sc, t_restore - t0)
        asserted = [e for e in downs if (e.node, e.subject.split(" ")[0]) not in exposed]
        note = (f"; {len(downs) - len(asserted)} on BFD sessions whose loss of {plan.model.ix.bfd.multiplier} "
                f"packets in a row is likely at this loss (not asserted)") if len(downs) != len(asserted) else ""
        result.checks.append(Check("sessions stay up", "no BGP session leaves Established",
                                   f"{len(asserted)} session-down events" + (
                                       f" (first: {asserted[0].node} {asserted[0].subject})" if asserted else "") + note,
                                   "pass" if not asserted else "fail"))
    result.checks.append(Check("routes during the fault", "every member holds exactly what the topology implies",
                               "as expected" if during_ok else "; ".join(mismatch[:6]), "pass" if during_ok else "fail"))
    for probe, strict in probes:
        summary = {"from": probe.node, "to": probe.target, "interval_ms": probe.interval * 1000, "sent": probe.sent,
                   "received": probe.received, "lost": probe.lost, "outage_ms": round(probe.outage_seconds * 1000, 1),
                   "loss_windows": [[round(a - t0, 3), round(b - t0, 3)] for a, b in probe.lost_windows],
                   "asserted": strict}
        result.probes.append(summary)
        name = f"data plane {probe.node} -> {probe.target}"
        if probe.sent == 0:
            result.checks.append(Check(name, "probes sent", "no probe ran", "fail"))
        elif sc.data_plane == "measured-loss" and not strict:
            p = (sc.impair.loss_percent if sc.impair else 0) / 100
            want = 1 - (1 - p) ** 2  # dropped once each way across the trunk
            sent, lost = probe.loss_between(t0 + 0.5, t_restore)  # impairment in force (tc/nft take effect)
            ratio = lost / sent if sent else 0.0
            tol = max(0.03, 5 * math.sqrt(want * (1 - want) / max(sent, 1)))
            ok = sent > 0 and abs(ratio - want) <= tol
            result.checks.append(Check(name, f"round-trip loss {want:.1%} ± {tol:.1%} while impaired",
                                       f"{ratio:.1%} of {sent}", "pass" if ok else "fail"))
        elif strict:
            result.checks.append(Check(name, "no loss", f"{probe.lost} lost of {probe.sent} "
                                       f"({probe.outage_seconds * 1000:.0f} ms outage)", "pass" if probe.lost == 0 else "fail"))
    if fp.impair_note:
        result.checks.append(Check("delay impairment", f"{sc.impair.delay_ms} ms one-way delay", fp.impair_note,
                                   "unavailable"))
    if sc.recover:
        result.checks.append(Check("recovery", f"converged within {recovery_limit(plan):.0f} s of removing the fault",
                                   f"converged after {recovered.seconds:.1f} s (last change "
                                   f"{result.recovery_cp if result.recovery_cp is not None else float('nan'):.3f} s)"
                                   if recovered.converged else
                                   "not converged: " + "; ".join(recovered.down_sessions[:3]
                                                                 + [f'{m} lacks {len(v)}' for m, v in recovered.missing_routes.items()][:3]),
                                   "pass" if recovered.converged else "fail"))
    if sc.recover and not recovered.converged:
        result.repair = _repair(lab, nr, fp, recovered)
    result.resolution = (f"data plane: one probe every {PROBE_INTERVAL * 1000:.0f} ms per pair (outage resolution "
                         f"{PROBE_INTERVAL * 1000:.0f} ms); control plane: kernel route monitor and daemon logs, "
                         f"microsecond timestamps on the shared host clock (BIRD stamps events with its loop time, ~1 ms)")
    result.seconds = time.monotonic() - started
    return result
