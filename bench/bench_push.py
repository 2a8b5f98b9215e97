#!/usr/bin/env python3
"""Push throughput: `labctl push` of a change that touches every member of a >= 30-node lab.

Usage: sudo .venv/bin/python bench/bench_push.py [--members 28] [--rounds 2]
       [--variant LABEL=PYTHONPATH[,EXTRA-ARG...]]...

Writes a synthetic IX with bench/make_large_ix.py (2 route servers, 4 switches, N members;
lab `b-push`, management subnet 172.31.231.0/24), `labctl up --json` it, then per round adds one
more IPv4 /24 (inside the lab prefix space 100.64.0.0/10) to every member in the ix.yml and times
`labctl push --dry-run --json` (diff only) and `labctl push --json` (diff + apply + verify).
Reports nodes changed, nodes per second (applied nodes / push wall time, CLI start included) and
the phases from push's stamped progress lines (diff, apply, verify).

Variants compare labctl revisions (or options) in one run, one after the other, each on a lab of
its own (up, rounds, down: push refuses a lab whose topology another revision rendered).
`--variant before=/tmp/rev-base` runs
`labctl` with PYTHONPATH=/tmp/rev-base (a `git archive REV labctl | tar -x -C /tmp/rev-base`
checkout); text after a comma is passed to push (`after-w8=/work/labctl,--workers,8`). Without
--variant, the installed labctl is measured. `labctl down` after each variant (also on error). Writes bench/results/push.json (or --results).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
import tempfile
from pathlib import Path

import yaml
from benchlib import ensure_down, labctl, loadavg, now, rewrite_ix, run, table, write_result

HERE = Path(__file__).resolve().parent
STAMP = re.compile(r"^\[\s*([\d.]+)s\] push: (diff|apply|verify|roll back)", re.M)


def add_prefix(doc: dict, rnd: int) -> None:
    """Give member i the extra /24 100.(96 + 8*rnd).i.0/24-ish: inside 100.64.0.0/10, clear of make_large_ix's."""
    base = int(ipaddress.IPv4Address("100.96.0.0")) + (rnd << 16) * 8
    for i, member in enumerate(doc["members"]):
        member["prefixes"].append(str(ipaddress.IPv4Network((base + (i << 8), 24))))


def parse_variant(text: str) -> tuple[str, dict[str, str], list[str]]:
    label, _, rest = text.partition("=")
    path, *extra = rest.split(",") if rest else [""]
    return label, ({"PYTHONPATH": path} if path else {}), extra


def phases(stderr: str, seconds: float | None) -> dict[str, float]:
    """diff/apply/verify seconds from push's stamped progress lines."""
    marks = [(m.group(2), float(m.group(1))) for m in STAMP.finditer(stderr)]
    out = {}
    for (name, start), nxt in zip(marks, marks[1:] + [("end", seconds or 0.0)]):
        out[name] = round(nxt[1] - start, 2)
    return out


def push_round(ix: Path, env: dict, extra: list[str], timeout: str) -> dict:
    entry: dict = {"load_before": loadavg()}
    proc, wall, dry = labctl("push", str(ix), "--dry-run", "--json", timeout=1800, env=env)
    would = [n["node"] for n in (dry or {}).get("nodes", []) if n["status"] == "would-change"]
    entry["dry_run"] = {"wall": round(wall, 2), "seconds": (dry or {}).get("seconds"),
                        "would_change": len(would), "rc": proc.returncode}
    proc, wall, rep = labctl("push", str(ix), "--json", "--timeout", timeout, *extra, timeout=3600, env=env)
    nodes = (rep or {}).get("nodes", [])
    status: dict[str, int] = {}
    for n in nodes:
        status[n["status"]] = status.get(n["status"], 0) + 1
    applied = status.get("applied", 0)
    conv = (rep or {}).get("convergence") or {}
    entry["push"] = {"wall": round(wall, 2), "seconds": (rep or {}).get("seconds"), "rc": proc.returncode,
                     "ok": bool(rep and rep.get("ok")), "status": status,
                     "changed": applied + status.get("rolled-back", 0) + status.get("failed", 0),
                     "phases": phases(proc.stderr, (rep or {}).get("seconds")),
                     "verify_seconds": conv.get("seconds"), "converged": conv.get("converged"),
                     "nodes_per_s": round(applied / wall, 2) if wall else None}
    if not entry["push"]["ok"]:
        entry["push"]["errors"] = {n["node"]: n.get("error") for n in nodes if n.get("error")}
        entry["push"]["down_sessions"] = conv.get("down_sessions", [])[:20]
        entry["push"]["stderr"] = proc.stderr[-1500:]
        entry["push"]["stdout"] = proc.stdout[-1500:]
    return entry


def run_variant(args, label: str, env: dict, extra: list[str], tmp: Path) -> dict:
    """One variant on a lab of its own: `up`, the rounds, `down` (a revision renders its own
    topology, and push refuses a lab whose topology another revision deployed)."""
    src, ix = tmp / "large.yml", tmp / f"ix-{label}.yml"
    doc = rewrite_ix(src, ix, args.lab, args.subnet)
    out: dict = {"variant": label, "env": env, "push_args": extra, "rounds": []}
    try:
        proc, wall, data = labctl("up", str(ix), "--json", "--timeout", args.timeout, timeout=3600, env=env)
        out["up"] = {"wall": round(wall, 2), "rc": proc.returncode, "ok": bool(data and data.get("ok")),
                     "phases": (data or {}).get("phases"), "nodes": len((data or {}).get("configured", []))}
        if not out["up"]["ok"]:
            out["up"]["error"] = (data or {}).get("convergence", {}).get("down_sessions") or proc.stderr[-1500:]
        print(f"{label} up: {out['up']['wall']}s ok={out['up']['ok']} phases {out['up']['phases']}", flush=True)
        if data is None:
            print(proc.stderr[-3000:], file=sys.stderr)
            return out
        for rnd in range(args.rounds):
            add_prefix(doc, rnd)
            ix.write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
            entry = {"round": rnd + 1, "variant": label, **push_round(ix, env, extra, args.timeout)}
            out["rounds"].append(entry)
            print(f"round {rnd + 1} {label}: dry-run {entry['dry_run']}, push {entry['push']}", flush=True)
    finally:
        _, wall, _ = labctl("down", str(ix), "--json", timeout=900, env=env)
        out["down_wall"] = round(wall, 2)
        ensure_down(args.lab)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=28)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--lab", default="b-push")
    ap.add_argument("--subnet", default="172.31.231.0/24")
    ap.add_argument("--timeout", default="300", help="labctl up/push --timeout (seconds)")
    ap.add_argument("--variant", action="append", default=[], help="LABEL=PYTHONPATH[,PUSH-ARG...] (repeatable)")
    ap.add_argument("--results", default="push", help="name of the JSON file under bench/results/")
    args = ap.parse_args(argv)
    variants = [parse_variant(v) for v in args.variant] or [("installed", {}, [])]

    result: dict = {"date": now(), "lab": args.lab, "members": args.members, "variants": []}
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        tmp = Path(tmp)
        run([sys.executable, str(HERE / "make_large_ix.py"), str(args.members), "-o", str(tmp / "large.yml")], check=True)
        for label, env, extra in variants:
            result["variants"].append(run_variant(args, label, env, extra, tmp))

    rows = []
    for v in result["variants"]:
        for e in v["rounds"]:
            p, d = e["push"], e["dry_run"]
            ph = p["phases"]
            rows.append([e["round"], e["variant"], v["up"]["nodes"], d["would_change"], d["wall"], p["changed"],
                         p["wall"], ph.get("diff"), ph.get("apply"), ph.get("verify"), p["nodes_per_s"], p["ok"]])
    print()
    print(table(["round", "variant", "nodes", "would change", "dry-run s", "changed", "push s (wall)", "diff s",
                 "apply s", "verify s", "nodes/s", "ok"], rows))
    path = write_result(args.results, result)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
