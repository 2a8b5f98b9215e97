"""Nornir tasks run on lab nodes: push configs (diff-based), roll back, collect BGP state, look up a
prefix. What to run on a node comes from the node's daemon (labctl.daemons); this module owns the
connection and the Nornir side."""

from __future__ import annotations

import difflib
import shlex
from dataclasses import asdict

from nornir.core.task import Result, Task

from labctl import daemons
from labctl.automation import shell
from labctl.automation.control import CONNECTION as CONTROL
from labctl.automation.ssh import CONNECTION
from labctl.render import NODE_PATHS


def _ssh(task: Task):
    """The node's SSH connection (opened once per Nornir run; a new one if it was lost)."""
    conn = task.host.get_connection(CONNECTION, task.nornir.config)
    if not conn.alive():
        try:
            task.host.close_connection(CONNECTION)
        except Exception:  # noqa: BLE001 - already closed; only forget it
            task.host.connections.pop(CONNECTION, None)
        conn = task.host.get_connection(CONNECTION, task.nornir.config)
    return conn


def node_shell(task: Task) -> shell.NodeShell:
    """The node's session: SSH, opened when a command or file needs it, and, where the inventory
    names the node's socket folder, its daemon's control socket (`NodeShell.ask`)."""
    control = None
    if CONTROL in task.host.connection_options and is_router(task.host):
        control = task.host.get_connection(CONTROL, task.nornir.config)
    socket = node_daemon(task).control if control is not None else None
    return shell.NodeShell(lambda: _ssh(task), task.host.name, control, socket)


def node_daemon(task: Task) -> daemons.Daemon:
    return daemons.get(task.host.data["daemon"])


def is_router(host) -> bool:
    """Nornir filter: nodes that run a routing daemon (not the site switches)."""
    return host.data["role"] != "switch"


def _diff(path: str, old: str | None, new: str) -> str:
    return "".join(difflib.unified_diff((old or "").splitlines(True), new.splitlines(True),
                                        fromfile=f"{path} (node)", tofile=f"{path} (rendered)"))


def configure_node(task: Task, files: dict[str, str], dry_run: bool = False, force: bool = False) -> Result:
    """Bring a node's files and daemons to the rendered state; report the per-file diff.

    Only what changed is applied, the way the node's daemon applies a change (FRR: frr-reload,
    no session reset where none is needed; BIRD: `birdc configure` after a parse check); the
    previous config is kept as *.prev for `rollback_node`.
    """
    sh = node_shell(task)
    current = {name: sh.get_file(NODE_PATHS[name]) for name in files}
    changed = [name for name in files if current[name] != files[name]]
    diff = "".join(_diff(NODE_PATHS[n], current[n], files[n]) for n in changed)
    daemon = node_daemon(task) if is_router(task.host) else None
    running = daemon.running(sh) if daemon else True
    if dry_run:
        return Result(host=task.host, changed=bool(changed), diff=diff,
                      result={"changed_files": changed, "daemon_running": running})
    if "network.sh" in files and ("network.sh" in changed or force or not running):
        sh.put_file(NODE_PATHS["network.sh"], files["network.sh"])
        sh.run(f"sh {NODE_PATHS['network.sh']}")
    if daemon:
        daemon.prepare(sh, files, changed)
        daemon.apply(sh, files, changed, running)
    return Result(host=task.host, changed=bool(changed) or not running, diff=diff,
                  result={"changed_files": changed, "daemon_running": running})


def install_node(task: Task, files: dict[str, str]) -> Result:
    """Bring a node to `files` even when its running config was changed by hand (`labctl connect`):
    the files are pushed and applied, then the daemon reloads them, so nothing else stays running."""
    result = configure_node(task, files, force=True)
    if is_router(task.host):
        node_daemon(task).restore(node_shell(task))
    return result


def rollback_node(task: Task) -> Result:
    """Restore the config that was in place before the last apply, and reload it."""
    if is_router(task.host):
        node_daemon(task).rollback(node_shell(task))
    return Result(host=task.host, changed=True, result="rolled back")


def wake_sessions(task: Task) -> Result:
    """The daemon forgets earlier session errors: sessions waiting out its back-off start now."""
    node_daemon(task).wake_sessions(node_shell(task))
    return Result(host=task.host, result="woken")


def graceful_shutdown(task: Task, asn: int, on: bool) -> Result:
    """Start or end graceful shutdown (RFC 8326) in the node's running daemon (a maintenance's drain)."""
    node_daemon(task).graceful_shutdown(node_shell(task), asn, on)
    return Result(host=task.host, changed=True, result="graceful shutdown " + ("on" if on else "off"))


def collect_bgp(task: Task, routes: bool = True) -> Result:
    """The node's sessions and (with `routes`) the prefixes of its best routes."""
    return Result(host=task.host, result=node_daemon(task).collect(node_shell(task), routes=routes))


def daemon_version(task: Task) -> Result:
    """The release the node's routing daemon reports about itself (e.g. "BIRD 3.1.8")."""
    return Result(host=task.host, result=node_daemon(task).version(node_shell(task)))


def ping(task: Task, target: str, source: str, count: int = 3) -> Result:
    """fping from the node to `target` with `source` as the source address: its summary text
    (`<target> : xmt/rcv/%loss = 3/3/0%, ...`; the caller reads it)."""
    _, out = node_shell(task).run(f"fping -c {int(count)} -p 200 -t 500 -S {shlex.quote(source)} {shlex.quote(target)} 2>&1",
                                  check=False, timeout=30)
    return Result(host=task.host, result=out)


def looking_glass(task: Task, prefix: str) -> Result:
    """Everything the node knows about a prefix: accepted paths and, on route servers, filtered ones."""
    raw, routes = node_daemon(task).looking_glass(node_shell(task), prefix)
    return Result(host=task.host, result={**raw, "routes": [asdict(r) for r in routes]})


def trace_pairs(task: Task, pairs_by_node: dict[str, list[tuple[str, str, str]]]) -> Result:
    """Locality (labctl.plan.locality): for each (source address, target address, target prefix) of this node,
    the output of its trace script and the best route's AS path the node holds for the prefix."""
    from labctl.plan.locality import trace_script

    sh = node_shell(task)
    routes = node_daemon(task).collect_routes(sh, route_server=False)
    out = {}
    for source, target, prefix in pairs_by_node.get(task.host.name, []):
        _, text = sh.run(trace_script(source, target), check=False, timeout=60)
        best = next((r for r in routes if r.prefix == prefix and r.best), None)
        out[target] = {"trace": text, "as_path": list(best.as_path) if best else []}
    return Result(host=task.host, result=out)
