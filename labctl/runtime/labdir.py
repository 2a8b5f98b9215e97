"""The lab folder on the host: generated artefacts, the per-lab SSH key and the lab's state.

Layout of `<workdir>` (default `.labctl/<lab>` next to the IX file):
  <lab>.clab.yml, configs/<node>/...   rendered by labctl
  ssh/id_ed25519, ssh/authorized_keys  per-lab key pair (no default passwords anywhere)
  ssh/ssh_host_*_key                   the nodes' SSH host keys (bound into every node: sshd starts
                                       at once instead of generating keys at boot)
  run/<node>/                          the node's daemon socket folder (bound in; labctl polls the
                                       daemon through its socket from the host)
  state.json                           the IX file, image and phase of the last `up`
  clab-<lab>/                          containerlab's own artefacts
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from labctl.errors import LabctlError
from labctl.render.artefacts import HOST_KEYS, SOCKETS


@dataclass
class LabState:
    lab: str
    ix_file: str
    image: str  # the default image (switches and every node on the IX's stack)
    phase: str  # "generated", "deployed", "configured", "up"
    images: dict[str, str] = field(default_factory=dict)  # image key -> tag, for every image the lab uses


def default_workdir(ix_file: Path, lab: str) -> Path:
    return ix_file.resolve().parent / ".labctl" / lab


def private_key(workdir: Path) -> Path:
    return workdir / "ssh" / "id_ed25519"


def _write_private(path: Path, key) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # sshd refuses keys others can read
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


# The node image's boot runs `ssh-keygen -A`, which makes each key type whose private key file is
# missing (RSA, ECDSA, Ed25519): 0.2-1.2 s of CPU per node, most of a node's boot. With these three
# bound in, it makes none and sshd listens at once. RSA 2048: a lab on one host, generated in ~0.1 s.
_HOST_KEY_TYPES = {"rsa": lambda: rsa.generate_private_key(65537, 2048),
                   "ecdsa": lambda: ec.generate_private_key(ec.SECP256R1()),
                   "ed25519": Ed25519PrivateKey.generate}


def ensure_ssh_key(workdir: Path) -> Path:
    """Create the lab's key pair and the nodes' host keys once; keep them across `up` runs so
    running nodes stay reachable."""
    key_path = private_key(workdir)
    authorized = workdir / "ssh" / "authorized_keys"
    key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for kind, rel in HOST_KEYS.items():
        if not (workdir / rel).exists():
            _write_private(workdir / rel, _HOST_KEY_TYPES[kind]())
    if key_path.exists() and authorized.exists():
        return key_path
    key = Ed25519PrivateKey.generate()
    _write_private(key_path, key)
    pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    authorized.write_bytes(pub + b" labctl\n")
    authorized.chmod(0o600)  # sshd's StrictModes refuses group/world-writable key files
    return key_path


def socket_dir(workdir: Path) -> Path:
    return workdir / SOCKETS


def ensure_socket_dirs(workdir: Path, nodes: list[str]) -> None:
    """The bind sources of the nodes' socket folders (render.socket_bind), before containerlab
    deploys: a source Docker had to create itself would depend on its legacy behaviour."""
    for name in nodes:
        (socket_dir(workdir) / name).mkdir(parents=True, exist_ok=True)


def write_state(workdir: Path, state: LabState) -> None:
    tmp = workdir / "state.json.tmp"
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    os.replace(tmp, workdir / "state.json")


def read_state(workdir: Path) -> LabState:
    try:
        return LabState(**json.loads((workdir / "state.json").read_text()))
    except FileNotFoundError:
        raise LabctlError(f"no lab state in {workdir}", "bring the lab up with `labctl up FILE`") from None
    except (ValueError, TypeError) as exc:
        raise LabctlError(f"{workdir}/state.json is damaged: {exc}", "run `labctl down` then `labctl up`") from None
