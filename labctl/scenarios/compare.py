"""`labctl compare`: the same IX file in both designs (the IX, and the aggregator ISP without it),
each brought up, its locality measured and the same scenarios run, then torn down; one report
(labctl.report.compare) from the numbers. One lab at a time: the machine runs one design, then
the other."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import yaml

from labctl import lifecycle
from labctl.errors import LabctlError
from labctl.scenarios.engine import run_scenario
from labctl.scenarios.spec import resolve

DESIGNS = ("ix", "aggregator")
SCENARIOS = ("upstream-down", "ix-down")


def design_file(ix_file: Path, design: str, outdir: Path) -> Path:
    """A copy of the IX file with `ix.design` set, its own lab name and a management subnet derived
    from that name (the two labs never collide with each other or with the user's)."""
    data = yaml.safe_load(ix_file.read_text())
    ix = data["ix"]
    ix["design"] = design
    ix["name"] = f"{ix['name'][:19]}-{'ix' if design == 'ix' else 'agg'}"
    (ix.get("management") or {}).pop("ipv4_subnet", None)
    for key in ("as_set_file", "roa_file"):  # policy files named relative to the original
        policy = ix.get("policy") or {}
        target = policy if key == "as_set_file" else (policy.get("rpki") or {})
        if target.get(key):
            target[key] = str((ix_file.parent / target[key]).resolve())
    path = outdir / f"{design}.yml"
    outdir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


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
    return [run_design(design_file(ix_file, d, outdir), d, list(scenarios or SCENARIOS), progress) for d in DESIGNS]
