#!/usr/bin/env python3
"""Route-server config load time and memory per daemon release, at 25, 50 and 100 members.

Usage: sudo .venv/bin/python bench/bench_rs.py [--sizes 25,50,100] [--repeats 2] [--limit 300]
                                                [--only frr@trixie,bird@bookworm]

No whole IX: per (daemon release, N) one route-server container and the config labctl renders
for it. For every daemon labctl implements, on every stack that ships it
(labctl/daemons/stacks.py: FRR 10.3, BIRD 2.17, BIRD 3.1 and OpenBGPD 8.8 on trixie; FRR 8.4 and
BIRD 2.0.12 on bookworm), in one run:

1. bench/make_large_ix.py N with a single route server `rs1` of that daemon and stack and BFD
   off for every member (OpenBGPD has no BFD; all releases get the same IX); labctl's
   own model, plan and renderer produce rs1's files (the same files `labctl up` would push).
2. `docker run` of the stack's node image with no network (`--network none`) and the lab nodes'
   capabilities; eth1 is a veth whose peer stays in the container, addressed by rs1's network.sh.
   No member exists, so all 2N sessions stay in Connect/Active: this measures loading the config,
   not BGP convergence.
3. Under the lab lock (/tmp/labctl-lab.lock, held for one repeat of every size): t0, then labctl's
   own `Daemon.prepare` + `Daemon.apply(running=False)` through a `docker exec` shell, i.e. what
   `labctl up`'s configure step runs on a fresh node (upload, the daemon's own config check, start,
   and for FRR completing the boot-time load with frr-reload).
4. Load time = t0 until the config is **complete and the daemon idle**:
   complete = the daemon lists every one of rs1's 2N sessions (`Daemon.collect`, e.g. FRR's
   `show bgp summary json` lists only peers with their address family activated) and, for FRR,
   `show running-config` holds as many `route-map`, prefix-list and as-path lines as the file;
   idle = the first 1 s window after that in which the container used < 50 ms CPU (cgroup
   cpu.stat). Polls run every 0.5 s. A run still incomplete at --limit s is cut and reported as
   ">limit"; that daemon release is then not run at that size or larger again (later repeats
   still run its smaller sizes).
5. Reload: `Daemon.apply(running=True)` of the unchanged config (FRR: frr-reload.py; BIRD:
   `birdc configure`; what `labctl push` does), timed the same way.
6. Memory: VmRSS (and Pss from smaps_rollup) summed over every process of the daemon
   (`pgrep -x Daemon.processes`: FRR watchfrr+zebra+bgpd+staticd+mgmtd, BIRD bird, OpenBGPD its
   bgpd processes), once idle; per member = total / N.

Container CPU seconds over the load (cgroup usage, the polls included) are recorded next to wall
time: on a shared 2-core host they vary less than wall time. Writes bench/results/rs.json.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml
from benchlib import REPO, loadavg, med, now, table, write_result

import make_large_ix

from labctl import daemons
from labctl.daemons import stacks
from labctl.model.load import load_text
from labctl.plan import build_plan
from labctl.render import render_node
from labctl.runtime.images import ensure_node_image, node_image_tag

LAB_LOCK = "/tmp/labctl-lab.lock"
IDLE_WINDOW = 1.0  # s
IDLE_CPU = 0.05  # s of CPU in the window
POLL = 0.5


class OverLimit(Exception):
    pass


class DockerShell:
    """labctl.daemons.NodeShell through `docker exec`, with a deadline and a log of every command."""

    def __init__(self, container: str, node: str = "rs1"):
        self.container, self.node = container, node
        self.deadline: float | None = None
        self.log: list[tuple[float, float, str]] = []  # (start, seconds, command)

    def _left(self, timeout: float | None) -> float:
        timeout = timeout or 600
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise OverLimit()
        return min(timeout, left)

    def _exec(self, command: str, stdin: str | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
        """Without stdin data the command goes in on stdin (`bash -s`), as it does over labctl's SSH
        shell: in `bash -c CMD` the shell's own argv holds CMD, and `pgrep -f` would find it."""
        t0 = time.monotonic()
        argv = ["bash", "-c", command] if stdin is not None else ["bash", "-s"]
        try:
            proc = subprocess.run(["docker", "exec", "-i", self.container, *argv],
                                  input=stdin if stdin is not None else command,
                                  capture_output=True, text=True, timeout=self._left(timeout))
        except subprocess.TimeoutExpired:
            if self.deadline is not None and time.monotonic() >= self.deadline - 0.5:
                raise OverLimit() from None
            raise
        finally:
            self.log.append((round(t0, 3), round(time.monotonic() - t0, 3), command[:160]))
        return proc

    def run(self, command: str, check: bool = True, timeout: float | None = None) -> tuple[int, str]:
        proc = self._exec(command, timeout=timeout)
        out = proc.stdout + proc.stderr
        if check and proc.returncode != 0:
            raise RuntimeError(f"{self.node}: `{command}` failed (exit {proc.returncode}): {out.strip()[-600:]}")
        return proc.returncode, out.rstrip("\n")

    def put_file(self, path: str, content: str) -> None:
        q = shlex.quote(path)
        proc = self._exec(f"mkdir -p $(dirname {q}) && cat > {q}", stdin=content)
        if proc.returncode:
            raise RuntimeError(f"writing {path}: {proc.stderr}")

    def get_file(self, path: str) -> str | None:
        proc = self._exec(f"cat {shlex.quote(path)}")
        return proc.stdout if proc.returncode == 0 else None

    def capture(self, command: str, timeout: float = 120) -> str:
        return self.run(command, check=False, timeout=timeout)[1]


# ------------------------------------------------------------------ what is measured


def variants(only: set[str] | None) -> list[dict]:
    """Every implemented daemon on every stack that ships it: {key, daemon, stack, label, image}."""
    out = []
    for daemon in daemons.names():  # one daemon's releases next to each other: FRR 10.3, FRR 8.4, ...
        for stack in stacks.STACKS.values():
            if daemon not in stack.daemons:
                continue
            label, image = stack.daemons[daemon]
            key = f"{daemon}@{stack.name}"
            if only is None or key in only:
                out.append({"key": key, "daemon": daemon, "stack": stack.name, "label": label, "image": image})
    return out


def rs_files(variant: dict, n: int) -> tuple[dict[str, str], int]:
    """rs1's rendered files for an N-member IX with one route server of this daemon and stack."""
    doc = make_large_ix.build(n)
    doc["ix"]["name"] = f"b-rs-{n}"
    doc["ix"]["stack"] = variant["stack"]
    doc["route_servers"] = [{"name": "rs1", "daemon": variant["daemon"], "site": "s1"}]
    for member in doc["members"]:  # no BFD anywhere: OpenBGPD has none, and every release gets the same IX
        member.pop("bfd", None)
    plan = build_plan(load_text(yaml.safe_dump(doc, sort_keys=False), f"bench-rs-{n}.yml"))
    node = plan.nodes["rs1"]
    return render_node(plan, node), len(node.sessions)


def start_container(name: str, image: str) -> DockerShell:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    subprocess.run(["docker", "run", "-d", "--name", name, "--hostname", "rs1", "--network", "none",
                    "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW", "--cap-add", "SYS_ADMIN",
                    "--sysctl", "net.ipv6.conf.all.disable_ipv6=0", "--sysctl", "net.ipv6.conf.default.disable_ipv6=0",
                    "--label", "labctl-bench=rs", image], check=True, capture_output=True)
    sh = DockerShell(name)
    sh.run("for i in $(seq 100); do pgrep -x sshd >/dev/null && break; sleep 0.1; done")  # node-init done
    sh.run("ip link add eth1 type veth peer name eth1p && ip link set eth1p up")
    return sh


def cpu_seconds(sh: DockerShell) -> float:
    """CPU time of everything in the container so far (cgroup v1 cpuacct, else v2 cpu.stat)."""
    out = sh.run("cat /sys/fs/cgroup/cpuacct/cpuacct.usage 2>/dev/null || "
                 "awk '/^usage_usec/{printf \"%d\\n\", $2 * 1000}' /sys/fs/cgroup/cpu.stat", check=False)[1]
    return int(out.split()[0]) / 1e9


def frr_counts(text: str) -> tuple[int, int, int]:
    lines = text.splitlines()
    return (sum(1 for x in lines if x.startswith("route-map ")),
            sum(1 for x in lines if x.startswith(("ip prefix-list ", "ipv6 prefix-list "))),
            sum(1 for x in lines if x.startswith("bgp as-path access-list ")))


def complete(sh: DockerShell, daemon: daemons.Daemon, files: dict[str, str], sessions: int) -> bool:
    try:
        state = daemon.collect(sh)
    except (ValueError, RuntimeError):  # the daemon not answering yet, or half-written JSON
        return False
    if len(state.sessions) < sessions:
        return False
    if "frr.conf" in files:  # FRR's boot load could stop part-way (bench/README.md): check what it holds
        running = sh.run("vtysh -c 'show running-config'", check=False)[1]
        return all(a >= b for a, b in zip(frr_counts(running), frr_counts(files["frr.conf"])))
    return True


def wait_complete_idle(sh: DockerShell, daemon, files, sessions: int, t0: float) -> dict:
    while not complete(sh, daemon, files, sessions):
        time.sleep(POLL)
    t_complete = time.monotonic()
    while True:
        t_w, c0 = time.monotonic(), cpu_seconds(sh)
        time.sleep(IDLE_WINDOW)
        if cpu_seconds(sh) - c0 < IDLE_CPU:
            return {"complete_s": round(t_complete - t0, 2), "idle_s": round(t_w - t0, 2)}


def memory(sh: DockerShell, daemon) -> dict:
    cmd = (f"for p in $(pgrep -x '{daemon.processes}'); do echo $p $(cat /proc/$p/comm) "
           "$(awk '/^VmRSS/{print $2}' /proc/$p/status) $(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup); done")
    procs = []
    for line in sh.run(cmd, check=False)[1].splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].isdigit():
            procs.append({"pid": int(parts[0]), "name": parts[1], "rss_kb": int(parts[2]), "pss_kb": int(parts[3])})
    return {"rss_mib": round(sum(p["rss_kb"] for p in procs) / 1024, 2),
            "pss_mib": round(sum(p["pss_kb"] for p in procs) / 1024, 2), "processes": procs}


def timed_apply(sh: DockerShell, daemon, files, sessions: int, running: bool, limit: float) -> dict:
    # a fresh node gets every file; a reload only the daemon's main config (FRR frr.conf, BIRD bird.conf)
    changed = [next(iter(daemon.files))] if running else list(files)
    c0 = cpu_seconds(sh)
    t0 = time.monotonic()
    sh.deadline = t0 + limit
    try:
        daemon.prepare(sh, files, changed)
        daemon.apply(sh, files, changed, running)
        out = {"apply_s": round(time.monotonic() - t0, 2)}
        out.update(wait_complete_idle(sh, daemon, files, sessions, t0))
        out["load_s"] = out["idle_s"] if out["idle_s"] > out["complete_s"] else out["complete_s"]
        out["over_limit"] = False
    except OverLimit:
        out = {"load_s": None, "over_limit": True}
    sh.deadline = None
    out["container_cpu_s"] = round(cpu_seconds(sh) - c0, 2)
    return out


def measure(variant: dict, n: int, limit: float) -> dict:
    """One cold load (+ reload and memory) of rs1 for this daemon release and N, in its own container."""
    files, sessions = rs_files(variant, n)
    daemon = daemons.get(variant["daemon"])
    image = node_image_tag(variant["image"])
    name = f"b-rs-{variant['key'].replace('@', '-')}-{n}"
    entry = {"variant": variant["key"], "label": variant["label"], "members": n, "sessions": sessions,
             "image": image, "config_bytes": {k: len(v) for k, v in files.items()}}
    entry["start"], entry["load_before"] = now(), loadavg()
    sh = start_container(name, image)
    try:
        sh.put_file("/etc/labctl/network.sh", files["network.sh"])
        sh.run("sh /etc/labctl/network.sh")
        entry["cold"] = timed_apply(sh, daemon, files, sessions, False, limit)
        entry["load_after"] = loadavg()
        if not entry["cold"]["over_limit"]:
            entry["memory"] = memory(sh, daemon)
            entry["reload"] = timed_apply(sh, daemon, files, sessions, True, limit)
        entry["commands"] = [[round(t - sh.log[0][0], 2), s, c] for t, s, c in sh.log]
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=300)
    return entry


@contextlib.contextmanager
def lab_lock(enabled: bool):
    """/tmp/labctl-lab.lock (one lab at a time on this host), held for one repeat (every size)."""
    if not enabled:
        yield None
        return
    with open(LAB_LOCK, "w") as lock:
        t0 = time.monotonic()
        fcntl.flock(lock, fcntl.LOCK_EX)
        print(f"  (lab lock after {time.monotonic() - t0:.0f} s)", flush=True)
        try:
            yield lock
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# ------------------------------------------------------------------ the run and the tables


def summarise(runs: list[dict], variants_: list[dict], sizes: list[int], limit: float) -> dict:
    out: dict = {}
    for v in variants_:
        for n in sizes:
            got = [r for r in runs if r["variant"] == v["key"] and r["members"] == n]
            if not got:
                continue
            cold = [r["cold"] for r in got]
            over = any(c["over_limit"] for c in cold)
            mems = [r["memory"]["rss_mib"] for r in got if "memory" in r]
            pss = [r["memory"]["pss_mib"] for r in got if "memory" in r]
            out[f"{v['key']}/{n}"] = {
                "label": v["label"], "members": n, "runs": len(got),
                "load_s": f">{limit:g}" if over else med([c["load_s"] for c in cold]),
                "load_s_all": [c["load_s"] for c in cold],
                "apply_s": med([c.get("apply_s") for c in cold]),
                "container_cpu_s": med([c["container_cpu_s"] for c in cold]),
                "reload_s": med([r["reload"]["load_s"] for r in got if "reload" in r]),
                "rss_mib": med(mems), "pss_mib": med(pss),
                "rss_mib_per_member": round(med(mems) / n, 3) if mems else None,
                "pss_mib_per_member": round(med(pss) / n, 3) if pss else None,
            }
    return out


def print_tables(summary: dict, variants_: list[dict], sizes: list[int]) -> None:
    def row(v, field):
        return [v["label"]] + [summary.get(f"{v['key']}/{n}", {}).get(field) for n in sizes]

    heads = [str(n) for n in sizes]
    for field, title in [("load_s", "load s (median)"), ("container_cpu_s", "container CPU s during load"),
                         ("reload_s", "reload of the same config s"), ("rss_mib", "RSS MiB"),
                         ("rss_mib_per_member", "RSS MiB per member"), ("pss_mib_per_member", "PSS MiB per member")]:
        print(f"\n{title}")
        print(table(["route server"] + heads, [row(v, field) for v in variants_]))


def report(entry: dict, limit: float) -> None:
    cold = entry["cold"]
    print(f"repeat {entry['repeat']} {entry['label']:12} {entry['members']:4}: load {cold['load_s'] or f'>{limit:g}'} s "
          f"(apply {cold.get('apply_s')}, complete {cold.get('complete_s')}, cpu {cold['container_cpu_s']}), "
          f"reload {entry.get('reload', {}).get('load_s')} s, RSS {entry.get('memory', {}).get('rss_mib')} MiB, "
          f"load avg {entry['load_before'][0]}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="25,50,100")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--limit", type=float, default=300.0, help="cut a load after this many seconds")
    ap.add_argument("--only", help="comma-separated daemon@stack keys, e.g. frr@trixie,frr@bookworm")
    ap.add_argument("--no-lock", action="store_true", help="do not take the lab lock (a smoke test, not figures)")
    ap.add_argument("--results", default="rs", help="bench/results/<name>.json")
    args = ap.parse_args(argv)
    sizes = sorted(int(x) for x in args.sizes.split(","))
    chosen = variants(set(args.only.split(",")) if args.only else None)
    for key in sorted({v["image"] for v in chosen}):
        print(f"image {key}: {ensure_node_image(key)}", flush=True)
    runs: list[dict] = []
    started = now()
    over: dict[str, int] = {}  # daemon release -> the size it went over the limit at: not run at that size or larger
    for rep in range(args.repeats):
        with lab_lock(not args.no_lock):  # per repeat: a few minutes, so other labs interleave
            for n in sizes:
                for v in chosen:
                    if n >= over.get(v["key"], n + 1):
                        print(f"repeat {rep + 1} {v['label']} {n}: not run (over the limit at {over[v['key']]})", flush=True)
                        continue
                    entry = measure(v, n, args.limit)
                    entry["repeat"] = rep + 1
                    runs.append(entry)
                    report(entry, args.limit)
                for r in runs:
                    if r["cold"]["over_limit"]:
                        over[r["variant"]] = min(over.get(r["variant"], r["members"]), r["members"])
    summary = summarise(runs, chosen, sizes, args.limit)
    print_tables(summary, chosen, sizes)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    path = write_result(args.results, {
        "date": started, "end": now(), "commit": commit, "sizes": sizes, "repeats": args.repeats, "limit_s": args.limit,
        "definition": "load_s: Daemon.apply on a fresh node until every session is listed (FRR: and the running config "
                      "holds every route-map/prefix-list/as-path line) and the container then used < 50 ms CPU in 1 s",
        "variants": chosen, "summary": summary, "runs": runs})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
