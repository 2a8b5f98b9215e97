"""The IX as a picture, from the plan: sites, switches, trunks, route servers and members, and
around them the upstreams with their transit links (a column of their own: outside the region),
or, in the aggregator design, the aggregator router in place of switches and route servers.

Three outputs of the same picture (`labctl graph`): Mermaid (renders in GitHub Markdown), DOT
(Graphviz, for people who have it) and SVG drawn here (sites in columns, nodes in rows), so
neither the user nor the HTML report needs Graphviz. Pure and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from labctl import daemons
from labctl.model.checks import switch_name
from labctl.plan import Plan
from labctl.plan.build import bilateral_pairs

FORMATS = ("mermaid", "dot", "svg")
# Fill and stroke per routing daemon, in the order labctl.daemons registers them.
PALETTE = [("#dbeafe", "#1d4ed8"), ("#fef3c7", "#b45309"), ("#dcfce7", "#15803d"), ("#fce7f3", "#be185d")]
SWITCH_COLOURS = ("#e5e7eb", "#374151")
TRANSIT_COLOUR = "#ea580c"
UPSTREAMS = "upstreams"  # the column of the upstreams: not a site (no site may use the name: not drawn twice)


def daemon_colours(name: str) -> tuple[str, str]:
    names = list(daemons.names())
    return PALETTE[names.index(name) % len(PALETTE)] if name in names else SWITCH_COLOURS


@dataclass(frozen=True)
class Box:
    name: str
    kind: str  # "switch", "route_server", "member", "aggregator", "upstream"
    lines: tuple[str, ...]  # label lines, the name first
    daemon: str


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    kind: str  # "access", "trunk", "bilateral", "backbone" (a member's private link between its routers), "transit"
    label: str = ""


def _bandwidth(mbit: float) -> str:
    return f"{mbit / 1000:g} Gbit/s" if mbit >= 1000 else f"{mbit:g} Mbit/s"


def trunk_label(latency_ms: float, loss_percent: float, bandwidth_mbit: float | None) -> str:
    parts = ([f"{latency_ms:g} ms"] if latency_ms else []) + ([f"{loss_percent:g} % loss"] if loss_percent else [])
    return " · ".join(parts + ([_bandwidth(bandwidth_mbit)] if bandwidth_mbit else []))


def boxes(plan: Plan) -> dict[str, list[Box]]:
    """Column -> its boxes: per site the switch (or the aggregator), route servers, then members
    (plan order); the upstreams last, in a column of their own."""
    out: dict[str, list[Box]] = {s.name: [] for s in plan.model.sites}
    roles = {"route_server": "route server · ", "aggregator": "aggregator ISP · ", "upstream": "upstream · "}
    for node in plan.nodes.values():
        if node.role == "switch":
            box = Box(node.name, "switch", (node.name, "site switch"), node.daemon)
        else:
            title = daemons.get(node.daemon).title
            box = Box(node.name, node.role, (node.name, f"{roles.get(node.role, '')}{title} · AS{node.asn}"), node.daemon)
        out.setdefault(UPSTREAMS if node.role == "upstream" else node.site, []).append(box)
    order = {"switch": 0, "aggregator": 0, "route_server": 1, "member": 2, "upstream": 3}
    return {site: sorted(bs, key=lambda b: order[b.kind]) for site, bs in out.items()}


def edges(plan: Plan) -> list[Edge]:
    out = [Edge(l.a, l.b, "access") for l in plan.links if not l.trunk and not l.backbone and not l.transit]
    switches = {n.name for n in plan.by_role("switch")}
    for t in plan.model.trunks:  # the aggregator design has no switches, so no trunks
        a, b = t.between
        if switch_name(a) in switches and switch_name(b) in switches:
            out.append(Edge(switch_name(a), switch_name(b), "trunk",
                            trunk_label(t.latency_ms, t.loss_percent, t.bandwidth_mbit)))
    # the plan's sessions, not the file's wishes: the aggregator design has no LAN to peer across
    pairs = [(a, b) for a, b in bilateral_pairs(plan.model)
             if a in plan.nodes and any(s.peer == b for s in plan.nodes[a].sessions)]
    out += [Edge(a, b, "bilateral", "bilateral") for a, b in pairs]
    out += [Edge(l.a, l.b, "backbone", "iBGP") for l in plan.links if l.backbone]
    out += [Edge(l.a, l.b, "transit", "transit") for l in plan.links if l.transit]
    return out


def _site_title(plan: Plan, site: str) -> str:
    if site == UPSTREAMS:
        return "upstreams: transit, outside the region"
    description = next(s.description for s in plan.model.sites if s.name == site)
    return f"{site}: {description}" if description else site


# ---------------------------------------------------------------- Mermaid

def _mid(name: str) -> str:
    return "n_" + name.replace("-", "_")


def _mtext(text: str) -> str:
    return text.replace('"', "#quot;")


def to_mermaid(plan: Plan) -> str:
    lines = ["flowchart LR"]
    shapes = {"switch": ('[["', '"]]'), "route_server": ('(["', '"])'), "member": ('["', '"]'),
              "aggregator": ('[["', '"]]'), "upstream": ('{{"', '"}}')}
    used: dict[str, list[str]] = {}
    for i, (site, bs) in enumerate(boxes(plan).items()):
        lines.append(f'  subgraph site_{i}["{_mtext(_site_title(plan, site))}"]')
        for b in bs:
            left, right = shapes[b.kind]
            lines.append(f"    {_mid(b.name)}{left}{_mtext('<br/>'.join(b.lines))}{right}")
            used.setdefault(b.daemon, []).append(_mid(b.name))
        lines.append("  end")
    arrows = {"access": "---", "trunk": "===", "bilateral": "-.-", "backbone": "-.-", "transit": "---"}
    for e in edges(plan):
        label = f'|"{_mtext(e.label)}"|' if e.label else ""
        lines.append(f"  {_mid(e.a)} {arrows[e.kind]}{label} {_mid(e.b)}")
    for daemon, ids in sorted(used.items()):
        fill, stroke = daemon_colours(daemon)
        lines.append(f"  classDef d_{daemon} fill:{fill},stroke:{stroke},color:#111")
        lines.append(f"  class {','.join(ids)} d_{daemon}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- DOT

def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(plan: Plan) -> str:
    lines = [f"graph {_q(plan.lab)} {{",
             f"  graph [rankdir=TB, fontname=\"sans-serif\", label={_q(plan.model.ix.description or plan.lab)}];",
             '  node [fontname="sans-serif", fontsize=10, shape=box, style="rounded,filled"];',
             '  edge [fontname="sans-serif", fontsize=9];']
    shapes = {"switch": "box3d", "route_server": "box", "member": "box", "aggregator": "box3d", "upstream": "hexagon"}
    for i, (site, bs) in enumerate(boxes(plan).items()):
        lines.append(f"  subgraph {_q(f'cluster_{i}')} {{")
        lines.append(f"    label={_q(_site_title(plan, site))}; style=dashed;")
        for b in bs:
            fill, stroke = daemon_colours(b.daemon)
            width = ", penwidth=2" if b.kind in ("route_server", "aggregator") else ""
            label = '"' + "\\n".join(_q(line)[1:-1] for line in b.lines) + '"'
            lines.append(f"    {_q(b.name)} [label={label}, shape={shapes[b.kind]}, "
                         f"fillcolor={_q(fill)}, color={_q(stroke)}{width}];")
        lines.append("  }")
    styles = {"access": "", "trunk": ", penwidth=3", "bilateral": ", style=dashed, constraint=false",
              "backbone": ", style=dotted, constraint=false", "transit": f", color={_q(TRANSIT_COLOUR)}"}
    for e in edges(plan):
        label = f"label={_q(e.label)}" if e.label else ""
        attrs = (label + styles[e.kind]).lstrip(", ")
        lines.append(f"  {_q(e.a)} -- {_q(e.b)}" + (f" [{attrs}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- SVG (own layout: sites in columns)

COL_W, BOX_W, BOX_H, ROW_H = 250, 200, 38, 52


def _top(plan: Plan) -> int:
    """Where the switches' row starts: room above it for the trunks' arcs, when there are trunks."""
    return 110 if any(e.kind == "trunk" for e in edges(plan)) else 56


def _layout(plan: Plan) -> dict[str, tuple[float, float]]:
    """Box name -> (x, y) of its top-left corner."""
    pos, top = {}, _top(plan)
    for col, bs in enumerate(boxes(plan).values()):
        for row, b in enumerate(bs):
            pos[b.name] = (20 + col * COL_W + (COL_W - BOX_W) / 2, top + row * ROW_H + (14 if row else 0))
    return pos


def _svg_box(b: Box, x: float, y: float) -> str:
    fill, stroke = daemon_colours(b.daemon)
    rx = 3 if b.kind in ("switch", "aggregator") else 8
    width = 2.5 if b.kind in ("route_server", "aggregator") else 1.2
    return (f'<g><title>{escape(" · ".join(b.lines))}</title>'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="{rx}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{width}"/>'
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + 15:.0f}" text-anchor="middle" font-weight="bold">{escape(b.lines[0])}</text>'
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + 30:.0f}" text-anchor="middle" font-size="10">{escape(b.lines[1])}</text></g>')


def _svg_edge(e: Edge, pos: dict[str, tuple[float, float]]) -> str:
    (ax, ay), (bx, by) = pos[e.a], pos[e.b]
    if e.kind == "access":  # down the column's left side, the site's LAN
        lx = ax - 12
        return (f'<path d="M{ax:.0f},{ay + BOX_H / 2:.0f} H{lx:.0f} V{by + BOX_H / 2:.0f} H{bx:.0f}" fill="none" '
                f'stroke="#6b7280" stroke-width="1.2"/>')
    if e.kind == "trunk":  # an arc over the columns from switch to switch, higher the further apart
        x1, x2 = ax + BOX_W / 2, bx + BOX_W / 2
        span = round(abs(bx - ax) / COL_W)
        peak = ay - min(40 + 30 * (span - 1), 90)
        apex = ay - 0.75 * (ay - peak)
        return (f'<path d="M{x1:.0f},{ay:.0f} C{x1:.0f},{peak:.0f} {x2:.0f},{peak:.0f} {x2:.0f},{ay:.0f}" fill="none" '
                f'stroke="#111827" stroke-width="4"/>'
                f'<text x="{(x1 + x2) / 2:.0f}" y="{apex - 6:.0f}" text-anchor="middle" font-size="10" stroke="white" '
                f'stroke-width="3" paint-order="stroke">{escape(e.label or "trunk")}</text>')
    if e.kind == "transit" and ax > bx + BOX_W:  # drawn from the left end
        (ax, ay), (bx, by) = (bx, by), (ax, ay)
    if e.kind == "transit" and bx > ax + BOX_W:  # out to the upstreams' column, on the right: an S-curve
        x1, y1, x2, y2 = ax + BOX_W, ay + BOX_H / 2, bx, by + BOX_H / 2
        mid = x2 - 40
        return (f'<path d="M{x1:.0f},{y1:.0f} H{mid - 40:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" '
                f'fill="none" stroke="{TRANSIT_COLOUR}" stroke-width="1.5" opacity="0.8"><title>transit link '
                f'{escape(e.a)} – {escape(e.b)}</title></path>')
    # bilateral session: dashed, along the right side of the boxes
    x1, y1, x2, y2 = ax + BOX_W, ay + BOX_H / 2, bx + BOX_W, by + BOX_H / 2
    bend = max(x1, x2) + 30
    colour, dash, what = {"backbone": ("#059669", "2,3", "member backbone (iBGP)"),
                          "transit": (TRANSIT_COLOUR, "none", "transit link")}.get(e.kind, ("#7c3aed", "5,4", "bilateral session"))
    return (f'<path d="M{x1:.0f},{y1:.0f} C{bend:.0f},{y1:.0f} {bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" fill="none" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}"><title>{what} {escape(e.a)} – '
            f'{escape(e.b)}</title></path>')


def _svg_legend(plan: Plan, y: float) -> tuple[list[str], float]:
    """The legend's parts and where its line ends (the picture is made at least that wide)."""
    present = sorted({n.daemon for n in plan.nodes.values() if n.role != "switch"})
    has_switches = bool(plan.by_role("switch"))
    items = [(daemon_colours(d), f"{daemons.get(d).title} router") for d in present]
    items += [(SWITCH_COLOURS, "site switch")] if has_switches else []
    parts, x = [], 20
    for (fill, stroke), label in items:
        parts.append(f'<rect x="{x}" y="{y}" width="18" height="12" rx="3" fill="{fill}" stroke="{stroke}"/>'
                     f'<text x="{x + 24}" y="{y + 10}">{escape(label)}</text>')
        x += 34 + 7 * len(label)
    if any(e.kind == "trunk" for e in edges(plan)):
        parts.append(f'<line x1="{x}" y1="{y + 6}" x2="{x + 28}" y2="{y + 6}" stroke="#111827" stroke-width="4"/>'
                     f'<text x="{x + 34}" y="{y + 10}">trunk (latency · loss · bandwidth)</text>')
        x += 250
    if any(e.kind == "bilateral" for e in edges(plan)):
        parts.append(f'<line x1="{x}" y1="{y + 6}" x2="{x + 28}" y2="{y + 6}" stroke="#7c3aed" stroke-width="1.5" '
                     f'stroke-dasharray="5,4"/><text x="{x + 34}" y="{y + 10}">bilateral session</text>')
        x += 150
    if any(e.kind == "backbone" for e in edges(plan)):
        parts.append(f'<line x1="{x}" y1="{y + 6}" x2="{x + 28}" y2="{y + 6}" stroke="#059669" stroke-width="1.5" '
                     f'stroke-dasharray="2,3"/><text x="{x + 34}" y="{y + 10}">member backbone (iBGP)</text>')
        x += 200
    if any(e.kind == "transit" for e in edges(plan)):
        parts.append(f'<line x1="{x}" y1="{y + 6}" x2="{x + 28}" y2="{y + 6}" stroke="{TRANSIT_COLOUR}" '
                     f'stroke-width="1.5"/><text x="{x + 34}" y="{y + 10}">transit link</text>')
        x += 120
    footer = (f"Every member peers with every route server (AS{plan.model.ix.route_server_asn}) over its site LAN; "
              "thick borders are route servers." if has_switches else
              f"No IX: every member's router links to the aggregator ISP (AS{plan.model.ix.route_server_asn}), "
              "the one place the local networks meet.")
    parts.append(f'<text x="20" y="{y + 30}" font-size="10" fill="#4b5563">{escape(footer)}</text>')
    return parts, x


def to_svg(plan: Plan) -> str:
    pos, top = _layout(plan), _top(plan)
    per_site = boxes(plan)
    rows = max(len(bs) for bs in per_site.values())
    height = top + rows * ROW_H + 90
    legend, legend_end = _svg_legend(plan, height - 52)
    width = int(max(40 + len(per_site) * COL_W, 760, legend_end + 20))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'font-family="sans-serif" font-size="11" role="img" aria-label={quoteattr(f"topology of {plan.lab}")}>',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="20" y="22" font-size="14" font-weight="bold">{escape(plan.model.ix.description or plan.lab)}</text>']
    for col, site in enumerate(per_site):
        x = 20 + col * COL_W
        parts.append(f'<rect x="{x + 4}" y="{top - 14}" width="{COL_W - 8}" height="{rows * ROW_H + 44}" rx="10" '
                     f'fill="#f9fafb" stroke="#d1d5db" stroke-dasharray="4,3"/>'
                     f'<text x="{x + COL_W / 2:.0f}" y="{top + rows * ROW_H + 22}" text-anchor="middle" font-weight="bold">'
                     f'{"upstreams (outside the region)" if site == UPSTREAMS else "site " + escape(site)}</text>')
    parts += [_svg_edge(e, pos) for e in edges(plan)]
    parts += [_svg_box(b, *pos[b.name]) for bs in per_site.values() for b in bs]
    parts += legend
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def render_graph(plan: Plan, fmt: str) -> str:
    renderers = {"mermaid": to_mermaid, "dot": to_dot, "svg": to_svg}
    return renderers[fmt](plan)


def format_for(path: str | None, fmt: str | None) -> str:
    """The format asked for, else the one an output file's suffix implies, else Mermaid."""
    if fmt:
        return fmt
    suffixes = {".svg": "svg", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid"}
    for suffix, name in suffixes.items():
        if path and path.endswith(suffix):
            return name
    return "mermaid"
