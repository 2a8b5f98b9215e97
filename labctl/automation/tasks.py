"""Nornir tasks run on lab nodes: push configs (diff-based), roll back, collect BGP state, look up a prefix."""

from __future__ import annotations

import difflib
import shlex
from dataclasses import asdict

from nornir.core.task import Result, Task

from labctl.automation import rpki, shell
from labctl.automation.routes import parse_bird_routes as parse_bird_routes_all, parse_frr_prefix
from labctl.automation.parse import (
    NodeBgp,
    parse_bird_protocols,
    parse_bird_routes,
    parse_frr_routes,
    parse_frr_summary,
)
from labctl.errors import LabctlError
from labctl.render import NODE_PATHS

FRR_INIT = "/usr/lib/frr/frrinit.sh"
FRR_RELOAD = "/usr/lib/frr/frr-reload.py"


class ConfigRejected(LabctlError):
    """The node's daemon refused the rendered config; nothing was applied."""


def node_connection(task: Task):
    conn = task.host.get_connection("scrapli", task.nornir.config)
    if not task.host.data.get("_session_ready"):
        shell.prepare_session(conn)
        task.host.data["_session_ready"] = True
    return conn


def _diff(path: str, old: str | None, new: str) -> str:
    return "".join(difflib.unified_diff((old or "").splitlines(True), new.splitlines(True),
                                        fromfile=f"{path} (node)", tofile=f"{path} (rendered)"))


def configure_node(task: Task, files: dict[str, str], dry_run: bool = False, force: bool = False) -> Result:
    """Bring a node's files and daemons to the rendered state; report the per-file diff.

    Only what changed is applied. FRR changes go through frr-reload (no session reset where
    none is needed), BIRD through `birdc configure` after a parse check; the previous config
    is kept as *.prev for `rollback_node`.
    """
    node = task.host.name
    conn = node_connection(task)
    current = {name: shell.get_file(conn, NODE_PATHS[name], node) for name in files}
    changed = [name for name in files if current[name] != files[name]]
    diff = "".join(_diff(NODE_PATHS[n], current[n], files[n]) for n in changed)
    daemon = task.host.data["daemon"]
    running = _daemon_running(conn, node, daemon)
    if dry_run:
        return Result(host=task.host, changed=bool(changed), diff=diff,
                      result={"changed_files": changed, "daemon_running": running})
    if "network.sh" in files and ("network.sh" in changed or force or not running):
        shell.put_file(conn, NODE_PATHS["network.sh"], files["network.sh"], node)
        shell.run(conn, f"sh {NODE_PATHS['network.sh']}", node)
    if "roas.json" in files:  # an FRR route server's RPKI cache must listen before bgpd connects
        rpki.ensure_cache(conn, node, files, changed)
    if daemon == "frr" and ("frr.conf" in changed or "daemons" in changed or not running):
        _apply_frr(conn, node, files, changed, running)
    elif daemon == "bird" and ("bird.conf" in changed or not running):
        _apply_bird(conn, node, files["bird.conf"], running)
    return Result(host=task.host, changed=bool(changed) or not running, diff=diff,
                  result={"changed_files": changed, "daemon_running": running})


def _daemon_running(conn, node: str, daemon: str) -> bool:
    if daemon == "frr":
        return shell.run(conn, "pgrep -x watchfrr >/dev/null", node, check=False)[0] == 0
    if daemon == "bird":
        return shell.run(conn, "birdc show status >/dev/null 2>&1", node, check=False)[0] == 0
    return True  # switches have no daemon


def _apply_frr(conn, node: str, files: dict[str, str], changed: list[str], running: bool) -> None:
    conf = NODE_PATHS["frr.conf"]
    shell.put_file(conn, conf + ".new", files["frr.conf"], node)
    rc, out = shell.run(conn, f"vtysh --dryrun -f {conf}.new 2>&1", node, check=False)
    if rc != 0:
        shell.run(conn, f"rm -f {conf}.new", node)
        raise ConfigRejected(f"{node}: FRR rejected the rendered config: {out.strip()[-500:]}")
    shell.run(conn, f"test -f {conf} && cp {conf} {conf}.prev; test -f /etc/frr/daemons && cp /etc/frr/daemons /etc/frr/daemons.prev; true", node)
    if "daemons" in files:
        shell.put_file(conn, NODE_PATHS["daemons"], files["daemons"], node)
    if not running:
        shell.run(conn, f"mv {conf}.new {conf} && chown frr:frr {conf} && {FRR_INIT} start >/dev/null", node, timeout=120)
        _reconcile_frr(conn, node, conf)
    elif "daemons" in changed:
        shell.run(conn, f"mv {conf}.new {conf} && chown frr:frr {conf} && {FRR_INIT} restart >/dev/null", node, timeout=120)
        _reconcile_frr(conn, node, conf)
    else:
        rc, out = shell.run(conn, f"{FRR_RELOAD} --reload {conf}.new >/tmp/frr-reload.log 2>&1 || "
                                  f"{{ tail -20 /tmp/frr-reload.log; false; }}", node, check=False, timeout=120)
        shell.run(conn, f"mv {conf}.new {conf} && chown frr:frr {conf}", node)
        if rc != 0:
            # Some changes (graceful-restart mode, for one) cannot be applied to a running bgpd:
            # frr-reload says so and gives up. A restart applies the checked config as a whole.
            shell.run(conn, f"{FRR_INIT} restart >/dev/null", node, timeout=120)


def _reconcile_frr(conn, node: str, conf: str) -> None:
    """FRR's boot-time load of a large config can stop part-way (vtysh's connection to the
    daemons is reset; seen with a route server's policy): sessions then sit in Idle with no
    address family. frr-reload applies whatever the running config lacks; a no-op otherwise."""
    shell.run(conn, "for i in $(seq 150); do vtysh -c 'show bgp summary' >/dev/null 2>&1 && break; sleep 0.2; done",
              node, timeout=60)
    # watchfrr's boot-time load (vtysh -b) of a large config is still running: let it finish first
    shell.run(conn, "for i in $(seq 900); do pgrep -f 'vtysh -b' >/dev/null || break; sleep 1; done", node, timeout=960)
    rc, out = shell.run(conn, f"{FRR_RELOAD} --reload {conf} >/tmp/frr-reload.log 2>&1 || "
                              f"{{ tail -20 /tmp/frr-reload.log; false; }}", node, check=False, timeout=300)
    if rc != 0:
        raise LabctlError(f"{node}: FRR started but its config could not be completed: {out.strip()[-400:]}")


def _apply_bird(conn, node: str, text: str, running: bool) -> None:
    conf = NODE_PATHS["bird.conf"]
    shell.put_file(conn, conf + ".new", text, node)
    rc, out = shell.run(conn, f"bird -p -c {conf}.new 2>&1", node, check=False)
    if rc != 0:
        shell.run(conn, f"rm -f {conf}.new", node)
        raise ConfigRejected(f"{node}: BIRD rejected the rendered config: {out.strip()[-500:]}")
    shell.run(conn, f"test -f {conf} && cp {conf} {conf}.prev; mv {conf}.new {conf}", node)
    if not running:
        shell.run(conn, f"bird -c {conf}", node, timeout=60)
    else:
        _, out = shell.run(conn, "birdc configure", node, timeout=60)
        if "Reconfigur" not in out:
            raise LabctlError(f"{node}: birdc configure did not confirm: {out.strip()[-300:]}")


def rollback_node(task: Task) -> Result:
    """Restore the config that was in place before the last apply, and reload it."""
    node = task.host.name
    conn = node_connection(task)
    daemon = task.host.data["daemon"]
    if daemon == "frr":
        conf = NODE_PATHS["frr.conf"]
        shell.run(conn, f"test -f {conf}.prev", node)
        shell.run(conn, f"mv {conf}.prev {conf} && chown frr:frr {conf}; "
                        f"test -f /etc/frr/daemons.prev && mv /etc/frr/daemons.prev /etc/frr/daemons; "
                        f"{FRR_INIT} restart >/dev/null", node, timeout=120)
    elif daemon == "bird":
        conf = NODE_PATHS["bird.conf"]
        shell.run(conn, f"test -f {conf}.prev && mv {conf}.prev {conf}", node)
        shell.run(conn, "birdc configure", node, timeout=60)
    return Result(host=task.host, changed=True, result="rolled back")


def collect_bgp(task: Task) -> Result:
    node = task.host.name
    conn = node_connection(task)
    daemon = task.host.data["daemon"]
    state = NodeBgp()
    if daemon == "frr":
        if shell.run(conn, "pgrep -x bgpd >/dev/null", node, check=False)[0] == 0:
            _, summary = shell.run(conn, "vtysh -c 'show bgp summary json'", node)
            state.sessions = parse_frr_summary(summary)
            for afi in ("ipv4", "ipv6"):
                _, routes = shell.run(conn, f"vtysh -c 'show bgp {afi} unicast json'", node)
                state.routes[afi] = parse_frr_routes(routes)
    elif daemon == "bird":
        if shell.run(conn, "birdc show status >/dev/null 2>&1", node, check=False)[0] == 0:
            _, protocols = shell.run(conn, "birdc show protocols all", node)
            state.sessions = parse_bird_protocols(protocols)
            _, routes = shell.run(conn, "birdc show route", node)
            state.routes = parse_bird_routes(routes)
    return Result(host=task.host, result=state)


def looking_glass(task: Task, prefix: str) -> Result:
    """Everything the node knows about a prefix: accepted paths and, on route servers, filtered ones."""
    node = task.host.name
    conn = node_connection(task)
    daemon = task.host.data["daemon"]
    q = shlex.quote(prefix)
    out: dict[str, str] = {}
    routes = []
    if daemon == "frr":
        afi = "ipv6" if ":" in prefix else "ipv4"
        out["paths"] = shell.run(conn, f"vtysh -c 'show bgp {afi} unicast {prefix} json'", node)[1]
        routes = parse_frr_prefix(out["paths"])
    elif daemon == "bird":
        out["paths"] = shell.run(conn, f"birdc show route {q} all", node, check=False)[1]
        out["filtered"] = shell.run(conn, f"birdc show route {q} all filtered", node, check=False)[1]
        routes = parse_bird_routes_all(out["paths"]) + parse_bird_routes_all(out["filtered"], filtered=True)
    out["routes"] = [asdict(r) for r in routes]  # the same, parsed (labctl.automation.routes.Route)
    return Result(host=task.host, result=out)
