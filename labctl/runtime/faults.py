"""Fault primitives on a running lab, each reversible and returning the instant it took effect.

Time-critical actions (link state) run from the host inside the node's network namespace
(`nsenter`), which costs a few milliseconds instead of a `docker exec`'s ~0.25 s, and the
timestamp is taken right before the action. Actions that need the node's own tools run by
`docker exec` and read the node's clock right before acting (all nodes share the host clock).
"""

from __future__ import annotations

import shlex
import subprocess
import time
from functools import lru_cache

from labctl import daemons
from labctl.daemons.base import ACTIONS
from labctl.errors import LabctlError
from labctl.runtime.clab import container_name
from labctl.runtime.images import client


@lru_cache(maxsize=256)
def _pid(container: str) -> int:
    return int(client().containers.get(container).attrs["State"]["Pid"])


def _nsenter_net(lab: str, node: str, command: list[str]) -> float:
    pid = _pid(container_name(lab, node))
    t0 = time.time()
    proc = subprocess.run(["nsenter", "-t", str(pid), "-n", *command], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise LabctlError(f"{node}: `{' '.join(command)}` failed: {proc.stderr.strip()}")
    return t0


def _exec_timed(lab: str, node: str, script: str, timeout: float = 120) -> float:
    """Run a shell script in the node; return the node-clock instant right before it started."""
    proc = subprocess.run(["docker", "exec", container_name(lab, node), "sh", "-c", f"date +%s.%N; {script}"],
                          capture_output=True, text=True, timeout=timeout)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or not lines:
        raise LabctlError(f"{node}: `{script}` failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
    return float(lines[0])


def set_link(lab: str, node: str, interface: str, up: bool) -> float:
    return _nsenter_net(lab, node, ["ip", "link", "set", "dev", interface, "up" if up else "down"])


def pause_node(lab: str, node: str) -> float:
    t0 = time.time()
    client().containers.get(container_name(lab, node)).pause()
    return t0


def unpause_node(lab: str, node: str) -> float:
    t0 = time.time()
    client().containers.get(container_name(lab, node)).unpause()
    return t0


def daemon_action(lab: str, node: str, daemon: str, action: str) -> float:
    """stop (graceful: peers get a NOTIFICATION), kill (crash), start, restart."""
    if action not in ACTIONS:
        raise LabctlError(f"no '{action}' action for a routing daemon", f"actions: {', '.join(ACTIONS)}")
    script = daemons.get(daemon).control_script(action)
    return _exec_timed(lab, node, script)


def impair(lab: str, node: str, interface: str, loss_percent: float = 0, rate_mbit: float | None = None,
           delay_ms: float = 0, netem: bool = False) -> float:
    """Impose loss (nftables, both directions of bridged traffic through `interface`), a rate limit
    (tbf) and, where the kernel has netem, delay. Replaces any earlier impairment on the port."""
    clear_impairment(lab, node, interface)
    parts = []
    if delay_ms and netem:
        parts.append(f"tc qdisc add dev {interface} root netem delay {delay_ms}ms"
                     + (f" rate {rate_mbit}mbit" if rate_mbit else ""))
    elif rate_mbit:
        parts.append(f"tc qdisc add dev {interface} root tbf rate {rate_mbit}mbit burst 64kbit latency 200ms")
    if loss_percent:
        per_mille = int(round(loss_percent * 10))  # 0.1 % steps
        chance = "" if per_mille >= 1000 else f"numgen random mod 1000 < {per_mille} "
        rules = (f"add table bridge labctl\n"
                 f"add chain bridge labctl impair {{ type filter hook forward priority 0; }}\n"
                 f"add rule bridge labctl impair iifname {interface} {chance}drop\n"
                 f"add rule bridge labctl impair oifname {interface} {chance}drop\n")
        parts.append(f"printf %s {shlex.quote(rules)} | nft -f -")
    if not parts:
        return time.time()
    return _exec_timed(lab, node, " && ".join(parts))


def clear_impairment(lab: str, node: str, interface: str) -> float:
    return _exec_timed(lab, node, f"tc qdisc del dev {interface} root 2>/dev/null; "
                                  f"nft delete table bridge labctl 2>/dev/null; true")
