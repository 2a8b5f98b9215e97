"""The comparison report of `labctl compare`: the IX design against the aggregator design, from the
measured runs (labctl.scenarios.compare). Pure: data in, Markdown or a self-contained HTML page out."""

from __future__ import annotations

from html import escape

from labctl.report import locality as loc_report
from labctl.report.html import STYLE


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


INTRO = ("Both designs built from the same IX file (same members, prefixes and upstreams) and run through "
         "the same scenarios by `labctl compare`. `ix-down` is the whole IX fabric failing in the IX design "
         "and the aggregator router failing in the aggregator design.")


def _summary_rows(runs: list[dict]) -> list[tuple[str, list[str]]]:
    """The side-by-side table: (row label, one cell per design)."""
    rows = [
        ("nodes", lambda r: str(r.get("nodes", "-"))),
        ("member pairs whose traffic stays in the region", _share),
        ("upstream-down: traffic between members", lambda r: _local_kept(_scenario(r, "upstream-down"))),
        ("upstream-down: scenario verdict", lambda r: _verdict(_scenario(r, "upstream-down"))),
        ("ix-down: outage per probed pair", lambda r: _outages(_scenario(r, "ix-down"))),
        ("ix-down: scenario verdict", lambda r: _verdict(_scenario(r, "ix-down"))),
        ("wall clock (up / locality / upstream-down / ix-down / down), s", lambda r: " / ".join(
            str(r["timings"].get(k, "-")) for k in ("up", "locality", "upstream-down", "ix-down", "down"))),
        ("error", lambda r: r.get("error") or "-"),
    ]
    return [(label, [cell(r) for r in runs]) for label, cell in rows]


def _scenario_lines(sc: dict) -> list[str]:
    return ([f"{c['status']}: {c['name']}: {c['observed']}" for c in sc["checks"]]
            + [f"probe {p['from']} > {p['to']} ({p['kind']}): {p['lost']}/{p['sent']} lost, "
               f"outage {p['outage_ms']:.0f} ms" for p in sc["probes"]])


def compare_markdown(name: str, runs: list[dict]) -> str:
    lines = [f"# {name}: the IX against the aggregator ISP, measured", "", INTRO, "",
             "| | " + " | ".join(r["design"] for r in runs) + " |", "|---|" + "---|" * len(runs)]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in _summary_rows(runs)]
    for r in runs:
        lines += ["", f"## {r['design']} design: locality", ""]
        lines.append(loc_report.locality_markdown(r["locality"]) if r.get("locality") else "not measured")
        for sc in r.get("scenarios", []):
            lines += [f"### {r['design']}: {sc['name']} ({_verdict(sc)})", "", sc["target"], ""]
            lines += [f"- {line}" for line in _scenario_lines(sc)]
    return "\n".join(lines) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def compare_html(name: str, runs: list[dict]) -> str:
    """The same report as one self-contained page (inline CSS, no scripts), styled like `test --report`."""
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>labctl compare: "
             f"{escape(name)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{escape(name)}: the IX against the aggregator ISP, measured</h1>", f"<p>{escape(INTRO)}</p>",
             _table(["", *(r["design"] for r in runs)], [[label, *cells] for label, cells in _summary_rows(runs)])]
    for r in runs:
        parts.append(f"<h2>{escape(r['design'])} design: locality</h2>")
        if r.get("locality"):
            parts += [_table(loc_report.HEADER, loc_report.rows(r["locality"])),
                      f"<p>{escape(loc_report.note(r['locality']))}.</p>"]
        else:
            parts.append("<p>not measured</p>")
        for sc in r.get("scenarios", []):
            parts += [f"<h3>{escape(r['design'])}: {escape(sc['name'])} ({escape(_verdict(sc))})</h3>",
                      f"<p>{escape(sc['target'])}</p><ul>",
                      *(f"<li>{escape(line)}</li>" for line in _scenario_lines(sc)), "</ul>"]
    return "".join(parts) + "</body></html>\n"
