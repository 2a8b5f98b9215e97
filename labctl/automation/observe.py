"""Observers that run inside lab nodes during a scenario, and collection of what they saw.

Inside the nodes, not from the host: a `docker exec` poll resolves no better than ~0.3 s,
while these write kernel and daemon events with microsecond timestamps as they happen.
- every router: its daemon's log (session state changes), read from an offset taken at start;
- members: `ip -tshort monitor route` (every FIB change: what BGP did to the data plane);
- chosen members: fping at a fixed interval towards other members' prefixes (data plane).
"""

from __future__ import annotations

import shlex

from nornir.core.task import Result, Task

from labctl.automation.tasks import node_daemon, node_shell

OBS_DIR = "/tmp/labctl-obs"


def start_observers(task: Task, probes: list[tuple[str, str]], interval_ms: int = 10) -> Result:
    """probes: (source address on this node, target address) pairs to ping every interval_ms."""
    sh = node_shell(task)
    log = node_daemon(task).log_path
    sh.run(f"pkill -f '[i]p -tshort monitor' ; pkill -x fping; rm -rf {OBS_DIR}; mkdir -p {OBS_DIR}; touch {log}",
           check=False)
    _, size = sh.run(f"stat -c %s {log}")
    if task.host.data["role"] == "member":
        sh.run(f"( nohup setsid ip -tshort monitor route > {OBS_DIR}/route.log 2>&1 < /dev/null & )")
    for i, (source, target) in enumerate(probes):
        sh.run(f"date +%s.%N > {OBS_DIR}/probe{i}.start; "
               f"( nohup setsid fping -l -D -p {interval_ms} -t 500 -S {shlex.quote(source)} {shlex.quote(target)} "
               f"> {OBS_DIR}/probe{i}.out 2> {OBS_DIR}/probe{i}.err < /dev/null & )")
    return Result(host=task.host, result={"log_offset": int(size.strip().splitlines()[-1])})


def collect_observers(task: Task, log_offset: int, probes: int, stop: bool = True) -> Result:
    """Everything the observers wrote since start; stops them when `stop` (fping prints its totals)."""
    sh = node_shell(task)
    log = node_daemon(task).log_path
    if stop:
        sh.run("pkill -INT -x fping; sleep 0.3; pkill -f '[i]p -tshort monitor'; true", check=False)
    out = {"daemon_log": sh.run(f"tail -c +{log_offset + 1} {log}", check=False)[1],
           "route_log": sh.get_file(f"{OBS_DIR}/route.log") or "", "probes": []}
    for i in range(probes):
        out["probes"].append({
            "start": (sh.get_file(f"{OBS_DIR}/probe{i}.start") or "0").strip(),
            "out": sh.get_file(f"{OBS_DIR}/probe{i}.out") or "",
            "err": sh.get_file(f"{OBS_DIR}/probe{i}.err") or "",
        })
    return Result(host=task.host, result=out)
