"""Locality: does traffic between two local members stay in the region? Pure: the pairs and the
hop map come from the plan, the verdicts from what the nodes answered (AS path of the best route,
the hops a TTL-limited ping walked, the RTT of a plain ping); `automation.tasks.trace_pairs` asks, `lifecycle.locality` puts it together.

Without netem the long-haul lines carry no delay, so the RTT measured shows nothing of the
distance; the row then also gives the RTT the model implies (twice the one-way delays of the
long-haul lines crossed) and says that the kernel could not apply it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Network, ip_interface

from labctl.plan.build import Plan

MAX_TTL = 8
# ping -t N: "From 10.254.0.0 icmp_seq=1 Time to live exceeded", or "64 bytes from 198.18.2.1: ..."
_EXCEEDED = re.compile(r"^From (\S+?):? .*(?:Time to live exceeded|Time exceeded)", re.M)
_REPLY = re.compile(r"^\d+ bytes from (\S+?):", re.M)
_RTT = re.compile(r"= [\d.]+/([\d.]+)/[\d.]+/[\d.]+ ms")


@dataclass
class Hop:
    address: str
    node: str  # "" when the address is no node of the lab
    where: str  # the node's site, or an upstream's city


@dataclass
class PairPath:
    source: str  # member (its first router sends)
    target: str  # member
    source_router: str
    target_address: str
    as_path: list[int] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    reached: bool = False
    rtt_ms: float | None = None
    in_region: bool | None = None
    long_haul: int = 0  # long-haul lines (member - upstream) crossed one way
    upstreams: list[str] = field(default_factory=list)
    modelled_rtt_ms: float = 0.0  # twice the one-way delays of the long-haul lines crossed

    def as_dict(self) -> dict:
        return asdict(self)


def probe_address(plan: Plan, node: str) -> str | None:
    v4 = [p for p in plan.nodes[node].prefixes if isinstance(p, IPv4Network)]
    return str(v4[0].network_address + 1) if v4 else None


def source_address(plan: Plan, router: str) -> str | None:
    """Where the source router pings from: its prefix's first address, which a member's other routers
    hold too (answers to it may go to them): a router of a member with several uses its own LAN
    address instead, where it has one."""
    node = plan.nodes[router]
    siblings = [n for n in plan.by_role("member") if n.member == node.member]
    if len(siblings) > 1 and node.ipv4:
        return str(node.ipv4)
    return probe_address(plan, router)


def local_pairs(plan: Plan) -> list[PairPath]:
    """Every pair of local members (each once, in file order) with an IPv4 prefix to reach: the first
    router of one towards the first address of the other's first IPv4 prefix."""
    first: dict[str, str] = {}
    for r in plan.model.member_routers():
        first.setdefault(r.member.name, r.name)
    members = [m for m in first if probe_address(plan, first[m])]
    return [PairPath(a, b, first[a], probe_address(plan, first[b]) or "")
            for i, a in enumerate(members) for b in members[i + 1:]]


def hop_map(plan: Plan) -> dict[str, tuple[str, str]]:
    """Address -> (node, site or city) for every address a hop can answer from."""
    out: dict[str, tuple[str, str]] = {}
    for n in plan.nodes.values():
        where = n.city if n.role == "upstream" else n.site
        if n.ipv4:
            out[str(n.ipv4)] = (n.name, where)
        for iface, v4, _ in n.backbone:
            out[str(ip_interface(v4).ip)] = (n.name, where)
        for t in n.transit:
            out[str(ip_interface(t.ipv4).ip)] = (n.name, where)
        for p in n.prefixes:
            if p.version == 4:
                out.setdefault(str(p.network_address + 1), (n.member or n.name, where))
    return out


def parse_ttl_walk(outputs: list[str]) -> tuple[list[str], bool]:
    """The answers of `ping -t 1..N` (one output per TTL, in order): (hop addresses, reached)."""
    hops: list[str] = []
    for text in outputs:
        reply = _REPLY.search(text)
        if reply:
            hops.append(reply.group(1))
            return hops, True
        exceeded = _EXCEEDED.search(text)
        hops.append(exceeded.group(1) if exceeded else "*")
    return hops, False


def parse_rtt(text: str) -> float | None:
    m = _RTT.search(text)
    return float(m.group(1)) if m else None


def judge_pair(plan: Plan, pair: PairPath, hops: list[str], reached: bool, rtt: float | None,
               as_path: list[int]) -> PairPath:
    """Fill in the verdict: the hops named, in region or not, long-haul lines crossed and the RTT
    the model implies."""
    names = hop_map(plan)
    pair.hops = [Hop(h, *names.get(h, ("", ""))) for h in hops]
    pair.reached, pair.rtt_ms, pair.as_path = reached, rtt, as_path
    ups = [h.node for h in pair.hops if h.node in plan.nodes and plan.nodes[h.node].role == "upstream"]
    upstream_asns = {plan.nodes[u.name].asn for u in plan.model.upstreams}
    pair.upstreams = ups
    pair.in_region = None if not reached else not ups and not set(as_path) & upstream_asns
    chain = [pair.source_router] + [h.node for h in pair.hops]
    delay = 0.0
    for a, b in zip(chain, chain[1:]):
        port = next((t for t in plan.nodes[a].transit if t.peer == b), None) if a in plan.nodes else None
        if port and {plan.nodes[a].role, plan.nodes.get(b, plan.nodes[a]).role} == {"member", "upstream"}:
            pair.long_haul += 1
            delay += port.delay_ms
    pair.modelled_rtt_ms = 2 * delay
    return pair


def summary(pairs: list[PairPath]) -> dict:
    reached = [p for p in pairs if p.reached]
    local = [p for p in reached if p.in_region]
    return {"pairs": len(pairs), "reached": len(reached), "in_region": len(local),
            "share_in_region": round(len(local) / len(pairs), 3) if pairs else None}


def trace_script(source: str, target: str) -> str:
    """A shell script run on the source router: a ping per TTL until the target answers (the hops
    without traceroute in the image), then three pings for the RTT; `split_trace` reads its output."""
    return (f"for t in $(seq 1 {MAX_TTL}); do echo '@@ttl'; ping -n -c 1 -W 1 -t $t -I {source} {target} 2>&1 && break; "
            f"done; echo '@@rtt'; ping -n -q -c 3 -i 0.2 -W 1 -I {source} {target} 2>&1; true")


def split_trace(text: str) -> tuple[list[str], str]:
    """`trace_script` output -> (one ping output per TTL, the RTT ping's output)."""
    walk, _, rtt = text.partition("@@rtt")
    return [part for part in walk.split("@@ttl")[1:]], rtt
