"""Fault primitives on a running lab, each reversible and returning the instant it took effect.

Time-critical actions (link state) run from the host inside the node's network namespace
(`nsenter`), which costs a few milliseconds instead of a `docker exec`'s ~0.25 s, and the
timestamp is taken right before the action. Actions that need the node's own tools run by
`docker exec` and read the node's clock right before acting (all nodes share the host clock).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from functools import lru_cache

import docker.errors

from labctl import daemons
from labctl.daemons.base import ACTIONS
from labctl.errors import LabctlError
from labctl.runtime.clab import container_name
from labctl.runtime.engine import LOCAL, Engine


@lru_cache(maxsize=256)
def _pid(container: str, engine: Engine = LOCAL) -> int:
    return int(engine.client().containers.get(container).attrs["State"]["Pid"])


def _nsenter_net(lab: str, node: str, command: list[str], engine: Engine = LOCAL) -> float:
    # every engine labctl drives runs on this machine's kernel (a remote host's would need its own nsenter)
    pid = _pid(container_name(lab, node), engine)
    t0 = time.time()
    proc = subprocess.run(["nsenter", "-t", str(pid), "-n", *command], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise LabctlError(f"{node}: `{' '.join(command)}` failed: {proc.stderr.strip()}")
    return t0


def timed_argv(script: str) -> list[str]:
    """argv, run in the node, that prints the node-clock instant and then runs `script`."""
    return ["sh", "-c", f"date +%s.%N; {script}"]


def timed_result(node: str, script: str, proc: subprocess.CompletedProcess) -> float:
    """The instant `timed_argv(script)` printed; a LabctlError naming the node when it failed."""
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or not lines:
        raise LabctlError(f"{node}: `{script}` failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
    return float(lines[0])


def _exec_timed(lab: str, node: str, script: str, timeout: float = 120, engine: Engine = LOCAL) -> float:
    """Run a shell script in the node; return the node-clock instant right before it started."""
    proc = subprocess.run([*engine.docker(), "exec", container_name(lab, node), *timed_argv(script)],
                          capture_output=True, text=True, timeout=timeout)
    return timed_result(node, script, proc)


def links_script(interfaces: list[str], up: bool) -> str:
    state = "up" if up else "down"
    return "; ".join(f"ip link set dev {i} {state}" for i in interfaces)


def set_link(lab: str, node: str, interface: str, up: bool, engine: Engine = LOCAL) -> float:
    return _nsenter_net(lab, node, ["ip", "link", "set", "dev", interface, "up" if up else "down"], engine)


def set_links(lab: str, node: str, interfaces: list[str], up: bool, engine: Engine = LOCAL) -> float:
    """Several ports of one node at once (a whole site switch failing): one process, so they go
    down within microseconds of each other, not one docker round trip apart."""
    return _nsenter_net(lab, node, ["sh", "-ec", links_script(interfaces, up)], engine)


def pause_node(lab: str, node: str, engine: Engine = LOCAL) -> float:
    t0 = time.time()
    engine.client().containers.get(container_name(lab, node)).pause()
    return t0


def unpause_node(lab: str, node: str, engine: Engine = LOCAL) -> float:
    t0 = time.time()
    engine.client().containers.get(container_name(lab, node)).unpause()
    return t0


def daemon_action(lab: str, node: str, daemon: str, action: str, engine: Engine = LOCAL) -> float:
    """stop (graceful: peers get a NOTIFICATION), kill (crash), start, restart."""
    return _exec_timed(lab, node, daemon_script(daemon, action), engine=engine)


def daemon_script(daemon: str, action: str) -> str:
    if action not in ACTIONS:
        raise LabctlError(f"no '{action}' action for a routing daemon", f"actions: {', '.join(ACTIONS)}")
    return daemons.get(daemon).control_script(action)


def impair(lab: str, node: str, interface: str, loss_percent: float = 0, rate_mbit: float | None = None,
           delay_ms: float = 0, netem: bool = False, engine: Engine = LOCAL) -> float:
    """Impose loss (nftables, both directions of bridged traffic through `interface`), a rate limit
    (tbf) and, where the kernel has netem, delay. Replaces any earlier impairment on the port."""
    clear_impairment(lab, node, interface, engine)
    script = impair_script(interface, loss_percent, rate_mbit, delay_ms, netem)
    if not script:
        return time.time()
    return _exec_timed(lab, node, script, engine=engine)


def impair_script(interface: str, loss_percent: float = 0, rate_mbit: float | None = None, delay_ms: float = 0,
                  netem: bool = False) -> str:
    """The shell commands of `impair` on a port without an impairment ("" for none)."""
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
    return " && ".join(parts)


def clear_script(interface: str) -> str:
    return f"tc qdisc del dev {interface} root 2>/dev/null; nft delete table bridge labctl 2>/dev/null; true"


def clear_impairment(lab: str, node: str, interface: str, engine: Engine = LOCAL) -> float:
    return _exec_timed(lab, node, clear_script(interface), engine=engine)


# ------------------------------------------------------------------ replacing a node (rolling upgrade)

def _ip_in(pid: int, command: list[str]) -> None:
    """`ip` inside the network namespace of `pid` (0: labctl's own, the host's)."""
    argv = ["nsenter", "-t", str(pid), "-n", "ip", *command] if pid else ["ip", *command]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise LabctlError(f"`ip {' '.join(command)}` failed: {proc.stderr.strip()}")


def _create_like(old: dict, image: str, labels: dict[str, str], engine: Engine = LOCAL) -> str:
    """A container configured like `old` (docker inspect of containerlab's node: name, hostname,
    capabilities, sysctls, binds, management network and addresses), from another image."""
    api = engine.client().api
    cfg, hc = old["Config"], old["HostConfig"]
    net, ep = next(iter(old["NetworkSettings"]["Networks"].items()))
    ipam = ep.get("IPAMConfig") or {}
    host_config = api.create_host_config(
        binds=hc.get("Binds"), cap_add=hc.get("CapAdd"), cap_drop=hc.get("CapDrop"), sysctls=hc.get("Sysctls"),
        privileged=bool(hc.get("Privileged")), network_mode=net, extra_hosts=hc.get("ExtraHosts"),
        dns=hc.get("Dns") or None, security_opt=hc.get("SecurityOpt"), devices=hc.get("Devices") or None)
    endpoint = api.create_endpoint_config(ipv4_address=ipam.get("IPv4Address") or ep.get("IPAddress") or None,
                                          ipv6_address=ipam.get("IPv6Address") or ep.get("GlobalIPv6Address") or None,
                                          aliases=ep.get("Aliases"))
    created = api.create_container(
        image, name=old["Name"].lstrip("/"), hostname=cfg.get("Hostname"), environment=cfg.get("Env"),
        entrypoint=cfg.get("Entrypoint"), command=cfg.get("Cmd"), labels=labels, tty=bool(cfg.get("Tty")),
        stdin_open=bool(cfg.get("OpenStdin")), host_config=host_config,
        networking_config=api.create_networking_config({net: endpoint}))
    return created["Id"]


def replace_node(lab: str, node: str, image: str, interfaces: list[str], labels: dict[str, str] | None = None,
                 engine: Engine = LOCAL) -> tuple[float, dict[str, float], str]:
    """Recreate a node's container from `image` as it was (name, management addresses, settings),
    its data-plane links kept: each veth is parked in the host's namespace while the container is
    replaced and moved into the new one under its own name, so the site switch's end (and its
    bridge port) never changes. Returns (the instant it began, {step: seconds}, the old image)."""
    api = engine.client().api
    name = container_name(lab, node)
    old = api.inspect_container(name)
    t0, mark, steps = time.time(), time.monotonic(), {}
    pid = int(old["State"]["Pid"])
    parked = {iface: f"up{pid}{iface}"[:15] for iface in interfaces}
    for iface, tmp in parked.items():
        _ip_in(pid, ["link", "set", "dev", iface, "down"])
        _ip_in(pid, ["link", "set", "dev", iface, "name", tmp])
        _ip_in(pid, ["link", "set", "dev", tmp, "netns", str(os.getpid())])
    steps["park links"] = time.monotonic() - mark
    mark = time.monotonic()
    try:
        api.remove_container(name, force=True)
        _pid.cache_clear()
        new = _create_like(old, image, {**old["Config"].get("Labels", {}), **(labels or {})}, engine)
        api.start(new)
        new_pid = int(api.inspect_container(new)["State"]["Pid"])
        steps["container"] = time.monotonic() - mark
        mark = time.monotonic()
        for iface, tmp in parked.items():
            _ip_in(0, ["link", "set", "dev", tmp, "netns", str(new_pid)])
            _ip_in(new_pid, ["link", "set", "dev", tmp, "name", iface])
            _ip_in(new_pid, ["link", "set", "dev", iface, "up"])
    except (LabctlError, docker.errors.DockerException) as exc:
        for tmp in parked.values():  # nothing of the lab may stay behind on the host
            subprocess.run(["ip", "link", "del", "dev", tmp], capture_output=True)
        raise LabctlError(f"{node}: replacing its container from {image} failed: {exc}",
                          "the lab lost this node: redeploy it with `labctl up FILE`") from exc
    steps["links"] = time.monotonic() - mark
    return t0, steps, old["Config"]["Image"]
