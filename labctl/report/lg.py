"""Looking-glass answers as text: accepted paths, and on route servers the rejected ones with the
reasons labctl.policy.explain found."""

from __future__ import annotations


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
