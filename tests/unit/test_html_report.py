"""report.html: self-contained, complete, and visibly rendered by a real browser (headless Chromium).

The results come from captured observer output (tests/fixtures/observer-output, judged as in
test_judge.py), so no lab is needed. The screenshot test needs Debian's `chromium`: in CI
(CI=true) the fixture installs it with apt-get; elsewhere it skips with that instruction.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labctl.model.load import load
from labctl.plan import build_plan
from labctl.report.html import to_html, write_html
from labctl.scenarios.events import parse_daemon_log, parse_fping, parse_route_monitor
from labctl.scenarios.fault_plan import broken_sessions, peer_names, plan_fault
from labctl.scenarios.judge import Observation, Recovery, judge
from labctl.scenarios.outcome import Check, ScenarioResult
from labctl.scenarios.spec import Scenario

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "tests" / "fixtures" / "observer-output"
T0, T_RESTORE = 1795658952.595034, 1795658966.892112
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def plan():
    return build_plan(load(REPO / "topologies" / "regional-ix.yml"))


def judged(plan, name: str, detection: str) -> ScenarioResult:
    """A ScenarioResult from the captured link-down of seto-net, judged against `detection`."""
    text = lambda f: (FIX / f).read_text()  # noqa: E731
    sc = Scenario(name=name, description=f"seto-net's LAN port goes down ({detection} detection)",
                  fault="link-down", target="seto-net", detection=detection)
    fp = plan_fault(plan, sc, netem=False)
    fp.broken = broken_sessions(plan, sc, fp)
    events = (parse_daemon_log("kibinet", "frr", text("frr-member.log"), peer_names(plan, "kibinet"))
              + parse_route_monitor("kibinet", text("route-monitor-frr-member.log"))
              + parse_daemon_log("seto-net", "bird", text("bird-member.log"), peer_names(plan, "seto-net"))
              + parse_route_monitor("seto-net", text("route-monitor-bird-member.log")))
    probe = parse_fping("kibinet", "seto-net", float(text("fping-ipv4.start")), text("fping-ipv4.out"),
                        text("fping-ipv4.err"), 0.01)
    v = judge(plan, sc, fp, Observation(T0, T_RESTORE, True, [], Recovery(True, 4.2), events, [(probe, False)]))
    return ScenarioResult(name, sc.description, sc.fault, fp.label, started=T0 - 3, seconds=34.0, t0=T0,
                          t_detect=v.t_detect, t_cp=v.t_cp, t_restore=T_RESTORE - T0, recovery_detect=v.recovery_detect,
                          recovery_cp=v.recovery_cp, checks=v.checks, events=v.events, probes=v.probes,
                          resolution="data plane: one probe every 10 ms per pair")


@pytest.fixture(scope="module")
def results(plan) -> list[ScenarioResult]:
    errored = ScenarioResult("rs-failover", "rs1 stops", "daemon-stop", "bird on rs1 stopped", started=T0,
                             error="applying the fault failed: rs1: exit 1")
    gap = ScenarioResult("impairment", "loss and delay on a trunk", "impair", "trunk okayama-tsuyama", started=T0,
                         checks=[Check("delay impairment", "3 ms one-way delay", "this kernel has no netem", "unavailable")])
    return [judged(plan, "member-link-down", "hold-timer"), judged(plan, "member-link-down-bfd", "bfd"), errored, gap]


def test_verdicts_of_the_fixture_results(results):
    assert [r.passed for r in results] == [True, False, False, False]


def test_page_is_self_contained(results, plan):
    page = to_html("kibi-ix", results, plan)
    assert "<script" not in page.lower() and "<link" not in page.lower() and "url(" not in page
    refs = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert all(ref.startswith("#") for ref in refs), refs  # only links within the page
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}  # SVG namespaces only


def test_page_has_the_graph_a_section_per_scenario_and_every_check(results, plan):
    page = to_html("kibi-ix", results, plan)
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert len(svgs) == 1 + 2  # the topology and one timeline per scenario with events
    for svg in svgs:
        ET.fromstring(svg)  # inline SVG that a browser can parse
    assert 'aria-label="topology of kibi-ix"' in svgs[0]
    for r in results:
        assert f'<section id="{r.name}">' in page and f'href="#{r.name}"' in page
        for c in r.checks:
            assert f'<tr class="{c.status}"><td>{c.name}</td>' in page
    assert "applying the fault failed: rs1: exit 1" in page
    assert "No check ran, so nothing was proven." in page
    assert "1 of 4 scenarios passed" in page


def test_every_timeline_has_a_legend_fault_and_restore_marks_and_labelled_loss(results):
    page = to_html("kibi-ix", results)
    timelines = [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)]
    assert len(timelines) == 2
    for root in timelines:
        texts = [t.text or "" for t in root.iter(f"{SVG}text")]
        legend = root.find(f"{SVG}g[@class='legend']")
        assert legend is not None
        assert {"session down", "session up", "route withdrawn (FIB)", "route installed (FIB)"} <= {
            t.text for t in legend.iter(f"{SVG}text")}
        assert "T0 fault" in texts and "restore" in texts
        assert any(t.startswith("seto-net: ") and t.endswith(" s lost") for t in texts)  # the probe-loss window


def test_write_html(tmp_path, results, plan):
    path = write_html(tmp_path / "report", "kibi-ix", results, plan)
    assert path == tmp_path / "report" / "report.html" and path.read_text().startswith("<!DOCTYPE html>")
    assert not list(tmp_path.rglob("*.tmp"))


# ---------------------------------------------------------------- in a real browser

def rendering_problems(png: Path) -> list[str]:
    """Why a screenshot does not show a rendered report (empty list: it does)."""
    from PIL import Image

    image = Image.open(png).convert("RGB")
    width, height = image.size
    top = image.crop((0, 0, width, min(height, 900)))  # the title, the topology picture and the summary
    colours = top.getcolors(maxcolors=1 << 20) or []
    problems = []
    if len(colours) < 200:
        problems.append(f"only {len(colours)} distinct colours in the top of the page")
    dominant = max((n for n, _ in colours), default=0) / (top.size[0] * top.size[1])
    if dominant > 0.97:
        problems.append(f"{dominant:.1%} of the top of the page is one colour")
    histogram = image.getcolors(maxcolors=width * height) or []

    def count(rgb: tuple[int, int, int], tolerance: int = 6) -> int:
        return sum(n for n, c in histogram if all(abs(a - b) <= tolerance for a, b in zip(c, rgb)))

    # colours only the drawn SVGs and badges have: FRR and BIRD boxes, the pass badge, probe-loss bars
    for name, rgb, least in [("FRR boxes", (0xdb, 0xea, 0xfe), 2000), ("BIRD boxes", (0xfe, 0xf3, 0xc7), 2000),
                             ("PASS badge", (0x15, 0x80, 0x3d), 100), ("probe-loss bars", (0xf3, 0xbe, 0xbe), 200)]:
        if count(rgb) < least:
            problems.append(f"{name} not visible")
    return problems


def test_report_renders_in_headless_chromium(screenshot, results, plan, tmp_path):
    page = write_html(tmp_path, "kibi-ix", results, plan)
    png = screenshot(page, tmp_path / "report.png")
    assert rendering_problems(png) == []


def test_an_empty_page_is_caught(screenshot, tmp_path):
    """The check above can fail: a blank page and a page whose SVGs are missing are both reported."""
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    assert len(rendering_problems(screenshot(blank, tmp_path / "blank.png"))) >= 3
    text_only = tmp_path / "text.html"
    text_only.write_text(re.sub(r"<svg\b.*?</svg>", "", to_html("kibi-ix", [], None), flags=re.S))
    problems = rendering_problems(screenshot(text_only, tmp_path / "text.png"))
    assert "FRR boxes not visible" in problems and "probe-loss bars not visible" in problems
