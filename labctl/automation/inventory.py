"""A Nornir inventory for a running lab: one host per node, reached over SSH with the lab's key and,
for polls, through its daemon's control socket in the lab folder (automation/control.py)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from nornir.core import Nornir
from nornir.core.configuration import Config
from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.plugins.runners import ThreadedRunner

from labctl.automation.control import CONNECTION as CONTROL, ControlConnection
from labctl.automation.ssh import CONNECTION, SshConnection
from labctl.plan import Plan
from labctl.runtime.clab import NodeState

DEFAULT_WORKERS = 16


@lru_cache(maxsize=1)
def _set_up_nornir() -> None:
    """Once, when the first inventory is built (importing this module changes nothing)."""
    # Results are data that labctl reports itself; Nornir's own error logging would only duplicate them.
    logging.getLogger("nornir").addHandler(logging.NullHandler())
    logging.getLogger("nornir").propagate = False
    logging.getLogger("paramiko").addHandler(logging.NullHandler())
    logging.getLogger("paramiko").propagate = False
    if CONNECTION not in ConnectionPluginRegister.available:
        ConnectionPluginRegister.register(CONNECTION, SshConnection)
    if CONTROL not in ConnectionPluginRegister.available:
        ConnectionPluginRegister.register(CONTROL, ControlConnection)


def build_nornir(plan: Plan, nodes: dict[str, NodeState], key: Path, workers: int = DEFAULT_WORKERS,
                 only: list[str] | None = None, sockets: Path | None = None) -> Nornir:
    """sockets: the lab folder's socket folders (runtime.labdir.control_dir), one per node."""
    _set_up_nornir()
    hosts = Hosts()
    for name, node in plan.nodes.items():
        if only is not None and name not in only:
            continue
        state = nodes.get(name)
        address, port = state.ssh_endpoint if state is not None else ("", 22)
        if not address:  # the backend gives the address (a management IP, or a cluster's exposed service)
            continue
        # each command's own timeout bounds it (labctl.automation.ssh); the connection has none
        options = {CONNECTION: ConnectionOptions(extras={"key": str(key), "connect_timeout": 15, "name": name})}
        if sockets is not None:
            options[CONTROL] = ConnectionOptions(extras={"directory": str(sockets / name), "name": name})
        hosts[name] = Host(
            name, hostname=address, port=port, username="root", platform="linux",
            data={"role": node.role, "daemon": node.daemon, "site": node.site},
            connection_options=options,
        )
    inventory = Inventory(hosts=hosts, groups=Groups(), defaults=Defaults())
    return Nornir(inventory=inventory, config=Config(), runner=ThreadedRunner(num_workers=max(1, workers)))


def retarget(nr: Nornir, node: str, daemon: str) -> None:
    """The node's container was replaced (rolling upgrade): drop the connection to the old one and
    run the node's tasks for `daemon` from now on."""
    host = nr.inventory.hosts[node]
    try:
        host.close_connections()
    except Exception:  # noqa: BLE001 - the old container is gone; its session cannot close cleanly
        host.connections.clear()
    host.connections.clear()
    host.data["daemon"] = daemon
