#!/usr/bin/env python3
"""labctl against netlab on the same IX shape: time until every BGP session is Established, and host CPU.

Usage: .venv/bin/python bench/bench_netlab.py [--sizes 10,25] [--repeats 2] [--netlab PATH]
           [--code LABEL=PATH]... [--lock-wrapper /work/bin/withlab]

The shape: N FRR members and 2 FRR route servers on one LAN, dual stack (each member has a
session per route server and address family). netlab (PyPI `networklab`) runs from its own venv:
`python3 -m venv .venv-netlab && .venv-netlab/bin/pip install networklab` (or pass --netlab).
Where netlab cannot run (not installed, no Docker or containerlab) the script says why and exits 0
without measuring anything ("skipped").

netlab, as documented in bench/netlab/: its FRR device wants quay.io/frrouting/frr:10.7.1, which
is built here from labctl's default node image (bench/netlab/Dockerfile, same FRR release as
labctl's nodes); nodes unprivileged with NET_ADMIN/NET_RAW/SYS_ADMIN, no kernel modules, a `sudo`
shim on PATH where sudo is missing. Time = `netlab up` until both route servers report 2N
Established sessions (`vtysh -c 'show bgp summary json'`, polled every 0.2 s); then
`netlab down --cleanup`.
labctl: `labctl up --json` of the same shape (one site, rs1 and rs2 FRR, FRR members), which
returns only when every planned session is Established and every member holds every expected
route; its route servers also load labctl's filter policy (bogons, IRR, RPKI-less origin checks).
Host CPU = busy jiffies of /proc/stat over the measured interval (all processes, CPU-seconds:
other work on a shared host is in it too); "own" CPU = the tool's process tree (rusage of the
children: netlab or labctl with containerlab, and for netlab the bench's own `docker exec` polls)
+ the lab containers' cgroups (read before teardown) + dockerd/containerd and the shims.
Each (tool, size, repeat) holds the lab lock /tmp/labctl-lab.lock on its own: in this process,
or with --lock-wrapper CMD each measurement is a child `CMD python bench_netlab.py --one TOOL:N`
(the wrapper takes the lock, e.g. a site's withlab script that also lets waiting users in between).
--code LABEL=PATH measures labctl from that source tree (PYTHONPATH; repeatable, e.g. before and
after a change, a tree from `git archive REV labctl images topologies`); the tools and trees
alternate within a repeat. netlab's phases come from the time its section headers are printed.
Writes bench/results/netlab.json (or --results).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import yaml
from benchlib import ENV, REPO, has_docker_and_clab, labctl, loadavg, now, table, write_result


HERE = Path(__file__).resolve().parent
NETLAB_IMAGE = "quay.io/frrouting/frr:10.7.1"
LOCK = "/tmp/labctl-lab.lock"
RS_ASN = 65000
# netlab up's section headers (printed as "Label text" without a terminal), in order
NETLAB_MARKS = {"Creating configuration files": "create", "Starting clab nodes": "containerlab",
                "Deploying initial device configurations": "initial"}


@contextmanager
def lab_lock():
    with open(LOCK, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def cpu_busy() -> float:
    """Host CPU-seconds spent busy (user, nice, system, irq, softirq, steal) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    return busy / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU-seconds of this process's waited-for children and their descendants (the tool's own tree)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def engine_cpu() -> float:
    """CPU-seconds of dockerd, containerd and its shims so far (shared by every lab, so only the
    difference over a measurement held under the lab lock means anything)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        if name in ("dockerd", "containerd") or name.startswith("containerd-shim"):
            fields = text[text.rindex(")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def containers_cpu(name_part: str) -> float:
    """CPU-seconds the running containers whose name holds `name_part` used since they started
    (their cgroup's cpuacct; v1 or v2 layout)."""
    ids = subprocess.run(["docker", "ps", "-q", "--no-trunc", "--filter", f"name={name_part}"],
                         capture_output=True, text=True).stdout.split()
    total = 0.0
    for cid in ids:
        v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
        v2 = Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat")
        if v1.exists():
            total += int(v1.read_text()) / 1e9
        elif v2.exists():
            total += int(v2.read_text().split()[1]) / 1e6  # usage_usec
    return round(total, 1)


def cpu_split(result: dict, c0: float, t0: float, e0: float, lab_part: str) -> None:
    """Host CPU over the measurement, and the parts that are the tool's: its process tree, the
    lab's containers (read before they are removed), Docker's daemons."""
    result["cpu_s"] = round(cpu_busy() - c0, 1)
    result["cpu_tool_s"] = round(children_cpu() - t0, 1)
    result["cpu_containers_s"] = containers_cpu(lab_part)
    result["cpu_engine_s"] = round(engine_cpu() - e0, 1)
    result["cpu_own_s"] = round(result["cpu_tool_s"] + result["cpu_containers_s"] + result["cpu_engine_s"], 1)


def netlab_topology(n: int) -> str:
    """bench/netlab (verified with netlab 26.10): the IX LAN, EBGP only, unprivileged nodes, no kmods."""
    lines = [
        "defaults.const.MAX_NODE_ID: 5000",
        "addressing.mgmt.ipv4: 10.200.0.0/16",
        "addressing.mgmt.start: 10",
        "addressing.loopback.ipv4: 10.0.0.0/16",
        "addressing.loopback.ipv6: 2001:db8:ff::/48",
        "addressing.lan.ipv4: 172.16.0.0/12",
        "addressing.lan.prefix: 20",
        "addressing.lan.ipv6: 2001:db8:100::/48",
        "bgp.sessions.ipv4: [ ebgp ]",
        "bgp.sessions.ipv6: [ ebgp ]",
        "defaults.providers.clab.attributes.node._keys.privileged: bool",
        "defaults.providers.clab.attributes.node._keys.cap-add: list",
        "defaults.devices.frr.clab.node.privileged: False",
        "defaults.devices.frr.clab.node.cap-add: [ NET_ADMIN, NET_RAW, SYS_ADMIN ]",
        "defaults.devices.frr.clab.kmods.initial: []",
        "plugin: [ bgp.session ]",
        "module: [ bgp ]",
        "defaults.device: frr",
        "provider: clab",
        "nodes:",
        f"  rs1: {{ bgp.as: {RS_ASN}, bgp.rs: true }}",
        f"  rs2: {{ bgp.as: {RS_ASN}, bgp.rs: true }}",
        *(f"  m{i}: {{ bgp.as: {66000 + i} }}" for i in range(n)),
        "links:",
        "- interfaces: [ " + ", ".join(["rs1", "rs2"] + [f"m{i}" for i in range(n)]) + " ]",
    ]
    return "\n".join(lines) + "\n"


def labctl_ix(n: int, lab: str, subnet: str) -> dict:
    """The same shape for labctl: one site, rs1 and rs2 on FRR, N FRR members, one /24 and one /48 each."""
    return {
        "ix": {"name": lab, "route_server_asn": 64511, "management": {"ipv4_subnet": subnet},
               "peering_lan": {"ipv4": "10.0.0.0/24", "ipv6": "fd00:ffff::/64"}},
        "sites": [{"name": "lan"}],
        "route_servers": [{"name": "rs1", "daemon": "frr", "site": "lan"},
                          {"name": "rs2", "daemon": "frr", "site": "lan"}],
        "members": [{"name": f"m{i}", "asn": 66000 + i, "site": "lan", "daemon": "frr",
                     "prefixes": [f"198.18.{i}.0/24", f"2001:db8:{i + 1:x}::/48"]} for i in range(n)],
    }


def established(container: str) -> int:
    proc = subprocess.run(["docker", "exec", container, "vtysh", "-c", "show bgp summary json"],
                          capture_output=True, text=True, timeout=30)
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return 0
    return sum(1 for afi in data.values() if isinstance(afi, dict)
               for peer in afi.get("peers", {}).values() if peer.get("state") == "Established")


def netlab_env(tmp: Path) -> dict[str, str]:
    env = {**ENV, "CLAB_VERSION_CHECK": "disable"}
    env.pop("PYTHONPATH", None)
    if shutil.which("sudo") is None:  # netlab runs `sudo ip ...`; we are root already
        shim = tmp / "shim"
        shim.mkdir(exist_ok=True)
        (shim / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
        (shim / "sudo").chmod(0o755)
        env["PATH"] = f"{shim}:{env.get('PATH', '')}"
    return env


def _netlab_up(netlab: str, work: Path, env: dict, t0: float, timeout: float) -> tuple[int, str, dict]:
    """`netlab up`, its output read line by line to time its phases (seconds since t0)."""
    proc = subprocess.Popen([netlab, "up"], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    marks: dict[str, float] = {}
    out: list[str] = []
    for line in proc.stdout:  # type: ignore[union-attr]
        out.append(line)
        for text, name in NETLAB_MARKS.items():
            if text in line and name not in marks:
                marks[name] = round(time.monotonic() - t0, 2)
        if time.monotonic() - t0 > timeout:
            proc.kill()
    return proc.wait(), "".join(out), marks


def run_netlab(netlab: str, n: int, tmp: Path, timeout: float) -> dict:
    work = tmp / f"nl{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    (work / "topology.yml").write_text(netlab_topology(n))
    env = netlab_env(tmp)
    result: dict = {"tool": "netlab", "n": n, "load_before": loadavg()}
    c0, k0, e0, t0 = cpu_busy(), children_cpu(), engine_cpu(), time.monotonic()
    try:
        rc, out, marks = _netlab_up(netlab, work, env, t0, timeout)
        result["up_s"] = round(time.monotonic() - t0, 2)
        result["marks"] = marks
        if rc != 0:
            result["error"] = out[-1500:]
            return result
        names = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True).stdout.split()
        rs = [next((c for c in names if c.endswith(f"-{r}") and work.name in c), f"clab-{work.name}-{r}") for r in ("rs1", "rs2")]
        while time.monotonic() - t0 < timeout:
            if all(established(c) >= 2 * n for c in rs):
                result["established_s"] = round(time.monotonic() - t0, 2)
                break
            time.sleep(0.2)
        else:
            result["error"] = f"not every session Established after {timeout} s"
        cpu_split(result, c0, k0, e0, f"clab-{work.name}-")  # the tool tree includes the bench's `docker exec` polls
        # phases: create (until containerlab starts), containerlab, initial (config), BGP after `up`
        cuts = [("create", 0.0)] + sorted(((k, v) for k, v in marks.items() if k != "create"), key=lambda kv: kv[1])
        ends = [v for _, v in cuts[1:]] + [result["up_s"]]
        result["phases"] = {k: round(e - v, 2) for (k, v), e in zip(cuts, ends)}
        if "established_s" in result:
            result["phases"]["bgp_after_up"] = round(result["established_s"] - result["up_s"], 2)
    finally:
        subprocess.run([netlab, "down", "--cleanup"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    return result


def run_labctl(n: int, tmp: Path, lab: str, subnet: str, timeout: float, code: str | None = None) -> dict:
    ix = tmp / f"{lab}.yml"
    ix.write_text(yaml.safe_dump(labctl_ix(n, lab, subnet), sort_keys=False))
    env = {"PYTHONPATH": code} if code else None
    result: dict = {"tool": "labctl", "n": n, "load_before": loadavg()}
    c0, k0, e0 = cpu_busy(), children_cpu(), engine_cpu()
    try:
        proc, wall, data = labctl("up", str(ix), "--json", "--timeout", str(timeout), timeout=timeout + 600, env=env)
        cpu_split(result, c0, k0, e0, f"clab-{lab}-")
        result["up_s"] = round(wall, 2)
        result["phases"] = (data or {}).get("phases")
        if data and data.get("ok"):
            result["established_s"] = round(wall, 2)
        else:
            result["error"] = ((data or {}).get("convergence") or {}).get("down_sessions") or proc.stderr[-1500:]
    finally:
        labctl("down", str(ix), "--json", timeout=600, env=env)
    return result


def skip(why: str) -> int:
    print(f"bench_netlab: skipped: {why}")
    return 0


def find_netlab(given: str | None) -> str | None:
    for candidate in [given, os.environ.get("NETLAB"), str(REPO / ".venv-netlab" / "bin" / "netlab")]:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def ensure_netlab_image() -> None:
    if subprocess.run(["docker", "image", "inspect", NETLAB_IMAGE], capture_output=True).returncode == 0:
        return
    sys.path.insert(0, str(REPO))
    from labctl.runtime.images import ensure_node_image
    base = ensure_node_image()
    subprocess.run(["docker", "build", "-q", "--build-arg", f"BASE={base}", "-t", NETLAB_IMAGE, str(HERE / "netlab")],
                   check=True, capture_output=True)


def measure(spec: str, args, netlab: str, codes: dict[str, str | None], tmp: Path) -> dict:
    """One measurement, spec = netlab:N or labctl[-LABEL]:N (the caller holds the lab lock)."""
    tool, _, n = spec.rpartition(":")
    if tool == "netlab":
        return run_netlab(netlab, int(n), tmp, args.timeout)
    label = tool.partition("-")[2]
    r = run_labctl(int(n), tmp, args.lab, args.subnet, args.timeout, codes.get(label))
    r.update(tool=tool, code=codes.get(label))
    return r


def one_locked(spec: str, args, netlab: str, codes: dict[str, str | None], tmp: Path) -> dict:
    """A measurement under the lab lock: this process's flock, or a child under --lock-wrapper."""
    if not args.lock_wrapper:
        with lab_lock():
            return measure(spec, args, netlab, codes, tmp)
    out = tmp / "one.json"
    out.unlink(missing_ok=True)
    cmd = [*args.lock_wrapper.split(), sys.executable, str(Path(__file__).resolve()), "--one", spec, "--out", str(out),
           "--netlab", netlab, "--timeout", str(args.timeout), "--lab", args.lab, "--subnet", args.subnet,
           *(x for label, path in codes.items() if label for x in ("--code", f"{label}={path}"))]
    proc = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=None)
    if not out.exists():
        tool, _, n = spec.rpartition(":")
        return {"tool": tool, "n": int(n), "error": f"{' '.join(cmd)} -> {proc.returncode}: {proc.stdout[-1500:]}"}
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10,25")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--netlab", help="netlab executable (default: $NETLAB, then .venv-netlab/bin/netlab)")
    ap.add_argument("--code", action="append", default=[], metavar="LABEL=PATH",
                    help="labctl from this source tree (repeatable); default: as installed")
    ap.add_argument("--lock-wrapper", help="run each measurement as a child under this command, which "
                                           "holds the lab lock (e.g. /work/bin/withlab)")
    ap.add_argument("--only", default="", help="comma-separated tools to run (netlab, labctl[-LABEL]); default all")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--lab", default="b-nl")
    ap.add_argument("--subnet", default="172.31.244.0/24")
    ap.add_argument("--results", default="netlab")
    ap.add_argument("--one", help=argparse.SUPPRESS)   # TOOL:N, one measurement (child of --lock-wrapper)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    codes: dict[str, str | None] = {c.split("=", 1)[0]: str(Path(c.split("=", 1)[1]).resolve()) for c in args.code}
    codes = codes or {"": None}
    if not has_docker_and_clab():
        return skip("docker or containerlab not found (run scripts/bootstrap.sh)")
    netlab = find_netlab(args.netlab)
    if netlab is None:
        return skip("netlab not found: python3 -m venv .venv-netlab && .venv-netlab/bin/pip install networklab, "
                    "or pass --netlab PATH")
    if args.one:
        with tempfile.TemporaryDirectory(prefix="bench-netlab-") as tmp:
            r = measure(args.one, args, netlab, codes, Path(tmp))
        Path(args.out).write_text(json.dumps(r))
        return 0
    version = subprocess.run([netlab, "version"], capture_output=True, text=True).stdout.splitlines()[0].strip()
    ensure_netlab_image()
    sizes = [int(s) for s in args.sizes.split(",")]
    tools = ["netlab"] + [f"labctl-{label}" if label else "labctl" for label in codes]
    if args.only:
        tools = [t for t in tools if t in args.only.split(",")]
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-netlab-") as tmp:
        for rep in range(args.repeats):
            for n in sizes:
                order = tools if rep % 2 == 0 else tools[::-1]
                for tool in order:
                    r = one_locked(f"{tool}:{n}", args, netlab, codes, Path(tmp))
                    r["repeat"] = rep + 1
                    runs.append(r)
                    print(json.dumps(r), flush=True)
                    write_result(args.results, {"date": now(), "netlab": version, "sizes": sizes,  # so far, in case it is cut short
                                                "repeats": args.repeats, "codes": codes, "runs": runs})
    rows = []
    for n in sizes:
        for tool in tools:
            rs = [r for r in runs if r["n"] == n and r["tool"] == tool]
            ok = [r["established_s"] for r in rs if "established_s" in r]
            cpu = [r["cpu_s"] for r in rs if "cpu_s" in r]
            own = [r["cpu_own_s"] for r in rs if "cpu_own_s" in r]
            rows.append([n, tool, f"{len(ok)}/{len(rs)}", round(statistics.median(ok), 1) if ok else None,
                         " / ".join(str(r.get("established_s", "-")) for r in rs),
                         round(statistics.median(cpu), 1) if cpu else None, " / ".join(str(c) for c in cpu),
                         round(statistics.median(own), 1) if own else None])
    print()
    print(table(["N", "tool", "ok", "all Established s (median)", "runs s", "host CPU-s (median)", "runs CPU-s",
                 "own CPU-s (median)"], rows))
    path = write_result(args.results, {"date": now(), "netlab": version, "sizes": sizes, "repeats": args.repeats,
                                       "codes": codes, "runs": runs})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
