"""Exercises without a lab: every bundled file loads and its start state differs from its solution,
bad files get located errors with a fix, the IX overlay trims the regional IX, checks are judged
from captured observations, language choice, hints, and the Markdown/JUnit report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.daemons.records import BgpSession, NodeBgp, Route
from labctl.exercises import report as rep
from labctl.exercises.evaluate import Observations, judge
from labctl.exercises.load import (ExerciseErrors, builtin_names, exercise_json_schema, load_exercise,
                                   load_exercise_text, overlay)
from labctl.exercises.run import next_hint
from labctl.exercises.state import ExerciseState
from labctl.exercises.text import language
from labctl.policy.data import LC_REJECT
from labctl.scenarios.outcome import Check, ScenarioResult

runner = CliRunner()
FIRST = Path(load_exercise("first-sessions").path)


@pytest.mark.parametrize("name", builtin_names())
def test_every_bundled_exercise_loads_in_both_languages(name):
    x = load_exercise(name)
    ex = x.exercise
    for text in [ex.title, ex.goal, ex.trainee.start.description, *[c.title for c in ex.checks], *ex.hints]:
        assert text.en.strip() and text.ja.strip()
        assert any(ord(ch) > 0x3000 for ch in text.ja), f"{name}: not Japanese: {text.ja!r}"
    start, solution = x.configs()
    assert start != solution
    assert len(x.plan.nodes) <= 8, f"{name}: keep exercise labs small ({len(x.plan.nodes)} nodes)"
    assert all(c.at != x.trainee for c in ex.checks if c.kind != "rib")
    for c in ex.checks:  # the one kind read on the trainee's router says so to the trainee
        if c.kind == "rib":
            assert "read from your router" in c.title.en and "あなたのルータから読み取り" in c.title.ja, c.id
    assert ex.hints, f"{name}: give at least one hint"


def test_list_shows_every_exercise_and_json():
    result = runner.invoke(app, ["exercise", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["name"] for r in json.loads(result.stdout)] == builtin_names()
    ja = runner.invoke(app, ["exercise", "list", "--lang", "ja"])
    assert "両方のルートサーバ" in ja.stdout


def test_overlay_trims_sites_trunks_and_bilateral_peers():
    data = {"ix": {"name": "x"}, "sites": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            "trunks": [{"between": ["a", "b"]}, {"between": ["a", "c"]}],
            "route_servers": [{"name": "rs1", "site": "a"}],
            "members": [{"name": "m1", "site": "a", "bilateral": ["m2", "m3"]}, {"name": "m2", "site": "b"},
                        {"name": "m3", "site": "c"}]}
    out = overlay(data, ["m1", "m2"], {"ix": {"bgp": {"hold": 6}}})
    assert [s["name"] for s in out["sites"]] == ["a", "b"] and out["trunks"] == [{"between": ["a", "b"]}]
    assert out["members"][0]["bilateral"] == ["m2"] and out["ix"] == {"name": "x", "bgp": {"hold": 6}}
    assert len(data["members"]) == 3  # the base is left alone


def _bad(tmp_path, text: str, name: str = "bad-ex") -> list:
    path = tmp_path / f"{name}.yml"
    path.write_text(text)
    with pytest.raises(ExerciseErrors) as info:
        load_exercise_text(text, path)
    return info.value.findings


GOOD = FIRST.read_text()


def test_unknown_key_and_check_kind_are_located_with_a_fix(tmp_path):
    text = GOOD.replace("name: first-sessions", "name: bad-ex").replace("    kind: route\n    at: city-net\n    prefix: 198.18.1.0/24",
                                                                        "    kind: rout\n    at: city-net\n    prefix: 198.18.1.0/24", 1)
    text = text.replace("level: 1", "levle: 1")
    found = _bad(tmp_path, text)
    by_path = {f.path: f for f in found}
    assert by_path["levle"].message == "unknown key 'levle'" and by_path["levle"].hint == "did you mean 'level'?"
    assert by_path["levle"].line == 3
    kind = next(f for f in found if f.path.startswith("checks[2]"))
    assert "unknown check kind 'rout'" in kind.message and "session, route" in kind.hint and kind.line


def test_rules_that_need_the_ix(tmp_path):
    text = (GOOD.replace("name: first-sessions", "name: bad-ex")
            .replace("    at: rs2\n", "    at: kibinet\n", 1)
            .replace("    at: city-net\n", "    at: city-nett\n", 1)
            .replace("replace: '(?s)^router bgp .*\\Z'", "replace: '^router ospf'")
            .replace("  - check: rs1-sessions", "  - check: rs1-session"))
    found = {f.path: f for f in _bad(tmp_path, text)}
    assert "trainee's own router" in found["checks[1].at"].message
    assert "no router 'city-nett'" in found["checks[2].at"].message and "city-net" in found["checks[2].at"].hint
    assert "matches nothing in the rendered frr.conf" in found["trainee.start.edits[0].replace"].message
    assert "no check 'rs1-session'" in found["hints[1].check"].message
    assert all(f.line for f in found.values()) and all(f.file.endswith("bad-ex.yml") for f in found.values())


def test_start_equal_to_solution_and_missing_japanese_are_refused(tmp_path):
    text = GOOD.replace("name: first-sessions", "name: bad-ex").replace("        with: \"! BGP: not configured yet\\n\"",
                                                                       "        with: \"\\\\g<0>\"")
    found = {f.path: f for f in _bad(tmp_path, text)}
    assert "the start state is the solution" in found["trainee.start"].message
    text = GOOD.replace("name: first-sessions", "name: bad-ex").replace(
        "  ja: 両方のルートサーバとの最初のセッション\n", "")
    found = {f.path: f for f in _bad(tmp_path, text)}
    assert found["title.ja"].message == "required key is missing" and found["title.ja"].hint == "add 'ja'"


def test_name_must_match_the_file_and_ix_members_must_exist(tmp_path):
    text = GOOD.replace("members: [kibinet, city-net]", "members: [kibinet, city-nte]")
    found = {f.path: f for f in _bad(tmp_path, text)}
    assert "differs from the file name" in found["name"].message
    assert "'city-nte' is not a member of regional-ix" in found["ix.members[1]"].message


def test_validate_command_reports_file_line_and_fix(tmp_path):
    bad = tmp_path / "bad-ex.yml"
    bad.write_text(GOOD.replace("name: first-sessions", "name: bad-ex").replace("level: 1", "level: 9"))
    result = runner.invoke(app, ["exercise", "validate", str(bad), str(FIRST)])
    assert result.exit_code == 1
    assert f"{bad}:3:8: level: Input should be less than or equal to 5" in result.stderr
    assert "first-sessions.yml: ok" in result.stdout
    data = json.loads(runner.invoke(app, ["exercise", "validate", str(bad), "--json"]).stdout)
    assert data["valid"] is False and data["files"][0]["errors"][0]["line"] == 3


def test_json_schema_describes_the_check_kinds():
    schema = exercise_json_schema()
    text = json.dumps(schema)
    for kind in ("session", "route", "accepted", "announced", "reachability", "scenario"):
        assert f'"const": "{kind}"' in text
    assert schema["$defs"]["Edit"]["properties"]["with"]
    result = runner.invoke(app, ["exercise", "schema"])
    assert result.exit_code == 0 and json.loads(result.stdout)["title"] == "labctl exercise file"


def test_language_from_flag_then_locale():
    assert language("ja", {}) == "ja" and language(None, {"LANG": "ja_JP.UTF-8"}) == "ja"
    assert language(None, {"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}) == "en"  # LC_ALL wins
    assert language(None, {}) == "en" and language(None, {"LC_MESSAGES": "ja"}) == "ja"
    with pytest.raises(Exception, match="unknown language"):
        language("fr", {})


# ------------------------------------------------------------------ judging captured observations

def test_session_and_route_checks_judged_from_observations():
    x = load_exercise("first-sessions")
    obs = Observations(
        bgp={"rs1": NodeBgp(sessions=[BgpSession("192.0.2.3", "ipv4", "Established"),
                                      BgpSession("fd00:ffff::3", "ipv6", "Active")])},
        routes={"city-net": [Route("198.18.1.0/24", "ipv4", "m_rs1_ipv4", [64496], "192.0.2.3", best=True),
                             Route("2001:db8:1::/48", "ipv6", "m_rs1_ipv6", [64511, 64496], "fd00:ffff::3", best=True)]},
        errors={"rs2": "ssh: connection refused"})
    results = {r.id: r for r in judge(x.plan, x.trainee, x.exercise.checks, obs)}
    assert not results["rs1-sessions"].passed
    assert results["rs1-sessions"].observed["en"] == "ipv4 Established, ipv6 Active (seen from rs1)"
    assert "rs2 did not answer" in results["rs2-sessions"].observed["en"]
    assert results["ipv4-at-city-net"].passed
    assert not results["ipv6-at-city-net"].passed and "wrong: AS path" in results["ipv6-at-city-net"].observed["en"]
    assert "不一致" in results["ipv6-at-city-net"].observed["ja"]


def _loaded_with_checks(tmp_path, checks_yaml: str):
    head = GOOD.replace("name: first-sessions", "name: custom-ex").partition("checks:\n")[0]
    text = head + "checks:\n" + checks_yaml + "hints:\n  - {en: look, ja: 見て}\n"
    path = tmp_path / "custom-ex.yml"
    path.write_text(text)
    return load_exercise(path)


def test_accepted_check_shows_the_route_servers_reject_reason(tmp_path):
    x = _loaded_with_checks(tmp_path, """\
  - {id: rs1-accepts, kind: accepted, at: rs1, title: {en: rs1 accepts, ja: rs1 が受理}}
  - {id: exact, kind: announced, at: rs1, title: {en: only yours, ja: 自分の経路だけ}}
""")
    rejected = Route("198.18.1.0/24", "ipv4", "m_kibinet_ipv4", [64496], "192.0.2.99", filtered=True,
                     large=[(64511, LC_REJECT, 5)])
    leak = Route("198.18.6.0/24", "ipv4", "192.0.2.3", [64496, 64499], "192.0.2.3", large=[(64511, LC_REJECT, 9)])
    v6 = Route("2001:db8:1::/48", "ipv6", "m_kibinet_ipv6", [64496], "fd00:ffff::3")
    other = Route("198.18.6.0/24", "ipv4", "m_city_net_ipv4", [64499], "192.0.2.4")
    results = {r.id: r for r in judge(x.plan, x.trainee, x.exercise.checks,
                                      Observations(routes={"rs1": [rejected, leak, v6, other]}))}
    acc = results["rs1-accepts"]
    assert not acc.passed
    assert "198.18.1.0/24: rejected: next-hop: NEXT_HOP is not the announcing member's own address (code 5)" in acc.observed["en"]
    assert "2001:db8:1::/48: accepted" in acc.observed["en"] and "拒否" in acc.observed["ja"]
    assert "also received 198.18.6.0/24: rejected: origin-not-allowed" in acc.observed["en"]
    exact = results["exact"]
    assert not exact.passed and "not yours: 198.18.6.0/24 (AS path 64496 64499)" in exact.observed["en"]
    fixed = judge(x.plan, x.trainee, x.exercise.checks, Observations(routes={"rs1": [
        Route("198.18.1.0/24", "ipv4", "192.0.2.3", [64496], "192.0.2.3"), v6, other]}))
    assert all(r.passed for r in fixed), [r.observed for r in fixed]


def test_scenario_check_uses_the_scenario_result(tmp_path):
    x = _loaded_with_checks(tmp_path, """\
  - id: bfd-fast
    kind: scenario
    at: rs1
    scenario: {fault: link-down, detection: bfd}
    require: [detection]
    title: {en: BFD detects your port going down within 1 s, ja: BFD がポート断を 1 秒以内に検知}
""")
    result = ScenarioResult("bfd-fast", "", "link-down", "kibinet", 0.0)
    result.checks = [Check("detection", "<= 1.9 s", "0.95 s", "pass"), Check("recovery", "<= 30 s", "40 s", "fail")]
    [r] = judge(x.plan, x.trainee, x.exercise.checks, Observations(scenarios={"bfd-fast": result}))
    assert r.passed and "detection: 0.95 s (expected <= 1.9 s) pass" in r.observed["en"]
    [r] = judge(x.plan, x.trainee, x.exercise.checks, Observations(errors={"bfd-fast": "the other checks must pass first"}))
    assert not r.passed and "did not run" in r.observed["en"]


def test_bad_scenario_in_a_check_is_located(tmp_path):
    with pytest.raises(ExerciseErrors) as info:
        _loaded_with_checks(tmp_path, """\
  - {id: m, kind: scenario, at: rs1, scenario: {fault: link-dwn}, title: {en: x, ja: ばつ}}
""")
    [f] = info.value.findings
    assert f.path == "checks[0].scenario.fault" and "link-down" in f.message


def test_hints_follow_failed_checks_in_order():
    x = load_exercise("first-sessions")
    hints = x.exercise.hints
    assert next_hint(hints, [], {"ipv4-at-city-net"})[0] == 0
    assert next_hint(hints, [0], {"ipv4-at-city-net"})[0] == 2  # hint 1 belongs to rs1-sessions
    assert next_hint(hints, [0], None)[0] == 1
    assert next_hint(hints, [0, 1, 2, 3], {"rs1-sessions"}) is None


def test_report_markdown_and_junit():
    x = load_exercise("first-sessions")
    state = ExerciseState("first-sessions", str(x.path), "ex-first-sessions", "kibinet", 1764640000.0)
    fail = [{"id": c.id, "kind": c.kind, "title": {"en": "t", "ja": "t"}, "passed": False,
             "expected": {"en": "e", "ja": "e"}, "observed": {"en": "ipv4 Active", "ja": "ipv4 Active"}}
            for c in x.exercise.checks]
    state.record("check", passed=False, results=fail, hint=0)
    state.hints.append(0)
    state.record("solve")
    state.record("check", passed=True, results=[{**r, "passed": True, "observed": {"en": "ok", "ja": "ok"}}
                                                 for r in fail[:3]])
    md = rep.to_markdown(x, state, "en")
    assert "hints shown: 1/4" in md and "reference solution was applied" in md and "| FAIL | ipv4 Active |" in md
    n = len(x.exercise.checks)
    assert f"check: 0/{n} passed (Hint 1)" in md
    assert "合格" in rep.to_markdown(x, state, "ja")
    suite = ET.fromstring(rep.to_junit(x, state)).find("testsuite")
    assert suite.get("tests") == str(n) and suite.get("failures") == str(n - 3) and suite.get("errors") == "0"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["ipv6-at-city-net"].find("failure") is not None and cases["rs1-sessions"].find("failure") is None


def test_start_completes_exercise_names():
    from labctl.exercises.command import _complete_name

    assert _complete_name("first") == ["first-sessions"] and _complete_name("zzz") == []


def test_reachability_check_reads_fping(tmp_path):
    x = _loaded_with_checks(tmp_path, """\
  - {id: ping4, kind: reachability, at: city-net, title: {en: city-net reaches you, ja: city-net から届く}}
  - {id: ping6, kind: reachability, at: city-net, afi: ipv6, reachable: false, title: {en: not v6, ja: v6 は届かない}}
""")
    from labctl.exercises.evaluate import ping_target

    assert ping_target(x.plan, x.trainee, x.exercise.checks[0]) == ("198.18.6.1", "198.18.1.1")
    assert ping_target(x.plan, x.trainee, x.exercise.checks[1]) == ("2001:db8:6::1", "2001:db8:1::1")
    obs = Observations(pings={"ping4": "198.18.1.1 : xmt/rcv/%loss = 3/2/33%, min/avg/max = 0.05/0.07/0.09\n",
                              "ping6": "2001:db8:1::1 : xmt/rcv/%loss = 3/0/100%\n"})
    r4, r6 = judge(x.plan, x.trainee, x.exercise.checks, obs)
    assert r4.passed and r4.observed["en"] == "2/3 answered" and r6.passed
    [r] = judge(x.plan, x.trainee, x.exercise.checks[:1], Observations(pings={"ping4": "fping: can't create socket"}))
    assert not r.passed and "ping did not run: fping: can't create socket" in r.observed["en"]


def test_reachability_needs_addresses(tmp_path):
    with pytest.raises(ExerciseErrors) as info:
        _loaded_with_checks(tmp_path, """\
  - {id: q, kind: reachability, at: city-net, to: "2001:db8::1", title: {en: x, ja: ばつ}}
""")
    [f] = info.value.findings
    assert f.path.startswith("checks[0]") and "to: 2001:db8::1 is IPv6 but afi is ipv4" in f.message
    with pytest.raises(ExerciseErrors) as info:
        _loaded_with_checks(tmp_path, """\
  - {id: p, kind: reachability, at: rs1, title: {en: x, ja: ばつ}}
""")
    [f] = info.value.findings
    assert f.path == "checks[0].at" and "'rs1' announces no ipv4 prefix" in f.message


def test_rib_check_reads_what_the_trainees_router_holds(tmp_path):
    x = _loaded_with_checks(tmp_path, """\
  - {id: filt, kind: rib, at: kibinet, peer: city-net, present: [198.18.6.0/24], absent: [198.18.1.128/25],
     title: {en: you drop it, ja: 落とす}}
""")
    city = str(x.plan.nodes["city-net"].ipv4)
    legit = Route("198.18.6.0/24", "ipv4", city, [64499], city, best=True)
    own_space = Route("198.18.1.128/25", "ipv4", city, [64499], city, best=True)
    [r] = judge(x.plan, x.trainee, x.exercise.checks, Observations(routes={"kibinet": [legit, own_space]}))
    assert not r.passed
    assert r.observed["en"] == ("accepted 198.18.1.128/25 (AS path 64499, next hop " + city + "); holds 198.18.6.0/24 "
                                "(read from your router kibinet)")
    assert "受け入れている" in r.observed["ja"] and r.expected["en"] == "kibinet holds 198.18.6.0/24 and none of 198.18.1.128/25 (paths from city-net)"
    # the same prefix from another neighbour does not count for `peer`
    via_rs = Route("198.18.6.0/24", "ipv4", "192.0.2.1", [64499], city)
    [r] = judge(x.plan, x.trainee, x.exercise.checks, Observations(routes={"kibinet": [via_rs]}))
    assert not r.passed and r.observed["en"].startswith("no route for 198.18.6.0/24; no 198.18.1.128/25")
    [r] = judge(x.plan, x.trainee, x.exercise.checks, Observations(routes={"kibinet": [legit]}))
    assert r.passed


def test_rib_check_only_at_the_trainee_and_with_prefixes(tmp_path):
    with pytest.raises(ExerciseErrors) as info:
        _loaded_with_checks(tmp_path, """\
  - {id: a, kind: rib, at: city-net, absent: [198.18.1.128/25], title: {en: x, ja: ばつ}}
  - {id: b, kind: route, at: kibinet, prefix: 198.18.6.0/24, title: {en: x, ja: ばつ}}
""")
    found = {f.path: f for f in info.value.findings}
    assert "a rib check reads the trainee's own router, not 'city-net'" in found["checks[0].at"].message
    assert "'kibinet' is the trainee's own router" in found["checks[1].at"].message
    with pytest.raises(ExerciseErrors) as info:
        _loaded_with_checks(tmp_path, """\
  - {id: a, kind: rib, at: kibinet, title: {en: x, ja: ばつ}}
""")
    assert "needs 'present' or 'absent'" in info.value.findings[0].message


def test_session_down_by_max_prefix_needs_the_cease_reason(tmp_path):
    x = load_exercise("max-prefix")
    [check] = [c for c in x.exercise.checks if c.id == "flood-session-down"]
    addr = str(x.plan.nodes["kibinet"].ipv4)

    def judged(state: str, reason: str, sessions=True):
        obs = Observations(bgp={"kasaoka-net": NodeBgp(sessions=[BgpSession(addr, "ipv4", state)] if sessions else [])},
                           details={"kasaoka-net": {addr: {"state": state, "reason": reason}}})
        return judge(x.plan, x.trainee, [check], obs)[0]

    r = judged("Established", "")
    assert not r.passed and r.observed["en"] == "ipv4 Established; last error: none (seen from kasaoka-net)"
    r = judged("Active", "Admin. shutdown")  # shut by hand: not the limit
    assert not r.passed and "last error: Admin. shutdown" in r.observed["en"]
    r = judged("Active", "BGP Notification received Cease/Maximum Number of Prefixes Reached")
    assert r.passed and "max-prefix Cease" in r.expected["en"] and "最後のエラー" in r.observed["ja"]
    assert judged("Active", "Received: Maximum number of prefixes reached").passed  # BIRD's words
    assert not judged("Active", "", sessions=False).passed  # no such session at all
    with pytest.raises(ExerciseErrors) as info:
        _loaded_with_checks(tmp_path, """\
  - {id: s, kind: session, at: rs1, reason: max-prefix, title: {en: x, ja: ばつ}}
""")
    assert "reason: only with state: down" in info.value.findings[0].message


def test_rtr_check_sees_the_trainees_router_at_the_rpki_cache(tmp_path):
    from labctl.daemons.rtr import parse_clients

    ss = ("0      0      127.0.0.1:8282       127.0.0.1:40112\n"
          "0      0      [::ffff:192.0.2.1]:8282 [::ffff:192.0.2.3]:51234\n"
          "0      0      [fd00:ffff::1]:8282  [fd00:ffff::3]:40000\n")
    assert parse_clients(ss) == ["127.0.0.1", "192.0.2.3", "fd00:ffff::3"]
    x = _loaded_with_checks(tmp_path, """\
  - {id: rtr, kind: rtr, at: rs1, title: {en: rs1 serves you, ja: rs1 が配信}}
""")
    [r] = judge(x.plan, x.trainee, x.exercise.checks, Observations(rtr={"rs1": ["127.0.0.1"]}))
    assert not r.passed and r.observed["en"] == "no RTR session from kibinet; clients: rs1 itself"
    assert "rs1 自身" in r.observed["ja"] and "port 8282" in r.expected["en"]
    [r] = judge(x.plan, x.trainee, x.exercise.checks, Observations(rtr={"rs1": ["127.0.0.1", "192.0.2.3"]}))
    assert r.passed and r.observed["en"] == "connected from 192.0.2.3"
    with pytest.raises(ExerciseErrors) as info:
        _loaded_with_checks(tmp_path, """\
  - {id: rtr, kind: rtr, at: city-net, title: {en: x, ja: ばつ}}
""")
    assert "'city-net' runs no RPKI cache" in info.value.findings[0].message


def test_announced_at_an_upstream_finds_the_customers_routes_by_its_link_address():
    x = load_exercise("route-leak-fix")
    link = next(s.peer_address for s in x.plan.nodes["tokyo"].sessions if s.peer == "kibi-univ" and s.afi == "ipv4")
    assert not link.startswith("192.0.2.")
    routes = [Route("198.18.8.0/22", "ipv4", link, [64500], link), Route("198.18.12.0/24", "ipv4", link, [64500, 65536], link)]
    [r] = judge(x.plan, x.trainee, [c for c in x.exercise.checks if c.id == "only-yours-at-tokyo"],
                Observations(routes={"tokyo": routes}))
    assert not r.passed and "not yours: 198.18.12.0/24 (AS path 64500 65536)" in r.observed["en"]
    assert "missing 2001:db8:8::/48" in r.observed["en"]


def test_check_records_history_and_reveals_the_next_hint(tmp_path, monkeypatch):
    from labctl.exercises import run, state as st

    x = load_exercise("first-sessions")

    class FakeLab:
        plan = x.plan
        workdir = tmp_path

    state = ExerciseState("first-sessions", str(x.path), "ex-first-sessions", "kibinet", 1.0)
    fake = run.Running(FakeLab(), state, x)
    monkeypatch.setattr(run, "running", lambda lab_name=None: fake)
    monkeypatch.setattr(run, "observe", lambda r, progress=None: Observations(
        bgp={"rs1": NodeBgp(sessions=[BgpSession("192.0.2.3", "ipv4", "Established"),
                                      BgpSession("fd00:ffff::3", "ipv6", "Established")])}))
    first = run.check()
    assert not first.passed and first.hint[0] == 0 and first.hints_total == 4
    second = run.check()
    assert second.hint[0] == 2  # hint 1 belongs to rs1-sessions, which passed: the one for ipv4-at-city-net
    saved = st.read(tmp_path, "ex-first-sessions")
    assert saved.hints == [0, 2] and [h["action"] for h in saved.history] == ["check", "check"]
    assert {r["id"]: r["passed"] for r in saved.checks[0]["results"]}["rs1-sessions"] is True


def test_list_shows_a_broken_bundled_file_and_the_others(tmp_path, monkeypatch):
    from labctl.exercises import load

    (tmp_path / "first-sessions.yml").write_text(GOOD)
    (tmp_path / "zz-broken.yml").write_text("name: zz-broken\nlevle: 1\n")
    monkeypatch.setattr(load, "BUILTIN_DIR", tmp_path)
    result = runner.invoke(app, ["exercise", "list", "--json"])
    assert result.exit_code == 1
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["first-sessions"]["checks"] == 5 and "problem(s)" in rows["zz-broken"]["error"]
