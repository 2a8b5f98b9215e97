"""What runs a lab: one interface for deploy, inspect, destroy, node exec and fault injection.

Everything above `runtime` (lifecycle, the scenario engine, the node tools) works on a `Backend`
and does not know which one it has:

- `LocalClab`: containerlab on one Docker engine (today's default);
- `MultiHostClab` (runtime/multihost.py): one containerlab sub-lab per Docker host, links that
  cross hosts as containerlab VXLAN links (`labctl up --hosts hosts.yml`);
- `ClabernetesBackend` (runtime/clabernetes.py): the lab as a clabernetes Topology on a Kubernetes
  cluster, driven with kubectl (`labctl up --target clabernetes`).

The Docker backends only place work on the right engine; the primitives themselves stay in
`clab`, `faults` and `nodes`, which take the `Engine` to act on. How labctl reaches a node's
sshd is part of what `inspect` returns (`NodeState.ssh_endpoint`).
"""

from __future__ import annotations

import subprocess
from abc import ABC, abstractmethod
from pathlib import Path

from labctl.runtime import clab, faults, nodes
from labctl.runtime.clab import NodeState
from labctl.runtime.engine import LOCAL, Engine


class Backend(ABC):
    kind = ""
    # why `replace_node` (the rolling upgrade) cannot run on this backend; None: it can
    replace_unsupported: str | None = None

    def __init__(self, lab: str):
        self.lab = lab

    # ---------------------------------------------------------------- the lab as a whole
    @abstractmethod
    def deploy(self, topology: Path, reconfigure: bool = False) -> None:
        """Deploy the lab from its containerlab topology (a backend may deploy files derived from it)."""

    @abstractmethod
    def inspect(self) -> dict[str, NodeState]:
        """The lab's nodes as they run now, by short name."""

    @abstractmethod
    def destroy(self, topology: Path | None = None) -> None:
        """Remove everything of the lab (idempotent)."""

    @abstractmethod
    def engine_of(self, node: str) -> Engine:
        """The engine the node runs on."""

    @abstractmethod
    def containers(self) -> int:
        """How many containers of the lab exist (any state)."""

    def ensure_images(self, tags: list[str]) -> None:
        """Make the node images available to every engine of the lab (built locally beforehand)."""

    # ---------------------------------------------------------------- one node
    def exec_argv(self, node: str, argv: list[str], stdin: bool = False, tty: bool = False) -> list[str]:
        return nodes.exec_argv(self.lab, node, argv, stdin, tty, engine=self.engine_of(node))

    def node_exec(self, node: str) -> nodes.NodeExec:
        """What `runtime.nodes`' tools run a command in `node` with."""
        return lambda argv, stdin=False, tty=False: self.exec_argv(node, argv, stdin, tty)

    def run(self, node: str, argv: list[str], input: str | None = None, timeout: float | None = None
            ) -> subprocess.CompletedProcess:
        return nodes.run(self.node_exec(node), argv, input, timeout)

    def require_running(self, node: str) -> None:
        nodes.require_running(self.lab, node, engine=self.engine_of(node))

    # ---------------------------------------------------------------- faults (each returns the instant it acted)
    def set_link(self, node: str, interface: str, up: bool) -> float:
        return faults.set_link(self.lab, node, interface, up, engine=self.engine_of(node))

    def set_links(self, node: str, interfaces: list[str], up: bool) -> float:
        return faults.set_links(self.lab, node, interfaces, up, engine=self.engine_of(node))

    def pause_node(self, node: str) -> float:
        return faults.pause_node(self.lab, node, engine=self.engine_of(node))

    def unpause_node(self, node: str) -> float:
        return faults.unpause_node(self.lab, node, engine=self.engine_of(node))

    def daemon_action(self, node: str, daemon: str, action: str) -> float:
        return faults.daemon_action(self.lab, node, daemon, action, engine=self.engine_of(node))

    def impair(self, node: str, interface: str, loss_percent: float = 0, rate_mbit: float | None = None,
               delay_ms: float = 0, netem: bool = False) -> float:
        return faults.impair(self.lab, node, interface, loss_percent, rate_mbit, delay_ms, netem,
                             engine=self.engine_of(node))

    def replace_node(self, node: str, image: str, interfaces: list[str], labels: dict[str, str] | None = None
                     ) -> tuple[float, dict[str, float], str]:
        return faults.replace_node(self.lab, node, image, interfaces, labels, engine=self.engine_of(node))


class LocalClab(Backend):
    """containerlab on one Docker engine."""

    kind = "containerlab"

    def __init__(self, lab: str, engine: Engine = LOCAL):
        super().__init__(lab)
        self.engine = engine

    def deploy(self, topology: Path, reconfigure: bool = False) -> None:
        clab.deploy(topology, reconfigure=reconfigure, engine=self.engine)

    def inspect(self) -> dict[str, NodeState]:
        return clab.inspect(self.lab, self.engine)

    def destroy(self, topology: Path | None = None) -> None:
        clab.destroy(self.lab, topology, engine=self.engine)

    def engine_of(self, node: str) -> Engine:
        return self.engine

    def containers(self) -> int:
        return len(clab.lab_containers(self.lab, self.engine))
