"""What a fault implies, from the plan alone: its target, the routes every member must hold while
it lasts, the probe pairs, the sessions it cuts and the windows the timers allow. Pure; the
engine carries a `FaultPlan` out on a running lab and the judge holds the observation against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Literal

from labctl import daemons
from labctl.daemons import stacks
from labctl.model.checks import check_model, format_path, switch_name
from labctl.model.graph import Components
from labctl.plan import Plan, build_plan
from labctl.plan import build
from labctl.plan.build import Session
from labctl.scenarios.spec import Impairment, Scenario

PROBE_INTERVAL = 0.01  # seconds between probes of one pair (METHODOLOGY: 10 ms or finer)
SLACK_BEFORE = 0.25  # scheduling slack allowed before a timer-derived window opens
SLACK_AFTER = 1.0  # ... and after it closes (process scheduling on a loaded 2-core host)
PROPAGATION = 2.0  # route server -> member propagation allowed on top of detection


# What a probe asserts: no loss at all; that the target's prefix answers again through another router
# of its member before the fault ends; or nothing (the outage a lost member's customers see).
ProbeKind = Literal["zero-loss", "rerouted", "observed"]


@dataclass(frozen=True)
class FaultAction:
    """What the engine does to the lab (labctl.runtime.faults) to apply and remove a fault."""

    kind: Literal["link", "links", "impair", "daemon-stop", "daemon-restart", "pause", "upgrade", "fabric", "maintenance"]
    node: str  # the node acted on: a site switch for a port or a trunk, else the target
    port: str = ""
    ports: tuple[str, ...] = ()  # "links": every port of a site switch
    daemon: str = ""
    impair: Impairment | None = None
    netem: bool = False
    trunk: tuple[str, str] | None = None  # removing an impairment restores the trunk's own attributes
    upgrade: UpgradeStep | None = None  # fault `upgrade`: what the node runs before and after
    fabric: tuple[tuple[str, tuple[str, ...]], ...] = ()  # "fabric": every switch with all its ports
    drain: Drain | None = None  # "maintenance": how the router is drained before its port goes down


@dataclass(frozen=True)
class Drain:
    """A planned maintenance's drain: on `router` (AS `asn`), graceful shutdown signalled by labctl
    (`signal`) or not (its operator's own doing), then `seconds` before the port goes down."""

    router: str
    asn: int
    signal: bool
    seconds: float


@dataclass(frozen=True)
class UpgradeStep:
    """A node's rolling upgrade: the daemon and node image (labctl/daemons/stacks.py) before and after."""

    node: str
    old_daemon: str
    old_image: str
    new_daemon: str
    new_image: str

    @property
    def old_release(self) -> str:
        return stacks.release_label(stacks.NODE_IMAGES[self.old_image].stack, self.old_daemon)

    @property
    def new_release(self) -> str:
        return stacks.release_label(stacks.NODE_IMAGES[self.new_image].stack, self.new_daemon)

    def describe(self) -> str:
        return f"{self.old_release} -> {self.new_release} (image {self.old_image} -> {self.new_image})"


@dataclass
class FaultPlan:
    label: str
    action: FaultAction
    target_nodes: set[str]
    during: dict[str, set[str]]  # member -> prefixes it must hold while the fault lasts
    probes: list[tuple[str, str, ProbeKind]]  # (source router, target router, what is asserted)
    impair_note: str = ""
    broken: list[Session] = field(default_factory=list)  # planned sessions the fault cuts
    after: Plan | None = None  # fault `upgrade`: the plan with the node on its new daemon and stack


def islands(plan: Plan, removed_trunk: tuple[str, str] | None, dead_site: str | None = None) -> dict[str, int]:
    """Site -> the number of the group of sites it still reaches with `removed_trunk` cut, or with
    `dead_site`'s switch gone (every trunk through it: a hub site splits the fabric; the dead site
    is then a group of its own)."""
    groups = Components(s.name for s in plan.model.sites)
    for tr in plan.model.trunks:
        if not (removed_trunk and set(tr.between) == set(removed_trunk)) and dead_site not in tr.between:
            groups.join(*tr.between)
    return groups.index()


def expected_routes(plan: Plan, down: set[str] = frozenset(), removed_trunk: tuple[str, str] | None = None,
                    dead_site: str | None = None, transit: bool = True) -> dict[str, set[str]]:
    """The prefixes each live member should hold, given dead nodes and a missing trunk or site switch
    (the plan's own derivation, labctl.plan.build.expected_routes, with the fault applied).
    `transit=False`: what the IX alone brings (probe pairs must stay on the IX: traffic that moves
    to an upstream's line is lost until the routes move)."""
    m = plan.model
    got = build.expected_routes(m, plan.nodes, build.bilateral_pairs(m), frozenset(down),
                                islands(plan, removed_trunk, dead_site), transit)
    return {name: {str(p) for p in prefixes} for name, prefixes in got.items()}


def probe_address(plan: Plan, member: str) -> str | None:
    v4 = [p for p in plan.nodes[member].prefixes if isinstance(p, IPv4Network)]
    return str(v4[0].network_address + 1) if v4 else None


def choose_probes(plan: Plan, before: dict[str, set[str]], during: dict[str, set[str]], exclude: set[str],
                   limit: int = 3) -> list[tuple[str, str, bool]]:
    """Pairs that must keep reachability through the fault, spread over sites."""
    site = {n.name: n.site for n in plan.by_role("member")}
    candidates = []
    for x in sorted(during):
        for y in sorted(during):
            if x >= y or x in exclude or y in exclude:
                continue
            ok = all(probe_address(plan, n) for n in (x, y))
            py = {str(p) for p in plan.nodes[y].prefixes if isinstance(p, IPv4Network)}
            px = {str(p) for p in plan.nodes[x].prefixes if isinstance(p, IPv4Network)}
            if ok and py and py <= during[x] and px <= during[y] and py <= before.get(x, set()):
                candidates.append((site[x] == site[y], x, y))
    candidates.sort()  # pairs across sites first
    chosen, used = [], set()
    for _, x, y in candidates:
        if x in used or y in used:
            continue
        chosen.append((x, y, "zero-loss"))
        used |= {x, y}
        if len(chosen) == limit:
            break
    return chosen


def _trunk_fault(plan: Plan, sc: Scenario, before: dict[str, set[str]], netem: bool) -> FaultPlan:
    """A trunk cut or impaired. A member with routers on both sides of it is probed for nothing that
    must stay lossless (its traffic may cross the trunk, or move to its other router); a cut adds
    a probe that its prefixes answer again on the source's side."""
    target = sc.target
    if sc.fault == "trunk-down" and target == "auto":
        target = "-".join(plan.model.trunks[-1].between) if plan.model.trunks else "auto"
    a, b, sw, port = _trunk(plan, target)
    imp = sc.impair
    split = sc.fault == "trunk-down" or (imp is not None and imp.loss_percent >= 100)
    during = expected_routes(plan, removed_trunk=(a, b)) if split else before
    island = islands(plan, (a, b))
    straddling = _straddling(plan, island)
    probes = choose_probes(plan, expected_routes(plan, transit=False),
                           expected_routes(plan, removed_trunk=(a, b), transit=False), straddling)
    if split:
        probes += _straddling_probes(plan, island, straddling, probes)
    if sc.fault == "trunk-down":
        return FaultPlan(f"trunk {a}-{b} down ({sw}:{port})", FaultAction("link", sw, port=port), set(), during, probes)
    routers = [n for n in plan.by_role("member") if n.name not in straddling]
    cross = [(x.name, y.name) for x in routers for y in routers
             if island[x.site] != island[y.site] and probe_address(plan, x.name) and probe_address(plan, y.name)]
    if cross and not split:
        probes = probes[:2] + [(cross[0][0], cross[0][1], "observed")]
    note = "" if not imp.delay_ms or netem else f"delay {imp.delay_ms} ms not applied: this kernel has no netem"
    return FaultPlan(f"trunk {a}-{b} impaired ({imp.loss_percent}% loss"
                     + (f", {imp.rate_mbit} Mbit/s" if imp.rate_mbit else "")
                     + (f", {imp.delay_ms} ms delay" if imp.delay_ms and netem else "") + f"; {sw}:{port})",
                     FaultAction("impair", sw, port=port, impair=imp, netem=netem, trunk=(a, b)),
                     set(), during, probes, note)


def _straddling(plan: Plan, island: dict[str, int]) -> set[str]:
    """The routers of members that have routers on both sides of a split."""
    sides: dict[str, set[int]] = {}
    for n in plan.by_role("member"):
        sides.setdefault(n.member, set()).add(island[n.site])
    return {n.name for n in plan.by_role("member") if len(sides[n.member]) > 1}


def _straddling_probes(plan: Plan, island: dict[str, int], straddling: set[str],
                       probes: list) -> list[tuple[str, str, ProbeKind]]:
    """From a probe source to each member on both sides: through its router on the source's side."""
    source = next((x for x, _, _ in probes), None)
    if source is None:
        return []
    here = island[plan.nodes[source].site]
    out: list[tuple[str, str, ProbeKind]] = []
    for member in sorted({plan.nodes[n].member for n in straddling}):
        near = [n.name for n in plan.by_role("member") if n.member == member and island[n.site] == here]
        if near and probe_address(plan, near[0]):
            out.append((source, near[0], "rerouted"))
    return out[:2]


def routers_of_members(plan: Plan, names: set[str]) -> set[str]:
    """Every router of the members that the named routers belong to: traffic to a member that loses
    one router moves to another, so none of them makes a zero-loss probe pair."""
    members = {plan.nodes[n].member for n in names if plan.nodes[n].role == "member"}
    return {n.name for n in plan.by_role("member") if n.member in members} | set(names)


def _lost_member_probes(plan: Plan, dead: set[str], probes: list) -> list[tuple[str, str, ProbeKind]]:
    """Towards each member that lost routers: through a surviving router of it ("rerouted"), or,
    when none is left, the outage its customers see ("observed")."""
    source = next((x for x, _, _ in probes), None)
    if source is None:
        return []
    out: list[tuple[str, str, ProbeKind]] = []
    for member in sorted({plan.nodes[n].member for n in dead if plan.nodes[n].role == "member"}):
        routers = [n.name for n in plan.by_role("member") if n.member == member]
        alive = [r for r in routers if r not in dead]
        if probe_address(plan, routers[0]):
            out.append((source, alive[0], "rerouted") if alive else (source, routers[0], "observed"))
    return sorted(out, key=lambda p: p[2] != "rerouted")[:3]


def _auto_port(plan: Plan, sc: Scenario) -> str:
    """link-down with target auto: the first router with (or without) BFD, of a single-homed member
    unless `dual_homed: true` asks for a router of a member that has others."""
    ix_bfd = plan.model.ix.bfd.enabled
    routers = plan.model.member_routers()
    pick = [r for r in routers if (sc.bfd is None or ((r.bfd if r.bfd is not None else ix_bfd) == sc.bfd))
            and bool(r.member.routers) == bool(sc.dual_homed)]
    if not pick:
        what = f" {'with' if sc.bfd else 'without'} BFD" if sc.bfd is not None else ""
        homed = "of a member with several routers" if sc.dual_homed else "of a single-homed member"
        raise ValueError(f"no router{what} {homed} to take down")
    return pick[0].name


def _site_down(plan: Plan, sc: Scenario, before: dict[str, set[str]]) -> FaultPlan:
    """A whole site's switch fails: its routers drop off the IX and the trunks through it are cut."""
    sites = [s.name for s in plan.model.sites]
    site = sc.target if sc.target != "auto" else _auto_site(plan)
    if site not in sites:
        raise ValueError(f"no site '{site}' (sites: {', '.join(sites)})")
    sw = plan.nodes[switch_name(site)]
    dead = {n.name for n in plan.nodes.values() if n.site == site and n.role != "switch"}
    if not any(r.name not in dead for r in plan.model.route_servers):
        raise ValueError(f"site '{site}' holds every route server: nothing would carry the IX")
    during = expected_routes(plan, down=dead, dead_site=site)
    probes = choose_probes(plan, expected_routes(plan, transit=False),
                           expected_routes(plan, down=dead, dead_site=site, transit=False), routers_of_members(plan, dead))
    probes += _lost_member_probes(plan, dead, probes)
    return FaultPlan(f"site {site} down ({sw.name}: {len(sw.interfaces)} ports)",
                     FaultAction("links", sw.name, ports=tuple(sw.interfaces)), dead, during, probes)


def _auto_site(plan: Plan) -> str:
    """The site whose loss shows most and breaks least: one that holds a router of a member with
    several (it survives) and single-homed members (they go), no route server, and whose loss
    leaves the other sites joined; earlier sites win ties."""
    def score(site: str) -> tuple:
        nodes = [n for n in plan.nodes.values() if n.site == site and n.role != "switch"]
        multi = {r.member.name for r in plan.model.member_routers() if r.member.routers}
        split = len(set(islands(plan, None, site).values())) > 2  # the dead site is a group of its own
        return (not split, not any(n.role == "route_server" for n in nodes),
                any(n.member in multi for n in nodes), any(n.role == "member" and n.member not in multi for n in nodes))
    sites = [s.name for s in plan.model.sites]
    return max(sites, key=lambda s: (score(s), -sites.index(s)))


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
    return (a, b, *plan.trunk_port(a, b))


DRAIN_SECONDS = 5.0  # a maintenance's default drain period: ample for a route server's update to reach members


def _maintenance(plan: Plan, sc: Scenario) -> FaultPlan:
    """A planned maintenance of a member router's IX port: drained first (graceful shutdown), then
    the port goes down. The member's other routers carry its prefixes, so probes from the other
    members towards them must lose nothing: the drain moved the traffic before the port went."""
    drain = sc.drain or "graceful-shutdown"
    if sc.target == "auto":  # the first router of a member with several that labctl can drain
        routers = [r.name for r in plan.model.member_routers() if r.member.routers and (
            drain == "none" or daemons.get(plan.nodes[r.name].daemon).supports_graceful_shutdown)]
        if not routers:
            raise ValueError("no member has several routers (of a daemon labctl can signal graceful shutdown on): a "
                             "maintenance drains one router towards another; fix: give a member 'routers:' "
                             "(docs/MODEL.md), or name the target and give 'drain: none'")
        target = routers[0]
    else:
        target = sc.target
    node = plan.nodes.get(target)
    if node is None or node.role != "member":
        raise ValueError(f"target '{target}' is not a member router; fix: name a router of a member with several")
    others = [n.name for n in plan.by_role("member") if n.member == node.member and n.name != target]
    if not others:
        raise ValueError(f"{target} is its member's only router: nothing carries its prefixes while it is down; "
                         "fix: target a router of a member with several routers")
    if drain == "graceful-shutdown" and not daemons.get(node.daemon).supports_graceful_shutdown:
        raise ValueError(f"labctl cannot signal graceful shutdown on {target} ({node.daemon}); fix: drain it "
                         "yourself and give 'drain: none'")
    sw, port = _switch_port(plan, target)
    during = expected_routes(plan, down={target})
    probes = choose_probes(plan, expected_routes(plan, transit=False), expected_routes(plan, down={target}, transit=False),
                           routers_of_members(plan, {target}))
    if probe_address(plan, target):  # towards the member under maintenance, from up to two other members
        first = {}
        for n in plan.by_role("member"):
            if n.member != node.member and probe_address(plan, n.name):
                first.setdefault(n.member, n.name)
        probes += [(src, target, "zero-loss") for src in list(first.values())[:2]]
    seconds = DRAIN_SECONDS if sc.drain_seconds is None else sc.drain_seconds
    how = "graceful shutdown" if drain == "graceful-shutdown" else "no drain by labctl"
    return FaultPlan(f"maintenance of {target}: {how}, {seconds:g} s, then its IX port down ({sw}:{port})",
                     FaultAction("maintenance", sw, port=port,
                                 drain=Drain(target, node.asn, drain == "graceful-shutdown", seconds)),
                     {target}, during, probes)


def plan_fault(plan: Plan, sc: Scenario, netem: bool) -> FaultPlan:
    """What the scenario's fault is, whom it hits and what the lab must look like meanwhile."""
    before = expected_routes(plan)
    if sc.fault == "maintenance":
        return _maintenance(plan, sc)
    if sc.fault == "link-down":
        target = sc.target if sc.target != "auto" else _auto_port(plan, sc)
        sw, port = _switch_port(plan, target)
        during = expected_routes(plan, down={target})
        probes = choose_probes(plan, expected_routes(plan, transit=False), expected_routes(plan, down={target}, transit=False),
                               routers_of_members(plan, {target}))
        probes += _lost_member_probes(plan, {target}, probes)
        return FaultPlan(f"IX port of {target} down ({sw}:{port})",
                         FaultAction("link", sw, port=port), {target}, during, probes)
    if sc.fault == "site-down":
        return _site_down(plan, sc, before)
    if sc.fault in ("trunk-down", "impair"):
        return _trunk_fault(plan, sc, before, netem)
    if sc.fault == "upgrade":
        return _plan_upgrade(plan, sc, before)
    if sc.fault == "ix-down":
        return _ix_down(plan)
    if sc.fault == "upstream-down":
        return _upstream_down(plan, sc)
    servers = [r.name for r in plan.model.route_servers]
    if sc.target == "auto":
        target = servers[0] if sc.fault == "daemon-stop" else servers[-1]
    else:
        target = sc.target
    daemon = plan.nodes[target].daemon
    gone = {target} if sc.fault != "daemon-restart" else set()
    during = expected_routes(plan, down=gone)
    probes = choose_probes(plan, expected_routes(plan, transit=False), expected_routes(plan, down=gone, transit=False), {target})
    if sc.fault == "daemon-stop":
        return FaultPlan(f"{daemon} on {target} stopped", FaultAction("daemon-stop", target, daemon=daemon),
                         {target}, during, probes)
    if sc.fault == "daemon-restart":
        return FaultPlan(f"{daemon} on {target} restarted", FaultAction("daemon-restart", target, daemon=daemon),
                         {target}, during, probes)
    return FaultPlan(f"{target} frozen (container paused)", FaultAction("pause", target), {target}, during, probes)


def _customers(plan: Plan) -> list[str]:
    """The first router of each member that buys transit, in file order."""
    buying = {r for _, r, _ in build.transit_attachments(plan.model)}
    return [n.name for n in plan.by_role("member") if n.name in buying]


def _ix_down(plan: Plan) -> FaultPlan:
    """The whole fabric fails (every port of every switch): route-server and bilateral sessions end at
    their hold timers; members that buy transit fall back to it, the others are cut off. Probes
    between transit customers (different upstreams first) must answer again through transit: the
    outage they see is the one the region would have."""
    m = plan.model
    if m.ix.design == "aggregator":
        return _aggregator_down(plan)
    if not m.upstreams:
        raise ValueError("the IX has no upstreams: without transit nothing is left when the IX goes; "
                         "fix: add 'upstreams' to the IX file (docs/MODEL.md)")
    servers = frozenset(r.name for r in m.route_servers)
    got = build.expected_routes(m, plan.nodes, [], servers)
    during = {name: {str(p) for p in prefixes} for name, prefixes in got.items()}
    customers = _customers(plan)
    first_up = {r: up for up, r, _ in reversed(build.transit_attachments(m))}
    pairs = sorted(((x, y) for i, x in enumerate(customers) for y in customers[i + 1:]
                    if probe_address(plan, x) and probe_address(plan, y)),
                   key=lambda p: first_up[p[0]] == first_up[p[1]])
    probes: list[tuple[str, str, ProbeKind]] = [(x, y, "rerouted") for x, y in pairs[:3]]
    switches = tuple((n.name, tuple(n.interfaces)) for n in plan.by_role("switch"))
    return FaultPlan(f"IX down (every port of {', '.join(s for s, _ in switches)})",
                     FaultAction("fabric", switches[0][0], fabric=switches), set(), during, probes)


def _aggregator_down(plan: Plan) -> FaultPlan:
    """ix-down in the aggregator design: the aggregator router fails (frozen), the one place
    the local networks meet and reach out. Nothing replaces it: the probes show the outage."""
    target = build.AGGREGATOR
    during = expected_routes(plan, down={target})
    first = [n.name for n in plan.by_role("member") if probe_address(plan, n.name)]
    seen: dict[str, str] = {}
    for name in first:
        seen.setdefault(plan.nodes[name].member, name)
    routers = list(seen.values())
    probes: list[tuple[str, str, ProbeKind]] = [(routers[i], routers[i + 1], "observed")
                                                 for i in range(0, min(len(routers) - 1, 5), 2)]
    # frozen, not stopped: a failed router sends no NOTIFICATION, its sessions end at their hold timers
    # as the IX's do when its fabric fails
    return FaultPlan("aggregator down (container paused)", FaultAction("pause", target), {target}, during, probes)


def _upstream_down(plan: Plan, sc: Scenario) -> FaultPlan:
    """An upstream stops (graceful): its prefixes and default leave its customers (and, through the
    others, everyone), while traffic between members stays on the IX untouched (zero-loss probes)."""
    ups = [u.name for u in plan.model.upstreams]
    if not ups:
        raise ValueError("the IX has no upstreams; fix: add 'upstreams' to the IX file (docs/MODEL.md)")
    target = ups[0] if sc.target == "auto" else sc.target
    if target not in ups:
        raise ValueError(f"no upstream '{target}' (upstreams: {', '.join(ups)})")
    during = expected_routes(plan, down={target})
    probes = choose_probes(plan, expected_routes(plan, transit=False), expected_routes(plan, down={target}, transit=False),
                           set())
    daemon = plan.nodes[target].daemon
    return FaultPlan(f"upstream {target} ({plan.nodes[target].city or 'no city'}) down: {daemon} stopped",
                     FaultAction("daemon-stop", target, daemon=daemon), {target}, during, probes)


def upgrade_step(plan: Plan, sc: Scenario, target: str) -> UpgradeStep:
    """From the scenario's `upgrade:` key (or labctl's default path for the node) to a step that
    the node's stack table allows; ValueError naming the key and the fix otherwise."""
    node = plan.nodes[target]
    if node.role != "route_server":
        servers = ", ".join(r.name for r in plan.model.route_servers)
        raise ValueError(f"target '{target}' is a {node.role.replace('_', ' ')}: fault 'upgrade' replaces a route "
                         f"server; fix: target one of {servers} (or auto: the first)")
    stack = stacks.NODE_IMAGES[node.image].stack
    up = sc.upgrade
    if up is None or (up.daemon is None and up.stack is None):
        path = stacks.upgrade_path(node.daemon, stack)
        if path is None:
            raise ValueError(f"{target} runs {stacks.release_label(stack, node.daemon)} ({node.daemon} on {stack}); "
                             f"labctl's stacks hold no newer release for it. Fix: name one in the scenario file, "
                             f"'upgrade: {{daemon: ..., stack: ...}}' (stacks: {', '.join(stacks.STACKS)})")
        new_daemon, new_stack = path
    else:
        new_daemon, new_stack = up.daemon or node.daemon, up.stack or stack
    missing = stacks.missing_daemon(new_stack, new_daemon)
    if missing:
        raise ValueError(f"upgrade of {target}: {missing} (scenario key 'upgrade')")
    step = UpgradeStep(target, node.daemon, node.image, new_daemon, stacks.image_for(new_stack, new_daemon))
    if (step.new_daemon, step.new_image) == (step.old_daemon, step.old_image):
        raise ValueError(f"upgrade of {target}: it runs {step.old_release} ({node.daemon} on {stack}) already; "
                         f"fix: name another daemon or stack under 'upgrade:'")
    return step


def upgraded_plan(plan: Plan, step: UpgradeStep) -> Plan:
    """The plan with the node on its new daemon and stack, checked like an IX file (an IX feature the
    new daemon cannot do is an error naming it, not a failed push)."""
    change = {"daemon": step.new_daemon, "stack": stacks.NODE_IMAGES[step.new_image].stack}
    model = plan.model.model_copy(update={"route_servers": [
        x.model_copy(update=change) if x.name == step.node else x for x in plan.model.route_servers]})
    problems = check_model(model)
    if problems:
        text = "; ".join(f"{format_path(path)}: {msg}" + (f" ({hint})" if hint else "") for path, msg, hint, _ in problems)
        raise ValueError(f"the IX with {step.node} on {step.new_daemon} does not validate: {text[:600]}")
    return build_plan(model)


def _upgrade_target(plan: Plan, sc: Scenario) -> str:
    """auto: the first route server that labctl's default path can upgrade (any, with an `upgrade:`
    key), else the first (whose error then says why)."""
    servers = plan.model.route_servers
    if sc.upgrade is None or (sc.upgrade.daemon is None and sc.upgrade.stack is None):
        for rs in servers:
            node = plan.nodes[rs.name]
            if stacks.upgrade_path(node.daemon, stacks.NODE_IMAGES[node.image].stack):
                return rs.name
    return servers[0].name


def _plan_upgrade(plan: Plan, sc: Scenario, before: dict[str, set[str]]) -> FaultPlan:
    servers = plan.model.route_servers
    if len(servers) < 2:
        raise ValueError("the IX has one route server: a rolling upgrade replaces one while another carries the IX; "
                         "fix: add a second route server under 'route_servers'")
    target = _upgrade_target(plan, sc) if sc.target == "auto" else sc.target
    if target not in plan.nodes:
        raise ValueError(f"no node '{target}' (routers: "
                         f"{', '.join(n.name for n in plan.nodes.values() if n.role != 'switch')})")
    step = upgrade_step(plan, sc, target)
    during = expected_routes(plan, down={target})
    probes = choose_probes(plan, expected_routes(plan, transit=False), expected_routes(plan, down={target}, transit=False),
                           {target})
    return FaultPlan(f"{target} upgraded: {step.describe()}",
                     FaultAction("upgrade", target, daemon=step.old_daemon, upgrade=step), {target}, during, probes,
                     after=upgraded_plan(plan, step))


TRANSIT_KINDS = ("upstream", "customer", "transit-peer")


def broken_sessions(plan: Plan, sc: Scenario, fp: FaultPlan) -> list[Session]:
    """The planned sessions a fault cuts: those of a dead node, or those crossing a split."""
    ix = [s for s in plan.sessions() if s.kind not in TRANSIT_KINDS]  # long-haul links do not cross the IX
    if sc.fault == "ix-down" and plan.model.ix.design != "aggregator":  # every session over the fabric
        return [s for s in ix if s.kind != "ibgp"]
    if sc.fault == "site-down":  # the site's routers, and whatever crosses a split the site leaves
        dead_site = plan.nodes[fp.action.node].site
        island, site = islands(plan, None, dead_site), {n.name: n.site for n in plan.nodes.values()}
        return [s for s in ix if s.kind != "ibgp" and (s.node in fp.target_nodes or s.peer in fp.target_nodes
                or island[site[s.node]] != island[site[s.peer]])]
    if sc.fault in ("link-down", "maintenance"):  # a member's backbone does not pass through the IX switch
        return [s for s in ix if s.kind != "ibgp" and (s.node in fp.target_nodes or s.peer in fp.target_nodes)]
    if fp.target_nodes:
        return [s for s in plan.sessions() if s.node in fp.target_nodes or s.peer in fp.target_nodes]
    if sc.fault == "trunk-down" or (sc.impair and sc.impair.loss_percent >= 100):
        a, b, _, _ = _trunk(plan, sc.target if sc.target != "auto" or sc.fault != "trunk-down"
                            else "-".join(plan.model.trunks[-1].between))
        island = islands(plan, (a, b))
        site = {n.name: n.site for n in plan.nodes.values()}
        return [s for s in ix if island[site[s.node]] != island[site[s.peer]]]
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
    """A session comes back after the daemons' own back-off (BIRD's error wait: up to 10 s; OpenBGPD's
    idle-hold: up to 60 s) and a connect retry."""
    t = plan.model.ix.bgp
    backoff = max([10.0] + [daemons.get(n.daemon).reconnect_backoff for n in plan.nodes.values() if n.role != "switch"])
    return backoff + 2 * t.connect_retry + t.hold + 0.2 * len(plan.nodes)




def mismatch(want: dict[str, set[str]], rib: dict[str, set[str]], own: dict[str, set[str]]) -> list[str]:
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


def peer_names(plan: Plan, node: str) -> dict[str, str]:
    """The node's daemon's keys for its sessions (addresses, protocol names) -> "peer (afi)"."""
    daemon = daemons.get(plan.nodes[node].daemon)
    names = {}
    for s in plan.nodes[node].sessions:
        names[s.peer_address] = f"{s.peer} ({s.afi})"
        names[daemon.session_key(s.peer, s.peer_address, s.afi)] = f"{s.peer} ({s.afi})"
    return names


def bfd_exposed(plan: Plan, sc: Scenario, seconds: float) -> set[tuple[str, str]]:
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
