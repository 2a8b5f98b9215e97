"""Shared helpers for the lab benchmarks (bench_up.py, bench_push.py, bench_scale.py).

They drive the real `labctl` CLI (the venv's entry point) and containerlab as subprocesses and
measure wall time around them; JSON results go to bench/results/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
LABCTL = str(Path(sys.executable).parent / "labctl")
RESULTS = REPO / "bench" / "results"
ENV = {**os.environ, "CLAB_VERSION_CHECK": "disable"}


def set_code(path: str | None) -> None:
    """Run the labctl CLI from this source tree (PYTHONPATH) from now on; None: as started."""
    if path is None:
        ENV.pop("PYTHONPATH", None)
        if os.environ.get("PYTHONPATH"):
            ENV["PYTHONPATH"] = os.environ["PYTHONPATH"]
    else:
        ENV["PYTHONPATH"] = path


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(cmd: list[str], timeout: float = 3600, check: bool = False,
        env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    """Run a command; return (process, wall seconds). env: extra environment variables."""
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**ENV, **(env or {})})
    wall = time.monotonic() - t0
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stderr[-2000:]}\n{proc.stdout[-2000:]}")
    return proc, wall


def labctl(*args: str, timeout: float = 3600,
           env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float, dict | None]:
    """Run `labctl ARGS`; parse stdout as JSON when --json was given. env: e.g. PYTHONPATH of
    another labctl revision (`git archive REV labctl | tar -x -C DIR`)."""
    proc, wall = run([LABCTL, *args], timeout=timeout, env=env)
    data = None
    if "--json" in args:
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError:
            data = None
    return proc, wall, data


def rewrite_ix(src: Path, dst: Path, name: str, subnet: str, edit=None) -> dict:
    """Copy an ix.yml with a new lab name and management subnet (and an optional edit)."""
    doc = yaml.safe_load(src.read_text())
    doc["ix"]["name"] = name
    doc["ix"].setdefault("management", {})["ipv4_subnet"] = subnet
    if edit:
        edit(doc)
    dst.write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    return doc


def free_used_mb() -> int:
    out = subprocess.run(["free", "-m"], capture_output=True, text=True).stdout.splitlines()
    return int(out[1].split()[2])


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def docker_mem(prefix: str) -> dict[str, float]:
    """container name -> memory in MiB, for containers whose name starts with prefix."""
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"],
                         capture_output=True, text=True, timeout=300).stdout
    mem = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[0].startswith(prefix):
            continue
        mem[parts[0][len(prefix):]] = to_mib(parts[1])
    return mem


def to_mib(text: str) -> float:
    units = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "kB": 1e3 / 2**20, "MB": 1e6 / 2**20, "GB": 1e9 / 2**20, "B": 1 / 2**20}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def med(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def lo(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(min(values), 2) if values else None


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def ensure_down(lab: str) -> None:
    labctl("down", "--lab", lab, "--json", timeout=900)


def has_docker_and_clab() -> bool:
    return bool(shutil.which("docker") and shutil.which("containerlab"))
