"""A Nornir inventory for a running lab: one host per node, reached over SSH with the lab's key."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from nornir.core import Nornir
from nornir.core.configuration import Config
from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.plugins.runners import ThreadedRunner

from labctl.plan import Plan
from labctl.runtime.clab import NodeState

DEFAULT_WORKERS = 16
PROMPT_PATTERN = r"^labctl:[\w.-]+# ?$"
TRANSPORT_TIMEOUT = 1200  # s; above every per-command timeout labctl passes (the longest: 960 s)



@lru_cache(maxsize=1)
def _set_up_nornir() -> None:
    """Once, when the first inventory is built (importing this module changes nothing)."""
    # Results are data that labctl reports itself; Nornir's own error logging would only duplicate them.
    logging.getLogger("nornir").addHandler(logging.NullHandler())
    logging.getLogger("nornir").propagate = False
    ConnectionPluginRegister.auto_register()  # nornir-scrapli's "scrapli" plugin, by its entry point


def build_nornir(plan: Plan, nodes: dict[str, NodeState], key: Path, workers: int = DEFAULT_WORKERS,
                 only: list[str] | None = None) -> Nornir:
    _set_up_nornir()
    hosts = Hosts()
    for name, node in plan.nodes.items():
        if only is not None and name not in only:
            continue
        state = nodes.get(name)
        if state is None or not state.mgmt_ipv4:
            continue
        options = ConnectionOptions(
            platform="generic",
            extras={
                "auth_private_key": str(key),
                "auth_strict_key": False,
                "transport": "system",
                "timeout_socket": 15,
                # scrapli's transport timeout bounds each read of the pty: a command silent for
                # longer (an FRR 8.4 route server loading its policy for minutes) timed out there
                # and scrapli closed the connection. Each command is bounded by timeout_ops (60 s,
                # or the command's own timeout); the transport only guards above the longest of those.
                "timeout_transport": TRANSPORT_TIMEOUT,
                "timeout_ops": 60,
                "ssh_config_file": False,
                # The node image sets this prompt (images/node/Dockerfile). scrapli's generic
                # pattern can match the tail of a partial read of long output, ending it early.
                "comms_prompt_pattern": PROMPT_PATTERN,
            },
        )
        hosts[name] = Host(
            name, hostname=state.mgmt_ipv4, username="root", platform="generic",
            data={"role": node.role, "daemon": node.daemon, "site": node.site},
            connection_options={"scrapli": options},
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
