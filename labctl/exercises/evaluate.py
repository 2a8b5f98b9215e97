"""Judge an exercise's checks on what was observed from the lab: pass or fail, with the expected
and the observed value in English and Japanese. Pure: the observations are gathered by
`labctl.exercises.run` (automation's collectors and the scenario engine) and unit tests feed
captured ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import ip_network

from labctl import daemons
from labctl.daemons.records import NodeBgp, Route
from labctl.daemons.rtr import PORT as RTR_PORT
from labctl.exercises.load import ping_address
from labctl.exercises.schema import (AcceptedCheck, AnnouncedCheck, ReachabilityCheck, RibCheck, RouteCheck, RtrCheck,
                                     ScenarioCheck, SessionCheck)
from labctl.plan import Plan
from labctl.policy.data import REASON_BY_CODE
from labctl.scenarios.outcome import ScenarioResult


def bi(en: str, ja: str | None = None) -> dict[str, str]:
    """A value in both languages (ja defaults to en: addresses and states read the same)."""
    return {"en": en, "ja": ja if ja is not None else en}


@dataclass
class Observations:
    bgp: dict[str, NodeBgp] = field(default_factory=dict)  # node -> sessions (collect_bgp)
    routes: dict[str, list[Route]] = field(default_factory=dict)  # node -> every path it holds (collect_routes)
    scenarios: dict[str, ScenarioResult] = field(default_factory=dict)  # check id -> the scenario's result
    pings: dict[str, str] = field(default_factory=dict)  # check id -> fping's output at the check's router
    rtr: dict[str, list[str]] = field(default_factory=dict)  # route server -> addresses its RPKI cache serves
    details: dict[str, dict[str, dict]] = field(default_factory=dict)  # node -> peer address -> session_detail
    errors: dict[str, str] = field(default_factory=dict)  # node (or check id) -> why it gave no answer


@dataclass
class CheckResult:
    id: str
    kind: str
    title: dict[str, str]
    passed: bool
    expected: dict[str, str]
    observed: dict[str, str]

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "passed": self.passed,
                "expected": self.expected, "observed": self.observed}


def judge(plan: Plan, trainee: str, checks: list, obs: Observations) -> list[CheckResult]:
    return [judge_one(plan, trainee, check, obs) for check in checks]


def judge_one(plan: Plan, trainee: str, check, obs: Observations) -> CheckResult:
    title = {"en": check.title.en.strip(), "ja": check.title.ja.strip()}
    if isinstance(check, ScenarioCheck):
        passed, expected, observed = _scenario(check, obs)
    elif check.at in obs.errors:
        passed, observed = False, bi(f"{check.at} did not answer: {obs.errors[check.at]}",
                                     f"{check.at} から応答がありません: {obs.errors[check.at]}")
        expected = bi("an answer")
    else:
        fn = {SessionCheck: _session, RouteCheck: _route, AcceptedCheck: _accepted, AnnouncedCheck: _announced,
              ReachabilityCheck: _reachability, RibCheck: _rib, RtrCheck: _rtr}
        passed, expected, observed = fn[type(check)](plan, trainee, check, obs)
    return CheckResult(check.id, check.kind, title, passed, expected, observed)


# ------------------------------------------------------------------ sessions

# what FRR ("Cease/Maximum Number of Prefixes Reached"), BIRD ("Maximum number of prefixes reached")
# and OpenBGPD ("maximum number of prefixes reached") say of a max-prefix Cease (RFC 4486 subcode 1)
MAX_PREFIX_REASON = re.compile(r"maximum number of prefixes|max(imum)?[ -]?prefix", re.IGNORECASE)


def session_addresses(plan: Plan, trainee: str, check: SessionCheck) -> dict[str, str]:
    """peer address -> peer name of a session check's families (what `at` calls the peer)."""
    peer = plan.nodes[check.peer or trainee]
    return {str(peer.ipv4 if afi == "ipv4" else peer.ipv6): peer.name for afi in check.afi}


def _session(plan: Plan, trainee: str, check: SessionCheck, obs: Observations):
    if check.state == "down":
        return _session_down(plan, trainee, check, obs)
    peer = plan.nodes[check.peer or trainee]
    state = obs.bgp.get(check.at, NodeBgp())
    seen = {(s.peer_address, s.afi): s for s in state.sessions}
    parts, ok = [], True
    for afi in check.afi:
        address = peer.ipv4 if afi == "ipv4" else peer.ipv6
        got = seen.get((str(address), afi))
        text = got.state if got else "not configured"
        ok &= bool(got and got.established)
        parts.append(f"{afi} {text}")
    expected = bi(f"{' and '.join(check.afi)} Established with {peer.name}",
                  f"{peer.name} とのセッションが {'・'.join(check.afi)} で Established")
    observed_ja = ", ".join(p.replace("not configured", "未設定") for p in parts)
    return ok, expected, bi(f"{', '.join(parts)} (seen from {check.at})", f"{observed_ja}({check.at} から観測)")


def _session_down(plan: Plan, trainee: str, check: SessionCheck, obs: Observations):
    peer = plan.nodes[check.peer or trainee]
    seen = {(s.peer_address, s.afi): s for s in obs.bgp.get(check.at, NodeBgp()).sessions}
    details = obs.details.get(check.at, {})
    ok, en, ja = True, [], []
    for afi in check.afi:
        address = str(peer.ipv4 if afi == "ipv4" else peer.ipv6)
        got = seen.get((address, afi))
        if got is None:
            ok = False
            en.append(f"{afi} not configured")
            ja.append(f"{afi} 未設定")
            continue
        ok &= not got.established
        said = (details.get(address) or {}).get("reason", "")
        if check.reason == "max-prefix":
            ok &= bool(MAX_PREFIX_REASON.search(said))
        en.append(f"{afi} {got.state}; last error: {said or 'none'}")
        ja.append(f"{afi} {got.state}; 最後のエラー: {said or 'なし'}")
    why = " by a max-prefix Cease (maximum number of prefixes reached)" if check.reason else ""
    why_ja = "、理由は max-prefix の Cease (maximum number of prefixes reached)" if check.reason else ""
    expected = bi(f"{' and '.join(check.afi)} session with {peer.name} down{why}",
                  f"{peer.name} とのセッションが {'・'.join(check.afi)} で切断{why_ja}")
    return ok, expected, bi(f"{'; '.join(en)} (seen from {check.at})", f"{'; '.join(ja)}({check.at} から観測)")


# ------------------------------------------------------------------ routes

def _accepted_paths(plan: Plan, at: str, routes: list[Route], prefix: str) -> list[Route]:
    rs_asn = plan.model.ix.route_server_asn
    on_rs = plan.nodes[at].role == "route_server"
    return [r for r in routes if r.prefix == prefix and not r.filtered and not (on_rs and r.reasons(rs_asn))]


def _route(plan: Plan, trainee: str, check: RouteCheck, obs: Observations):
    prefix = str(check.prefix)
    paths = _accepted_paths(plan, check.at, obs.routes.get(check.at, []), prefix)
    best = next((r for r in paths if r.best), paths[0] if paths else None)
    if not check.present:
        expected = bi(f"no route for {prefix} at {check.at}", f"{check.at} に {prefix} の経路がないこと")
        if best is None:
            return True, expected, bi("absent", "経路なし")
        return False, expected, bi(f"present: {_describe(best)}", f"経路あり: {_describe(best)}")
    wanted = _wanted(check)
    expected = bi(f"{prefix} at {check.at}" + (f" with {wanted}" if wanted else ""),
                  f"{check.at} に {prefix} の経路" + (f"({wanted})" if wanted else ""))
    if best is None:
        return False, expected, bi(f"no route for {prefix} at {check.at}", f"{check.at} に {prefix} の経路がありません")
    wrong = _wrong_attributes(check, best)
    text = _describe(best)
    if wrong:
        return False, expected, bi(f"{text}; wrong: {', '.join(wrong)}", f"{text}; 不一致: {', '.join(wrong)}")
    return True, expected, bi(f"present: {text}", f"経路あり: {text}")


def _wanted(check: RouteCheck) -> str:
    parts = []
    if check.as_path is not None:
        parts.append("AS path " + (" ".join(map(str, check.as_path)) or "(empty)"))
    if check.next_hop:
        parts.append(f"next hop {check.next_hop}")
    if check.communities:
        parts.append("communities " + " ".join(check.communities))
    if check.large_communities:
        parts.append("large communities " + " ".join(check.large_communities))
    return ", ".join(parts)


def _wrong_attributes(check: RouteCheck, best: Route) -> list[str]:
    wrong = []
    if check.as_path is not None and best.as_path != check.as_path:
        wrong.append("AS path")
    if check.next_hop and best.next_hop != check.next_hop:
        wrong.append("next hop")
    have = {f"{a}:{b}" for a, b in best.communities}
    if set(check.communities) - have:
        wrong.append("communities")
    have_large = {f"{a}:{b}:{c}" for a, b, c in best.large}
    if set(check.large_communities) - have_large:
        wrong.append("large communities")
    return wrong


def _describe(route: Route) -> str:
    text = f"AS path {' '.join(map(str, route.as_path)) or '(empty)'}, next hop {route.next_hop or '?'}"
    if route.communities:
        text += ", communities " + " ".join(f"{a}:{b}" for a, b in route.communities)
    if route.large:
        text += ", large " + " ".join(f"{a}:{b}:{c}" for a, b, c in route.large)
    return text


def _from_peer(plan: Plan, at: str, peer: str, routes: list[Route]) -> list[Route]:
    """The paths `at` received from `peer` (by address, by the daemon's session name, or by name)."""
    node, daemon = plan.nodes[peer], daemons.get(plan.nodes[at].daemon)
    addresses = {(afi, str(a)) for afi, a in (("ipv4", node.ipv4), ("ipv6", node.ipv6)) if a is not None}
    # and the addresses of `at`'s own sessions with it (an upstream's link is not on the IX LAN)
    addresses |= {(s.afi, s.peer_address) for s in plan.nodes[at].sessions if s.peer == peer}
    sources = set()
    for afi, address in addresses:
        sources |= {address, daemon.session_key(peer, address, afi)}
    return [r for r in routes if r.source in sources or (r.peer_name and r.peer_name == peer)]


def _verdict(plan: Plan, route: Route) -> tuple[bool, dict[str, str]]:
    """(accepted, what the route server said) for a path on a route server."""
    codes = route.reasons(plan.model.ix.route_server_asn)
    if not route.filtered and not codes:
        return True, bi("accepted", "受理")
    reasons = [f"{REASON_BY_CODE[c].key}: {REASON_BY_CODE[c].text} (code {c})" if c in REASON_BY_CODE
               else f"reason code {c}" for c in codes] or ["filtered (no reason tag)"]
    return False, bi("rejected: " + "; ".join(reasons), "拒否: " + "; ".join(reasons))


def _own_prefixes(plan: Plan, peer: str, given) -> list[str]:
    if given is not None:
        return [str(p) for p in given]
    return [str(p) for p in plan.nodes[peer].prefixes]


def _accepted(plan: Plan, trainee: str, check: AcceptedCheck, obs: Observations):
    peer = check.peer or trainee
    wanted = _own_prefixes(plan, peer, check.prefixes)
    received = _from_peer(plan, check.at, peer, obs.routes.get(check.at, []))
    ok, en, ja = True, [], []
    for prefix in wanted:
        paths = [r for r in received if r.prefix == prefix]
        if not paths:
            ok = False
            en.append(f"{prefix}: not received from {peer}")
            ja.append(f"{prefix}: {peer} から受信していません")
            continue
        accepted, said = _verdict(plan, paths[0])
        ok &= accepted
        en.append(f"{prefix}: {said['en']}")
        ja.append(f"{prefix}: {said['ja']}")
    others = [r for r in received if r.prefix not in wanted]
    if not ok and others:  # what it did send, and why the route server refused it
        for r in others[:6]:
            said = _verdict(plan, r)[1]
            en.append(f"also received {r.prefix}: {said['en']}")
            ja.append(f"他に受信 {r.prefix}: {said['ja']}")
    expected = bi(f"{', '.join(wanted)} from {peer} accepted by {check.at}",
                  f"{peer} からの {', '.join(wanted)} を {check.at} が受理")
    return ok, expected, bi("; ".join(en), "; ".join(ja))


def _announced(plan: Plan, trainee: str, check: AnnouncedCheck, obs: Observations):
    peer = check.peer or trainee
    wanted = _own_prefixes(plan, peer, check.prefixes)
    received = _from_peer(plan, check.at, peer, obs.routes.get(check.at, []))
    got = sorted({r.prefix for r in received}, key=_sort_key)
    missing = [p for p in wanted if p not in got]
    extra = [r for r in received if r.prefix not in wanted]
    expected = bi(f"{check.at} receives exactly {', '.join(wanted)} from {peer}",
                  f"{check.at} が {peer} から受信する経路がちょうど {', '.join(wanted)} であること")
    en = [f"received {', '.join(got) or 'nothing'}"]
    ja = [f"受信: {', '.join(got) or 'なし'}"]
    if missing:
        en.append(f"missing {', '.join(missing)}")
        ja.append(f"不足: {', '.join(missing)}")
    if extra:
        leaks = [f"{r.prefix} (AS path {' '.join(map(str, r.as_path))})" for r in extra[:8]]
        more = f" and {len(extra) - 8} more" if len(extra) > 8 else ""
        en.append(f"not yours: {', '.join(leaks)}{more}")
        ja.append(f"自分の経路ではないもの: {', '.join(leaks)}{more}")
    return not missing and not extra, expected, bi("; ".join(en), "; ".join(ja))


def _rib(plan: Plan, trainee: str, check: RibCheck, obs: Observations):
    """What the trainee's own router holds (the only kind read there: a route it drops leaves no
    trace anywhere else)."""
    routes = obs.routes.get(check.at, [])
    if check.peer:
        routes = _from_peer(plan, check.at, check.peer, routes)
    held = {r.prefix: r for r in routes if not r.filtered}
    want, drop = [str(p) for p in check.present], [str(p) for p in check.absent]
    en, ja = [], []
    if want:
        en.append(f"holds {', '.join(want)}")
        ja.append(f"{', '.join(want)} を保持")
    if drop:
        en.append(f"none of {', '.join(drop)}")
        ja.append(f"{', '.join(drop)} を保持しない")
    expected = bi(f"{check.at} " + " and ".join(en) + (f" (paths from {check.peer})" if check.peer else ""),
                  (f"{check.peer} から受信した経路について、" if check.peer else "") + f"{check.at} が " + "、".join(ja))
    missing = [p for p in want if p not in held]
    kept = [p for p in drop if p in held]
    ok_en = [f"holds {p}" for p in want if p in held] + [f"no {p}" for p in drop if p not in held]
    ok_ja = [f"{p} あり" for p in want if p in held] + [f"{p} なし" for p in drop if p not in held]
    bad_en = [f"no route for {p}" for p in missing] + [f"accepted {p} ({_describe(held[p])})" for p in kept]
    bad_ja = [f"{p} の経路なし" for p in missing] + [f"{p} を受け入れている({_describe(held[p])})" for p in kept]
    where_en, where_ja = f" (read from your router {check.at})", f"(あなたのルータ {check.at} から読み取り)"
    return (not missing and not kept, expected,
            bi("; ".join(bad_en + ok_en) + where_en, "; ".join(bad_ja + ok_ja) + where_ja))


def _sort_key(prefix: str):
    net = ip_network(prefix)
    return net.version, net


# ------------------------------------------------------------------ data plane

def ping_target(plan: Plan, trainee: str, check: ReachabilityCheck) -> tuple[str, str]:
    """(source, target) addresses of a reachability check: first addresses of prefixes (on loopbacks)."""
    return ping_address(plan, check.at, check.afi), check.to or ping_address(plan, check.peer or trainee, check.afi)


def parse_fping(text: str) -> tuple[int, int] | None:
    """(sent, received) from fping -c's summary line; None when it printed none."""
    found = re.search(r"xmt/rcv/%loss = (\d+)/(\d+)/", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def _reachability(plan: Plan, trainee: str, check: ReachabilityCheck, obs: Observations):
    source, target = ping_target(plan, trainee, check)
    counts = parse_fping(obs.pings.get(check.id, ""))
    if check.reachable:
        expected = bi(f"{target} answers pings from {check.at} ({source})",
                      f"{check.at} ({source}) からの ping に {target} が応答")
    else:
        expected = bi(f"{target} does not answer pings from {check.at} ({source})",
                      f"{check.at} ({source}) からの ping に {target} が応答しない")
    if counts is None:
        raw = obs.pings.get(check.id, "").strip()[-200:] or "no output"
        return False, expected, bi(f"ping did not run: {raw}", f"ping を実行できませんでした: {raw}")
    sent, received = counts
    passed = received > 0 if check.reachable else received == 0
    return passed, expected, bi(f"{received}/{sent} answered", f"{sent} 回中 {received} 回応答")


# ------------------------------------------------------------------ RPKI

def _rtr(plan: Plan, trainee: str, check: RtrCheck, obs: Observations):
    peer = plan.nodes[check.peer or trainee]
    addresses = {str(a) for a in (peer.ipv4, peer.ipv6) if a is not None}
    clients = obs.rtr.get(check.at, [])
    expected = bi(f"{check.at}'s RPKI cache (RTR, port {RTR_PORT}) serves {peer.name} ({', '.join(sorted(addresses))})",
                  f"{check.at} の RPKI キャッシュ (RTR, ポート {RTR_PORT}) が {peer.name} ({', '.join(sorted(addresses))}) に配信")
    others = [c for c in clients if c not in addresses]
    own = [c for c in others if c.startswith("127.") or c == "::1"]
    names = [c for c in others if c not in own] + ([f"{check.at} itself"] if own else [])
    names_ja = [c for c in others if c not in own] + ([f"{check.at} 自身"] if own else [])
    if addresses & set(clients):
        return True, expected, bi(f"connected from {', '.join(sorted(addresses & set(clients)))}",
                                  f"{', '.join(sorted(addresses & set(clients)))} から接続あり")
    return False, expected, bi(f"no RTR session from {peer.name}; clients: {', '.join(names) or 'none'}",
                               f"{peer.name} からの RTR セッションなし; 接続中: {', '.join(names_ja) or 'なし'}")


# ------------------------------------------------------------------ measured: a scenario

def _scenario(check: ScenarioCheck, obs: Observations):
    result = obs.scenarios.get(check.id)
    wanted = check.require
    expected = bi("scenario passes" + (f": {', '.join(wanted)}" if wanted else ""),
                  "シナリオ合格" + (f": {', '.join(wanted)}" if wanted else ""))
    if result is None or result.error:
        why = obs.errors.get(check.id) or (result.error if result else "not run")
        return False, expected, bi(f"scenario did not run: {why}", f"シナリオを実行できませんでした: {why}")
    chosen = [c for c in result.checks if not wanted or c.name in wanted]
    missing = [w for w in wanted if w not in {c.name for c in result.checks}]
    text = "; ".join(f"{c.name}: {c.observed} (expected {c.expected}) {c.status}" for c in chosen)
    if missing:
        text += f"; no such scenario check: {', '.join(missing)}"
    passed = (not missing and all(c.status == "pass" for c in chosen) and bool(chosen)) if wanted else result.passed
    return passed, expected, bi(text or "no checks", text or "チェックなし")
