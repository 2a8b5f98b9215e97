"""labctl graph: Mermaid and DOT golden files of the bundled topologies, and the SVG drawn without Graphviz.

After an intended change, rewrite the golden files with
    LABCTL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_graph.py
and review `git diff tests/fixtures/graph/`.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.model.load import load
from labctl.plan import build_plan
from labctl.report.graph import format_for, to_dot, to_mermaid, to_svg, trunk_label

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "fixtures" / "graph"
TOPOLOGIES = sorted((REPO / "topologies").glob("*.yml"))
UPDATE = os.environ.get("LABCTL_UPDATE_GOLDEN") == "1"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=lambda p: p.stem)
@pytest.mark.parametrize("render,suffix", [(to_mermaid, "mmd"), (to_dot, "dot")], ids=["mermaid", "dot"])
def test_golden(topology, render, suffix):
    got = render(build_plan(load(topology)))
    golden = GOLDEN / f"{topology.stem}.{suffix}"
    if UPDATE:
        golden.write_text(got)
    assert golden.exists(), f"no golden file {golden}; create it with LABCTL_UPDATE_GOLDEN=1"
    assert got == golden.read_text(), f"{golden} differs; if intended, rewrite with LABCTL_UPDATE_GOLDEN=1 and review"


def test_regional_picture_has_every_node_trunk_and_asn():
    plan = build_plan(load(REPO / "topologies" / "regional-ix.yml"))
    root = ET.fromstring(to_svg(plan))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for node in plan.nodes.values():
        if node.role == "upstream":  # outside the region: not on the IX's picture
            continue
        assert node.name in texts
        if node.asn:
            assert any(t and t.endswith(f"AS{node.asn}") for t in texts), node.name
    assert "1 ms · 10 Gbit/s" in texts and "3 ms · 1 Gbit/s" in texts
    assert {"site okayama", "site kurashiki", "site tsuyama"} <= set(texts)
    assert {"FRR router", "BIRD 2 router", "site switch", "bilateral session"} <= set(texts)  # the legend
    dashed = [p.find(f"{SVG}title").text for p in root.iter(f"{SVG}path") if p.get("stroke-dasharray")]
    bilateral = [t for t in dashed if t.startswith("bilateral")]
    assert len(bilateral) == 1 and "kibi-univ" in bilateral[0]  # the one bilateral pair
    # the dual-homed members' private links between their routers
    assert sorted(t for t in dashed if t.startswith("member backbone")) == [
        "member backbone (iBGP) momo-catv – momo-catv-oka", "member backbone (iBGP) seto-net – seto-net-oka"]
    # every box lies inside the picture
    width, height = float(root.get("width")), float(root.get("height"))
    for rect in root.iter(f"{SVG}rect"):
        assert float(rect.get("x", 0)) + float(rect.get("width")) <= width
        assert float(rect.get("y", 0)) + float(rect.get("height")) <= height


def test_mermaid_and_dot_name_every_node_and_edge():
    plan = build_plan(load(REPO / "topologies" / "regional-ix.yml"))
    mermaid, dot = to_mermaid(plan), to_dot(plan)
    for name in plan.nodes:
        assert f'"{name}" [label="{name}\\n' in dot
        assert f'n_{name.replace("-", "_")}' in mermaid
    assert dot.count(" -- ") == len(plan.links) + 1  # access, trunk and transit links, plus the bilateral pair
    assert dot.count('[label="transit"') == len([l for l in plan.links if l.transit]) > 0
    assert dot.count("{") == dot.count("}")
    # three sites and the upstreams' own column
    assert mermaid.count("subgraph") == mermaid.count("\n  end") == 4
    assert 'n_tokyo{{"tokyo<br/>upstream · FRR · AS65001"}}' in mermaid


def test_the_aggregator_design_is_drawn_without_switches_trunks_or_bilaterals(tmp_path):
    source = (REPO / "topologies" / "regional-ix.yml").read_text()
    ix = tmp_path / "agg.yml"
    ix.write_text(source.replace("\nix:\n", "\nix:\n  design: aggregator\n", 1))
    plan = build_plan(load(ix))
    assert plan.model.ix.design == "aggregator"
    dot, svg = to_dot(plan), to_svg(plan)
    assert '"aggregator" [label="aggregator\\naggregator ISP' in dot
    assert "sw-" not in dot and "penwidth=3" not in dot and "bilateral" not in dot
    transit = [l for l in plan.links if l.transit]
    assert dot.count('[label="transit"') == len(transit) == 11  # 8 members to it, it to 2 upstreams, tokyo-osaka
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "upstreams (outside the region)" in texts and "site switch" not in texts
    assert any(t and t.startswith("No IX: every member's router links to the aggregator ISP") for t in texts)


def test_trunk_labels():
    assert trunk_label(0, 0, None) == ""
    assert trunk_label(1, 0.5, 100) == "1 ms · 0.5 % loss · 100 Mbit/s"
    assert trunk_label(0, 0, 2500) == "2.5 Gbit/s"


def test_format_from_suffix():
    assert format_for("x.svg", None) == "svg" and format_for("x.gv", None) == "dot"
    assert format_for(None, None) == "mermaid" and format_for("x.svg", "dot") == "dot"


def test_cli_graph(tmp_path):
    runner = CliRunner()
    out = tmp_path / "ix.svg"
    result = runner.invoke(app, ["graph", str(REPO / "topologies" / "minimal.yml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert ET.fromstring(out.read_text()).tag == f"{SVG}svg"
    result = runner.invoke(app, ["graph", str(REPO / "topologies" / "minimal.yml"), "--format", "png"])
    assert result.exit_code == 1 and "use one of: mermaid, dot, svg" in result.output
