"""The lab node images, one per stack variant (labctl/daemons/stacks.py): built locally from labctl's
own Dockerfile with build arguments, tagged by content hash.

The tag changes whenever a file under images/node or a build argument changes, so a stale image
is never used: `labctl host setup` (the default stack) or `labctl up` (what the lab needs) builds it.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import docker
import docker.errors

from labctl.daemons import stacks
from labctl.errors import HostNotReady, LabctlError
from labctl.resources import bundled
from labctl.runtime.engine import Engine

# the default stack's base image (kept for callers that ask for "the" base image)
BASE_IMAGE = stacks.NODE_IMAGES[stacks.DEFAULT_STACK].base


def node_image_dir() -> Path:
    return bundled("images") / "node"


def build_args(key: str) -> dict[str, str]:
    spec = stacks.NODE_IMAGES[key]
    return {"BASE": spec.base, "BIRD_PACKAGE": spec.bird_package, "EXTRA_PACKAGES": spec.extra_packages}


@lru_cache(maxsize=None)
def node_image_tag(key: str = stacks.DEFAULT_STACK) -> str:
    """`labctl/node-<key>:<hash of images/node and the build arguments>`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in node_image_dir().rglob("*") if p.is_file()):
        digest.update(path.relative_to(node_image_dir()).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for name, value in sorted(build_args(key).items()):
        digest.update(f"{name}={value}\0".encode())
    return f"{stacks.NODE_IMAGES[key].repo}:{digest.hexdigest()[:12]}"


def node_image_tags(keys) -> dict[str, str]:
    """Image key -> tag, for the keys a plan uses (see Plan.image_keys)."""
    return {key: node_image_tag(key) for key in keys}


def _run_tool(cmd: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


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


def build_node_image(key: str = stacks.DEFAULT_STACK) -> str:
    tag = node_image_tag(key)
    try:
        client().images.build(path=str(node_image_dir()), tag=tag, rm=True, forcerm=True, pull=False,
                              buildargs=build_args(key))
    except docker.errors.BuildError as exc:
        tail = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)[-1500:]
        raise HostNotReady(f"building {tag} failed:\n{tail}", "check that the base image and apt mirror work") from exc
    return tag


def _apt_mirror() -> str:
    """The Debian mirror this host already uses (debootstrap must not guess one)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            m = re.match(r"\s*(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?(https?://\S*debian\S*)", line)
            if m and "security" not in m.group(1):
                return m.group(1)
    return "http://deb.debian.org/debian"


def bootstrap_base_image(base: str) -> str | None:
    """Make `base` (debian:<suite>-slim) local: pull it where a registry answers, else debootstrap
    the suite from this host's mirror and import it under that tag, so the Dockerfile's FROM works."""
    if image_exists(base):
        return None
    if _run_tool(["docker", "pull", base], timeout=300).returncode == 0:
        return f"pulled {base}"
    suite = base.split(":")[1].removesuffix("-slim")
    with tempfile.TemporaryDirectory(prefix="labctl-rootfs-") as rootfs:
        mirror = _apt_mirror()
        proc = _run_tool(["debootstrap", "--variant=minbase", suite, rootfs, mirror], timeout=1200)
        if proc.returncode != 0:
            raise HostNotReady(f"debootstrap {suite} failed: {proc.stderr.strip()[-500:]}", f"check that {mirror} is reachable")
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(["docker", "import", "-", base], stdin=tar.stdout, capture_output=True, text=True)
        tar.wait()
        if imp.returncode != 0:
            raise HostNotReady(f"docker import failed: {imp.stderr.strip()}")
    return f"no registry: bootstrapped {base} from {mirror}"


def ensure_node_image(key: str = stacks.DEFAULT_STACK) -> str:
    """Build the node image of `key` unless present, bootstrapping its base image first when that
    is missing too (a lab on a stack `host setup` did not prepare: `labctl up` builds what it needs)."""
    tag = node_image_tag(key)
    if not image_exists(tag):
        bootstrap_base_image(stacks.NODE_IMAGES[key].base)
        build_node_image(key)
    return tag


# ------------------------------------------------------------------ images elsewhere: a registry, another engine

@dataclass(frozen=True)
class PushedImage:
    local: str  # labctl/node-<stack>:<hash>
    remote: str  # <registry>/labctl/node-<stack>:<hash>
    digest: str  # the manifest digest the registry answered with ("" if it named none)
    seconds: float


def _push_one(cli: docker.DockerClient, tag: str, registry: str) -> PushedImage:
    started = time.monotonic()
    remote = f"{registry.rstrip('/')}/{tag}"
    repo, version = remote.rsplit(":", 1)
    cli.images.get(tag).tag(repo, version)
    digest, errors = "", []
    try:
        for line in cli.images.push(repo, version, stream=True, decode=True):
            if line.get("error"):
                errors.append(line["error"])
            digest = (line.get("aux") or {}).get("Digest", digest)
    except docker.errors.DockerException as exc:
        errors.append(str(exc))
    if errors:
        cli.images.remove(remote, noprune=True)  # no registry name left behind for a push that failed
        raise LabctlError(f"pushing {remote} failed: {errors[-1]}",
                          "check the registry's address, that it runs, and (for http) that Docker trusts it "
                          "(insecure-registries in daemon.json; 127.0.0.0/8 is trusted by default)")
    return PushedImage(tag, remote, digest, round(time.monotonic() - started, 2))


def push_images(registry: str, keys) -> list[PushedImage]:
    """Tag each node image (built first if missing) under `registry` and push it there, as
    `labctl generate --target clabernetes --registry REGISTRY` names them."""
    _check_registry(registry)
    return push_tags(registry, [ensure_node_image(key) for key in sorted(set(keys))])


def _check_registry(registry: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?(/[a-z0-9._/-]+)?", registry.rstrip("/")):
        raise LabctlError(f"{registry!r} is not a registry address", "give host[:port][/path], e.g. 127.0.0.1:5000")


def push_tags(registry: str, tags: list[str]) -> list[PushedImage]:
    """Push local images (built already) to `registry` as `<registry>/<tag>`."""
    _check_registry(registry)
    cli = client()
    try:
        return [_push_one(cli, tag, registry) for tag in tags]
    except docker.errors.DockerException as exc:
        raise LabctlError(f"pushing to {registry} failed: {exc}", "check that the registry answers") from exc


def load_into(engine: Engine, tags) -> list[str]:
    """Copy images from the local engine into another one (`docker save | docker load`), for a
    Docker host that can reach no registry; images it has already are skipped. The tags copied."""
    copied = []
    for tag in sorted(set(tags)):
        if subprocess.run([*engine.docker(), "image", "inspect", tag], capture_output=True).returncode == 0:
            continue
        save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
        load = subprocess.run([*engine.docker(), "load"], stdin=save.stdout, capture_output=True, text=True,
                              timeout=1800)
        save.wait()
        if save.returncode or load.returncode:
            raise HostNotReady(f"copying {tag} to engine {engine.name} failed: {load.stderr.strip()[-300:]}",
                               "check that both engines answer (`docker -H ... info`)")
        copied.append(tag)
    return copied
