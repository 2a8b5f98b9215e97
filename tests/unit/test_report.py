"""labctl.report.results: JUnit XML, JSON, Markdown and SVG from hand-built ScenarioResults."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET

import pytest

from labctl.report.results import timeline_svg, to_json, to_junit, to_markdown, write_all
from labctl.scenarios.outcome import Check, ScenarioResult

SVG = "{http://www.w3.org/2000/svg}"


def result(name: str, *statuses: str, error: str = "", **kw) -> ScenarioResult:
    r = ScenarioResult(name, f"{name}: what it does", kw.pop("fault", "link-down"), kw.pop("target", f"target of {name}"),
                       started=1795658952.0, seconds=kw.pop("seconds", 30.0), error=error, **kw)
    r.checks = [Check(f"check {i}", "something", "something else", s) for i, s in enumerate(statuses)]
    return r


def timeline_result() -> ScenarioResult:
    r = result("member-link-down", "pass", "pass", t0=1795658952.595034, t_detect=8.169878, t_cp=8.442782,
               t_restore=14.297078, recovery_detect=0.210, recovery_cp=3.240, seconds=41.25,
               resolution="data plane: one probe every 10 ms per pair")
    r.events = [
        {"t": 8.169878, "node": "rs1", "kind": "session-down", "subject": "kibinet (ipv4)", "detail": ""},
        {"t": 8.339640, "node": "rs2", "kind": "session-down", "subject": "kibinet (ipv4)", "detail": "BGP Notification send"},
        {"t": 8.442782, "node": "seto-net", "kind": "route-del", "subject": "198.18.1.0/24", "detail": ""},
        {"t": 15.50, "node": "seto-net", "kind": "route-add", "subject": "198.18.1.0/24", "detail": ""},
        {"t": 14.60, "node": "rs1", "kind": "session-up", "subject": "kibinet (ipv4)", "detail": ""},
    ]
    r.probes = [
        {"from": "cdn-cache", "to": "city-net", "interval_ms": 10.0, "sent": 2000, "received": 2000, "lost": 0,
         "outage_ms": 0.0, "loss_windows": [], "asserted": True},
        {"from": "cdn-cache", "to": "kibinet", "interval_ms": 10.0, "sent": 2000, "received": 560, "lost": 1440,
         "outage_ms": 14400.0, "loss_windows": [[0.004, 8.5], [9.0, 14.39]], "asserted": False},
    ]
    return r


@pytest.fixture
def results() -> list[ScenarioResult]:
    return [
        timeline_result(),                                                   # passed
        result("trunk-down", "pass", "fail", "pass"),                        # failed
        result("rs-failover", "pass", error="applying the fault failed: rs1: exit 1"),  # error
        result("impairment", "unavailable", "unavailable"),                  # nothing proven
        result("impairment-partly", "pass", "unavailable"),                  # passed, with a gap stated
        result("empty"),                                                     # no checks at all
    ]


# ---------------------------------------------------------------- verdicts

def test_passed_needs_a_pass_and_no_fail(results):
    assert [r.passed for r in results] == [True, False, False, False, True, False]


def test_unavailable_is_never_a_pass():
    assert not result("x", "unavailable").passed
    assert not result("x", "unavailable", "fail").passed
    assert result("x", "unavailable", "pass").passed
    assert not result("x", "pass", error="boom").passed


# ---------------------------------------------------------------- JUnit

def junit(results) -> ET.Element:
    text = to_junit("kibi-ix", results)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode())


def test_junit_counts(results):
    root = junit(results)
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    for element in (root, suite):
        assert element.get("tests") == "6"
        assert element.get("failures") == "3"  # trunk-down, impairment (only unavailable), empty
        assert element.get("errors") == "1"  # rs-failover
        assert float(element.get("time")) == pytest.approx(41.25 + 5 * 30.0)
    assert suite.get("name") == "labctl.kibi-ix"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == [r.name for r in results]
    assert [c.get("classname") for c in cases.values()] == ["labctl.scenarios"] * 6
    assert float(cases["member-link-down"].get("time")) == pytest.approx(41.25)

    def kinds(case):
        return [child.tag for child in case if child.tag in ("failure", "error", "skipped")]

    assert kinds(cases["member-link-down"]) == []
    assert kinds(cases["impairment-partly"]) == []
    assert kinds(cases["trunk-down"]) == ["failure"]
    assert kinds(cases["rs-failover"]) == ["error"]
    assert kinds(cases["impairment"]) == ["failure"]
    assert kinds(cases["empty"]) == ["failure"]
    assert cases["rs-failover"].find("error").get("message") == "applying the fault failed: rs1: exit 1"
    assert cases["trunk-down"].find("failure").get("message") == \
        "check 1: expected something, observed something else"
    assert cases["impairment"].find("failure").get("message") == "no check passed"


def test_junit_system_out_has_the_timeline_and_every_check(results):
    cases = {c.get("name"): c for c in junit(results).iter("testcase")}
    out = cases["member-link-down"].find("system-out").text
    assert "fault: target of member-link-down" in out
    assert "T_detect-T0 8.170 s, T_cp-T0 8.443 s, restore at 14.297 s" in out
    assert "worst probe outage 14400 ms" in out
    assert out.count("[pass]") == 2
    assert "[unavailable] check 1" in cases["impairment-partly"].find("system-out").text


def test_junit_escapes_what_it_quotes():
    nasty = 'a <b> & "c" \'d\''
    r = result(f"name {nasty}", "fail", error="")
    r.target = nasty
    r.checks[0].observed = nasty
    e = result("err", error=f"error {nasty}")
    cases = list(junit([r, e]).iter("testcase"))
    assert cases[0].get("name") == f"name {nasty}"
    assert nasty in cases[0].find("failure").get("message")
    assert nasty in cases[0].find("failure").text
    assert f"fault: {nasty}" in cases[0].find("system-out").text
    assert cases[1].find("error").get("message") == f"error {nasty}"


def test_junit_of_no_results():
    root = junit([])
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("0", "0", "0")
    assert root.find("testsuite").findall("testcase") == []


# ---------------------------------------------------------------- JSON

def test_json_round_trip(results):
    data = json.loads(to_json("kibi-ix", results))
    assert data["lab"] == "kibi-ix"
    assert data["passed"] is False
    assert [s["passed"] for s in data["scenarios"]] == [r.passed for r in results]
    names = {f.name for f in dataclasses.fields(ScenarioResult)}
    for original, item in zip(results, data["scenarios"]):
        assert set(item) == names | {"passed"}
        rebuilt = ScenarioResult(**{k: v for k, v in item.items() if k in names})
        rebuilt.checks = [Check(**c) for c in item["checks"]]
        assert rebuilt == original
    assert data["scenarios"][0]["events"][0] == {"t": 8.169878, "node": "rs1", "kind": "session-down",
                                                 "subject": "kibinet (ipv4)", "detail": ""}
    assert data["scenarios"][0]["probes"][1]["loss_windows"] == [[0.004, 8.5], [9.0, 14.39]]


def test_json_passed_only_when_all_passed():
    assert json.loads(to_json("kibi-ix", [timeline_result(), result("x", "pass")]))["passed"] is True
    assert json.loads(to_json("kibi-ix", [timeline_result(), result("x", "unavailable")]))["passed"] is False


# ---------------------------------------------------------------- Markdown

def test_markdown_row_per_scenario(results):
    text = to_markdown("kibi-ix", results, svg_dir=".")
    lines = text.splitlines()
    assert lines[0] == "# labctl test report: kibi-ix"
    assert lines[2].startswith("2 of 6 scenarios passed")
    head = lines.index("| scenario | result | fault | T_detect − T0 | T_cp − T0 | worst outage | recovery (last change) |")
    rows = lines[head + 2: head + 2 + len(results)]
    assert [row.split(" | ")[0].lstrip("| ") for row in rows] == [r.name for r in results]
    assert [row.split(" | ")[1] for row in rows] == ["PASS", "FAIL", "ERROR", "FAIL", "PASS", "FAIL"]
    assert rows[0] == ("| member-link-down | PASS | target of member-link-down | 8.170 s | 8.443 s | "
                       "0 ms | 3.240 s |")  # worst outage counts asserted probes only
    assert lines[head + 2 + len(results)] == ""
    for r in results:
        assert f"![timeline of {r.name}](./{r.name}.svg)" in lines
        assert sum(line.startswith(f"## {r.name}: ") for line in lines) == 1
    assert "**Error:** applying the fault failed: rs1: exit 1" in lines
    assert "| cdn-cache → kibinet | 2000 | 1440 | 14400 ms | 0.00–8.50, 9.00–14.39 | no |" in lines


def test_markdown_without_svg():
    assert "![timeline" not in to_markdown("kibi-ix", [timeline_result()])


# ---------------------------------------------------------------- SVG

def test_svg_is_well_formed_and_complete():
    r = timeline_result()
    root = ET.fromstring(timeline_svg(r))
    assert root.tag == f"{SVG}svg"
    assert int(root.get("width")) == 760
    circles = root.findall(f"{SVG}circle")
    assert len(circles) == len(r.events)
    assert {c.get("fill") for c in circles} == {"#d62728", "#ff7f0e", "#1f77b4", "#2ca02c"}
    loss_bars = [e for e in root.findall(f"{SVG}rect") if e.get("class") == "loss-window"]
    assert len(loss_bars) == 2  # one per loss window
    labels = {t.text for t in root.findall(f"{SVG}text")}
    assert {"rs1", "rs2", "seto-net", "cdn-cache", "T0 fault", "restore"} <= labels
    # events are placed in time order from left to right
    xs = {c.find(f"{SVG}title").text: float(c.get("cx")) for c in circles}
    assert xs["8.170 s session-down kibinet (ipv4)"] < xs["8.443 s route-del 198.18.1.0/24"] < \
        xs["15.500 s route-add 198.18.1.0/24"]


def test_svg_of_an_empty_result_and_odd_names():
    assert ET.fromstring(timeline_svg(result("empty"))).tag == f"{SVG}svg"
    r = timeline_result()
    r.events[0]["node"] = "a&b<c>"
    r.events[0]["subject"] = '"quoted" & <tagged>'
    root = ET.fromstring(timeline_svg(r))
    assert "a&b<c>" in {t.text for t in root.findall(f"{SVG}text")}


# ---------------------------------------------------------------- files

def test_write_all(tmp_path, results):
    junit_path, json_path, report = tmp_path / "out" / "junit.xml", tmp_path / "results.json", tmp_path / "report"
    written = write_all("kibi-ix", results, junit_path, json_path, report)
    assert written == [junit_path, json_path, report / "report.md"]
    ET.parse(junit_path)
    assert len(json.loads(json_path.read_text())["scenarios"]) == 6
    assert sorted(p.name for p in report.iterdir()) == sorted([f"{r.name}.svg" for r in results] + ["report.md"])
    for svg in report.glob("*.svg"):
        ET.parse(svg)
    assert not list(tmp_path.rglob("*.tmp"))
    assert write_all("kibi-ix", results, None, None, None) == []
