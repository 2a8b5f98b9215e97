"""The route-server policy scenario: hostile members attack a running lab, the route servers must
reject every violation with the right reason, and nothing else may change.

Proof by a live lab, not by a config grep (METHODOLOGY.md, "Route-server policy"):
- hostile members announce one violation per route, in both address families: bogon, too
  specific, another member's prefix, wrong first ASN, another member's next hop, RPKI invalid,
  leaked transit path, private ASN in the path, AS path too long, blackhole without opt-in;
- a legitimate member announces community-steered routes: do not announce to X, announce only
  to X, prepend to X, graceful shutdown, blackhole;
- for every route server and family: every hostile route arrived and is rejected with exactly the
  reasons the policy states (`RsPolicy.evaluate`, the policy written once in Python), reaches no
  member; every legitimate route is accepted and reaches every other member unchanged
  (transparency); steering does what docs/POLICY.md says;
- then a member floods the route servers far over its max-prefix limit and the configured action
  is observed on each route server, while everyone else's routes stay put;
- the lab is restored (the injected config removed, sessions re-opened) and must converge again.

`run_policy_scenario(lab)` returns a `PolicyResult`: data, one row per route server, family and
case, with expected and observed. Hostile announcements live here, never in the model.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Callable, Iterable

from labctl import daemons
from labctl.automation.policy_tasks import clear_sessions, collect_routes, inject, resources, restore, session_detail
from labctl.automation.tasks import is_router
from labctl.daemons.records import Route
from labctl.errors import LabctlError
from labctl.lab import Lab, convergence_timeout, wait_converged
from labctl.plan import Plan
from labctl.policy import data
from labctl.policy.build import MemberPolicy, RsPolicy

Net = IPv4Network | IPv6Network
AFIS = ("ipv4", "ipv6")
Progress = Callable[[str], None]

HOSTILE_CASES = ("bogon", "too-specific", "hijack", "first-as", "next-hop", "rpki-invalid", "transit-leak",
                 "reserved-asn", "as-path-too-long", "blackhole-not-enabled")
STEERING_CASES = ("do-not-announce-to", "announce-only-to", "prepend-to", "graceful-shutdown", "blackhole")
# the reason each hostile case is built to trigger (the policy may add others, e.g. a hijacked
# prefix that a ROA also covers is RPKI-invalid too: the expected set comes from RsPolicy.evaluate)
INTENT = {"bogon": 2, "too-specific": 13, "hijack": 12, "first-as": 6, "next-hop": 5, "rpki-invalid": 14,
          "transit-leak": 8, "reserved-asn": 7, "as-path-too-long": 1, "blackhole-not-enabled": 16}
# what only an FRR member can announce (BIRD always puts its own ASN first towards an eBGP peer)
SPOOF_CASES = {"first-as"}  # need a member whose daemon can originate a path not starting with its ASN


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------------------------- the spec

@dataclass(frozen=True)
class Announcement:
    case: str
    member: str
    prefix: str
    as_path: tuple[int, ...]  # as the route servers receive it
    next_hop: str  # the global next hop the route servers receive
    communities: tuple[tuple[int, int], ...] = ()
    large: tuple[tuple[int, int, int], ...] = ()
    target: str | None = None  # steering: the member the communities name
    expected_reasons: tuple[int, ...] = ()  # RsPolicy.evaluate; () = must be accepted

    @property
    def afi(self) -> str:
        return "ipv6" if ":" in self.prefix else "ipv4"

    @property
    def hostile(self) -> bool:
        return self.case in HOSTILE_CASES


@dataclass
class Spec:
    announcements: list[Announcement]
    skipped: list[dict]  # {"case", "afi", "why"}
    flooder: str | None
    flood: dict[str, list[str]]  # afi -> prefixes


class _Allocator:
    """Free prefixes: inside a member's registered space first, never one anybody announces."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.policy: RsPolicy = plan.policy  # type: ignore[assignment]
        self.taken: set[Net] = {p for n in plan.by_role("member") for p in n.prefixes}

    def take(self, net: Net) -> Net:
        self.taken.add(net)
        return net

    def candidates(self, spaces: Iterable[Net], length: int, limit: int = 4096) -> Iterable[Net]:
        for space in spaces:
            if space.prefixlen > length:
                continue
            for i, net in enumerate(space.subnets(new_prefix=length)):
                if i >= limit:
                    break
                if net not in self.taken:
                    yield net

    def free(self, member: str, afi: str, length: int, ok: Callable[[Net], bool] = lambda n: True,
             fallback: bool = False) -> Net | None:
        """A free prefix in the member's registered space; with `fallback`, else one in the lab prefix
        space that nobody has registered (the route then also breaks rule 12, prefix-not-allowed)."""
        m = self.policy.members[member]
        own = [s for s in m.allowed[afi] if not self.policy.is_bogon(s)]
        for net in self.candidates(own, length):
            if ok(net):
                return self.take(net)
        if fallback:
            registered = [a for x in self.policy.members.values() for a in x.allowed[afi]]
            for net in self.candidates(self.policy.lab_space[afi], length):
                if ok(net) and not any(net.overlaps(a) for a in registered):
                    return self.take(net)
        return None


def _spoofs(daemon: str) -> bool:
    return daemons.get(daemon).can_spoof_first_as


def _origin_free(policy: RsPolicy, m: MemberPolicy) -> Callable[[Net], bool]:
    """A prefix on which the member's own announcement is RPKI valid or not found, and not a bogon."""
    return lambda net: not policy.is_bogon(net) and policy.rpki_state(net, m.asn) != "invalid"


def _unused_asn(plan: Plan, taken: set[int]) -> int:
    for lo, hi in data.DOCUMENTATION_ASNS[::-1]:
        for asn in range(hi, lo - 1, -1):
            if asn not in taken:
                return asn
    return 3333  # a public ASN (RIPE NCC) as the last resort


def build_spec(plan: Plan, attackers: list[str] | None = None, steerer: str | None = None,
               flood: bool = True) -> Spec:
    """Choose who attacks, who steers, and the prefixes, from the plan. Deterministic."""
    policy = plan.policy
    if policy is None or not plan.by_role("route_server"):
        raise LabctlError("the lab has no route server", "the policy scenario tests route servers")
    clients = [n for n in plan.by_role("member") if n.name in policy.members]
    if len(clients) < 3:
        raise LabctlError("the policy scenario needs at least 3 route-server members",
                          "one to attack, one to steer and one to receive")
    alloc = _Allocator(plan)
    asns = {m.asn for m in policy.members.values()} | {policy.rs_asn}
    skipped: list[dict] = []
    out: list[Announcement] = []

    def room(name: str) -> int:
        m = policy.members[name]
        return sum(2 ** max(0, policy.lengths[afi][1] - s.prefixlen) for afi in AFIS for s in m.allowed[afi]
                   if s.prefixlen <= policy.lengths[afi][1] and not policy.is_bogon(s))

    # the steerer: blackholing enabled if possible, the most room
    if steerer is None:
        steerer = max(clients, key=lambda n: (policy.members[n.name].blackhole, room(n.name), n.name)).name
    # attackers: one of each daemon when the lab has them, the most room first
    if attackers is None:
        attackers = []
        for daemon in sorted({n.daemon for n in clients}, key=lambda d: (not _spoofs(d), d)):
            pool = [n for n in clients if n.daemon == daemon and n.name != steerer]
            if pool:
                attackers.append(max(pool, key=lambda n: (not policy.members[n.name].blackhole, room(n.name), n.name)).name)
        if not attackers:
            attackers = [n.name for n in clients if n.name != steerer][:1]
    unknown = [a for a in [*attackers, steerer] if a not in policy.members]
    if unknown:
        raise LabctlError(f"not a route-server member: {', '.join(unknown)}", f"members: {', '.join(policy.members)}")

    # cases per attacker: spoofing cases to an attacker whose daemon can, the rest shared out in order
    spoofers = [a for a in attackers if _spoofs(plan.nodes[a].daemon)]
    assign: dict[str, str] = {}
    for case in HOSTILE_CASES:
        if case in SPOOF_CASES:
            if spoofers:
                assign[case] = spoofers[0]
            else:
                able = [d.name for d in daemons.all_daemons() if d.can_spoof_first_as]
                skipped += [{"case": case, "afi": afi, "why": f"needs an attacker on {' or '.join(able)}"} for afi in AFIS]
            continue
        pool = [a for a in attackers if not (case == "blackhole-not-enabled" and policy.members[a].blackhole)]
        if not pool:
            skipped += [{"case": case, "afi": afi, "why": "every attacker may blackhole"} for afi in AFIS]
            continue
        # attackers that cannot spoof take the prefix cases, spoofers the path and next-hop cases
        plain = [a for a in pool if not _spoofs(plan.nodes[a].daemon)]
        spoof_pool = [a for a in pool if _spoofs(plan.nodes[a].daemon)]
        prefix_case = case in ("bogon", "too-specific", "hijack", "rpki-invalid", "blackhole-not-enabled")
        assign[case] = (plain if prefix_case and plain else spoof_pool if not prefix_case and spoof_pool else pool)[0]

    for afi in AFIS:
        lo, hi = policy.lengths[afi]
        for case in HOSTILE_CASES:
            if case not in assign:
                continue
            h = assign[case]
            m = policy.members[h]
            nh = str(m.next_hop[afi])
            path: tuple[int, ...] = (m.asn,)
            comms: tuple = ()
            prefix: Net | None = None
            why = ""
            if case == "bogon":
                registered = [s for s in m.allowed[afi] if policy.is_bogon(s) and lo <= s.prefixlen <= hi
                              and s != policy.peering_lan[afi] and s not in alloc.taken]
                prefix = alloc.take(registered[0]) if registered else alloc.take(
                    ip_network("10.255.0.0/16" if afi == "ipv4" else "fc00:bad::/32"))
            elif case == "too-specific":
                prefix = alloc.free(h, afi, hi + 1, _origin_free(policy, m), fallback=True) if hi < (32 if afi == "ipv4" else 128) else None
                why = "" if prefix else f"no room for a /{hi + 1} in {h}'s registered space"
            elif case == "hijack":
                victims = [(n, p) for n in clients if n.name != h for p in (n.prefixes4 if afi == "ipv4" else n.prefixes6)]
                victims.sort(key=lambda v: (policy.rpki_state(v[1], m.asn) == "invalid", v[0].name in attackers, v[0].name))
                if victims:
                    prefix = victims[0][1]
                else:
                    why = "no other member announces an " + afi + " prefix"
            elif case == "first-as":
                path = (_unused_asn(plan, asns), m.asn)
                prefix = alloc.free(h, afi, hi, _origin_free(policy, m), fallback=True)
            elif case == "next-hop":
                other = next((o for o in clients if o.name != h), None)
                nh = str(getattr(other, afi)) if other else nh
                prefix = alloc.free(h, afi, hi, _origin_free(policy, m), fallback=True)
            elif case == "rpki-invalid":
                roas = [r for r in policy.roas_for(afi) if r.asn != m.asn and lo <= r.prefix.prefixlen <= hi
                        and r.prefix not in alloc.taken and not policy.is_bogon(r.prefix)]
                roas.sort(key=lambda r: (not any(r.prefix.subnet_of(s) for s in m.allowed[afi]), r.prefix))
                if roas:
                    prefix = alloc.take(roas[0].prefix)
                else:
                    why = "the lab's ROA set has no ROA naming another origin"
            elif case == "transit-leak":
                if not m.transit_free:
                    why = "ix.policy.transit_free_asns is empty"
                else:
                    leaker = 3356 if 3356 in m.transit_free else m.transit_free[0]
                    origin = next((o for o in m.origins if o != m.asn), m.asn)
                    path = (m.asn, leaker, origin)
                    prefix = alloc.free(h, afi, hi, lambda n, o=origin: not policy.is_bogon(n)
                                        and policy.rpki_state(n, o) != "invalid", fallback=True)
            elif case == "reserved-asn":
                reserved = next((lo_ for lo_, _ in m.reserved if lo_ >= 64512), None) or next(
                    (lo_ for lo_, _ in m.reserved if lo_ > 0), None)
                if reserved is None:
                    why = "no reserved ASN range left to use"
                else:
                    path = (m.asn, reserved, m.asn)
                    prefix = alloc.free(h, afi, hi, _origin_free(policy, m), fallback=True)
            elif case == "as-path-too-long":
                path = (m.asn,) * (policy.max_as_path_length + 1)
                prefix = alloc.free(h, afi, hi, _origin_free(policy, m), fallback=True)
            elif case == "blackhole-not-enabled":
                comms = (data.BLACKHOLE,)
                prefix = alloc.free(h, afi, 32 if afi == "ipv4" else 128, _origin_free(policy, m), fallback=True)
            if prefix is None:
                skipped.append({"case": case, "afi": afi, "why": why or f"no free {afi} prefix in {h}'s registered space"})
                continue
            reasons = tuple(policy.evaluate(h, prefix, path, nh, comms))
            if INTENT[case] not in reasons:
                skipped.append({"case": case, "afi": afi, "why": f"{prefix} from {h} would not trigger reason {INTENT[case]} "
                                f"(policy says {list(reasons) or 'accept'})"})
                continue
            out.append(Announcement(case, h, str(prefix), path, nh, comms, (), None, reasons))

    # steering, by a legitimate member towards a target of another daemon if possible
    s = policy.members[steerer]
    others = [n for n in clients if n.name != steerer and policy.members[n.name].asn != s.asn]
    others.sort(key=lambda n: (n.daemon == plan.nodes[steerer].daemon, n.name in attackers, n.name))
    target = others[0].name if others else None
    rs = policy.rs_asn
    for afi in AFIS:
        hi = policy.lengths[afi][1]
        for case in STEERING_CASES:
            large: tuple = ()
            comms = ()
            length = hi
            if case in ("do-not-announce-to", "announce-only-to", "prepend-to") and target is None:
                skipped.append({"case": case, "afi": afi, "why": "no other member with another ASN"})
                continue
            t = policy.members[target] if target else None
            if case == "do-not-announce-to":
                large = ((rs, data.LC_DO_NOT_ANNOUNCE, t.asn),)
            elif case == "announce-only-to":
                large = ((rs, data.LC_DO_NOT_ANNOUNCE, 0), (rs, data.LC_ANNOUNCE, t.asn))
            elif case == "prepend-to":
                large = ((rs, data.LC_PREPEND[1], t.asn),)
            elif case == "graceful-shutdown":
                comms = (data.GRACEFUL_SHUTDOWN,)
            elif case == "blackhole":
                if not s.blackhole:
                    skipped.append({"case": case, "afi": afi, "why": f"{steerer} has no blackholing (members[].blackhole)"})
                    continue
                comms = (data.BLACKHOLE,)
                length = 32 if afi == "ipv4" else 128
            # blackhole requests are exempt from RPKI (a /32 is longer than any ROA allows)
            ok = (lambda n: not policy.is_bogon(n)) if case == "blackhole" else _origin_free(policy, s)
            prefix = alloc.free(steerer, afi, length, ok)
            if prefix is None:
                skipped.append({"case": case, "afi": afi, "why": f"no free {afi} /{length} in {steerer}'s registered space "
                                "(give it allowed_prefixes)"})
                continue
            nh = str(s.next_hop[afi])
            path = (s.asn,)
            reasons = tuple(policy.evaluate(steerer, prefix, path, nh, comms, large))
            if reasons:
                skipped.append({"case": case, "afi": afi, "why": f"{prefix} from {steerer} would be rejected ({list(reasons)})"})
                continue
            out.append(Announcement(case, steerer, str(prefix), path, nh, comms, large,
                                    target if case in ("do-not-announce-to", "announce-only-to", "prepend-to") else None))

    flooder, flood_prefixes = None, {}
    if flood:
        pool = sorted(attackers, key=lambda a: (_spoofs(plan.nodes[a].daemon), a))
        flooder = pool[0] if pool else None
        if flooder:
            fm = policy.members[flooder]
            for afi in AFIS:
                count = 3 * fm.max_prefix[afi]
                length = policy.lengths[afi][1]
                nets = []
                for space in reversed(policy.lab_space[afi]):
                    for net in _reverse_subnets(space, length):
                        if len(nets) >= count:
                            break
                        if net not in alloc.taken and not any(net.overlaps(a) for a in fm.allowed[afi]):
                            nets.append(str(alloc.take(net)))
                flood_prefixes[afi] = nets
    return Spec(out, skipped, flooder, flood_prefixes)


def _reverse_subnets(space: Net, length: int) -> Iterable[Net]:
    if space.prefixlen > length:
        return
    step = 2 ** (space.max_prefixlen - length)
    top = int(space.broadcast_address) - step + 1
    bottom = int(space.network_address)
    cls = IPv4Network if space.version == 4 else IPv6Network
    addr = top
    while addr >= bottom:
        yield cls((addr, length))
        addr -= step


# ---------------------------------------------------------------------------------- results

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
    skipped: list[dict] = field(default_factory=list)
    resources: dict[str, dict] = field(default_factory=dict)
    error: str = ""

    @property
    def failed(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.ok]

    def as_dict(self) -> dict:
        out = asdict(self)
        out["failed"] = len(self.failed)
        return out


def _reason_names(codes: Iterable[int]) -> str:
    return ", ".join(f"{c} {data.REASON_BY_CODE[c].key if c in data.REASON_BY_CODE else '?'}" for c in codes) or "none"


class _View:
    """Routes of every router, indexed by (node, prefix), with sources resolved to node names."""

    def __init__(self, plan: Plan, routes: dict[str, list[Route]]):
        self.plan = plan
        by_addr = {}
        by_proto = {}
        for n in plan.nodes.values():
            if n.role == "switch":
                continue
            by_addr[str(n.ipv4)] = n.name
            by_addr[str(n.ipv6)] = n.name
            for afi in AFIS:
                for d in daemons.all_daemons():  # how each daemon's output names a session to n
                    by_proto[d.session_key(n.name, str(getattr(n, afi)), afi)] = n.name
        self.index: dict[tuple[str, str], list[tuple[str, Route]]] = {}
        for node, rs in routes.items():
            for r in rs:
                src = by_addr.get(r.source) or by_proto.get(r.source) or r.source
                try:
                    key = str(ip_network(r.prefix))
                except ValueError:
                    continue
                self.index.setdefault((node, key), []).append((src, r))

    def paths(self, node: str, prefix: str, source: str | None = None) -> list[Route]:
        return [r for src, r in self.index.get((node, prefix), []) if source is None or src == source]


def evaluate(plan: Plan, spec: Spec, view: _View) -> list[CaseResult]:
    """Judge every case on every route server and family."""
    policy: RsPolicy = plan.policy  # type: ignore[assignment]
    rs_asn = policy.rs_asn
    members = [n for n in plan.by_role("member") if n.name in policy.members]
    out: list[CaseResult] = []
    legit_prefixes = {str(p) for n in members for p in n.prefixes}
    for rs in plan.by_role("route_server"):
        for a in spec.announcements:
            got = view.paths(rs.name, a.prefix, a.member)
            got = [r for r in got if tuple(r.as_path) == a.as_path] or got
            route = got[0] if got else None
            if a.hostile:
                leaks = [m.name for m in members if m.name != a.member and any(
                    tuple(r.as_path) == a.as_path or a.prefix not in legit_prefixes for r in view.paths(m.name, a.prefix, rs.name))]
                expected = f"rejected: {_reason_names(a.expected_reasons)}; reaches no member"
                if route is None:
                    observed, ok = "never reached the route server", False
                else:
                    reasons = tuple(route.reasons(rs_asn))
                    rejected = route.rejected(rs_asn)
                    observed = (f"{'rejected' if rejected else 'ACCEPTED'}: {_reason_names(reasons)}"
                                + (f"; LEAKED to {', '.join(leaks)}" if leaks else "; reaches no member"))
                    ok = rejected and reasons == a.expected_reasons and not leaks
                out.append(CaseResult(rs.name, rs.daemon, a.afi, "hostile", a.case, a.member, a.prefix, expected, observed, ok,
                                      {"as_path": list(a.as_path), "next_hop": a.next_hop,
                                       "communities": [list(c) for c in a.communities]}))
                continue
            # steering: accepted on the route server, received as the communities say
            receivers = policy.receivers(a.member, a.large)
            want = {m.name: receivers.get(m.name) for m in members if m.name != a.member}
            problems = []
            if route is None:
                problems.append("never reached the route server")
            else:
                if route.rejected(rs_asn):
                    problems.append(f"rejected on the route server: {_reason_names(route.reasons(rs_asn))}")
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
                    r = paths[0]
                    path_want = [a.as_path[0]] * want[m.name] + list(a.as_path)
                    if r.as_path != path_want:
                        problems.append(f"{m.name} sees AS path {' '.join(map(str, r.as_path))}, not {' '.join(map(str, path_want))}")
                    leftover = [c for c in r.large if c[0] == rs_asn and c[1] in data.CONTROL_FUNCTIONS]
                    if leftover:
                        problems.append(f"{m.name} still sees control communities {leftover}")
                    if a.case == "graceful-shutdown" and data.GRACEFUL_SHUTDOWN not in r.communities:
                        problems.append(f"{m.name} lacks 65535:0")
                    if a.case == "blackhole":
                        bh = policy.blackhole_next_hop[a.afi]
                        nh_want = str(bh) if bh else a.next_hop
                        if not r.next_hop or ip_address(r.next_hop) != ip_address(nh_want):
                            problems.append(f"{m.name} sees next hop {r.next_hop}, not {nh_want}")
                        if data.BLACKHOLE not in r.communities or data.NO_EXPORT not in r.communities:
                            problems.append(f"{m.name} lacks 65535:666 or NO_EXPORT")
            expected = _steer_text(a, want)
            observed = "; ".join(problems) if problems else "as expected: " + _seen_text(seen, a)
            out.append(CaseResult(rs.name, rs.daemon, a.afi, "steering", a.case, a.member, a.prefix, expected, observed,
                                  not problems, {"target": a.target, "large": [list(c) for c in a.large],
                                                 "communities": [list(c) for c in a.communities]}))
        # legitimate routes of the model: accepted, untouched, everywhere
        for origin in members:
            for afi in AFIS:
                prefixes = [str(p) for p in (origin.prefixes4 if afi == "ipv4" else origin.prefixes6)]
                if not prefixes:
                    continue
                problems = []
                for p in prefixes:
                    got = [r for r in view.paths(rs.name, p, origin.name) if not r.rejected(rs_asn)]
                    if not got:
                        problems.append(f"{p} not accepted on the route server")
                    for m in members:
                        if m.name == origin.name:
                            continue
                        paths = [r for r in view.paths(m.name, p, rs.name) if r.as_path[:1] == [origin.asn]]
                        if not paths:
                            problems.append(f"{m.name} lacks {p}")
                            continue
                        r = paths[0]
                        if rs_asn in r.as_path or r.next_hop != str(getattr(origin, afi)):
                            problems.append(f"{m.name} sees {p} changed (path {r.as_path}, next hop {r.next_hop})")
                out.append(CaseResult(rs.name, rs.daemon, afi, "legitimate", "legitimate", origin.name, ", ".join(prefixes),
                                      "accepted; every other member has it, path and next hop unchanged",
                                      "; ".join(problems) or "as expected", not problems))
    return out


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


def _seen_text(seen: dict[str, Route | None], a: Announcement) -> str:
    parts = []
    for m, r in sorted(seen.items()):
        parts.append(f"{m}: {'-' if r is None else ' '.join(map(str, r.as_path))}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------- running it

def _run(nr, task, **kwargs) -> dict:
    results = nr.run(task=task, on_failed=True, **kwargs)
    failed = {h: str(r[0].exception or r[0].result)[-400:] for h, r in results.items() if r.failed}
    if failed:
        raise LabctlError("policy scenario: " + "; ".join(f"{h}: {e}" for h, e in sorted(failed.items())))
    return {h: r[0].result for h, r in results.items()}


def _routers(nr):
    return nr.filter(filter_func=is_router)


def _sample_resources(nr, plan: Plan) -> dict[str, dict]:
    rs = nr.filter(filter_func=lambda h: h.data["role"] == "route_server")
    out = _run(rs, resources)
    now = time.monotonic()
    for v in out.values():
        v["at"] = now
    return out


def _cpu_percent(a: dict, b: dict) -> float:
    wall = b["at"] - a["at"]
    return round(100 * (b["cpu_seconds"] - a["cpu_seconds"]) / wall, 1) if wall > 0 else 0.0


def run_policy_scenario(lab: Lab, nr=None, progress: Progress = _quiet, attackers: list[str] | None = None,
                        steerer: str | None = None, flood: bool = True, timeout: float | None = None) -> PolicyResult:
    """Attack the running lab, judge, restore. See the module docstring."""
    plan = lab.plan
    started = time.monotonic()
    result = PolicyResult(plan.lab, started=time.time())
    own_nr = nr is None
    nr = nr or lab.nornir()
    timeout = timeout or convergence_timeout(plan)
    injected: list[str] = []

    def phase(name: str, since: float) -> float:
        now = time.monotonic()
        result.phases[name] = round(now - since, 2)
        return now

    try:
        spec = build_spec(plan, attackers, steerer, flood)
        result.attackers = sorted({a.member for a in spec.announcements if a.hostile})
        result.steerer = next((a.member for a in spec.announcements if not a.hostile), "")
        result.flooder = spec.flooder
        result.skipped = spec.skipped
        result.announcements = [asdict(a) for a in spec.announcements]

        progress("policy: lab converged?")
        t = time.monotonic()
        conv = wait_converged(lab, nr, timeout)
        if not conv.converged:
            raise LabctlError("the lab is not converged before the policy scenario: "
                              + "; ".join(conv.down_sessions[:5] + [f"{m} lacks {len(v)} routes" for m, v in conv.missing_routes.items()]))
        base = _sample_resources(nr, plan)
        t = phase("preflight", t)

        progress(f"policy: {len(spec.announcements)} announcements from {', '.join(sorted({a.member for a in spec.announcements}))}")
        files = lab.node_files()
        for member in sorted({a.member for a in spec.announcements}):
            anns = [a for a in spec.announcements if a.member == member]
            node = plan.nodes[member]
            text = daemons.get(node.daemon).injection(plan, node, anns, {}, files[member])
            injected.append(member)
            _run(nr.filter(filter_func=lambda h, m=member: h.name == m), inject, text=text)
        t = phase("inject", t)

        progress("policy: observing route servers and members")
        routers = _routers(nr)
        deadline = time.monotonic() + timeout
        while True:
            view = _View(plan, _run(routers, collect_routes))
            cases = evaluate(plan, spec, view)
            if all(c.ok for c in cases) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        result.cases = cases
        t = phase("observe", t)
        hostile = _sample_resources(nr, plan)

        progress("policy: restoring the attackers")
        _run(nr.filter(filter_func=lambda h: h.name in injected), restore)
        injected.clear()
        conv = wait_converged(lab, nr, timeout)
        if not conv.converged:
            raise LabctlError("the lab did not converge after the hostile routes were removed: "
                              + "; ".join(conv.down_sessions[:5] + [f"{m} lacks {len(v)}" for m, v in conv.missing_routes.items()]))
        t = phase("restore", t)

        flood_res = None
        if spec.flooder:
            progress(f"policy: {spec.flooder} floods the route servers")
            result.cases += _flood(lab, nr, spec, timeout, injected, progress)
            flood_res = _sample_resources(nr, plan)
            t = phase("max-prefix", t)

        for name, b in base.items():
            entry = {"baseline": {k: b[k] for k in ("rss_kb", "cpu_seconds", "processes")},
                     "hostile": {k: hostile[name][k] for k in ("rss_kb", "cpu_seconds", "processes")},
                     "cpu_percent_during_hostile_phase": _cpu_percent(b, hostile[name])}
            if flood_res:
                entry["after_flood"] = {k: flood_res[name][k] for k in ("rss_kb", "cpu_seconds", "processes")}
                entry["cpu_percent_during_flood_phase"] = _cpu_percent(hostile[name], flood_res[name])
            result.resources[name] = entry
        result.ok = bool(result.cases) and all(c.ok for c in result.cases)
    except LabctlError as exc:
        result.error = exc.message
        result.ok = False
    finally:
        if injected:  # an error left injections behind: take them out, best effort
            try:
                nr.filter(filter_func=lambda h: h.name in injected).run(task=restore, on_failed=True)
            except Exception:  # noqa: BLE001 - the error that got us here is the one to report
                pass
        if own_nr:
            nr.close_connections()
        result.seconds = round(time.monotonic() - started, 2)
    return result


def _flood(lab: Lab, nr, spec: Spec, timeout: float, injected: list[str], progress: Progress) -> list[CaseResult]:
    plan = lab.plan
    policy: RsPolicy = plan.policy  # type: ignore[assignment]
    f = spec.flooder
    fm = policy.members[f]
    node = plan.nodes[f]
    action = fm.max_prefix_action
    files = lab.node_files()
    text = daemons.get(node.daemon).injection(plan, node, [], spec.flood, files[f])
    peers = {str(getattr(node, afi)): f for afi in AFIS}
    servers = nr.filter(filter_func=lambda h: h.data["role"] == "route_server")
    before = _run(servers, session_detail, peers=peers)
    injected.append(f)
    _run(nr.filter(filter_func=lambda h: h.name == f), inject, text=text)
    flooded_at = time.monotonic()

    def verdict(rs: str, afi: str, now: dict, first: dict) -> tuple[bool, str]:
        addr = str(getattr(node, afi))
        s, s0 = now[rs][addr], before[rs][addr]
        limit = fm.max_prefix[afi]
        up = s["state"] == "Established"
        if action in ("shutdown", "restart"):
            went_down = not up or s["resets"] > s0["resets"] or first.get((rs, afi))
            return bool(went_down), f"state {s['state']}; {s['reason'] or 'no reason given'}"
        if action == "warning":
            return up and s["received"] > limit, f"state {s['state']}, {s['received']} routes received (limit {limit})"
        return up and s["received"] <= limit, f"state {s['state']}, {s['received']} routes kept (limit {limit})"

    deadline = flooded_at + timeout
    seen_down: dict = {}
    while True:
        now = _run(servers, session_detail, peers=peers)
        for rs in now:
            for afi in AFIS:
                if now[rs][str(getattr(node, afi))]["state"] != "Established":
                    seen_down[(rs, afi)] = True
        done = all(verdict(rs, afi, now, seen_down)[0] for rs in now for afi in AFIS)
        if action in ("warning", "block"):  # nothing to wait for but the routes: give them time to arrive
            done = done and time.monotonic() - flooded_at > 5
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    reacted = round(time.monotonic() - flooded_at, 2)
    if action == "shutdown":  # it must stay down: longer than a reconnect would take
        time.sleep(2 * plan.model.ix.bgp.connect_retry + 1)
        later = _run(servers, session_detail, peers=peers)
    else:
        later = now
    # everyone else keeps their routes meanwhile
    view = _View(plan, _run(_routers(nr), collect_routes))
    others_missing = []
    for rs in plan.by_role("route_server"):
        for origin in plan.by_role("member"):
            if origin.name == f or origin.name not in policy.members:
                continue
            for p in origin.prefixes:
                for m in policy.members:
                    if m in (origin.name, f):
                        continue
                    if not [r for r in view.paths(m, str(p), rs.name) if r.as_path[:1] == [origin.asn]]:
                        others_missing.append(f"{m} lacks {p} via {rs.name}")
    rows = []
    want = {"shutdown": "session torn down and kept down", "restart": "session torn down (then re-established)",
            "warning": "session stays up, routes over the limit kept", "block": "session stays up, routes over the limit dropped"}[action]
    for rs in plan.by_role("route_server"):
        for afi in AFIS:
            ok, text = verdict(rs.name, afi, now, seen_down)
            if action == "shutdown":
                still = later[rs.name][str(getattr(node, afi))]["state"] != "Established"
                ok = ok and still
                text += "; still down after a reconnect interval" if still else "; came back up"
            if others_missing:
                ok = False
                text += "; collateral: " + ", ".join(others_missing[:5])
            rows.append(CaseResult(rs.name, rs.daemon, afi, "max-prefix", f"max-prefix-{action}", f,
                                   f"{len(spec.flood[afi])} routes over a limit of {fm.max_prefix[afi]}",
                                   f"{want}; nothing else changes", f"{text}; reacted within {reacted} s", ok,
                                   {"action": action, "limit": fm.max_prefix[afi], "flood": len(spec.flood[afi])}))
    progress(f"policy: removing the flood from {f}")
    _run(nr.filter(filter_func=lambda h: h.name == f), restore)
    injected.remove(f)
    _run(servers, clear_sessions, peers=peers)
    conv = wait_converged(lab, nr, timeout)
    if not conv.converged:
        for r in rows:
            r.ok = False
            r.observed += "; the lab did not converge after the flood was removed"
    return rows
