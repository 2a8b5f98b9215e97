"""`labctl compare`: the same IX file in both designs (the IX, and the aggregator ISP without it),
each brought up, its locality measured and the same scenarios run, then torn down; one report
(labctl.report.compare) from the numbers. One lab at a time: the machine runs one design, then
the other."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from labctl import lifecycle
from labctl.errors import LabctlError
from labctl.scenarios.engine import run_scenario
from labctl.scenarios.spec import resolve

DESIGNS = ("ix", "aggregator")
SCENARIOS = ("upstream-down", "ix-down")


def run_design(path: Path, design: str, scenarios: list[str], progress=lambda _: None) -> dict:
    """Up, locality, scenarios, down: everything measured, with wall-clock timings."""
    out: dict = {"design": design, "file": str(path), "timings": {}, "error": ""}
    started = time.monotonic()
    try:
        report = lifecycle.up(path, progress=progress)
        out["timings"]["up"] = round(time.monotonic() - started, 1)
        out["nodes"] = len(report.configured) + len(report.failed_nodes)
        if not report.ok:
            raise LabctlError(f"{design}: the lab did not converge", "see `labctl status`")
        lab = lifecycle.find_lab(path)
        t = time.monotonic()
        out["locality"] = lifecycle.locality(lab=lab)
        out["timings"]["locality"] = round(time.monotonic() - t, 1)
        nr = lab.nornir()
        try:
            out["scenarios"] = []
            for sc in resolve(scenarios):
                t = time.monotonic()
                progress(f"{design}: scenario {sc.name}")
                out["scenarios"].append(asdict(run_scenario(lab, sc, nr)))
                out["timings"][sc.name] = round(time.monotonic() - t, 1)
        finally:
            nr.close_connections()
    except LabctlError as exc:
        out["error"] = str(exc)
    finally:
        t = time.monotonic()
        lifecycle.down(path)
        out["timings"]["down"] = round(time.monotonic() - t, 1)
        out["timings"]["total"] = round(time.monotonic() - started, 1)
    return out


def compare(ix_file: Path, outdir: Path, scenarios: list[str] | None = None, progress=lambda _: None) -> list[dict]:
    return [run_design(lifecycle.design_file(ix_file, d, outdir), d, list(scenarios or SCENARIOS), progress) for d in DESIGNS]
