"""Why a route server rejected a route: its reject tags (RS:1101:<code>, docs/POLICY.md) in words.

Some daemons keep rejected routes apart (BIRD: `import keep filtered`), others keep them in the
table, tagged, never best and never exported (FRR). Either way `explain` marks them and turns the
codes into words, for `labctl lg` and its --json.
"""

from __future__ import annotations

from labctl.policy.data import LC_REJECT, REASON_BY_CODE


def explain(result: dict) -> dict:
    """A copy of a looking-glass result whose routes are marked accepted or rejected, with their
    reasons (code, key, text); the input is left as it was.

    `result["peers"]` (optional) names the nodes behind peer addresses (FRR shows only those)."""
    rs_asn = result.get("rs_asn")
    names = result.get("peers", {})
    on_route_server = result.get("role") == "route_server"
    return {**result, "routes": [_explained(route, rs_asn, names, on_route_server) for route in result.get("routes", [])]}


def _explained(route: dict, rs_asn: int | None, names: dict, on_route_server: bool) -> dict:
    codes = sorted({c for g, f, c in route.get("large", []) if f == LC_REJECT and (rs_asn is None or g == rs_asn)})
    reasons = [{"code": c, "key": REASON_BY_CODE[c].key if c in REASON_BY_CODE else "unknown",
                "text": REASON_BY_CODE[c].text if c in REASON_BY_CODE else "not a labctl reason code"} for c in codes]
    return {**route, "peer_name": route.get("peer_name") or names.get(route.get("source"), ""), "reasons": reasons,
            "rejected": bool(route.get("filtered")) or (on_route_server and bool(codes))}
