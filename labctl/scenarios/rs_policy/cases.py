"""The cases of the route-server policy scenario and who announces what: pure, from the plan.

Each hostile case is one row of `HOSTILE`: the reason it is built to trigger, whether it needs a
member whose daemon can spoof the first ASN, whether it is a prefix case (given to attackers that
cannot spoof, so spoofers keep the path cases), and the function that makes its announcement.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Callable, Iterable

from labctl import daemons
from labctl.daemons.records import afi_of
from labctl.errors import LabctlError
from labctl.plan import Plan
from labctl.policy import data
from labctl.policy.build import MemberPolicy, RsPolicy

Net = IPv4Network | IPv6Network
AFIS = ("ipv4", "ipv6")


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
        return afi_of(self.prefix)

    @property
    def hostile(self) -> bool:
        return self.case in HOSTILE


@dataclass(frozen=True)
class SkippedCase:
    case: str
    afi: str
    why: str


@dataclass
class Spec:
    announcements: list[Announcement]
    skipped: list[SkippedCase]
    flooder: str | None
    flood: dict[str, list[str]]  # afi -> prefixes


class _Allocator:
    """Free prefixes: inside a member's registered space first, never one anybody announces."""

    def __init__(self, plan: Plan):
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


@dataclass
class _Ctx:
    """What a hostile case builder sees: the plan, the allocator and the attacker in one family."""

    plan: Plan
    policy: RsPolicy
    alloc: _Allocator
    clients: list
    attackers: list[str]
    asns: set[int]
    member: str
    m: MemberPolicy
    afi: str

    @property
    def bounds(self) -> tuple[int, int]:
        return self.policy.lengths[self.afi]

    def free(self, length: int | None = None, ok: Callable[[Net], bool] | None = None) -> Net | None:
        return self.alloc.free(self.member, self.afi, self.bounds[1] if length is None else length,
                               ok or _origin_free(self.policy, self.m), fallback=True)


# A builder returns (prefix or None, AS path, next hop, communities, why it could not).
Built = tuple[Net | None, tuple[int, ...], str, tuple, str]


def _bogon(c: _Ctx) -> Built:
    lo, hi = c.bounds
    registered = [s for s in c.m.allowed[c.afi] if c.policy.is_bogon(s) and lo <= s.prefixlen <= hi
                  and s != c.policy.peering_lan[c.afi] and s not in c.alloc.taken]
    prefix = c.alloc.take(registered[0]) if registered else c.alloc.take(
        ip_network("10.255.0.0/16" if c.afi == "ipv4" else "fc00:bad::/32"))
    return prefix, (c.m.asn,), _nh(c), (), ""


def _too_specific(c: _Ctx) -> Built:
    hi = c.bounds[1]
    prefix = c.free(hi + 1) if hi < (32 if c.afi == "ipv4" else 128) else None
    return prefix, (c.m.asn,), _nh(c), (), "" if prefix else f"no room for a /{hi + 1} in {c.member}'s registered space"


def _hijack(c: _Ctx) -> Built:
    victims = [(n, p) for n in c.clients if n.name != c.member for p in (n.prefixes4 if c.afi == "ipv4" else n.prefixes6)]
    victims.sort(key=lambda v: (c.policy.rpki_state(v[1], c.m.asn) == "invalid", v[0].name in c.attackers, v[0].name))
    if not victims:
        return None, (c.m.asn,), _nh(c), (), f"no other member announces an {c.afi} prefix"
    return victims[0][1], (c.m.asn,), _nh(c), (), ""


def _first_as(c: _Ctx) -> Built:
    return c.free(), (_unused_asn(c.asns), c.m.asn), _nh(c), (), ""


def _next_hop(c: _Ctx) -> Built:
    other = next((o for o in c.clients if o.name != c.member), None)
    return c.free(), (c.m.asn,), str(getattr(other, c.afi)) if other else _nh(c), (), ""


def _rpki_invalid(c: _Ctx) -> Built:
    lo, hi = c.bounds
    roas = [r for r in c.policy.roas_for(c.afi) if r.asn != c.m.asn and lo <= r.prefix.prefixlen <= hi
            and r.prefix not in c.alloc.taken and not c.policy.is_bogon(r.prefix)]
    roas.sort(key=lambda r: (not any(r.prefix.subnet_of(s) for s in c.m.allowed[c.afi]), r.prefix))
    if not roas:
        return None, (c.m.asn,), _nh(c), (), "the lab's ROA set has no ROA naming another origin"
    return c.alloc.take(roas[0].prefix), (c.m.asn,), _nh(c), (), ""


def _transit_leak(c: _Ctx) -> Built:
    if not c.m.transit_free:
        return None, (c.m.asn,), _nh(c), (), "ix.policy.transit_free_asns is empty"
    leaker = 3356 if 3356 in c.m.transit_free else c.m.transit_free[0]
    origin = next((o for o in c.m.origins if o != c.m.asn), c.m.asn)
    prefix = c.free(ok=lambda n: not c.policy.is_bogon(n) and c.policy.rpki_state(n, origin) != "invalid")
    return prefix, (c.m.asn, leaker, origin), _nh(c), (), ""


def _reserved_asn(c: _Ctx) -> Built:
    reserved = next((lo for lo, _ in c.m.reserved if lo >= 64512), None) or next(
        (lo for lo, _ in c.m.reserved if lo > 0), None)
    if reserved is None:
        return None, (c.m.asn,), _nh(c), (), "no reserved ASN range left to use"
    return c.free(), (c.m.asn, reserved, c.m.asn), _nh(c), (), ""


def _as_path_too_long(c: _Ctx) -> Built:
    return c.free(), (c.m.asn,) * (c.policy.max_as_path_length + 1), _nh(c), (), ""


def _blackhole_not_enabled(c: _Ctx) -> Built:
    return c.free(32 if c.afi == "ipv4" else 128), (c.m.asn,), _nh(c), (data.BLACKHOLE,), ""


@dataclass(frozen=True)
class HostileCase:
    reason: int  # the reason code it is built to trigger (the policy may add others)
    build: Callable[[_Ctx], Built]
    prefix_case: bool = False  # given to attackers that cannot spoof, when there are any
    spoofs_first_as: bool = False  # needs a member whose daemon can originate a path not starting with its ASN
    needs_no_blackholing: bool = False  # the attacker must not be allowed to blackhole
    foreign_asns: bool = False  # other ASNs after the attacker's own in the path (not every daemon can)


HOSTILE: dict[str, HostileCase] = {
    "bogon": HostileCase(data.REASON_BY_KEY["bogon"].code, _bogon, prefix_case=True),
    "too-specific": HostileCase(data.REASON_BY_KEY["prefix-length"].code, _too_specific, prefix_case=True),
    "hijack": HostileCase(data.REASON_BY_KEY["prefix-not-allowed"].code, _hijack, prefix_case=True),
    "first-as": HostileCase(data.REASON_BY_KEY["first-as"].code, _first_as, spoofs_first_as=True),
    "next-hop": HostileCase(data.REASON_BY_KEY["next-hop"].code, _next_hop),
    "rpki-invalid": HostileCase(data.REASON_BY_KEY["rpki-invalid"].code, _rpki_invalid, prefix_case=True),
    "transit-leak": HostileCase(data.REASON_BY_KEY["transit-free-asn"].code, _transit_leak, foreign_asns=True),
    "reserved-asn": HostileCase(data.REASON_BY_KEY["reserved-asn"].code, _reserved_asn, foreign_asns=True),
    "as-path-too-long": HostileCase(data.REASON_BY_KEY["as-path-too-long"].code, _as_path_too_long),
    "blackhole-not-enabled": HostileCase(data.REASON_BY_KEY["blackhole-not-enabled"].code, _blackhole_not_enabled,
                                         prefix_case=True, needs_no_blackholing=True),
}
HOSTILE_CASES = tuple(HOSTILE)
INTENT = {name: case.reason for name, case in HOSTILE.items()}

# Steering: the communities a legitimate member attaches (`target` is the ASN of the member they name).
STEERING: dict[str, Callable[[int, int], tuple[tuple, tuple]]] = {  # case -> (rs_asn, target) -> (communities, large)
    "do-not-announce-to": lambda rs, t: ((), ((rs, data.LC_DO_NOT_ANNOUNCE, t),)),
    "announce-only-to": lambda rs, t: ((), ((rs, data.LC_DO_NOT_ANNOUNCE, 0), (rs, data.LC_ANNOUNCE, t))),
    "prepend-to": lambda rs, t: ((), ((rs, data.LC_PREPEND[1], t),)),
    "graceful-shutdown": lambda rs, t: ((data.GRACEFUL_SHUTDOWN,), ()),
    "blackhole": lambda rs, t: ((data.BLACKHOLE,), ()),
}
STEERING_CASES = tuple(STEERING)
TARGETED = ("do-not-announce-to", "announce-only-to", "prepend-to")


def _nh(c: _Ctx) -> str:
    return str(c.m.next_hop[c.afi])


def _spoofs(plan: Plan, member: str) -> bool:
    return daemons.get(plan.nodes[member].daemon).can_spoof_first_as


def _origin_free(policy: RsPolicy, m: MemberPolicy) -> Callable[[Net], bool]:
    """A prefix on which the member's own announcement is RPKI valid or not found, and not a bogon."""
    return lambda net: not policy.is_bogon(net) and policy.rpki_state(net, m.asn) != "invalid"


def _unused_asn(taken: set[int]) -> int:
    for lo, hi in data.DOCUMENTATION_ASNS[::-1]:
        for asn in range(hi, lo - 1, -1):
            if asn not in taken:
                return asn
    return 3333  # a public ASN (RIPE NCC) as the last resort


# ---------------------------------------------------------------------------------- the spec

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
    steerer = steerer or _choose_steerer(policy, clients)
    attackers = attackers if attackers is not None else _choose_attackers(plan, policy, clients, steerer)
    unknown = [a for a in [*attackers, steerer] if a not in policy.members]
    if unknown:
        raise LabctlError(f"not a route-server member: {', '.join(unknown)}", f"members: {', '.join(policy.members)}")
    alloc = _Allocator(plan)
    skipped: list[SkippedCase] = []
    assign = _assign_cases(plan, policy, attackers, skipped)
    out = _hostile(plan, policy, alloc, clients, attackers, assign, skipped)
    out += _steering(plan, policy, alloc, clients, attackers, steerer, skipped)
    flooder, flood_prefixes = _flood_spec(plan, policy, alloc, attackers) if flood else (None, {})
    return Spec(out, skipped, flooder, flood_prefixes)


def _room(policy: RsPolicy, name: str) -> int:
    m = policy.members[name]
    return sum(2 ** max(0, policy.lengths[afi][1] - s.prefixlen) for afi in AFIS for s in m.allowed[afi]
               if s.prefixlen <= policy.lengths[afi][1] and not policy.is_bogon(s))


def _choose_steerer(policy: RsPolicy, clients: list) -> str:
    """Blackholing enabled if possible, the most room."""
    return max(clients, key=lambda n: (policy.members[n.name].blackhole, _room(policy, n.name), n.name)).name


def _choose_attackers(plan: Plan, policy: RsPolicy, clients: list, steerer: str) -> list[str]:
    """One member per daemon the lab runs (spoofing daemons first), the most room first."""
    attackers = []
    for daemon in sorted({n.daemon for n in clients}, key=lambda d: (not daemons.get(d).can_spoof_first_as, d)):
        pool = [n for n in clients if n.daemon == daemon and n.name != steerer]
        if pool:
            attackers.append(max(pool, key=lambda n: (not policy.members[n.name].blackhole,
                                                      _room(policy, n.name), n.name)).name)
    return attackers or [n.name for n in clients if n.name != steerer][:1]


def _assign_cases(plan: Plan, policy: RsPolicy, attackers: list[str], skipped: list[SkippedCase]) -> dict[str, str]:
    """Case -> attacker: spoofing cases to a spoofer, prefix cases to non-spoofers, the rest in order."""
    assign: dict[str, str] = {}
    for name, case in HOSTILE.items():
        pool = [a for a in attackers if not (case.needs_no_blackholing and policy.members[a].blackhole)]
        if case.spoofs_first_as:
            pool = [a for a in pool if _spoofs(plan, a)]
            if not pool:
                able = [d.name for d in daemons.all_daemons() if d.can_spoof_first_as]
                skipped += [SkippedCase(name, afi, f"needs an attacker on {' or '.join(able)}") for afi in AFIS]
                continue
        if case.foreign_asns:
            pool = [a for a in pool if daemons.get(plan.nodes[a].daemon).can_originate_foreign_asns]
            if not pool:
                able = [d.name for d in daemons.all_daemons() if d.can_originate_foreign_asns]
                skipped += [SkippedCase(name, afi, f"needs an attacker on {' or '.join(able)}") for afi in AFIS]
                continue
        if not pool:
            skipped += [SkippedCase(name, afi, "every attacker may blackhole") for afi in AFIS]
            continue
        plain = [a for a in pool if not _spoofs(plan, a)]
        spoofers = [a for a in pool if _spoofs(plan, a)]
        preferred = plain if case.prefix_case else spoofers
        assign[name] = (preferred or pool)[0]
    return assign


def _hostile(plan: Plan, policy: RsPolicy, alloc: _Allocator, clients: list, attackers: list[str],
             assign: dict[str, str], skipped: list[SkippedCase]) -> list[Announcement]:
    out = []
    asns = {m.asn for m in policy.members.values()} | {policy.rs_asn}
    for afi in AFIS:
        for name, case in HOSTILE.items():
            if name not in assign:
                continue
            h = assign[name]
            ctx = _Ctx(plan, policy, alloc, clients, attackers, asns, h, policy.members[h], afi)
            prefix, path, nh, comms, why = case.build(ctx)
            if prefix is None:
                skipped.append(SkippedCase(name, afi, why or f"no free {afi} prefix in {h}'s registered space"))
                continue
            reasons = tuple(policy.evaluate(h, prefix, path, nh, comms))
            if case.reason not in reasons:
                skipped.append(SkippedCase(name, afi, f"{prefix} from {h} would not trigger reason {case.reason} "
                                                      f"(policy says {list(reasons) or 'accept'})"))
                continue
            out.append(Announcement(name, h, str(prefix), path, nh, comms, (), None, reasons))
    return out


def _steering(plan: Plan, policy: RsPolicy, alloc: _Allocator, clients: list, attackers: list[str], steerer: str,
              skipped: list[SkippedCase]) -> list[Announcement]:
    """A legitimate member's community-steered routes, naming a member of another daemon if possible."""
    s = policy.members[steerer]
    others = [n for n in clients if n.name != steerer and policy.members[n.name].asn != s.asn]
    others.sort(key=lambda n: (n.daemon == plan.nodes[steerer].daemon, n.name in attackers, n.name))
    target = others[0].name if others else None
    out = []
    for afi in AFIS:
        for case, communities in STEERING.items():
            if case in TARGETED and target is None:
                skipped.append(SkippedCase(case, afi, "no other member with another ASN"))
                continue
            if case == "blackhole" and not s.blackhole:
                skipped.append(SkippedCase(case, afi, f"{steerer} has no blackholing (members[].blackhole)"))
                continue
            comms, large = communities(policy.rs_asn, policy.members[target].asn if target else 0)
            length = (32 if afi == "ipv4" else 128) if case == "blackhole" else policy.lengths[afi][1]
            # blackhole requests are exempt from RPKI (a /32 is longer than any ROA allows)
            ok = (lambda n: not policy.is_bogon(n)) if case == "blackhole" else _origin_free(policy, s)
            prefix = alloc.free(steerer, afi, length, ok)
            if prefix is None:
                skipped.append(SkippedCase(case, afi, f"no free {afi} /{length} in {steerer}'s registered space "
                                                      "(give it allowed_prefixes)"))
                continue
            nh, path = str(s.next_hop[afi]), (s.asn,)
            reasons = tuple(policy.evaluate(steerer, prefix, path, nh, comms, large))
            if reasons:
                skipped.append(SkippedCase(case, afi, f"{prefix} from {steerer} would be rejected ({list(reasons)})"))
                continue
            out.append(Announcement(case, steerer, str(prefix), path, nh, comms, large,
                                    target if case in TARGETED else None))
    return out


def _flood_spec(plan: Plan, policy: RsPolicy, alloc: _Allocator, attackers: list[str]
                ) -> tuple[str | None, dict[str, list[str]]]:
    """A flooder (non-spoofers first) and 3 x its max-prefix limit of unregistered prefixes per family."""
    pool = sorted(attackers, key=lambda a: (_spoofs(plan, a), a))
    if not pool:
        return None, {}
    flooder, prefixes = pool[0], {}
    fm = policy.members[flooder]
    for afi in AFIS:
        count, length, nets = 3 * fm.max_prefix[afi], policy.lengths[afi][1], []
        for space in reversed(policy.lab_space[afi]):
            for net in _reverse_subnets(space, length):
                if len(nets) >= count:
                    break
                if net not in alloc.taken and not any(net.overlaps(a) for a in fm.allowed[afi]):
                    nets.append(str(alloc.take(net)))
        prefixes[afi] = nets
    return flooder, prefixes


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
