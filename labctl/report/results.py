"""Write scenario results: JUnit XML for CI, JSON with full timelines, Markdown with SVG timelines."""

from __future__ import annotations

import json
import math
import os
import socket
import time
from dataclasses import asdict
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from labctl.scenarios.outcome import ScenarioResult


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def to_json(lab: str, results: list[ScenarioResult]) -> str:
    return json.dumps({
        "lab": lab, "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "passed": all(r.passed for r in results),
        "scenarios": [{**asdict(r), "passed": r.passed} for r in results],
    }, indent=2) + "\n"


def to_junit(lab: str, results: list[ScenarioResult]) -> str:
    failures = sum(1 for r in results if not r.passed and not r.error)
    errors = sum(1 for r in results if r.error)
    total = sum(r.seconds for r in results)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name="labctl" tests="{len(results)}" failures="{failures}" errors="{errors}" time="{total:.3f}">',
             f'  <testsuite name={quoteattr("labctl." + lab)} tests="{len(results)}" failures="{failures}" '
             f'errors="{errors}" time="{total:.3f}" hostname={quoteattr(socket.gethostname())}>']
    for r in results:
        lines.append(f'    <testcase classname={quoteattr("labctl.scenarios")} name={quoteattr(r.name)} time="{r.seconds:.3f}">')
        if r.error:
            lines.append(f'      <error message={quoteattr(r.error)}/>')
        elif not r.passed:
            failed = [c for c in r.checks if c.status == "fail"]
            msg = "; ".join(f"{c.name}: expected {c.expected}, observed {c.observed}" for c in failed) or "no check passed"
            lines.append(f'      <failure message={quoteattr(msg[:500])}>{escape(msg)}</failure>')
        out = [f"fault: {r.target}", _timeline_text(r)] + [f"[{c.status}] {c.name}: expected {c.expected}; observed {c.observed}"
                                                           for c in r.checks]
        lines.append(f"      <system-out>{escape(chr(10).join(out))}</system-out>")
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} s"


def _timeline_text(r: ScenarioResult) -> str:
    outage = max((p["outage_ms"] for p in r.probes), default=0.0)
    return (f"T_detect-T0 {_fmt(r.t_detect)}, T_cp-T0 {_fmt(r.t_cp)}, restore at {_fmt(r.t_restore)}, "
            f"recovery last change {_fmt(r.recovery_cp)}, worst probe outage {outage:.0f} ms")


def timeline_svg(r: ScenarioResult, width: int = 760) -> str:
    """Events per node on a time axis from T0 (fault) past the restore; probe losses as red bars."""
    nodes = sorted({e["node"] for e in r.events} | {p["from"] for p in r.probes})
    end = max([e["t"] for e in r.events] + [(r.t_restore or 0) + 1, 1.0])
    # the baseline before T0 gets at most a quarter of the axis; earlier events are counted, not drawn
    start = max(min([e["t"] for e in r.events] + [-1.0]), -max(2.0, end / 3))
    earlier = [e for e in r.events if e["t"] < start]
    left, right, row = 120, 20, 18
    height = 40 + row * max(1, len(nodes)) + 30 + LEGEND_HEIGHT

    def x(t: float) -> float:
        return left + (t - start) / (end - start) * (width - left - right)

    colour = {kind: c for kind, c, _ in EVENT_KINDS}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    for i, node in enumerate(nodes):
        y = 30 + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{escape(node)}</text>')
        parts.append(f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" stroke="#eee"/>')
    for p in r.probes:
        y = 30 + nodes.index(p["from"]) * row
        for a, b in p["loss_windows"]:
            a = max(a, start)
            parts.append(f'<rect class="loss-window" x="{x(a):.1f}" y="{y - 6}" width="{max(1.0, x(b) - x(a)):.1f}" height="12" '
                         f'fill="#d62728" opacity="0.3"><title>lost probes to {escape(p["to"])}: {a:.3f}-{b:.3f} s</title></rect>')
            if x(b) - x(a) > 60:  # the label fits inside the bar
                parts.append(f'<text x="{x(a) + 3:.1f}" y="{y + 4}" font-size="9" fill="#7f1d1d">'
                             f'{escape(p["to"])}: {b - a:.2f} s lost</text>')
    if earlier:
        parts.append(f'<text x="{left}" y="14" fill="#6b7280">{len(earlier)} earlier event(s) not drawn</text>')
    for e in r.events:
        if e["t"] < start:
            continue
        y = 30 + nodes.index(e["node"]) * row
        parts.append(f'<circle cx="{x(e["t"]):.1f}" cy="{y}" r="3" fill="{colour.get(e["kind"], "#555")}">'
                     f'<title>{e["t"]:.3f} s {escape(e["kind"])} {escape(e["subject"])}</title></circle>')
    axis_y = height - 22 - LEGEND_HEIGHT
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#333"/>')
    step = max(1, math.ceil((end - start) / 10))
    t = math.ceil(start)
    while t <= end:
        parts.append(f'<line x1="{x(t):.1f}" y1="{axis_y}" x2="{x(t):.1f}" y2="{axis_y + 4}" stroke="#333"/>'
                     f'<text x="{x(t):.1f}" y="{axis_y + 15}" text-anchor="middle">{t}s</text>')
        t += step
    for label, t in (("T0 fault", 0.0), ("restore", r.t_restore)):
        if t is not None:
            parts.append(f'<line x1="{x(t):.1f}" y1="20" x2="{x(t):.1f}" y2="{axis_y}" stroke="#000" stroke-dasharray="4,3"/>'
                         f'<text x="{x(t) + 3:.1f}" y="14">{label}</text>')
    parts += _timeline_legend(height - LEGEND_HEIGHT + 8)
    parts.append("</svg>")
    return "\n".join(parts)


LEGEND_HEIGHT = 34
EVENT_KINDS = [("session-down", "#d62728", "session down"), ("session-up", "#2ca02c", "session up"),
               ("route-del", "#ff7f0e", "route withdrawn (FIB)"), ("route-add", "#1f77b4", "route installed (FIB)")]


def _timeline_legend(y: float) -> list[str]:
    """What the marks mean: event colours, probe-loss bars, the fault and restore lines."""
    parts, x = ['<g class="legend">'], 10
    for _, fill, label in EVENT_KINDS:
        parts.append(f'<circle cx="{x + 4}" cy="{y + 4}" r="4" fill="{fill}"/><text x="{x + 12}" y="{y + 8}">{label}</text>')
        x += 22 + 6 * len(label)
    parts.append(f'<rect x="10" y="{y + 14}" width="18" height="10" fill="#d62728" opacity="0.3"/>'
                 f'<text x="32" y="{y + 23}">probes lost (data plane), labelled with the target and the duration</text>'
                 f'<line x1="420" y1="{y + 19}" x2="444" y2="{y + 19}" stroke="#000" stroke-dasharray="4,3"/>'
                 f'<text x="450" y="{y + 23}">fault applied (T0) / removed (restore)</text>')
    parts.append("</g>")
    return parts


def to_markdown(lab: str, results: list[ScenarioResult], svg_dir: str = "") -> str:
    ok = sum(r.passed for r in results)
    lines = [f"# labctl test report: {lab}", "",
             f"{ok} of {len(results)} scenarios passed ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).", "",
             "| scenario | result | fault | T_detect − T0 | T_cp − T0 | worst outage | recovery (last change) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        outage = max((p["outage_ms"] for p in r.probes if p["asserted"]), default=0.0)
        lines.append(f"| {r.name} | {'PASS' if r.passed else ('ERROR' if r.error else 'FAIL')} | {r.target} | "
                     f"{_fmt(r.t_detect)} | {_fmt(r.t_cp)} | {outage:.0f} ms | {_fmt(r.recovery_cp)} |")
    for r in results:
        lines += ["", f"## {r.name}: {'PASS' if r.passed else 'FAIL'}", "", r.description, "",
                  f"Fault: {r.target}. {_timeline_text(r)}.", ""]
        if r.error:
            lines += [f"**Error:** {r.error}", ""]
        lines += ["| check | status | expected | observed |", "|---|---|---|---|"]
        lines += [f"| {c.name} | {c.status} | {c.expected} | {c.observed} |" for c in r.checks]
        if r.probes:
            lines += ["", "| probe | sent | lost | outage | loss windows (s after T0) | asserted |", "|---|---|---|---|---|---|"]
            lines += [f"| {p['from']} → {p['to']} | {p['sent']} | {p['lost']} | {p['outage_ms']:.0f} ms | "
                      f"{', '.join(f'{a:.2f}–{b:.2f}' for a, b in p['loss_windows']) or '—'} | {p.get('kind') or ('yes' if p['asserted'] else 'no')} |"
                      for p in r.probes]
        if svg_dir:
            lines += ["", f"![timeline of {r.name}]({svg_dir}/{r.name}.svg)"]
        lines += ["", f"Resolution: {r.resolution}"]
    return "\n".join(lines) + "\n"


def write_all(lab: str, results: list[ScenarioResult], junit: Path | None, json_path: Path | None,
              report_dir: Path | None) -> list[Path]:
    written = []
    if junit:
        _atomic_write(junit, to_junit(lab, results))
        written.append(junit)
    if json_path:
        _atomic_write(json_path, to_json(lab, results))
        written.append(json_path)
    if report_dir:
        for r in results:
            _atomic_write(report_dir / f"{r.name}.svg", timeline_svg(r))
        _atomic_write(report_dir / "report.md", to_markdown(lab, results, "."))
        written.append(report_dir / "report.md")
    return written
