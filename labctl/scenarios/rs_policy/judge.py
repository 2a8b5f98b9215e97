"""Judge the policy scenario: what every route server and member holds against what the policy
states (RsPolicy.evaluate / receivers). Pure; unit-tested on routes parsed from captured output."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from ipaddress import ip_address, ip_network
from typing import Iterable

from labctl import daemons
from labctl.daemons.records import Route
from labctl.plan import Plan
from labctl.policy import data
from labctl.policy.build import RsPolicy
from labctl.scenarios.rs_policy.cases import AFIS, Announcement, SkippedCase, Spec


@dataclass
class CaseResult:
    route_server: str
    daemon: str
    afi: str
    kind: str  # "hostile", "steering", "legitimate", "max-prefix"
    case: str
    member: str
    prefix: str
    expected: str
    observed: str
    ok: bool
    details: dict = field(default_factory=dict)


@dataclass
class PolicyResult:
    lab: str
    ok: bool = False
    started: float = 0.0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    attackers: list[str] = field(default_factory=list)
    steerer: str = ""
    flooder: str | None = None
    announcements: list[dict] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    skipped: list[SkippedCase] = field(default_factory=list)
    resources: dict[str, dict] = field(default_factory=dict)
    error: str = ""

    @property
    def failed(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.ok]

    def as_dict(self) -> dict:
        out = asdict(self)
        out["failed"] = len(self.failed)
        return out


def reason_names(codes: Iterable[int]) -> str:
    return ", ".join(f"{c} {data.REASON_BY_CODE[c].key if c in data.REASON_BY_CODE else '?'}" for c in codes) or "none"


class View:
    """Routes of every router, indexed by (node, prefix), with sources resolved to node names."""

    def __init__(self, plan: Plan, routes: dict[str, list[Route]]):
        names = {}
        for n in plan.nodes.values():
            if n.role == "switch":
                continue
            for afi in AFIS:
                address = str(getattr(n, afi))
                names[address] = n.name
                for d in daemons.all_daemons():  # how each daemon's output names a session to n
                    names.setdefault(d.session_key(n.name, address, afi), n.name)
        self.index: dict[tuple[str, str], list[tuple[str, Route]]] = {}
        for node, rs in routes.items():
            for r in rs:
                try:
                    key = str(ip_network(r.prefix))
                except ValueError:
                    continue
                self.index.setdefault((node, key), []).append((names.get(r.source, r.source), r))

    def paths(self, node: str, prefix: str, source: str | None = None) -> list[Route]:
        return [r for src, r in self.index.get((node, prefix), []) if source is None or src == source]


def evaluate(plan: Plan, spec: Spec, view: View) -> list[CaseResult]:
    """Judge every case on every route server and family."""
    policy: RsPolicy = plan.policy  # type: ignore[assignment]
    members = [n for n in plan.by_role("member") if n.name in policy.members]
    out: list[CaseResult] = []
    for rs in plan.by_role("route_server"):
        for a in spec.announcements:
            got = view.paths(rs.name, a.prefix, a.member)
            route = ([r for r in got if tuple(r.as_path) == a.as_path] or got or [None])[0]
            judge = _hostile if a.hostile else _steering
            out.append(judge(policy, rs, members, view, a, route))
        out += _legitimate(policy, rs, members, view)
    return out


def _hostile(policy: RsPolicy, rs, members: list, view: View, a: Announcement, route: Route | None) -> CaseResult:
    """Rejected on the route server with exactly the reasons the policy states, and nowhere else."""
    legit = {str(p) for n in members for p in n.prefixes}
    leaks = [m.name for m in members if m.name != a.member and any(
        tuple(r.as_path) == a.as_path or a.prefix not in legit for r in view.paths(m.name, a.prefix, rs.name))]
    expected = f"rejected: {reason_names(a.expected_reasons)}; reaches no member"
    if route is None:
        observed, ok = "never reached the route server", False
    else:
        reasons = tuple(route.reasons(policy.rs_asn))
        rejected = route.rejected(policy.rs_asn)
        observed = (f"{'rejected' if rejected else 'ACCEPTED'}: {reason_names(reasons)}"
                    + (f"; LEAKED to {', '.join(leaks)}" if leaks else "; reaches no member"))
        ok = rejected and reasons == a.expected_reasons and not leaks
    return CaseResult(rs.name, rs.daemon, a.afi, "hostile", a.case, a.member, a.prefix, expected, observed, ok,
                      {"as_path": list(a.as_path), "next_hop": a.next_hop, "communities": [list(c) for c in a.communities]})


def _steering(policy: RsPolicy, rs, members: list, view: View, a: Announcement, route: Route | None) -> CaseResult:
    """Accepted on the route server, received by exactly the members the communities say, as they say."""
    receivers = policy.receivers(a.member, a.large)
    origin_asn = policy.members[a.member].asn  # the member's other routers drop it (AS-path loop)
    members = [m for m in members if m.name == a.member or m.asn != origin_asn]
    want = {m.name: receivers.get(m.name) for m in members if m.name != a.member}
    problems = []
    if route is None:
        problems.append("never reached the route server")
    else:
        if route.rejected(policy.rs_asn):
            problems.append(f"rejected on the route server: {reason_names(route.reasons(policy.rs_asn))}")
        if a.case == "graceful-shutdown" and route.local_pref != 0:
            problems.append(f"LOCAL_PREF on the route server is {route.local_pref}, not 0")
    seen = {}
    for m in members:
        if m.name == a.member:
            continue
        paths = [r for r in view.paths(m.name, a.prefix, rs.name) if r.as_path and r.as_path[-1] == a.as_path[-1]]
        seen[m.name] = paths[0] if paths else None
        if want[m.name] is None and paths:
            problems.append(f"{m.name} received it")
        elif want[m.name] is not None and not paths:
            problems.append(f"{m.name} did not receive it")
        elif paths:
            problems += _received_as_steered(policy, a, m.name, paths[0], want[m.name])
    observed = "; ".join(problems) if problems else "as expected: " + _seen_text(seen)
    return CaseResult(rs.name, rs.daemon, a.afi, "steering", a.case, a.member, a.prefix, _steer_text(a, want), observed,
                      not problems, {"target": a.target, "large": [list(c) for c in a.large],
                                     "communities": [list(c) for c in a.communities]})


def _received_as_steered(policy: RsPolicy, a: Announcement, member: str, r: Route, prepends: int) -> list[str]:
    problems = []
    path_want = [a.as_path[0]] * prepends + list(a.as_path)
    if r.as_path != path_want:
        problems.append(f"{member} sees AS path {' '.join(map(str, r.as_path))}, not {' '.join(map(str, path_want))}")
    leftover = [c for c in r.large if c[0] == policy.rs_asn and c[1] in data.CONTROL_FUNCTIONS]
    if leftover:
        problems.append(f"{member} still sees control communities {leftover}")
    if a.case == "graceful-shutdown" and data.GRACEFUL_SHUTDOWN not in r.communities:
        problems.append(f"{member} lacks 65535:0")
    if a.case == "blackhole":
        bh = policy.blackhole_next_hop[a.afi]
        nh_want = str(bh) if bh else a.next_hop
        if not r.next_hop or ip_address(r.next_hop) != ip_address(nh_want):
            problems.append(f"{member} sees next hop {r.next_hop}, not {nh_want}")
        if data.BLACKHOLE not in r.communities or data.NO_EXPORT not in r.communities:
            problems.append(f"{member} lacks 65535:666 or NO_EXPORT")
    return problems


def _legitimate(policy: RsPolicy, rs, members: list, view: View) -> list[CaseResult]:
    """The model's own routes: accepted, untouched, at every other member."""
    out = []
    for origin in members:
        for afi in AFIS:
            prefixes = [str(p) for p in (origin.prefixes4 if afi == "ipv4" else origin.prefixes6)]
            if not prefixes:
                continue
            problems = []
            for p in prefixes:
                if not [r for r in view.paths(rs.name, p, origin.name) if not r.rejected(policy.rs_asn)]:
                    problems.append(f"{p} not accepted on the route server")
                problems += missing_elsewhere(policy, rs.name, origin, p, afi, members, view)
            out.append(CaseResult(rs.name, rs.daemon, afi, "legitimate", "legitimate", origin.name, ", ".join(prefixes),
                                  "accepted; every other member has it, path and next hop unchanged",
                                  "; ".join(problems) or "as expected", not problems))
    return out


def missing_elsewhere(policy: RsPolicy, rs: str, origin, prefix: str, afi: str, members: list, view: View,
                      skip: Iterable[str] = ()) -> list[str]:
    """Members (other than the origin and `skip`) that lack the origin's prefix via `rs`, or see it changed."""
    problems = []
    # a member with several routers announces its prefixes from each: the route server passes on
    # its best path, whose next hop is any of them
    hops = {str(getattr(n, afi)) for n in members if n.asn == origin.asn} | {str(getattr(origin, afi))}
    for m in members:
        if m.name == origin.name or m.name in skip or m.asn == origin.asn:  # same ASN: AS-path loop
            continue
        paths = [r for r in view.paths(m.name, prefix, rs) if r.as_path[:1] == [origin.asn]]
        if not paths:
            problems.append(f"{m.name} lacks {prefix}")
        elif policy.rs_asn in paths[0].as_path or paths[0].next_hop not in hops:
            problems.append(f"{m.name} sees {prefix} changed (path {paths[0].as_path}, next hop {paths[0].next_hop})")
    return problems


def _steer_text(a: Announcement, want: dict[str, int | None]) -> str:
    to = sorted(m for m, v in want.items() if v is not None)
    text = f"accepted; announced to {', '.join(to) or 'nobody'}"
    pre = [f"{m} +{v}" for m, v in sorted(want.items()) if v]
    if pre:
        text += f"; prepended for {', '.join(pre)}"
    if a.case == "graceful-shutdown":
        text += "; LOCAL_PREF 0 on the route server, 65535:0 passed on"
    if a.case == "blackhole":
        text += "; next hop rewritten, 65535:666 + NO_EXPORT"
    return text


def _seen_text(seen: dict[str, Route | None]) -> str:
    return ", ".join(f"{m}: {'-' if r is None else ' '.join(map(str, r.as_path))}" for m, r in sorted(seen.items()))


# ---------------------------------------------------------------------------------- max-prefix

MAX_PREFIX_WANT = {"shutdown": "session torn down and kept down", "restart": "session torn down (then re-established)",
                   "warning": "session stays up, routes over the limit kept",
                   "block": "session stays up, routes over the limit dropped"}


def max_prefix_verdict(action: str, limit: int, now: dict, before: dict, went_down: bool) -> tuple[bool, str]:
    """One route server's session to the flooder (session_detail dicts now and before the flood)."""
    up = now["state"] == "Established"
    if action in ("shutdown", "restart"):
        down = not up or now["resets"] > before["resets"] or went_down
        return bool(down), f"state {now['state']}; {now['reason'] or 'no reason given'}"
    if action == "warning":
        return up and now["received"] > limit, f"state {now['state']}, {now['received']} routes received (limit {limit})"
    return up and now["received"] <= limit, f"state {now['state']}, {now['received']} routes kept (limit {limit})"
