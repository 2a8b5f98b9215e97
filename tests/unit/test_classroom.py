"""The class (labctl class): roster, lab names, subnets, and the scoreboard from check histories
to table, JSON and HTML. Pure: no Docker."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from labctl.classroom import roster, scoreboard as sb
from labctl.errors import LabctlError
from labctl.exercises.state import ExerciseState

CHECKS = [{"id": "rs1-sessions", "title": {"en": "rs1 sees your sessions", "ja": "rs1 から見たセッション"}},
          {"id": "ipv4-at-city-net", "title": {"en": "city-net receives <your> prefix", "ja": "city-net が受信"}}]
T0 = 1_800_000_000.0


def result(cid: str, passed: bool) -> dict:
    return {"id": cid, "kind": "session", "passed": passed, "title": {"en": cid, "ja": cid},
            "expected": {"en": "x", "ja": "x"}, "observed": {"en": "ok" if passed else "Active", "ja": "観測"}}


def state(lab: str, runs: list[tuple[float, bool, bool]], solved: bool = False) -> ExerciseState:
    s = ExerciseState("first-sessions", "/x/first-sessions.yml", lab, "kibinet", T0)
    s.history.append({"t": T0, "action": "start"})
    for dt, a, b in runs:
        s.history.append({"t": T0 + dt, "action": "check", "passed": a and b,
                          "results": [result("rs1-sessions", a), result("ipv4-at-city-net", b)]})
    if solved:
        s.history.append({"t": T0 + 10, "action": "solve"})
    return s


def record(*names: str, failed: dict | None = None) -> roster.ClassRecord:
    """Built directly (not by new_record, which refuses bad names): the page must escape whatever it gets."""
    return roster.ClassRecord("cls", "first-sessions", "/x/first-sessions.yml", "kibinet", T0,
                              [roster.Trainee(n, f"cls-{n}", f"172.29.{i}.0/24") for i, n in enumerate(names)],
                              failed or {})


def board(states, running=None, failed=None):
    rec = record(*states, failed=failed)
    return sb.build(rec, CHECKS, {"en": "First sessions", "ja": "最初のセッション"}, states,
                    running or {n: True for n in states}, now=T0 + 600)


def test_trainee_names_from_count_and_roster():
    assert roster.trainee_names(3) == ["t1", "t2", "t3"]
    assert roster.trainee_names(roster="alice\n# comment\n\nbob  # late\n") == ["alice", "bob"]


@pytest.mark.parametrize("count,text,words", [
    (None, None, "either --trainees"), (0, None, "1 to 64"), (None, "Alice\n", "roster:1: 'Alice'"),
    (None, "bob\nbob\n", "listed twice"), (None, "# nobody\n", "no trainee names")])
def test_bad_rosters_are_clear_errors(count, text, words):
    with pytest.raises(LabctlError, match=re.escape(words)):
        roster.trainee_names(count, text)


def test_lab_names_are_checked():
    assert roster.check_lab_names("class", ["t1", "alice"]) == ["class-t1", "class-alice"]
    with pytest.raises(LabctlError, match="at most 24"):
        roster.check_lab_names("a-rather-long-class", ["bartholomew"])


def test_subnets_skip_those_in_use():
    got = roster.allocate_subnets(3, ["172.29.0.0/24", "172.17.0.0/16", "3fff:172:29::/64", "172.29.2.0/23"])
    assert got == ["172.29.1.0/24", "172.29.4.0/24", "172.29.5.0/24"]
    with pytest.raises(LabctlError, match="only 1 free"):
        roster.allocate_subnets(2, ["172.29.0.0/25"], "172.29.0.0/23")
    with pytest.raises(LabctlError, match="/24 or larger"):
        roster.allocate_subnets(1, [], "172.29.0.0/25")


def test_record_round_trip_and_finding_the_only_class(tmp_path):
    rec = roster.new_record("cls", "first-sessions", "/x/f.yml", "kibinet", ["alice", "bob"],
                            ["172.29.0.0/24", "172.29.1.0/24"])
    roster.write(tmp_path, rec)
    back = roster.read(tmp_path)
    assert back == rec and back.trainee("bob").lab == "cls-bob"
    roster.write(tmp_path, roster.new_record("other", "x", "x", "r", ["a"], ["172.29.9.0/24"]))
    with pytest.raises(LabctlError, match="several classes: cls, other"):
        roster.read(tmp_path)
    with pytest.raises(LabctlError, match="no class 'nope'"):
        roster.read(tmp_path, "nope")


def test_scoreboard_who_passed_what_and_when():
    b = board({"alice": state("cls-alice", [(60, False, False), (125, True, False), (250, True, True)]),
               "bob": state("cls-bob", [(90, False, False)]),
               "carol": state("cls-carol", [(100, True, True), (200, False, True)], solved=True),
               "dave": state("cls-dave", [])})
    rows = {r.trainee: r for r in b.rows}
    alice = rows["alice"]
    assert (alice.passed, alice.total, alice.finished) == (2, 2, T0 + 250)
    assert alice.cells["rs1-sessions"].first_pass == T0 + 125 and alice.cells["rs1-sessions"].runs == 3
    assert rows["bob"].passed == 0 and rows["bob"].finished is None
    assert rows["carol"].cells["rs1-sessions"].status == "fail" and rows["carol"].solved_by_reference
    assert rows["carol"].finished == T0 + 100  # all passed once, even though it broke again
    assert {c.status for c in rows["dave"].cells.values()} == {"not-run"}

    head, table = sb.table(b)
    assert head == ["trainee", "lab", "rs1-sessions", "ipv4-at-city-net", "passed", "all passed at", "hints", "notes"]
    by = {r[0]: r for r in table}
    assert by["alice"][2:6] == ["PASS +2:05", "PASS +4:10", "2/2", "+4:10"]
    assert by["bob"][2:5] == ["FAIL", "FAIL", "0/2"]
    assert by["carol"][2] == "FAIL (passed before +1:40)" and "reference solution applied" in by["carol"][7]
    assert by["dave"][2:5] == ["—", "—", "0/2"]
    ja_head, ja_rows = sb.table(b, "ja")
    assert ja_head[0] == "受講者" and ja_rows[0][2] == "合格 +2:05"


def test_scoreboard_shows_labs_that_are_down_or_never_started():
    b = board({"alice": state("cls-alice", [(60, True, True)]), "bob": None},
              running={"alice": False, "bob": False}, failed={"bob": "deploy failed"})
    rows = {r.trainee: r for r in b.rows}
    assert sb.notes(rows["alice"]) == ["lab not running"]
    assert sb.notes(rows["bob"]) == ["lab did not start"] and rows["bob"].passed == 0
    data = sb.to_json(b)
    assert data["rows"][0]["cells"]["rs1-sessions"]["first_pass"] == T0 + 60
    assert data["rows"][1]["problem"] == "failed_up"


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [v or "" for _, v in attrs]


def test_html_is_self_contained_and_escaped():
    b = board({"alice": state("cls-alice", [(60, True, False)]), "b<o>b": state("cls-bob", [])})
    page = sb.to_html(b)
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert not any(a.startswith(("http:", "https:", "//")) for a in parser.attrs)
    assert "<style>" in page and "b&lt;o&gt;b" in page and "<o>" not in page
    assert "city-net receives &lt;your&gt; prefix" in page
    assert 'class="c pass"' in page and 'class="c fail"' in page and 'class="c not-run"' in page
    assert "+1:00" in page and "0 / 2" not in page and "<b>0</b> / 2" in page
    assert sb.to_html(b, "ja").count("合格") >= 2


def test_ipv6_management_subnet_follows_the_ipv4_one(examples):
    """Trainee labs get distinct IPv4 /24s; their IPv6 /64s must differ too (Docker refuses overlaps)."""
    import yaml

    from labctl.model.load import load_text
    from labctl.plan import build_plan

    def v6(name: str, subnet: str | None) -> str:
        data = yaml.safe_load(examples["minimal"].read_text())
        data["ix"]["name"] = name
        if subnet:
            data["ix"]["management"] = {"ipv4_subnet": subnet}
        return str(build_plan(load_text(yaml.safe_dump(data))).mgmt_ipv6)

    assert v6("cls-t1", "172.29.0.0/24") == "3fff:172:29::/64"
    assert v6("cls-t2", "172.29.1.0/24") == "3fff:172:29:1::/64"
    derived = v6("some-lab", None)
    assert derived.startswith("3fff:172:30:")  # the derived subnets are unchanged (172.30.N.0/24)


def test_scoreboard_renders_in_headless_chromium(screenshot, tmp_path):
    """The instructor's page as a browser draws it, in English and Japanese: pass and fail cells,
    the score badges; PNGs kept in the test's tmp folder for a look."""
    from PIL import Image

    b = board({"alice": state("cls-alice", [(60, False, False), (125, True, True)]),
               "bob": state("cls-bob", [(90, True, False)]), "carol": state("cls-carol", [])})
    for lang in ("en", "ja"):
        page = tmp_path / f"scoreboard-{lang}.html"
        page.write_text(sb.to_html(b, lang))
        png = screenshot(page, tmp_path / f"scoreboard-{lang}.png", "1300,700")
        image = Image.open(png).convert("RGB")
        histogram = image.getcolors(maxcolors=image.size[0] * image.size[1]) or []

        def area(rgb: tuple[int, int, int]) -> int:
            return sum(n for n, c in histogram if all(abs(a - b) <= 4 for a, b in zip(c, rgb)))

        assert len(histogram) > 100, f"{lang}: a blank page"
        assert area((0xf0, 0xfd, 0xf4)) > 2000, f"{lang}: no passed cells drawn"  # td.pass
        assert area((0xfe, 0xf2, 0xf2)) > 1000, f"{lang}: no failed cells drawn"  # td.fail
