"""The test report as one self-contained HTML page (report.html next to report.md).

Inline CSS and SVG only: no scripts, fonts, images or links to anything outside the file, so it
opens the same from a CI artefact, an e-mail or a laptop without network. At the top the IX as a
picture (report.graph), then a summary table, then one section per scenario with its checks
(expected against observed), its probes and its timeline (report.results.timeline_svg).
"""

from __future__ import annotations

import os
import time
from html import escape
from pathlib import Path

from labctl.plan import Plan
from labctl.report.graph import to_svg
from labctl.report.results import timeline_svg
from labctl.scenarios.outcome import ScenarioResult

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #111827; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 36px; border-bottom: 1px solid #e5e7eb; }
table { border-collapse: collapse; margin: 10px 0; font-size: 13px; width: 100%; }
th, td { border: 1px solid #d1d5db; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 10px; font-weight: 600; font-size: 13px; color: white; }
.badge.pass { background: #15803d; } .badge.fail { background: #b91c1c; } .badge.error { background: #7c2d12; }
.badge.unavailable { background: #a16207; }
tr.fail td { background: #fef2f2; } tr.unavailable td { background: #fefce8; }
.summary { font-size: 16px; margin: 8px 0 20px; } .muted { color: #6b7280; font-size: 13px; }
figure { margin: 12px 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
.note { background: #fff7ed; border-left: 4px solid #ea580c; padding: 6px 10px; }
"""


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} s"


def verdict(r: ScenarioResult) -> str:
    return "pass" if r.passed else ("error" if r.error else "fail")


def _badge(status: str) -> str:
    return f'<span class="badge {escape(status)}">{escape(status.upper())}</span>'


def _summary_table(results: list[ScenarioResult]) -> list[str]:
    rows = ["<table><tr><th>scenario</th><th>result</th><th>fault</th><th>T_detect − T0</th><th>T_cp − T0</th>"
            "<th>worst asserted outage</th><th>recovery (last change)</th></tr>"]
    for r in results:
        outage = max((p["outage_ms"] for p in r.probes if p["asserted"]), default=0.0)
        rows.append(f'<tr><td><a href="#{escape(r.name)}">{escape(r.name)}</a></td><td>{_badge(verdict(r))}</td>'
                    f"<td>{escape(r.target)}</td><td>{_fmt(r.t_detect)}</td><td>{_fmt(r.t_cp)}</td>"
                    f"<td>{outage:.0f} ms</td><td>{_fmt(r.recovery_cp)}</td></tr>")
    return rows + ["</table>"]


def _checks_table(r: ScenarioResult) -> list[str]:
    if not r.checks:
        return ['<p class="note">No check ran, so nothing was proven.</p>']
    rows = ["<table><tr><th>check</th><th>status</th><th>expected</th><th>observed</th></tr>"]
    rows += [f'<tr class="{escape(c.status)}"><td>{escape(c.name)}</td><td>{_badge(c.status)}</td>'
             f"<td>{escape(c.expected)}</td><td>{escape(c.observed)}</td></tr>" for c in r.checks]
    return rows + ["</table>"]


def _probes_table(r: ScenarioResult) -> list[str]:
    if not r.probes:
        return []
    rows = ["<table><tr><th>probe</th><th>sent</th><th>lost</th><th>outage</th><th>loss windows (s after T0)</th>"
            "<th>asserted</th></tr>"]
    for p in r.probes:
        windows = ", ".join(f"{a:.2f}–{b:.2f}" for a, b in p["loss_windows"]) or "—"
        rows.append(f"<tr><td>{escape(p['from'])} → {escape(p['to'])}</td><td>{p['sent']}</td><td>{p['lost']}</td>"
                    f"<td>{p['outage_ms']:.0f} ms</td><td>{windows}</td><td>{p.get('kind') or ('yes' if p['asserted'] else 'no')}</td></tr>")
    return rows + ["</table>"]


def _section(r: ScenarioResult) -> list[str]:
    parts = [f'<section id="{escape(r.name)}">', f"<h2>{escape(r.name)} {_badge(verdict(r))}</h2>",
             f"<p>{escape(' '.join(r.description.split()))}</p>",
             f"<p><b>Fault:</b> {escape(r.target)} ({escape(r.fault)}). <b>T_detect − T0</b> {_fmt(r.t_detect)}, "
             f"<b>T_cp − T0</b> {_fmt(r.t_cp)}, <b>restore</b> at {_fmt(r.t_restore)}, "
             f"<b>recovery</b> last change {_fmt(r.recovery_cp)} after it; run took {r.seconds:.0f} s.</p>"]
    if r.error:
        parts.append(f'<p class="note"><b>Error:</b> {escape(r.error)}</p>')
    if r.repair:
        parts.append(f'<p class="note"><b>Repair:</b> {escape(r.repair)}</p>')
    parts += _checks_table(r) + _probes_table(r)
    if r.events or r.probes:
        parts.append(f'<figure aria-label="timeline of {escape(r.name)}">{timeline_svg(r)}</figure>')
    if r.resolution:
        parts.append(f'<p class="muted">Resolution: {escape(r.resolution)}</p>')
    return parts + ["</section>"]


def to_html(lab: str, results: list[ScenarioResult], plan: Plan | None = None) -> str:
    ok = sum(r.passed for r in results)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>labctl test report: {escape(lab)}</title><style>{STYLE}</style></head><body>",
             f"<h1>labctl test report: {escape(lab)}</h1>",
             f'<p class="summary">{_badge("pass" if ok == len(results) and results else "fail")} '
             f"{ok} of {len(results)} scenarios passed <span class=\"muted\">({when})</span></p>"]
    if plan is not None:
        parts += ["<h2>The IX under test</h2>", f'<figure aria-label="topology">{to_svg(plan)}</figure>']
    parts += ["<h2>Scenarios</h2>", *_summary_table(results)]
    for r in results:
        parts += _section(r)
    parts.append('<p class="muted">Times are seconds after T0, the instant the fault was applied, on the host clock '
                 "all nodes share. T_detect: the first reaction away from the faulted node; T_cp: the last routing "
                 "change the fault caused.</p></body></html>")
    return "\n".join(parts) + "\n"


def write_html(report_dir: Path, lab: str, results: list[ScenarioResult], plan: Plan | None = None) -> Path:
    """report.html in the report folder (beside report.md and the SVGs that results.write_all writes)."""
    path = report_dir / "report.html"
    report_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(to_html(lab, results, plan))
    os.replace(tmp, path)
    return path
