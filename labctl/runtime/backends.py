"""Which backend runs a lab (runtime/backend.py): read from the lab folder."""

from __future__ import annotations

from pathlib import Path

from labctl.runtime.backend import Backend, LocalClab
from labctl.runtime.clabernetes import ClabernetesBackend, read_settings
from labctl.runtime.multihost import MultiHostClab, read_layout


def open_backend(lab: str, workdir: Path | None) -> Backend:
    """The backend of lab `lab` whose folder is `workdir` (None: a lab found by name on this host):
    clabernetes when the folder holds its settings (`up --target clabernetes`), multi-host
    containerlab when it holds a hosts layout, else containerlab on this engine."""
    cluster = read_settings(workdir) if workdir is not None else None
    if cluster is not None:
        return ClabernetesBackend(lab, workdir, cluster)
    layout = read_layout(workdir) if workdir is not None else None
    if layout is not None:
        return MultiHostClab(lab, workdir, layout)
    return LocalClab(lab)


def lab_folder(topology: Path) -> Path:
    """The lab folder of a topology file containerlab ran (a host's sub-lab sits in hosts/<host>/)."""
    if topology.parent.parent.name == "hosts":
        return topology.parent.parent.parent
    return topology.parent
