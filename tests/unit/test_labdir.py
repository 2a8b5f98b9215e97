"""The lab folder's SSH keys: the per-lab login key and the nodes' host keys the topology binds."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_private_key

from labctl.model.load import load
from labctl.plan import build_plan
from labctl.render.artefacts import HOST_KEYS, topology_document
from labctl.runtime.labdir import ensure_ssh_key, private_key

MINIMAL = Path(__file__).resolve().parents[2] / "topologies" / "minimal.yml"


def test_host_keys_made_once_private_and_loadable(tmp_path):
    ensure_ssh_key(tmp_path)
    kinds = {"rsa": rsa.RSAPrivateKey, "ecdsa": ec.EllipticCurvePrivateKey, "ed25519": ed25519.Ed25519PrivateKey}
    first = {}
    for kind, rel in HOST_KEYS.items():
        path = tmp_path / rel
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, rel  # sshd refuses host keys others can read
        key = load_ssh_private_key(path.read_bytes(), None)
        assert isinstance(key, kinds[kind]), (rel, type(key))
        first[rel] = path.read_bytes()
    login = private_key(tmp_path).read_bytes()
    ensure_ssh_key(tmp_path)  # a second `up` keeps every key: running nodes stay reachable
    assert {rel: (tmp_path / rel).read_bytes() for rel in HOST_KEYS.values()} == first
    assert private_key(tmp_path).read_bytes() == login


def test_missing_host_keys_are_added_to_an_older_lab_folder(tmp_path):
    ensure_ssh_key(tmp_path)
    login = private_key(tmp_path).read_bytes()
    for rel in HOST_KEYS.values():
        (tmp_path / rel).unlink()
    ensure_ssh_key(tmp_path)
    assert all((tmp_path / rel).exists() for rel in HOST_KEYS.values())
    assert private_key(tmp_path).read_bytes() == login


def test_topology_binds_each_host_key_where_ssh_keygen_looks():
    plan = build_plan(load(MINIMAL))
    binds = topology_document(plan, "img")["topology"]["defaults"]["binds"]
    for kind, rel in HOST_KEYS.items():
        assert f"{rel}:/etc/ssh/ssh_host_{kind}_key:ro" in binds
    assert not any("ssh_host" in b for b in topology_document(plan, "img", host_keys=False)["topology"]["defaults"]["binds"])
