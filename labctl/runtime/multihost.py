"""Multi-host containerlab: one containerlab sub-lab per Docker host, links that cross hosts as
containerlab VXLAN links (render/multihost.py writes the topologies and `hosts/layout.json`).

Each host's containerlab runs with DOCKER_HOST set to its engine and, when the host is a network
namespace of this machine, inside that namespace: its VXLAN tunnels then leave through that host's
own interfaces, as on a separate machine. Nodes are reached as on one host (docker exec through
their engine, nsenter by PID: every engine here shares this machine's kernel). A host in a network
namespace gets a route from here to its management subnet through its address, so labctl's SSH
sessions reach its nodes; `destroy` removes the route.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from labctl.errors import LabctlError
from labctl.render.multihost import LAYOUT
from labctl.runtime import clab, images
from labctl.runtime.backend import Backend
from labctl.runtime.clab import NodeState
from labctl.runtime.engine import LOCAL, Engine


@dataclass(frozen=True)
class Host:
    name: str
    engine: Engine
    topology: Path
    address: str
    mgmt_ipv4: str
    nodes: tuple[str, ...]


def read_layout(workdir: Path) -> dict | None:
    try:
        return json.loads((workdir / LAYOUT).read_text())
    except FileNotFoundError:
        return None


class MultiHostClab(Backend):
    kind = "containerlab-multihost"

    def __init__(self, lab: str, workdir: Path, layout: dict):
        super().__init__(lab)
        self.workdir = workdir
        self.hosts = [Host(h["name"], Engine(h["name"], h["docker"], h["netns"]) if h["docker"] else LOCAL,
                           workdir / h["topology"], h["address"], h["mgmt_ipv4"], tuple(h["nodes"]))
                      for h in layout["hosts"]]
        self.tunnels = layout["tunnels"]
        self._engine = {n: h.engine for h in self.hosts for n in h.nodes}

    def _each(self, work) -> list:
        """work(host) on every host at once; the first error, if any, after all have finished."""
        with ThreadPoolExecutor(max_workers=len(self.hosts)) as pool:
            futures = [pool.submit(work, h) for h in self.hosts]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]
        return [f.result() for f in futures]

    def ensure_images(self, tags: list[str]) -> None:
        """Copy the node images into every other engine that lacks them (docker save | docker load)."""
        self._each(lambda h: images.load_into(h.engine, tags) if h.engine != LOCAL else None)

    def deploy(self, topology: Path, reconfigure: bool = False) -> None:
        for h in self.hosts:
            if h.engine.netns:
                _route(["replace", h.mgmt_ipv4, "via", h.address])

        def one(h: Host) -> None:
            try:
                clab.deploy(h.topology, reconfigure=reconfigure, engine=h.engine)
            except LabctlError as exc:
                raise LabctlError(f"host {h.name}: {exc.message}", exc.hint) from None

        self._each(one)

    def inspect(self) -> dict[str, NodeState]:
        found: dict[str, NodeState] = {}
        for host, part in zip(self.hosts, self._each(lambda h: clab.inspect(self.lab, h.engine))):
            found.update({name: replace(state, host=host.name) for name, state in part.items()})
        return found

    def destroy(self, topology: Path | None = None) -> None:
        self._each(lambda h: clab.destroy(self.lab, h.topology, engine=h.engine))
        for h in self.hosts:
            if h.engine.netns:
                _route(["del", h.mgmt_ipv4, "via", h.address], missing_ok=True)

    def engine_of(self, node: str) -> Engine:
        return self._engine.get(node, LOCAL)

    def containers(self) -> int:
        return sum(self._each(lambda h: len(clab.lab_containers(self.lab, h.engine))))

    def host_of(self, node: str) -> str:
        return next((h.name for h in self.hosts if node in h.nodes), "")


def _route(args: list[str], missing_ok: bool = False) -> None:
    proc = subprocess.run(["ip", "route", *args], capture_output=True, text=True)
    if proc.returncode != 0 and not missing_ok:
        raise LabctlError(f"`ip route {' '.join(args)}` failed: {proc.stderr.strip()}",
                          "check the host's address in the hosts file and the wire to its namespace")
