#!/usr/bin/env python3
"""Wall time of `labctl up` by phase next to a bare `containerlab deploy` of the same topology.

Usage: sudo .venv/bin/python bench/bench_up.py [--ix topologies/regional-ix.yml] [--repeats 3]
                                               [--stacks trixie,bookworm] [--code before=/tmp/old --code after=.]

Copies the IX file to a temporary folder as lab `b-up` (`b-up-<stack>` with --stacks, the IX's
`ix.stack` set to that stack) on management subnet 172.31.230.0/24 (so it cannot collide with
other labs), builds the node images it needs when missing, generates the containerlab topology
once with `labctl generate` (plus the ssh/ files it binds: authorized_keys, host keys), then per repeat and stack
(stacks alternate within a repeat), holding /tmp/labctl-lab.lock for one repeat of every stack:
`containerlab deploy -t` (bare), `containerlab destroy -t --cleanup`, `labctl up --json` (phases
from its JSON), `labctl down`. Prints median and min per stack, writes bench/results/up.json
(up-stacks.json with --stacks). Needs root, Docker and containerlab (`labctl host setup`).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import (REPO, ensure_down, labctl, lo, loadavg, med, now, rewrite_ix, run, table,
                      write_result)

from labctl.daemons.stacks import STACKS
from labctl.model.load import load_text
from labctl.plan import build_plan
from labctl.runtime.images import ensure_node_image
from labctl.render.artefacts import socket_bind
from labctl.runtime.labdir import ensure_socket_dirs, ensure_ssh_key

import benchlib

LAB_LOCK = "/tmp/labctl-lab.lock"  # one lab at a time on a shared host: held per repeat

PHASES = ["generate", "images", "deploy", "configure", "converge"]


def prepare(args, stack: str | None, tmp: Path) -> dict:
    """The IX as lab `<lab>[-<stack>]` on `stack` (None: as the file says), its topology generated
    with each node's stack image (built when missing), and the files and folders it binds (ssh/, run/)."""
    lab = f"{args.lab}-{stack}" if stack else args.lab
    work = tmp / (stack or "ix")
    work.mkdir()
    ix = work / "ix.yml"

    def edit(doc: dict) -> None:
        if stack:
            doc["ix"]["stack"] = stack

    rewrite_ix(args.ix, ix, lab, args.subnet, edit)
    plan = build_plan(load_text(ix.read_text(), str(ix)))
    images = {key: ensure_node_image(key) for key in sorted({plan.default_image, *plan.image_keys})}
    gen = work / "gen"
    labctl("generate", str(ix), "-o", str(gen))
    topo = gen / f"{lab}.clab.yml"
    if not topo.exists():
        raise SystemExit(f"generate did not write {topo}")
    ensure_ssh_key(gen)  # ssh/authorized_keys and the host keys the topology binds
    ensure_socket_dirs(gen, [n.name for n in plan.nodes.values() if socket_bind(n)])  # and run/<node>: containerlab
    # refuses a bind whose source is missing
    nodes = sum(1 for p in (gen / "configs").iterdir() if p.is_dir())
    return {"stack": stack or plan.model.ix.stack, "lab": lab, "ix": ix, "topo": topo, "nodes": nodes, "images": images}


def one_repeat(target: dict, i: int, codes: dict[str, str | None]) -> list[dict]:
    """Bare containerlab deploy + destroy, then per code tree labctl up + down (the caller holds the lab lock)."""
    ix, topo = str(target["ix"]), str(target["topo"])
    entry: dict = {"repeat": i + 1, "stack": target["stack"]}
    entry["start"], entry["load_before"] = now(), loadavg()
    proc, wall = run(["containerlab", "deploy", "-t", topo, "--log-level", "warn"], timeout=1800)
    entry["bare_deploy"] = round(wall, 2) if proc.returncode == 0 else None
    entry["bare_deploy_rc"] = proc.returncode
    if proc.returncode:
        entry["bare_deploy_error"] = proc.stderr[-1500:]
    proc, wall = run(["containerlab", "destroy", "-t", topo, "--cleanup", "--log-level", "warn"], timeout=900)
    entry["bare_destroy"] = round(wall, 2)
    entries = []
    for label, path in codes.items():
        benchlib.set_code(path)
        entries.append(_up_down(target, {**entry, "code": label, "code_path": path}))
    benchlib.set_code(None)
    return entries


def _up_down(target: dict, entry: dict) -> dict:
    """`labctl up --json` (its phases) and `labctl down`, with the code tree benchlib.set_code chose."""
    ix = str(target["ix"])
    entry["load_before_up"] = loadavg()
    try:
        proc, wall, data = labctl("up", ix, "--json", timeout=3600)
        entry["up_wall"] = round(wall, 2)
        entry["up_rc"] = proc.returncode
        entry["up_ok"] = bool(data and data.get("ok"))
        entry["phases"] = (data or {}).get("phases", {})
        entry["converge_seconds"] = (data or {}).get("convergence", {}).get("seconds")
        if not entry["up_ok"]:
            entry["up_error"] = (proc.stderr or proc.stdout)[-2000:]
    finally:
        _, wall, _ = labctl("down", ix, "--json", timeout=900)
        entry["down_wall"] = round(wall, 2)
        ensure_down(target["lab"])
    return entry


def summarise(runs: list[dict]) -> tuple[dict, list[list]]:
    rows, summary = [], {}
    steps = [("bare_deploy", "containerlab deploy (bare)"), ("bare_destroy", "containerlab destroy (bare)")]
    steps += [(f"up.{p}", f"labctl up: {p}") for p in PHASES]
    steps += [("up_wall", "labctl up (total wall, incl. CLI start)"), ("down_wall", "labctl down")]
    steps += [("ratio_up", "ratio: up total / bare deploy"), ("ratio_deploy", "ratio: up deploy / bare deploy")]
    for r in runs:  # each run against the bare deploy of its own repeat
        bare = r.get("bare_deploy")
        r["ratio_up"] = round(r["up_wall"] / bare, 2) if bare and r.get("up_wall") else None
        dep = r.get("phases", {}).get("deploy")
        r["ratio_deploy"] = round(dep / bare, 2) if bare and dep else None
    for key, label in steps:
        vals = [r.get("phases", {}).get(key[3:]) if key.startswith("up.") else r.get(key) for r in runs]
        summary[key] = {"median": med(vals), "min": lo(vals)}
        rows.append([label, med(vals), lo(vals)])
    return summary, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ix", type=Path, default=REPO / "topologies" / "regional-ix.yml")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lab", default="b-up")
    ap.add_argument("--subnet", default="172.31.230.0/24")
    ap.add_argument("--stacks", help="comma-separated stacks (e.g. trixie,bookworm), measured alternately in one run")
    ap.add_argument("--results", help="bench/results/<name>.json [up, or up-stacks with --stacks]")
    ap.add_argument("--code", action="append", metavar="LABEL=PATH",
                    help="run labctl up from this source tree (PYTHONPATH) too; repeatable, e.g. "
                         "--code before=/tmp/base --code after=. (a tree from `git archive REV labctl images topologies`); "
                         "every tree runs in the same repeat, after the same bare deploy")
    args = ap.parse_args(argv)
    codes: dict[str, str | None] = {"": None}
    if args.code:
        codes = {c.split("=", 1)[0]: str(Path(c.split("=", 1)[1]).resolve()) for c in args.code}
    stack_names = args.stacks.split(",") if args.stacks else [None]
    unknown = [s for s in stack_names if s and s not in STACKS]
    if unknown:
        ap.error(f"unknown stack {', '.join(unknown)}; known: {', '.join(STACKS)}")

    runs: list[dict] = []
    started = now()
    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        targets = [prepare(args, s, Path(tmp)) for s in stack_names]
        for t in targets:
            print(f"lab {t['lab']}: stack {t['stack']}, {t['nodes']} nodes, images {t['images']}", flush=True)
        for i in range(args.repeats):
            with open(LAB_LOCK, "w") as lock:  # one repeat of every stack (a few minutes)
                if os.environ.get("LABCTL_LAB_LOCK_HELD") != "1":  # else the caller holds it
                    fcntl.flock(lock, fcntl.LOCK_EX)
                for t in targets:  # alternate the stacks, so both see the same host noise
                    for entry in one_repeat(t, i, codes):
                        runs.append(entry)
                        print(f"repeat {i + 1} {t['stack']} {entry['code']}: bare deploy {entry['bare_deploy']}s, "
                              f"labctl up {entry.get('up_wall')}s (ok={entry.get('up_ok')}) {entry.get('phases')}, "
                              f"down {entry['down_wall']}s, load {entry['load_before_up'][0]}", flush=True)

    result = {"date": started, "end": now(), "ix": str(args.ix.relative_to(REPO)) if args.ix.is_relative_to(REPO)
              else str(args.ix), "repeats": args.repeats, "stacks": {}, "runs": runs}
    for t in targets:
        for label in codes:
            summary, rows = summarise([r for r in runs if r["stack"] == t["stack"] and r["code"] == label])
            key = f"{t['stack']} {label}".strip()
            result["stacks"][key] = {"lab": t["lab"], "nodes": t["nodes"], "images": t["images"],
                                     "code": codes[label], "summary": summary}
            print(f"\n{key} ({t['nodes']} nodes)")
            print(table(["step", "median s", "min s"], rows))
    if len(result["stacks"]) > 1:
        print("\n" + table(["step (median s)", *result["stacks"]],
                           [[k, *(result["stacks"][s]["summary"][k]["median"] for s in result["stacks"])]
                            for k in next(iter(result["stacks"].values()))["summary"]]))
    path = write_result(args.results or ("up-stacks" if args.stacks else "up"), result)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
