"""Human-readable looking-glass output from the raw daemon answers, with reject reasons explained.

A route server tags every route its import policy rejects with RS:1101:<code> (docs/POLICY.md).
BIRD keeps rejected routes apart (`import keep filtered`); FRR keeps them in its table, tagged,
never best over an accepted path and never exported. Either way `explain` marks them and turns
the codes into words.
"""

from __future__ import annotations

import json

from labctl.policy.data import LC_REJECT, REASON_BY_CODE


def explain(result: dict) -> dict:
    """Mark each parsed route accepted or rejected, with its reasons (code, key, text).

    `result["peers"]` (optional) names the nodes behind peer addresses (FRR shows only those)."""
    rs_asn = result.get("rs_asn")
    names = result.get("peers", {})
    for route in result.get("routes", []):
        route["peer_name"] = route.get("peer_name") or names.get(route.get("source"), "")
        codes = sorted({c for g, f, c in route.get("large", []) if f == LC_REJECT and (rs_asn is None or g == rs_asn)})
        route["reasons"] = [{"code": c, "key": REASON_BY_CODE[c].key if c in REASON_BY_CODE else "unknown",
                             "text": REASON_BY_CODE[c].text if c in REASON_BY_CODE else "not a labctl reason code"}
                            for c in codes]
        route["rejected"] = bool(route.get("filtered")) or (result.get("role") == "route_server" and bool(codes))
    return result


def _frr_paths(text: str) -> list[str]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return [text]
    lines = []
    for path in data.get("paths", []):
        flags = [f for f in ("bestpath", "valid") if path.get(f) if f != "bestpath" or path[f].get("overall", True)]
        hops = ", ".join(h.get("ip", "?") for h in path.get("nexthops", []))
        comms = " ".join(filter(None, [(path.get("community") or {}).get("string", ""),
                                       (path.get("largeCommunity") or {}).get("string", "")]))
        lines.append(f"  AS path: {path.get('aspath', {}).get('string', '') or '(empty)'}\n"
                     f"    next hop: {hops}  from: {path.get('peer', {}).get('peerId', '?')}"
                     f"  {'best ' if 'bestpath' in flags else ''}{'valid' if 'valid' in flags else 'NOT valid'}"
                     + (f"\n    communities: {comms}" if comms else ""))
    return lines


def _route_lines(route: dict) -> list[str]:
    path = " ".join(map(str, route.get("as_path", []))) or "(empty)"
    comms = " ".join(f"{a}:{b}" for a, b in route.get("communities", []))
    large = " ".join(f"{a}:{b}:{c}" for a, b, c in route.get("large", []))
    source = route.get("source") or "?"
    if route.get("peer_name"):
        source = f"{route['peer_name']} ({source})"
    lines = [f"  from {source}  AS path {path}  next hop {route.get('next_hop') or '-'}"
             + ("  best" if route.get("best") and not route.get("rejected") else "")
             + (f"  local-pref {route['local_pref']}" if route.get("local_pref") not in (None, 100) else "")]
    if comms or large:
        lines.append(f"    communities: {' '.join(filter(None, [comms, large]))}")
    for r in route.get("reasons", []):
        lines.append(f"    why: {r['code']} {r['key']}: {r['text']}")
    return lines


def render_lg(result: dict) -> str:
    head = f"{result['node']} ({result['daemon']}): {result['prefix']}"
    routes = result.get("routes")
    if routes is None:  # a result from before routes were parsed
        if result["daemon"] == "frr":
            paths = _frr_paths(result.get("paths", ""))
            body = "\n".join(paths) if paths else "  no path: not received, or rejected by import policy"
            return f"{head}\naccepted paths:\n{body}"
        accepted = result.get("paths", "").strip() or "  none"
        filtered = result.get("filtered", "").strip() or "  none"
        return f"{head}\naccepted paths:\n{accepted}\nfiltered (rejected by import policy):\n{filtered}"
    accepted = [r for r in routes if not r.get("rejected")]
    rejected = [r for r in routes if r.get("rejected")]
    out = [head, "accepted:"]
    out += [line for r in accepted for line in _route_lines(r)] or ["  none"]
    if result.get("role") == "route_server":
        out.append("rejected by the import policy (kept to explain them, never exported):")
        out += [line for r in rejected for line in _route_lines(r)] or ["  none"]
    return "\n".join(out)
