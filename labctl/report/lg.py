"""Human-readable looking-glass output from the raw daemon answers."""

from __future__ import annotations

import json


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


def render_lg(result: dict) -> str:
    head = f"{result['node']} ({result['daemon']}): {result['prefix']}"
    if result["daemon"] == "frr":
        paths = _frr_paths(result.get("paths", ""))
        body = "\n".join(paths) if paths else "  no path: not received, or rejected by import policy"
        return f"{head}\naccepted paths:\n{body}"
    accepted = result.get("paths", "").strip() or "  none"
    filtered = result.get("filtered", "").strip() or "  none"
    return f"{head}\naccepted paths:\n{accepted}\nfiltered (rejected by import policy):\n{filtered}"
