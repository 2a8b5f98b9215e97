"""Routing daemons as plugins: one module per daemon, registered here by name.

`get(name)` returns the daemon object for a node's `daemon` value; `names()` lists what ix.yml may
say. Adding a daemon is one module (a `Daemon` subclass), its templates under templates/<name>/,
its captured-output fixtures under tests/fixtures/daemon-output/, and one line below.
"""

from __future__ import annotations

from labctl.daemons.base import ConfigRejected, Daemon, NodeCommandFailed, NodeShell, bird_name
from labctl.daemons.bird import Bird, Bird3
from labctl.daemons.frr import Frr
from labctl.daemons.openbgpd import OpenBgpd
from labctl.errors import LabctlError

_REGISTRY: dict[str, Daemon] = {d.name: d for d in (Frr(), Bird(), Bird3(), OpenBgpd())}

__all__ = ["ConfigRejected", "Daemon", "NodeCommandFailed", "NodeShell", "bird_name", "get", "names", "all_daemons"]


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def all_daemons() -> tuple[Daemon, ...]:
    return tuple(_REGISTRY.values())


def get(name: str) -> Daemon:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LabctlError(f"unknown routing daemon {name!r}", f"known daemons: {', '.join(_REGISTRY)}") from None
