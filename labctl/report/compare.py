"""The comparison report of `labctl compare`: the IX design against the aggregator design, from the
measured runs (labctl.scenarios.compare). Pure: data in, Markdown out."""

from __future__ import annotations

from labctl.report.locality import locality_markdown


def _scenario(run: dict, name: str) -> dict | None:
    return next((s for s in run.get("scenarios", []) if s["name"] == name), None)


def _outages(sc: dict | None) -> str:
    if sc is None:
        return "not run"
    if sc.get("error"):
        return f"error: {sc['error']}"
    parts = [f"{p['from']} > {p['to']}: {p['outage_ms']:.0f} ms ({p['lost']}/{p['sent']} lost)" for p in sc["probes"]]
    return "; ".join(parts) or "no probe"


def _local_kept(sc: dict | None) -> str:
    """upstream-down: the probes between members (zero-loss pairs): lost or not."""
    if sc is None:
        return "not run"
    local = [p for p in sc["probes"] if p["kind"] == "zero-loss"]
    if not local:
        return "no local probe"
    lost = sum(p["lost"] for p in local)
    return f"{len(local)} member pairs, {lost} of {sum(p['sent'] for p in local)} probes lost"


def _share(run: dict) -> str:
    loc = run.get("locality")
    if not loc:
        return "-"
    s = loc["summary"]
    return f"{s['in_region']}/{s['pairs']} ({100 * (s['share_in_region'] or 0):.0f} %)"


def _verdict(sc: dict | None) -> str:
    if sc is None:
        return "-"
    failed = [c["name"] for c in sc["checks"] if c["status"] == "fail"]
    return "pass" if not failed and not sc.get("error") else "fail: " + ", ".join(failed[:3])


def compare_markdown(name: str, runs: list[dict]) -> str:
    lines = [f"# {name}: the IX against the aggregator ISP, measured", "",
             "Both designs built from the same IX file (same members, prefixes and upstreams) and run through "
             "the same scenarios by `labctl compare`. `ix-down` is the whole IX fabric failing in the IX design "
             "and the aggregator router failing in the aggregator design.", "",
             "| | " + " | ".join(r["design"] for r in runs) + " |", "|---|" + "---|" * len(runs)]
    rows = [
        ("nodes", lambda r: str(r.get("nodes", "-"))),
        ("member pairs whose traffic stays in the region", _share),
        ("upstream-down: traffic between members", lambda r: _local_kept(_scenario(r, "upstream-down"))),
        ("upstream-down: scenario verdict", lambda r: _verdict(_scenario(r, "upstream-down"))),
        ("ix-down: outage per probed pair", lambda r: _outages(_scenario(r, "ix-down"))),
        ("ix-down: scenario verdict", lambda r: _verdict(_scenario(r, "ix-down"))),
        ("wall clock (up / locality / scenarios / down), s", lambda r: " / ".join(
            str(r["timings"].get(k, "-")) for k in ("up", "locality", "upstream-down", "ix-down", "down"))),
        ("error", lambda r: r.get("error") or "-"),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in runs) + " |")
    for r in runs:
        lines += ["", f"## {r['design']} design: locality", ""]
        lines.append(locality_markdown(r["locality"]) if r.get("locality") else "not measured")
        for sc in r.get("scenarios", []):
            lines += [f"### {r['design']}: {sc['name']} ({_verdict(sc)})", "", sc["target"], ""]
            lines += [f"- {c['status']}: {c['name']}: {c['observed']}" for c in sc["checks"]]
            lines += [f"- probe {p['from']} > {p['to']} ({p['kind']}): {p['lost']}/{p['sent']} lost, "
                      f"outage {p['outage_ms']:.0f} ms" for p in sc["probes"]]
    return "\n".join(lines) + "\n"
