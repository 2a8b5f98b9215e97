#!/usr/bin/env python3
"""Benchmark `validate + generate` for large IXes: per stage in-process, and the whole CLI.

    .venv/bin/python bench/bench_generate.py                 # 100, 250 and 1,000 members, 5 runs each
    .venv/bin/python bench/bench_generate.py --members 1000 --runs 5

For each size it writes a synthetic IX (bench/make_large_ix.py) into a temp dir, then times,
median of --runs runs:

  in-process  (a) load+validate  labctl.model.load.load
              (b) plan           labctl.plan.build_plan
              (c) render         labctl.render.render_lab
              (d) write          labctl.render.write_lab into an empty dir
              total = a+b+c+d per run (median of the per-run totals)
  CLI         `labctl validate FILE` and `labctl generate FILE -o DIR --image labctl/node:bench`
              in a subprocess: wall time including Python start-up and imports

and writes bench/results/generate-<N>.json. Exit status 1 when the 1,000-member (or largest)
run misses the target: CLI generate (which validates too) under --target seconds.

Wall time is the headline. CPU time (user+sys of this process, or of the CLI child) is recorded
next to it: on a shared machine it shows how much of a slow run was waiting for a core. The
load average at the start and end of each size is recorded too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from make_large_ix import render as make_ix  # noqa: E402

import labctl  # noqa: E402
from labctl.model.load import load  # noqa: E402
from labctl.plan import build_plan  # noqa: E402
from labctl.render import render_lab, write_lab  # noqa: E402

IMAGE = "labctl/node:bench"
STAGES = ["load_validate", "plan", "render", "write"]


def labctl_bin() -> str:
    for candidate in (ROOT / ".venv" / "bin" / "labctl", Path(sys.executable).parent / "labctl"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("labctl")
    if not found:
        sys.exit("labctl executable not found: install the package (pip install -e .)")
    return found


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform()}


def summary(samples: list[float]) -> dict:
    return {"median": round(statistics.median(samples), 4), "min": round(min(samples), 4), "max": round(max(samples), 4),
            "samples": [round(s, 4) for s in samples]}


def bench_in_process(ix_file: Path, work: Path, runs: int) -> tuple[dict, dict]:
    wall: dict[str, list[float]] = {s: [] for s in [*STAGES, "total"]}
    cpu: dict[str, list[float]] = {s: [] for s in [*STAGES, "total"]}
    info: dict = {}
    for run in range(runs):
        outdir = work / f"inproc-{run}"
        outdir.mkdir()
        marks = [(time.perf_counter(), time.process_time())]
        model = load(ix_file)
        marks.append((time.perf_counter(), time.process_time()))
        plan = build_plan(model)
        marks.append((time.perf_counter(), time.process_time()))
        files = render_lab(plan, IMAGE)
        marks.append((time.perf_counter(), time.process_time()))
        write_lab(files, outdir)
        marks.append((time.perf_counter(), time.process_time()))
        for i, stage in enumerate(STAGES):
            wall[stage].append(marks[i + 1][0] - marks[i][0])
            cpu[stage].append(marks[i + 1][1] - marks[i][1])
        wall["total"].append(marks[-1][0] - marks[0][0])
        cpu["total"].append(marks[-1][1] - marks[0][1])
        info = {"nodes": len(plan.nodes), "files": len(files), "bytes": sum(len(t.encode()) for t in files.values()),
                "sessions": len(plan.sessions())}
        del model, plan, files
    result = {stage: summary(wall[stage]) for stage in wall}
    for stage in cpu:
        result[stage]["cpu_median"] = summary(cpu[stage])["median"]
    return result, info


def run_timed(cmd: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run `cmd`; return it with its wall time and CPU time (user+sys of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return proc, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_cli(ix_file: Path, work: Path, runs: int) -> dict:
    exe = labctl_bin()
    wall: dict[str, list[float]] = {"validate": [], "generate": []}
    cpu: dict[str, list[float]] = {"validate": [], "generate": []}
    for run in range(runs):
        outdir = work / f"cli-{run}"
        for name, cmd in (("validate", [exe, "validate", str(ix_file)]),
                          ("generate", [exe, "generate", str(ix_file), "-o", str(outdir), "--image", IMAGE])):
            proc, w, c = run_timed(cmd)
            if proc.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
            wall[name].append(w)
            cpu[name].append(c)
    result = {name: summary(v) for name, v in wall.items()}
    for name in cpu:
        result[name]["cpu_median"] = summary(cpu[name])["median"]
    return result


def bench(n: int, runs: int, tmpdir: Path | None = None) -> dict:
    load_before = os.getloadavg()
    # Outputs are deleted only at the end: on ext4 (here mounted with `discard`) a big delete
    # slows the file creation that follows it, which would blur the write figures.
    with tempfile.TemporaryDirectory(prefix=f"labctl-bench-{n}-", dir=tmpdir) as tmp:
        work = Path(tmp)
        ix_file = work / f"ix-{n}.yml"
        ix_file.write_text(make_ix(n))
        stages, info = bench_in_process(ix_file, work, runs)
        cli = bench_cli(ix_file, work, runs)
        size = ix_file.stat().st_size
    load_after = os.getloadavg()
    os.sync()
    return {"members": n, "runs": runs, "statistic": "median", "unit": "seconds",
            "input_bytes": size, **info, "in_process": stages, "cli": cli, "tmpdir": str(tmpdir or tempfile.gettempdir()),
            "loadavg_1min": {"start": round(load_before[0], 2), "end": round(load_after[0], 2)}}


def table(results: list[dict]) -> str:
    cols = [("members", lambda r: f"{r['members']:>7}"), ("nodes", lambda r: f"{r['nodes']:>5}"),
            ("files", lambda r: f"{r['files']:>5}")]
    cols += [(s, (lambda s: lambda r: f"{r['in_process'][s]['median']:8.3f}")(s)) for s in [*STAGES, "total"]]
    cols += [("cpu total", lambda r: f"{r['in_process']['total']['cpu_median']:9.3f}"),
             ("cli validate", lambda r: f"{r['cli']['validate']['median']:12.3f}"),
             ("cli generate", lambda r: f"{r['cli']['generate']['median']:12.3f}"),
             ("cli gen cpu", lambda r: f"{r['cli']['generate']['cpu_median']:11.3f}"),
             ("load", lambda r: f"{r['loadavg_1min']['start']:4.1f}")]
    widths = [max(len(h), len(f(results[0]))) for h, f in cols]
    lines = ["  ".join(h.rjust(w) for (h, _), w in zip(cols, widths))]
    lines += ["  ".join(f(r).rjust(w) for (_, f), w in zip(cols, widths)) for r in results]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, nargs="+", default=[100, 250, 1000], help="IX sizes to run")
    ap.add_argument("--runs", type=int, default=5, help="runs per measurement (the median is reported)")
    ap.add_argument("--results", type=Path, default=HERE / "results", help="folder for generate-<N>.json")
    ap.add_argument("--target", type=float, default=2.0, help="seconds the largest IX must stay under")
    ap.add_argument("--tmpdir", type=Path, help="where the IX file and outputs go [default: the system temp dir]; "
                    "e.g. /dev/shm to take the disk out of the write figures")
    args = ap.parse_args(argv)

    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
            "git": subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                                  capture_output=True, text=True).stdout.strip(),
            "labctl": str(Path(labctl.__file__).parent)}  # another checkout when run with PYTHONPATH
    args.results.mkdir(parents=True, exist_ok=True)
    results = []
    for n in sorted(args.members):
        print(f"benchmarking {n} members ({args.runs} runs) ...", file=sys.stderr, flush=True)
        r = bench(n, args.runs, args.tmpdir)
        r["target"] = {"seconds": args.target, "measure": "cli.generate.median (load+validate+plan+render+write, "
                       "Python start-up included)", "met": r["cli"]["generate"]["median"] < args.target}
        r.update(meta)
        (args.results / f"generate-{n}.json").write_text(json.dumps(r, indent=2) + "\n")
        results.append(r)
    print(f"\nmedian of {args.runs} runs, seconds (wall unless 'cpu'; load = 1-min load average at start); "
          f"{meta['machine']['cpus']} CPUs, {meta['machine']['cpu']}, "
          f"Python {meta['machine']['python']}, {meta['date']}, {meta['git']}")
    print(table(results))
    big = results[-1]
    verdict = big["target"]
    print(f"\n{big['members']} members: in-process total {big['in_process']['total']['median']:.3f} s, "
          f"CLI generate {big['cli']['generate']['median']:.3f} s "
          f"({'under' if verdict['met'] else 'OVER'} the {args.target:g} s target)")
    return 0 if verdict["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
