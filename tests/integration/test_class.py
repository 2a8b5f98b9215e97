"""A class on real labs: two trainees (alice, bob) of first-sessions, each with their own lab,
management subnet and SSH keys; alice's router gets the reference solution, bob's stays in the
start state; `class check` and the scoreboard show every check passed for alice and failed for
bob (table, JSON, HTML); `class down` leaves nothing of either lab. Driven through the CLI."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from labctl.cli import app

from .helpers import leftovers

pytestmark = [pytest.mark.integration]
runner = CliRunner()
CLASS, POOL = "tcls", "172.29.240.0/22"  # a pool of its own: never meets a user's class
LABS = {"alice": "tcls-alice", "bob": "tcls-bob"}


def _cli(*args: str):
    result = runner.invoke(app, list(args))
    data = json.loads(result.stdout) if "--json" in args and result.stdout.strip() else None
    return result, data


def test_class_of_two_one_solved(lab_host, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "roster.txt").write_text("alice\nbob  # the one who does nothing\n")
    started, timings = time.monotonic(), {}
    try:
        result, up = _cli("class", "up", "first-sessions", "--roster", "roster.txt", "--class", CLASS,
                          "--subnets", POOL, "--json")
        timings["up"] = time.monotonic() - started
        assert result.exit_code == 0, result.output
        assert [t["lab"] for t in up["trainees"]] == list(LABS.values()) and not up["failed"]
        subnets = [t["subnet"] for t in up["trainees"]]
        assert len(set(subnets)) == 2 and all(s.startswith("172.29.24") for s in subnets)
        keys = {lab: (tmp_path / ".labctl" / lab / "ssh" / "authorized_keys").read_text() for lab in LABS.values()}
        assert len(set(keys.values())) == 2, "each trainee lab has its own SSH key"

        result = runner.invoke(app, ["class", "up", "first-sessions", "-n", "2", "--class", CLASS])
        assert result.exit_code != 0 and "exists already" in result.output

        result, _ = _cli("exercise", "solve", "--lab", LABS["alice"], "--json")
        assert result.exit_code == 0, result.output
        result, _ = _cli("exercise", "check", "--lab", LABS["alice"], "--wait", "60", "--json")
        assert result.exit_code == 0, result.output

        t = time.monotonic()
        html = tmp_path / "scoreboard.html"
        result, board = _cli("class", "check", "--html", str(html), "--json")
        timings["class check"] = time.monotonic() - t
        assert result.exit_code == 1, result.output  # bob has not passed
        rows = {r["trainee"]: r for r in board["rows"]}
        n = len(board["checks"])
        assert n >= 4 and rows["alice"]["passed"] == rows["alice"]["total"] == n and rows["alice"]["solved_by_reference"]
        assert {c["status"] for c in rows["alice"]["cells"].values()} == {"pass"}
        assert all(c["first_pass"] for c in rows["alice"]["cells"].values())
        assert rows["bob"]["passed"] == 0 and {c["status"] for c in rows["bob"]["cells"].values()} == {"fail"}
        assert rows["bob"]["hints"] == 0, "an instructor's class check reveals no hint to the trainee"
        page = html.read_text()
        assert page.count('class="c pass"') == n and page.count('class="c fail"') == n and "<script" not in page

        result = runner.invoke(app, ["class", "scoreboard"])
        assert result.exit_code == 0 and "PASS" in result.output and "FAIL" in result.output, result.output
        result, status = _cli("class", "status", "--json")
        assert [t["running"] for t in status["trainees"]] == [True, True]
        assert status["trainees"][0]["connect"] == "labctl connect kibinet --lab tcls-alice"
    finally:
        t = time.monotonic()
        down = runner.invoke(app, ["class", "down", "--class", CLASS])
        timings["down"] = time.monotonic() - t
        print(f"\nclass of 2: {time.monotonic() - started:.1f} s in all; "
              + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    assert down.exit_code == 0, down.output
    for lab in LABS.values():
        assert leftovers(lab, tmp_path / ".labctl" / lab) == []
    assert not (tmp_path / ".labctl").exists()
