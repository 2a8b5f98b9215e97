#!/usr/bin/env python3
"""`labctl up` wall time, CPU and memory for growing synthetic IXs (two route servers).

Usage: sudo .venv/bin/python bench/bench_scale.py [--sizes 25,50,100] [--timeout 900] [--rs-daemon bird]
                                                  [--code before=/tmp/old --code after=.] [--status-repeats 3]

Per size N: bench/make_large_ix.py N (4 sites/switches, rs1 BIRD + rs2 FRR, N members, one in
three BIRD) as lab `b-sN` on management subnet 172.31.232/233/234.0/24, then `labctl up --json
--timeout T` while a sampler thread records host CPU busy (from /proc/stat) and used memory
(`free -m` equivalent from /proc/meminfo) every 2 s; after up returns: `docker stats --no-stream`
memory per node kind, host memory used, rendered config sizes; if up did not converge, a summary
of `labctl status --json` (sessions Established per node). `labctl down` always (finally).
Each size (and each --code tree) holds /tmp/labctl-lab.lock from up to down, so no other lab runs
next to it (LABCTL_LAB_LOCK_HELD=1: the caller holds it, e.g. `flock /tmp/labctl-lab.lock ...`). After up: `labctl status --json` timed --status-repeats times (the lab converged); with --status-transports ssh,socket each round times
it over SSH and through the daemons' control sockets (LABCTL_CONTROL), on the same lab.
Writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import benchlib
from benchlib import (docker_mem, ensure_down, free_used_mb, labctl, loadavg, now, rewrite_ix, run, table,
                      write_result)

HERE = Path(__file__).resolve().parent
PHASES = ["generate", "images", "deploy", "configure", "converge"]
# 172.31.x: the integration tests use 172.30.x (a bench lab left up must not block a test run)
SUBNETS = {25: "172.31.232.0/24", 50: "172.31.233.0/24", 100: "172.31.234.0/24", 250: "172.31.250.0/23"}


class Sampler(threading.Thread):
    """Host CPU busy fraction and used memory every `interval` seconds."""

    def __init__(self, interval: float = 2.0):
        super().__init__(daemon=True)
        self.interval, self.samples, self.stop_flag = interval, [], threading.Event()
        self.t0 = time.monotonic()

    @staticmethod
    def _cpu() -> tuple[int, int]:
        vals = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = vals[3] + vals[4]
        return sum(vals) - idle, sum(vals)

    @staticmethod
    def _mem_used_mb() -> int:
        info = {l.split(":")[0]: int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines()}
        return (info["MemTotal"] - info["MemAvailable"]) // 1024

    def run(self) -> None:
        busy0, total0 = self._cpu()
        while not self.stop_flag.wait(self.interval):
            busy, total = self._cpu()
            frac = (busy - busy0) / (total - total0) if total > total0 else 0.0
            busy0, total0 = busy, total
            self.samples.append((round(time.monotonic() - self.t0, 1), round(frac, 3), self._mem_used_mb(),
                                 float(Path("/proc/loadavg").read_text().split()[0])))

    def window(self, start: float, end: float) -> dict:
        got = [s for s in self.samples if start <= s[0] <= end + self.interval]
        if not got:
            return {}
        return {"cpu_busy_mean": round(statistics.mean(s[1] for s in got), 2),
                "load1_max": max(s[3] for s in got), "mem_used_max_mb": max(s[2] for s in got)}


def kind_of(node: str, daemons: dict[str, str]) -> str:
    if node in ("rs1", "rs2"):
        return f"route server {(RS_DAEMON or ('bird' if node == 'rs1' else 'frr')).upper()}"
    if node.startswith("sw-") or node in ("s1", "s2", "s3", "s4"):
        return "switch"
    return f"member {daemons.get(node, '?').upper()}"


def status_summary(lab: str) -> dict:
    proc, wall, data = labctl("status", "--lab", lab, "--json", timeout=900)
    if not data:
        return {"rc": proc.returncode, "error": (proc.stderr or proc.stdout)[-800:], "wall": round(wall, 2)}
    summary: dict = {"wall": round(wall, 2)}
    per_node = {}
    nodes = data.get("bgp") or data.get("sessions") or data.get("nodes") or {}
    if isinstance(nodes, dict):
        for name, info in nodes.items():
            sessions = info.get("sessions") if isinstance(info, dict) else info
            if isinstance(sessions, list) and sessions and isinstance(sessions[0], dict) and "state" in sessions[0]:
                per_node[name] = f"{sum(1 for s in sessions if s.get('state') == 'Established')}/{len(sessions)}"
    summary["established_per_node"] = per_node
    summary["keys"] = sorted(data)
    return summary


KICK_RS2 = False


def kick_rs2(lab: str, limit: float = 600) -> dict:
    """Workaround probe, not labctl behaviour: `clear bgp *` on the FRR route server, then poll
    `labctl status --json` until the lab converges; how long the rest of the lab needs once rs2 runs."""
    t0 = time.monotonic()
    proc, _ = run(["docker", "exec", f"clab-{lab}-rs2", "vtysh", "-c", "clear bgp *"], timeout=300)
    polls = []
    while time.monotonic() - t0 < limit:
        p, wall, data = labctl("status", "--lab", lab, "--json", timeout=900)
        conv = (data or {}).get("convergence", {})
        polls.append({"t": round(time.monotonic() - t0, 1), "status_wall": round(wall, 1),
                      "converged": bool(data and data.get("converged")),
                      "down_sessions": len(conv.get("down_sessions", [])),
                      "missing_routes_members": len(conv.get("missing_routes", {})),
                      "unreachable": sorted(conv.get("unreachable", {}))})
        print(f"  kick rs2: {polls[-1]}", flush=True)
        if polls[-1]["converged"]:
            break
    return {"clear_rc": proc.returncode, "converged": bool(polls and polls[-1]["converged"]),
            "seconds": polls[-1]["t"] if polls else None, "polls": polls}


LAB_LOCK = "/tmp/labctl-lab.lock"
RS_DAEMON: str | None = None
STATUS_REPEATS = 3
STATUS_TRANSPORTS: list[str] = []


def one(n: int, timeout: str, tmp: Path) -> dict:
    if os.environ.get("LABCTL_LAB_LOCK_HELD") == "1":  # a caller holds the lock for several runs
        return _one(n, timeout, tmp)
    with open(LAB_LOCK, "w") as lock:  # the whole lab's life: up, status, down
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _one(n, timeout, tmp)


def _edit(doc: dict) -> None:
    if RS_DAEMON:
        for rs in doc["route_servers"]:
            rs["daemon"] = RS_DAEMON


def _cpu_seconds(entry: dict, sampler: "Sampler") -> None:
    """Host CPU seconds per phase (busy fraction x cores x phase length), next to the busy fraction."""
    cores = len([l for l in Path("/proc/stat").read_text().splitlines() if l.startswith("cpu") and l[3:4].isdigit()])
    for ph, win in entry.get("cpu_mem_per_phase", {}).items():
        if win and entry["phases"].get(ph) is not None:
            win["cpu_seconds"] = round(win["cpu_busy_mean"] * cores * entry["phases"][ph], 1)


def _status_times(lab: str) -> list[float]:
    out = []
    for _ in range(STATUS_REPEATS):
        proc, wall, data = labctl("status", "--lab", lab, "--json", timeout=900)
        out.append(round(wall, 2) if proc.returncode == 0 else None)
    return out


def _status_by_transport(lab: str) -> dict:
    """`labctl status` through each transport in turn (LABCTL_CONTROL=ssh|socket), STATUS_REPEATS
    rounds, alternating: wall s, CPU s of the labctl process, host CPU s (busy fraction x cores x
    wall: the nodes' sshd, shells and vtysh/birdc too), and whether each run said converged."""
    cores = len([l for l in Path("/proc/stat").read_text().splitlines() if l.startswith("cpu") and l[3:4].isdigit()])
    out: dict = {t: {"wall": [], "labctl_cpu": [], "host_cpu": [], "converged": []} for t in STATUS_TRANSPORTS}
    for _ in range(STATUS_REPEATS):
        for transport in STATUS_TRANSPORTS:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            busy0, total0 = Sampler._cpu()
            proc, wall, data = labctl("status", "--lab", lab, "--json", timeout=900, env={"LABCTL_CONTROL": transport})
            busy1, total1 = Sampler._cpu()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            r = out[transport]
            r["wall"].append(round(wall, 2))
            r["labctl_cpu"].append(round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2))
            r["host_cpu"].append(round((busy1 - busy0) / max(1, total1 - total0) * cores * wall, 2))
            r["converged"].append(bool(data and data.get("converged")))
            print(f"  status via {transport}: {wall:.2f} s, converged {r['converged'][-1]}", flush=True)
    for r in out.values():
        r["wall_median"] = statistics.median(r["wall"])
    return out


def _one(n: int, timeout: str, tmp: Path) -> dict:
    lab = f"b-s{n}"
    src, ix = tmp / f"large-{n}.yml", tmp / f"ix-{n}.yml"
    run([sys.executable, str(HERE / "make_large_ix.py"), str(n), "-o", str(src)], check=True)
    doc = rewrite_ix(src, ix, lab, SUBNETS.get(n, f"172.31.{200 + n % 30}.0/24"), _edit)
    daemons = {m["name"]: m["daemon"] for m in doc["members"]}
    entry: dict = {"members": n, "lab": lab, "nodes": n + 2 + 4, "timeout": float(timeout),
                   "route_servers": [rs["daemon"] for rs in doc["route_servers"]],
                   "load_before": loadavg(), "host_mem_used_before_mb": free_used_mb()}
    sampler = Sampler()
    sampler.start()
    try:
        proc, wall, data = labctl("up", str(ix), "--json", "--timeout", timeout, timeout=7200)
        sampler.stop_flag.set()
        sampler.join()
        entry.update({"up_wall": round(wall, 2), "up_rc": proc.returncode, "ok": bool(data and data.get("ok")),
                      "phases": (data or {}).get("phases", {}), "deploy_action": (data or {}).get("deploy_action")})
        # CPU/memory per phase: phases run back to back after the CLI's start-up.
        offset = max(0.0, wall - sum(entry["phases"].values()))
        t, per_phase = offset, {}
        for ph in PHASES:
            d = entry["phases"].get(ph)
            if d is None:
                continue
            per_phase[ph] = sampler.window(t, t + d)
            t += d
        entry["cpu_mem_per_phase"] = per_phase
        _cpu_seconds(entry, sampler)
        entry["host_mem_used_peak_mb"] = max((s[2] for s in sampler.samples), default=None)
        entry["cpu_busy_mean"] = round(statistics.mean(s[1] for s in sampler.samples), 2) if sampler.samples else None
        entry["samples"] = sampler.samples
        if data is None:
            entry["error"] = (proc.stderr or proc.stdout)[-3000:]
            return entry
        conv = data.get("convergence", {})
        entry["converge_seconds"] = conv.get("seconds")
        entry["failed_nodes"] = data.get("failed_nodes")
        entry["down_sessions_count"] = len(conv.get("down_sessions", []))
        entry["down_sessions_sample"] = conv.get("down_sessions", [])[:10]
        down_by_node: dict[str, int] = {}
        for s in conv.get("down_sessions", []):
            down_by_node[s.split(" -> ")[0]] = down_by_node.get(s.split(" -> ")[0], 0) + 1
        entry["down_sessions_by_node"] = dict(sorted(down_by_node.items(), key=lambda kv: -kv[1])[:10])
        entry["missing_routes_members"] = len(conv.get("missing_routes", {}))
        entry["unreachable"] = conv.get("unreachable")
        entry["host_mem_used_after_mb"] = free_used_mb()
        mem = docker_mem(f"clab-{lab}-")
        entry["container_mem_mib"] = {k: round(v, 1) for k, v in mem.items()}
        kinds: dict[str, list[float]] = {}
        for node, mib in mem.items():
            kinds.setdefault(kind_of(node, daemons), []).append(mib)
        entry["mem_by_kind"] = {k: {"count": len(v), "median_mib": round(statistics.median(v), 1),
                                    "max_mib": round(max(v), 1), "sum_mib": round(sum(v), 1)}
                                for k, v in sorted(kinds.items())}
        entry["containers_mem_total_mib"] = round(sum(mem.values()), 1)
        workdir = Path(data.get("workdir", ""))
        entry["config_bytes"] = {name: sum(f.stat().st_size for f in (workdir / "configs" / name).iterdir())
                                 for name in ("rs1", "rs2") if (workdir / "configs" / name).is_dir()}
        if STATUS_TRANSPORTS:
            entry["status_by_transport"] = _status_by_transport(lab)
        else:
            entry["status_seconds"] = _status_times(lab)
        if not entry["ok"]:
            entry["status"] = status_summary(lab)
            if KICK_RS2:
                entry["kick_rs2"] = kick_rs2(lab)
        return entry
    finally:
        sampler.stop_flag.set()
        _, wall, _ = labctl("down", str(ix), "--json", timeout=1800)
        entry["down_wall"] = round(wall, 2)
        ensure_down(lab)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="25,50,100")
    ap.add_argument("--timeout", default="900", help="labctl up --timeout (seconds to wait for BGP)")
    ap.add_argument("--kick-rs2", action="store_true",
                    help="if up does not converge: `clear bgp *` on rs2 and time convergence with labctl status")
    ap.add_argument("--results", default="scale", help="results file name in bench/results/")
    ap.add_argument("--rs-daemon", help="both route servers on this daemon (e.g. bird) instead of rs1 BIRD + rs2 FRR")
    ap.add_argument("--code", action="append", metavar="LABEL=PATH",
                    help="run labctl from this source tree (PYTHONPATH); repeatable: each size runs with each tree")
    ap.add_argument("--status-repeats", type=int, default=3, help="time `labctl status` this often after up")
    ap.add_argument("--status-transports", default="",
                    help="e.g. ssh,socket: time status through each (LABCTL_CONTROL), alternating, on the same lab")
    args = ap.parse_args(argv)
    global KICK_RS2, RS_DAEMON, STATUS_REPEATS, STATUS_TRANSPORTS
    KICK_RS2, RS_DAEMON, STATUS_REPEATS = args.kick_rs2, args.rs_daemon, args.status_repeats
    STATUS_TRANSPORTS = [t for t in args.status_transports.split(",") if t]
    sizes = [int(s) for s in args.sizes.split(",")]
    codes: dict[str, str | None] = {"": None}
    if args.code:
        codes = {c.split("=", 1)[0]: str(Path(c.split("=", 1)[1]).resolve()) for c in args.code}

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for n in sizes:
            for label, path in codes.items():
                benchlib.set_code(path)
                print(f"--- {n} members {label}, started {now()}", flush=True)
                entry = one(n, args.timeout, Path(tmp))
                entry["code"], entry["code_path"] = label, path
                results.append(entry)
                print({k: v for k, v in entry.items() if k not in ("samples", "container_mem_mib")}, flush=True)
                write_result(args.results, {"date": now(), "sizes": sizes, "timeout": args.timeout, "runs": results})

    rows = []
    for e in results:
        ph = e.get("phases", {})
        rows.append([f"{e['members']} {e.get('code', '')}".strip(), e["nodes"], *(ph.get(p) for p in PHASES),
                     e.get("up_wall"), e.get("ok"),
                     e.get("status_seconds") or {t: r["wall"] for t, r in e.get("status_by_transport", {}).items()},
                     e.get("cpu_busy_mean"), e.get("host_mem_used_before_mb"), e.get("host_mem_used_peak_mb"),
                     e.get("containers_mem_total_mib")])
    print()
    print(table(["members", "nodes", *PHASES, "up wall s", "converged", "status s", "CPU busy", "host used MB before",
                 "host used MB peak", "containers MiB"], rows))
    kinds = sorted({k for e in results for k in e.get("mem_by_kind", {})})
    krows = [[k, *(e.get("mem_by_kind", {}).get(k, {}).get("median_mib") for e in results)] for k in kinds]
    print()
    print(table(["kind (median MiB)", *(f"{e['members']} {e.get('code', '')}".strip() for e in results)], krows))
    prow = [[f"{e['members']} {e.get('code', '')}".strip(), ph, w.get("cpu_busy_mean"), w.get("cpu_seconds"),
             w.get("mem_used_max_mb"), w.get("load1_max")]
            for e in results for ph, w in e.get("cpu_mem_per_phase", {}).items() if w]
    print()
    print(table(["run", "phase", "CPU busy", "CPU s", "host used MB max", "load1 max"], prow))
    path = write_result(args.results, {"date": now(), "sizes": sizes, "timeout": args.timeout, "runs": results})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
