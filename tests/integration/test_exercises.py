"""Every bundled exercise on a real lab: in its start state each of its checks FAILS, after
`labctl exercise solve` (the reference solution) each PASSES. An exercise whose check passes
before it is solved is a defect. Driven through the CLI, as a trainee or instructor would.

first-sessions runs in CI; the others are `slow` (each brings up its own 6-node lab).
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.exercises.load import builtin_names

from .helpers import leftovers

pytestmark = pytest.mark.integration
runner = CliRunner()

# exercise -> (lab name, management subnet): unique, so tests never meet a user's lab or each other
LABS = {
    "first-sessions": ("ex-t-first", "172.30.221.0/24"),
    "broken-session": ("ex-t-broken", "172.30.222.0/24"),
    "no-leak": ("ex-t-leak", "172.30.223.0/24"),
    "rs-rejects": ("ex-t-reject", "172.30.224.0/24"),
    "bfd-failover": ("ex-t-bfd", "172.30.226.0/24"),
    "rs-communities": ("ex-t-comm", "172.30.228.0/24"),
    "bilateral-session": ("ex-t-bilat", "172.30.229.0/24"),
    "blackhole": ("ex-t-bhole", "172.30.230.0/24"),
    "route-leak-fix": ("ex-t-rleak", "172.30.210.0/24"),
    "receive-filter": ("ex-t-rfilt", "172.30.211.0/24"),
    "rpki-own-router": ("ex-t-rpki", "172.30.212.0/24"),
    "max-prefix": ("ex-t-maxpfx", "172.30.213.0/24"),
    "graceful-shutdown": ("ex-t-gshut", "172.30.214.0/24"),
}


def _cli(*args: str):
    result = runner.invoke(app, list(args))
    return result, (json.loads(result.stdout) if "--json" in args and result.stdout.strip() else None)


def run_exercise(name: str, tmp_path, monkeypatch) -> dict:
    lab, subnet = LABS[name]
    monkeypatch.chdir(tmp_path)
    timings = {}
    started = time.monotonic()
    try:
        result, data = _cli("exercise", "start", name, "--lab", lab, "--subnet", subnet, "--json")
        assert result.exit_code == 0, result.output
        assert data["lab"] == lab and data["exercise"] == name
        timings["start"] = time.monotonic() - started

        result, before = _cli("exercise", "check", "--lab", lab, "--json")
        assert result.exit_code == 1, result.output
        passing = [c["id"] for c in before["checks"] if c["passed"]]
        assert not passing, f"{name}: checks pass in the start state (a defect): {passing}\n{result.stdout}"
        assert before["hint"] is not None and before["hint"]["ja"], "a failure shows the next hint"

        t = time.monotonic()
        result, _ = _cli("exercise", "solve", "--lab", lab, "--json")
        assert result.exit_code == 0, result.output
        result, after = _cli("exercise", "check", "--lab", lab, "--wait", "90", "--json")
        timings["solve+check"] = time.monotonic() - t
        failing = [(c["id"], c["observed"]["en"]) for c in after["checks"] if not c["passed"]]
        assert result.exit_code == 0 and not failing, f"{name}: checks fail after the solution: {failing}"

        junit = tmp_path / "exercise.xml"
        result, _ = _cli("exercise", "report", "--lab", lab, "--junit", str(junit), "-o", str(tmp_path / "r.md"))
        assert result.exit_code == 0, result.output
        suite = ET.parse(junit).getroot().find("testsuite")
        assert suite.get("tests") == str(len(after["checks"])) and suite.get("failures") == "0"
        assert "solve" in (tmp_path / "r.md").read_text()
        return {"before": before, "after": after, "timings": timings}
    finally:
        down = runner.invoke(app, ["down", "--lab", lab])
        assert down.exit_code == 0, down.output
        assert leftovers(lab) == []
        print(f"\n{name}: {time.monotonic() - started:.1f} s in all; "
              + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))


def test_every_exercise_has_a_lab_here():
    assert set(builtin_names()) <= set(LABS), "give every bundled exercise a lab name and subnet in LABS"


def test_first_sessions(lab_host, tmp_path, monkeypatch):
    out = run_exercise("first-sessions", tmp_path, monkeypatch)
    by_id = {c["id"]: c for c in out["before"]["checks"]}
    assert "ipv4 " in by_id["rs1-sessions"]["observed"]["en"] and "Established" not in by_id["rs1-sessions"]["observed"]["en"]
    assert "no route for 198.18.1.0/24" in by_id["ipv4-at-city-net"]["observed"]["en"]


def _observed(out: dict, when: str, check: str) -> str:
    return next(c["observed"]["en"] for c in out[when]["checks"] if c["id"] == check)


def _blackhole(out: dict) -> None:
    # the attacked host answered before (it is not blackholed yet), the mail host did not (it was)
    assert _observed(out, "before", "attack-dropped") == "3/3 answered"
    assert _observed(out, "after", "blackholed-at-city-net").startswith("present: AS path 64500, next hop 192.0.2.66")


def _graceful_shutdown(out: dict) -> None:
    # measured: the undrained maintenance lost pings (the hold timer's outage), the drained one none
    lost = re.search(r"data plane city-net -> momo-catv: (\d+) lost of (\d+)", _observed(out, "before", "maintenance-loss"))
    assert lost and int(lost.group(1)) > 0, _observed(out, "before", "maintenance-loss")
    assert re.search(r": 0 lost of [1-9]\d*", _observed(out, "after", "maintenance-loss"))
    print(f"graceful-shutdown: before {lost.group(1)} lost of {lost.group(2)}; after "
          f"{_observed(out, 'after', 'maintenance-loss')}")


MORE = {"blackhole": _blackhole, "graceful-shutdown": _graceful_shutdown}  # exercise -> what else must hold


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in builtin_names() if n != "first-sessions"])
def test_exercise(name, lab_host, tmp_path, monkeypatch):
    out = run_exercise(name, tmp_path, monkeypatch)
    if name in MORE:
        MORE[name](out)
