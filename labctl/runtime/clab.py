"""containerlab and Docker for a lab: deploy, destroy, inspect. The only place that runs them."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from labctl.errors import HostNotReady, LabctlError
from labctl.runtime.engine import LOCAL, Engine

LABEL_LAB = "containerlab"
LABEL_TOPO = "clab-topo-file"


@dataclass(frozen=True)
class NodeState:
    name: str  # short node name
    container: str
    state: str
    image: str
    mgmt_ipv4: str
    role: str
    daemon: str
    site: str
    host: str = ""  # the Docker host it runs on, in a multi-host lab (runtime/multihost.py)
    # where labctl reaches the node's sshd when that is not its management address on port 22
    # (clabernetes: the node's LoadBalancer service, runtime/clabernetes.py)
    ssh_host: str = ""
    ssh_port: int = 22

    @property
    def ssh_endpoint(self) -> tuple[str, int]:
        """(address, port) of the node's sshd as seen from labctl; ("", 22) when it has none yet."""
        return (self.ssh_host or self.mgmt_ipv4, self.ssh_port)


def _containerlab() -> str:
    exe = shutil.which("containerlab")
    if not exe:
        raise HostNotReady("containerlab is not installed", "run `labctl host setup`")
    return exe


def _run_clab(args: list[str], timeout: float, engine: Engine = LOCAL) -> subprocess.CompletedProcess:
    return subprocess.run(engine.wrap([_containerlab(), *args]), capture_output=True, text=True, timeout=timeout,
                          env=engine.env())


def deploy(topology: Path, reconfigure: bool = False, timeout: float = 1800, engine: Engine = LOCAL) -> None:
    args = ["deploy", "-t", str(topology), "--log-level", "warn"]
    if reconfigure:
        args.append("--reconfigure")
    proc = _run_clab(args, timeout, engine)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise LabctlError(f"containerlab deploy failed:\n{tail}", f"see `containerlab deploy -t {topology}`")


def destroy(lab: str, topology: Path | None = None, timeout: float = 600, engine: Engine = LOCAL) -> None:
    """Destroy a lab by topology file when it still exists, else by name. Idempotent."""
    if topology is not None and topology.exists():
        args = ["destroy", "-t", str(topology), "--cleanup", "--log-level", "warn"]
    else:
        args = ["destroy", "--name", lab, "--cleanup", "--log-level", "warn"]
    proc = _run_clab(args, timeout, engine)
    if proc.returncode != 0 and lab_containers(lab, engine):
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-10:])
        raise LabctlError(f"containerlab destroy failed:\n{tail}")
    # Anything containerlab left (interrupted deploys leave strays): remove by label.
    for container in lab_containers(lab, engine):
        container.remove(force=True)
    mgmt = f"labctl-{lab}"
    try:
        net = engine.client().networks.get(mgmt)
        net.reload()
        if not net.containers:
            net.remove()
    except docker.errors.NotFound:
        pass


def lab_containers(lab: str, engine: Engine = LOCAL) -> list:
    return engine.client().containers.list(all=True, filters={"label": f"{LABEL_LAB}={lab}"}, ignore_removed=True)


def _listed(engine: Engine, label: str) -> list[dict]:
    """The containers with this label as Docker's list gives them (names, state, image, labels,
    networks): one API call. docker-py's non-sparse list inspects each container in turn, ~0.9 s
    for a 106-node lab on a busy 2-core host, paid by every `status` twice."""
    return [c.attrs for c in engine.client().containers.list(all=True, filters={"label": label}, sparse=True)]


def running_labs(engine: Engine = LOCAL) -> dict[str, Path | None]:
    """Labs with containers on this host -> their topology file (from containerlab's labels)."""
    labs: dict[str, Path | None] = {}
    for attrs in _listed(engine, LABEL_LAB):
        labels = attrs.get("Labels") or {}
        name = labels.get(LABEL_LAB)
        topo = labels.get(LABEL_TOPO)
        if name:
            labs.setdefault(name, Path(topo) if topo else None)
    return labs


def used_subnets(engine: Engine = LOCAL) -> list[str]:
    """The subnets of every Docker network on the engine (labs' management networks among them)."""
    out = []
    for net in engine.client().networks.list(greedy=True):
        out += [c["Subnet"] for c in ((net.attrs.get("IPAM") or {}).get("Config") or []) if c.get("Subnet")]
    return out


def inspect(lab: str, engine: Engine = LOCAL) -> dict[str, NodeState]:
    nodes = {}
    for attrs in _listed(engine, f"{LABEL_LAB}={lab}"):
        labels = attrs.get("Labels") or {}
        name = (attrs.get("Names") or [""])[0].lstrip("/")
        short = labels.get("clab-node-name") or name.split(f"clab-{lab}-", 1)[-1]
        nets = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
        ip = next((n.get("IPAddress") for n in nets.values() if n.get("IPAddress")), "")
        nodes[short] = NodeState(
            short, name, attrs.get("State", ""), attrs.get("Image", ""), ip,
            labels.get("labctl.role", ""), labels.get("labctl.daemon", ""), labels.get("labctl.site", ""),
        )
    return nodes


def container_name(lab: str, node: str) -> str:
    return f"clab-{lab}-{node}"
