#!/usr/bin/env python3
"""Wall time of `labctl up` by phase next to a bare `containerlab deploy` of the same topology.

Usage: sudo .venv/bin/python bench/bench_up.py [--ix topologies/regional-ix.yml] [--repeats 3]

Copies the IX file to a temporary folder as lab `b-up` on management subnet 172.30.230.0/24
(so it cannot collide with other labs), generates the containerlab topology once with
`labctl generate --image <node image>` (plus the ssh/authorized_keys bind file), then per
repeat: `containerlab deploy -t` (bare), `containerlab destroy -t --cleanup`, `labctl up --json`
(phases from its JSON), `labctl down`. Prints median and min, writes bench/results/up.json.
Needs root, Docker, containerlab and the node image (`labctl host setup`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import (REPO, ensure_down, labctl, lo, loadavg, med, now, rewrite_ix, run, table,
                      write_result)

from labctl.runtime.images import node_image_tag

PHASES = ["generate", "images", "deploy", "configure", "converge"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ix", type=Path, default=REPO / "topologies" / "regional-ix.yml")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lab", default="b-up")
    ap.add_argument("--subnet", default="172.30.230.0/24")
    args = ap.parse_args(argv)

    image = node_image_tag()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        tmp = Path(tmp)
        ix = tmp / "ix.yml"
        rewrite_ix(args.ix, ix, args.lab, args.subnet)
        gen = tmp / "gen"
        labctl("generate", str(ix), "-o", str(gen), "--image", image)
        topo = gen / f"{args.lab}.clab.yml"
        if not topo.exists():
            print(f"generate did not write {topo}", file=sys.stderr)
            return 1
        (gen / "ssh").mkdir(exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "bench_key")], check=True)
        (gen / "ssh" / "authorized_keys").write_text((tmp / "bench_key.pub").read_text())
        nodes = sum(1 for p in (gen / "configs").iterdir() if p.is_dir())
        print(f"lab {args.lab}: {nodes} nodes, image {image}", flush=True)
        try:
            for i in range(args.repeats):
                entry: dict = {"repeat": i + 1, "load_before": loadavg()}
                proc, wall = run(["containerlab", "deploy", "-t", str(topo), "--log-level", "warn"], timeout=1800)
                entry["bare_deploy"] = round(wall, 2) if proc.returncode == 0 else None
                entry["bare_deploy_rc"] = proc.returncode
                if proc.returncode:
                    entry["bare_deploy_error"] = proc.stderr[-1500:]
                proc, wall = run(["containerlab", "destroy", "-t", str(topo), "--cleanup", "--log-level", "warn"],
                                 timeout=900)
                entry["bare_destroy"] = round(wall, 2)
                entry["load_before_up"] = loadavg()
                proc, wall, data = labctl("up", str(ix), "--json", timeout=3600)
                entry["up_wall"] = round(wall, 2)
                entry["up_rc"] = proc.returncode
                entry["up_ok"] = bool(data and data.get("ok"))
                entry["phases"] = (data or {}).get("phases", {})
                entry["converge_seconds"] = (data or {}).get("convergence", {}).get("seconds")
                if not entry["up_ok"]:
                    entry["up_error"] = (proc.stderr or proc.stdout)[-2000:]
                _, wall, _ = labctl("down", str(ix), "--json", timeout=900)
                entry["down_wall"] = round(wall, 2)
                runs.append(entry)
                print(f"repeat {i + 1}: bare deploy {entry['bare_deploy']}s, labctl up {entry['up_wall']}s "
                      f"(ok={entry['up_ok']}) {entry['phases']}, down {entry['down_wall']}s", flush=True)
        finally:
            run(["containerlab", "destroy", "-t", str(topo), "--cleanup"], timeout=900)
            labctl("down", str(ix), "--json", timeout=900)
            ensure_down(args.lab)

    rows = []
    summary = {}
    for key, label in [("bare_deploy", "containerlab deploy (bare)"), ("bare_destroy", "containerlab destroy (bare)")]:
        vals = [r[key] for r in runs]
        summary[key] = {"median": med(vals), "min": lo(vals)}
        rows.append([label, med(vals), lo(vals)])
    for phase in PHASES:
        vals = [r["phases"].get(phase) for r in runs]
        summary[f"up.{phase}"] = {"median": med(vals), "min": lo(vals)}
        rows.append([f"labctl up: {phase}", med(vals), lo(vals)])
    for key, label in [("up_wall", "labctl up (total wall, incl. CLI start)"), ("down_wall", "labctl down")]:
        vals = [r[key] for r in runs]
        summary[key] = {"median": med(vals), "min": lo(vals)}
        rows.append([label, med(vals), lo(vals)])
    print()
    print(table(["step", "median s", "min s"], rows))
    path = write_result("up", {"date": now(), "ix": str(args.ix.relative_to(REPO)) if args.ix.is_relative_to(REPO)
                               else str(args.ix), "lab": args.lab, "nodes": nodes, "image": image,
                               "repeats": args.repeats, "summary": summary, "runs": runs})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
