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

from labctl.automation import shell
from labctl.automation.tasks import node_connection

DAEMON_LOG = {"frr": "/var/log/frr/frr.log", "bird": "/var/log/bird.log"}
OBS_DIR = "/tmp/labctl-obs"


def start_observers(task: Task, probes: list[tuple[str, str]], interval_ms: int = 10) -> Result:
    """probes: (source address on this node, target address) pairs to ping every interval_ms."""
    node = task.host.name
    conn = node_connection(task)
    daemon = task.host.data["daemon"]
    log = DAEMON_LOG[daemon]
    shell.run(conn, f"pkill -f 'ip -tshort monitor' ; pkill -x fping; rm -rf {OBS_DIR}; mkdir -p {OBS_DIR}; "
                    f"touch {log}", node, check=False)
    _, size = shell.run(conn, f"stat -c %s {log}", node)
    if task.host.data["role"] == "member":
        shell.run(conn, f"( nohup setsid ip -tshort monitor route > {OBS_DIR}/route.log 2>&1 < /dev/null & )", node)
    for i, (source, target) in enumerate(probes):
        shell.run(conn, f"date +%s.%N > {OBS_DIR}/probe{i}.start; "
                        f"( nohup setsid fping -l -D -p {interval_ms} -t 500 -S {shlex.quote(source)} {shlex.quote(target)} "
                        f"> {OBS_DIR}/probe{i}.out 2> {OBS_DIR}/probe{i}.err < /dev/null & )", node)
    return Result(host=task.host, result={"log_offset": int(size.strip().splitlines()[-1])})


def collect_observers(task: Task, log_offset: int, probes: int, stop: bool = True) -> Result:
    """Everything the observers wrote since start; stops them when `stop` (fping prints its totals)."""
    node = task.host.name
    conn = node_connection(task)
    log = DAEMON_LOG[task.host.data["daemon"]]
    if stop:
        shell.run(conn, "pkill -INT -x fping; sleep 0.3; pkill -f 'ip -tshort monitor'; true", node, check=False)
    out = {"daemon_log": shell.run(conn, f"tail -c +{log_offset + 1} {log}", node, check=False)[1],
           "route_log": shell.get_file(conn, f"{OBS_DIR}/route.log", node) or "", "probes": []}
    for i in range(probes):
        out["probes"].append({
            "start": (shell.get_file(conn, f"{OBS_DIR}/probe{i}.start", node) or "0").strip(),
            "out": shell.get_file(conn, f"{OBS_DIR}/probe{i}.out", node) or "",
            "err": shell.get_file(conn, f"{OBS_DIR}/probe{i}.err", node) or "",
        })
    return Result(host=task.host, result=out)
