"""A class on this host: `labctl class up EXERCISE --trainees N`, then the labs idle, `class check`,
one trainee's `exercise solve` + `class check`, `class down`; host CPU and memory sampled every
second per phase. Run it alone (one lab-running process at a time):

    flock /tmp/labctl-lab.lock .venv/bin/python bench/bench_class.py -n 4 [--exercise first-sessions]

Prints one line per phase and writes bench/results/class-<N>.json. CPU is the whole host's
(/proc/stat: busy share of all cores) and the containers' alone (cpuacct of Docker's cgroup); memory is MemTotal - MemAvailable (host) and the Docker
containers' cgroup (/sys/fs/cgroup/memory/docker, cgroup v1; memory.current under v2).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
CLI = [sys.executable, "-c", "from labctl.cli import app; app()"]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "CLAB_VERSION_CHECK": "disable"}
DOCKER_CPU = Path("/sys/fs/cgroup/cpuacct/docker/cpuacct.usage")  # ns of CPU used by all containers (v1)
DOCKER_CGROUP = [Path("/sys/fs/cgroup/memory/docker/memory.usage_in_bytes"),
                 Path("/sys/fs/cgroup/system.slice/memory.current")]


def _cpu() -> tuple[int, int]:
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = f[3] + f[4]
    return sum(f) - idle, sum(f)


def _docker_cpu() -> int | None:
    return int(DOCKER_CPU.read_text()) if DOCKER_CPU.exists() else None


def _mem_mib() -> tuple[int, int | None]:
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    used = (int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])) // 1024
    docker = next((int(p.read_text()) // 2**20 for p in DOCKER_CGROUP if p.exists()), None)
    return used, docker


class Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[dict] = []
        self.phase = "baseline"
        self.stop = threading.Event()

    def run(self):
        last, last_d, last_t = _cpu(), _docker_cpu(), time.monotonic()
        while not self.stop.wait(1.0):
            now, now_d, now_t = _cpu(), _docker_cpu(), time.monotonic()
            busy = 100.0 * (now[0] - last[0]) / max(1, now[1] - last[1])
            # containers' share of all cores (the labs alone: other processes on the host not counted)
            docker_cpu = (round(100.0 * (now_d - last_d) / 1e9 / (now_t - last_t) / os.cpu_count(), 1)
                          if now_d is not None and last_d is not None else None)
            last, last_d, last_t = now, now_d, now_t
            used, docker = _mem_mib()
            self.samples.append({"t": time.time(), "phase": self.phase, "cpu": round(busy, 1), "mem": used,
                                 "docker_mem": docker, "docker_cpu": docker_cpu, "load1": float(Path("/proc/loadavg").read_text().split()[0])})


def summary(samples: list[dict], phase: str) -> dict:
    s = [x for x in samples if x["phase"] == phase]
    if not s:
        return {}
    return {"samples": len(s), "cpu_avg": round(sum(x["cpu"] for x in s) / len(s), 1),
            "cpu_max": max(x["cpu"] for x in s), "mem_max": max(x["mem"] for x in s),
            "docker_mem_max": max((x["docker_mem"] or 0) for x in s),
            "docker_cpu_avg": round(sum((x.get("docker_cpu") or 0) for x in s) / len(s), 1), "load1_max": max(x["load1"] for x in s)}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, env=ENV, capture_output=True, text=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=4, help="trainees (labs)")
    ap.add_argument("--exercise", default="first-sessions")
    ap.add_argument("--idle", type=float, default=30, help="seconds the labs idle after up")
    ap.add_argument("--class-name", default="bench")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="labctl-class-"))
    sampler, phases, out = Sampler(), {}, {}
    sampler.start()

    def phase(name: str, fn):
        sampler.phase = name
        t = time.monotonic()
        result = fn()
        phases[name] = round(time.monotonic() - t, 1)
        print(f"{name}: {phases[name]} s {summary(sampler.samples, name)}", flush=True)
        return result

    phase("baseline", lambda: time.sleep(5))
    try:
        r = phase("up", lambda: cli("class", "up", a.exercise, "-n", str(a.n), "--class", a.class_name, "--json",
                                    cwd=work))
        out["up"] = json.loads(r.stdout) if r.stdout.strip() else {"stderr": r.stderr[-2000:]}
        print(f"class up rc={r.returncode} failed={out['up'].get('failed')} per lab {out['up'].get('seconds')}")
        phase("idle", lambda: time.sleep(a.idle))
        r = phase("check", lambda: cli("class", "check", "--json", cwd=work))
        out["check_rc"] = r.returncode
        r = phase("solve-t1", lambda: cli("exercise", "solve", "--lab", f"{a.class_name}-t1", "--json", cwd=work))
        out["solve_rc"] = r.returncode
        r = phase("check-after-solve", lambda: cli("class", "check", "--html", str(work / "scoreboard.html"),
                                                    "--json", cwd=work))
        board = json.loads(r.stdout) if r.stdout.strip() else {}
        out["passed"] = {row["trainee"]: f"{row['passed']}/{row['total']}" for row in board.get("rows", [])}
        print(f"scoreboard: {out['passed']} html {work / 'scoreboard.html'}")
    finally:
        r = phase("down", lambda: cli("class", "down", "--json", cwd=work))
        out["down_rc"] = r.returncode
        sampler.stop.set()
    left = subprocess.run(["docker", "ps", "-a", "--filter", f"name=clab-{a.class_name}-", "--format", "{{.Names}}"],
                          capture_output=True, text=True).stdout.split()
    out.update({"n": a.n, "exercise": a.exercise, "phases_s": phases, "left_after_down": left,
                "summary": {p: summary(sampler.samples, p) for p in phases}, "samples": sampler.samples,
                "workdir": str(work)})
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"class-{a.n}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"left after down: {left}; results {path}")
    return 0 if not left and out.get("down_rc") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
