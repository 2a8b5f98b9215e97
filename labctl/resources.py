"""Locate files that ship with labctl (example topologies, image Dockerfiles).

In a source checkout they live at the top level (`topologies/`, `images/`); a built wheel
carries copies under `labctl/_bundled/`.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    for base in (_PACKAGE / "_bundled", _PACKAGE.parent):
        candidate = base / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"labctl installation is missing its bundled '{name}' folder")


def default_topology() -> Path:
    return bundled("topologies") / "regional-ix.yml"
