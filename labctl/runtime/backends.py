"""Which backend runs a lab (runtime/backend.py): read from the lab folder."""

from __future__ import annotations

from pathlib import Path

from labctl.runtime.backend import Backend, LocalClab


def open_backend(lab: str, workdir: Path | None) -> Backend:
    """The backend of lab `lab` whose folder is `workdir` (None: a lab found by name on this host)."""
    return LocalClab(lab)
