"""Nornir tasks of the route-server policy scenario: inject announcements into members, restore
them, and read routes, sessions and resource use from route servers and members.

Injections change only the running state (how, is the node's daemon's business); the rendered
config on disk stays untouched, so restoring is reloading it.
"""

from __future__ import annotations

from nornir.core.task import Result, Task

import labctl.daemons.rtr as rtr
from labctl.automation.tasks import node_daemon, node_shell
from labctl.daemons.records import afi_of


def inject(task: Task, text: str) -> Result:
    """Load the daemon's injection text (labctl.daemons: Daemon.injection), checked first."""
    node_daemon(task).inject(node_shell(task), text)
    return Result(host=task.host, changed=True, result="injected")


def restore(task: Task) -> Result:
    """Back to the config on disk: whatever a scenario injected is removed."""
    node_daemon(task).restore(node_shell(task))
    return Result(host=task.host, changed=True, result="restored")


def collect_routes(task: Task) -> Result:
    """Every path the node holds (route servers: also the ones their filters rejected)."""
    routes = node_daemon(task).collect_routes(node_shell(task), task.host.data["role"] == "route_server")
    return Result(host=task.host, result=routes)


def rtr_clients(task: Task) -> Result:
    """The addresses the node's RPKI cache (StayRTR) serves over RTR now."""
    return Result(host=task.host, result=rtr.clients(node_shell(task)))


def session_detail(task: Task, peers: dict[str, str]) -> Result:
    """State and the last error of chosen sessions. peers: peer address -> peer node name."""
    sh, daemon = node_shell(task), node_daemon(task)
    out = {}
    for address, peer in peers.items():
        key = daemon.session_key(peer, address, afi_of(address))
        out[address] = daemon.session_detail(sh, key, address)
    return Result(host=task.host, result=out)


def clear_sessions(task: Task, peers: dict[str, str]) -> Result:
    """Re-open sessions a max-prefix action shut. peers: peer address -> peer node name."""
    sh, daemon = node_shell(task), node_daemon(task)
    for address, peer in peers.items():
        daemon.reopen_session(sh, daemon.session_key(peer, address, afi_of(address)), address)
    return Result(host=task.host, changed=True, result="cleared")


def resources(task: Task) -> Result:
    """Resident memory and CPU time (user + system) of the routing daemons, the RPKI cache (StayRTR)
    included: it is part of what a route server with ROAs runs."""
    sh, daemon = node_shell(task), node_daemon(task)
    cmd = (f"for p in $(pgrep -x '{daemon.processes}') $(pgrep -x {rtr.PROCESS}); do "
           "echo $p $(cut -d' ' -f14,15,24 /proc/$p/stat) $(cat /proc/$p/comm); done; getconf CLK_TCK; getconf PAGESIZE")
    _, out = sh.run(cmd, check=False)
    lines = out.strip().splitlines()
    tick, page = int(lines[-2]), int(lines[-1])
    procs: dict[str, dict] = {}
    for line in lines[:-2]:
        parts = line.split()
        if len(parts) != 5 or not parts[0].isdigit():
            continue
        name = parts[4]
        # a daemon may run several processes of one name (OpenBGPD: parent, session, RDE, RTR): summed
        p = procs.setdefault(name, {"rss_kb": 0, "cpu_seconds": 0.0, "count": 0})
        p["rss_kb"] += int(parts[3]) * page // 1024
        p["cpu_seconds"] = round(p["cpu_seconds"] + (int(parts[1]) + int(parts[2])) / tick, 2)
        p["count"] += 1
    return Result(host=task.host, result={
        "rss_kb": sum(p["rss_kb"] for p in procs.values()),
        "cpu_seconds": round(sum(p["cpu_seconds"] for p in procs.values()), 2),
        "processes": procs})
