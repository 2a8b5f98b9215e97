"""Helpers for integration tests: private copies of example IXs and 'nothing left behind' checks."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import yaml


def copy_example(src: Path, dest_dir: Path, lab: str, subnet: str, edit=None) -> Path:
    """Copy an example IX under another lab name and management subnet, so tests never collide
    with a lab a user (or the Quick start) has running."""
    data = yaml.safe_load(src.read_text())
    data["ix"]["name"] = lab
    data["ix"].setdefault("management", {})["ipv4_subnet"] = subnet
    if edit:
        edit(data)
    path = dest_dir / "ix.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def edit_file(path: Path, edit) -> None:
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def leftovers(lab: str, workdir: Path | None = None) -> list[str]:
    """Everything of a lab that should be gone after `down`."""
    found = []
    ps = subprocess.run(["docker", "ps", "-a", "--filter", f"label=containerlab={lab}", "--format", "{{.Names}}"],
                        capture_output=True, text=True, check=True).stdout.split()
    found += [f"container {c}" for c in ps]
    nets = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True,
                          check=True).stdout.split()
    found += [f"network {n}" for n in nets if n == f"labctl-{lab}"]
    if workdir is not None and workdir.exists():
        found.append(f"folder {workdir}")
    hosts = Path("/etc/hosts").read_text()
    if f"clab-{lab}-" in hosts:
        found.append("/etc/hosts entries")
    if Path(f"/etc/ssh/ssh_config.d/clab-{lab}.conf").exists():
        found.append("ssh config")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    # containerlab names host-side veths after nothing we can predict, but every lab link lives in
    # the containers' namespaces; a dangling one on the host would show up as a veth without peer.
    found += [f"host link {line.split(':')[1].strip()}" for line in links.splitlines() if "clab-" + lab in line]
    return found


def wait_for(predicate, timeout: float, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
