"""The lab node image: built locally from labctl's own Dockerfile, tagged by content hash.

The tag changes whenever a file under images/node changes, so a stale image is never used:
`labctl host setup` (or `labctl up`) builds the new tag.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import docker
import docker.errors

from labctl.errors import HostNotReady
from labctl.resources import bundled

BASE_IMAGE = "debian:bookworm-slim"
NODE_IMAGE_REPO = "labctl/node"


def node_image_dir() -> Path:
    return bundled("images") / "node"


@lru_cache(maxsize=1)
def node_image_tag() -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in node_image_dir().rglob("*") if p.is_file()):
        digest.update(path.relative_to(node_image_dir()).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"{NODE_IMAGE_REPO}:{digest.hexdigest()[:12]}"


def client() -> docker.DockerClient:
    try:
        cli = docker.from_env(timeout=120)
        cli.ping()
        return cli
    except docker.errors.DockerException as exc:
        raise HostNotReady(f"Docker engine not reachable: {exc}", "run `labctl host setup` or start dockerd") from exc


def image_exists(tag: str) -> bool:
    try:
        client().images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def build_node_image(tag: str | None = None) -> str:
    tag = tag or node_image_tag()
    try:
        client().images.build(path=str(node_image_dir()), tag=tag, rm=True, forcerm=True, pull=False)
    except docker.errors.BuildError as exc:
        tail = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)[-1500:]
        raise HostNotReady(f"building {tag} failed:\n{tail}", "check that the base image and apt mirror work") from exc
    return tag


def ensure_node_image() -> str:
    tag = node_image_tag()
    if not image_exists(tag):
        if not image_exists(BASE_IMAGE):
            raise HostNotReady(f"base image {BASE_IMAGE} is missing", "run `labctl host setup`")
        build_node_image(tag)
    return tag
