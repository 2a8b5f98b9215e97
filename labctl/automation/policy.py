"""Nornir tasks of the route-server policy scenario: inject announcements into members, restore
them, and read routes, sessions and resource use from route servers and members.

Injections change only the running state (FRR: vtysh; BIRD: a separate config file loaded with
`birdc configure "file"`); the rendered config on disk stays untouched, so restoring is reloading
it (frr-reload.py / birdc configure).
"""

from __future__ import annotations

import json
import re
import shlex

from nornir.core.task import Result, Task

from labctl.automation import shell
from labctl.automation.routes import parse_bird_routes, parse_frr_table
from labctl.automation.tasks import FRR_RELOAD, node_connection
from labctl.render import NODE_PATHS

INJECT_FRR = "/tmp/labctl-scenario-frr.conf"
INJECT_BIRD = "/etc/bird/labctl-scenario.conf"


def inject(task: Task, text: str) -> Result:
    """Apply a config snippet (FRR) or load a whole alternative config (BIRD), checked first."""
    node = task.host.name
    conn = node_connection(task)
    daemon = task.host.data["daemon"]
    if daemon == "frr":
        shell.put_file(conn, INJECT_FRR, text, node)
        rc, out = shell.run(conn, f"vtysh -f {INJECT_FRR} 2>&1", node, check=False, timeout=120)
        if rc != 0 or "% " in out:
            raise shell.NodeCommandError(node, f"vtysh -f {INJECT_FRR}", rc, out)
    else:
        shell.put_file(conn, INJECT_BIRD, text, node)
        shell.run(conn, f"bird -p -c {INJECT_BIRD} 2>&1", node)
        _, out = shell.run(conn, f"birdc configure '\"{INJECT_BIRD}\"'", node, timeout=60)
        if "Reconfigur" not in out:
            raise shell.NodeCommandError(node, "birdc configure", 1, out)
    return Result(host=task.host, changed=True, result="injected")


def restore(task: Task) -> Result:
    """Back to the config on disk: whatever a scenario injected is removed."""
    node = task.host.name
    conn = node_connection(task)
    if task.host.data["daemon"] == "frr":
        conf = NODE_PATHS["frr.conf"]
        shell.run(conn, f"{FRR_RELOAD} --reload {conf} >/tmp/frr-reload-scenario.log 2>&1 || "
                        f"{{ tail -20 /tmp/frr-reload-scenario.log; false; }}", node, timeout=180)
        shell.run(conn, f"rm -f {INJECT_FRR}", node, check=False)
    else:
        _, out = shell.run(conn, f"birdc configure '\"{NODE_PATHS['bird.conf']}\"'", node, timeout=60)
        if "Reconfigur" not in out:
            raise shell.NodeCommandError(node, "birdc configure", 1, out)
        shell.run(conn, f"rm -f {INJECT_BIRD}", node, check=False)
    return Result(host=task.host, changed=True, result="restored")


def capture(conn, command: str, node: str, timeout: float = 120) -> str:
    """A command's output through a file and base64: long JSON or table output on the terminal can
    contain lines that look like a shell prompt and cut the read short."""
    out = "/tmp/labctl-capture.out"
    shell.run(conn, f"{command} > {out} 2>&1", node, check=False, timeout=timeout)
    return shell.get_file(conn, out, node) or ""


def _json_docs(text: str) -> list[dict]:
    """vtysh with several -c ... json prints the documents one after another."""
    docs, pos, dec = [], 0, json.JSONDecoder()
    text = text.strip()
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        doc, pos = dec.raw_decode(text, pos)
        docs.append(doc)
    return docs


def collect_routes(task: Task) -> Result:
    """Every path the node holds (route servers: also the ones their filters rejected)."""
    node = task.host.name
    conn = node_connection(task)
    routes = []
    if task.host.data["daemon"] == "frr":
        out = capture(conn, "vtysh -c 'show bgp ipv4 unicast json detail' -c 'show bgp ipv6 unicast json detail'", node)
        for doc in _json_docs(out):
            routes += parse_frr_table(json.dumps(doc))
    else:
        for table in ("master4", "master6"):
            out = capture(conn, f"birdc show route table {table} all", node)
            routes += parse_bird_routes(out)
            if task.host.data["role"] == "route_server":
                out = capture(conn, f"birdc show route table {table} all filtered", node)
                routes += parse_bird_routes(out, filtered=True)
    return Result(host=task.host, result=routes)


def session_detail(task: Task, peers: dict[str, str]) -> Result:
    """State and the last error of chosen sessions. peers: peer address -> BIRD protocol name."""
    node = task.host.name
    conn = node_connection(task)
    out: dict[str, dict] = {}
    if task.host.data["daemon"] == "frr":
        for address in peers:
            text = capture(conn, f"vtysh -c 'show bgp neighbors {address} json'", node)
            try:
                data = json.loads(text or "{}").get(address, {})
            except ValueError:
                data = {}
            afi = "ipv6Unicast" if ":" in address else "ipv4Unicast"
            out[address] = {
                "state": data.get("bgpState", "unknown"),
                "reason": " ".join(str(data.get(k, "")) for k in ("lastResetDueTo", "lastNotificationReason") if data.get(k)),
                "received": (data.get("addressFamilyInfo", {}).get(afi, {}) or {}).get("acceptedPrefixCounter", 0),
                "resets": data.get("connectionsDropped", 0),
            }
    else:
        for address, proto in peers.items():
            text = capture(conn, f"birdc show protocols all {shlex.quote(proto)}", node)
            state = re.search(r"BGP state:\s+(\S+)", text)
            head = re.search(rf"^{re.escape(proto)}\s+BGP\s+\S+\s+(\S+)\s+\S+\s+\S+\s*(.*)$", text, re.M)
            routes = re.search(r"Routes:\s+(\d+) imported(?:, (\d+) filtered)?", text)
            error = re.search(r"Last error:\s+(.*)", text)
            out[address] = {
                "state": state.group(1) if state else (head.group(1) if head else "unknown"),
                "reason": _bird_reason(head.group(2) if head else "", error.group(1) if error else ""),
                "received": (int(routes.group(1)) + int(routes.group(2) or 0)) if routes else 0,
                "resets": 0,
            }
    return Result(host=task.host, result=out)


def _bird_reason(info: str, error: str) -> str:
    info, error = " ".join(info.split()), " ".join(error.split())
    return info if error in info else f"{info}; {error}".strip("; ")


def clear_sessions(task: Task, peers: dict[str, str]) -> Result:
    """Re-open sessions a max-prefix action shut (FRR: clear; BIRD: enable the protocol)."""
    node = task.host.name
    conn = node_connection(task)
    for address, proto in peers.items():
        if task.host.data["daemon"] == "frr":
            shell.run(conn, f"vtysh -c 'clear bgp {address}'", node, check=False)
        else:
            shell.run(conn, f"birdc enable {shlex.quote(proto)}", node, check=False)
    return Result(host=task.host, changed=True, result="cleared")


_DAEMONS = {"frr": "bgpd|zebra|staticd|watchfrr|bfdd", "bird": "bird"}


def resources(task: Task) -> Result:
    """Resident memory and CPU time (user + system) of the routing daemons, the RPKI cache included."""
    node = task.host.name
    conn = node_connection(task)
    pattern = _DAEMONS[task.host.data["daemon"]]
    cmd = (f"for p in $(pgrep -x '{pattern}') $(cat /run/labctl-rpki-rtr.pid 2>/dev/null); do "
           "echo $p $(cut -d' ' -f14,15,24 /proc/$p/stat) $(cat /proc/$p/comm); done; getconf CLK_TCK; getconf PAGESIZE")
    _, out = shell.run(conn, cmd, node, check=False)
    lines = out.strip().splitlines()
    tick, page = int(lines[-2]), int(lines[-1])
    procs: dict[str, dict] = {}
    for line in lines[:-2]:
        parts = line.split()
        if len(parts) != 5 or not parts[0].isdigit():
            continue
        name = "rpki-rtr" if parts[4].startswith("python") else parts[4]
        procs[name] = {"rss_kb": int(parts[3]) * page // 1024, "cpu_seconds": (int(parts[1]) + int(parts[2])) / tick}
    return Result(host=task.host, result={
        "rss_kb": sum(p["rss_kb"] for p in procs.values()),
        "cpu_seconds": round(sum(p["cpu_seconds"] for p in procs.values()), 2),
        "processes": procs})
