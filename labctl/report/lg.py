"""Human-readable looking-glass output from the raw daemon answers, with reject reasons explained.

A route server tags every route its import policy rejects with RS:1101:<code> (docs/POLICY.md).
Some daemons keep rejected routes apart (BIRD: `import keep filtered`), others keep them in
the table, tagged, never best and never exported (FRR). Either way `explain` marks them and turns
the codes into words.
"""

from __future__ import annotations

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
    routes = result.get("routes") or []
    accepted = [r for r in routes if not r.get("rejected")]
    rejected = [r for r in routes if r.get("rejected")]
    out = [head, "accepted:"]
    out += [line for r in accepted for line in _route_lines(r)] or ["  none"]
    if result.get("role") == "route_server":
        out.append("rejected by the import policy (kept to explain them, never exported):")
        out += [line for r in rejected for line in _route_lines(r)] or ["  none"]
    return "\n".join(out)
