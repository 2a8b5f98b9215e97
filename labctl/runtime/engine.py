"""One Docker engine that labs run on: where containerlab deploys, where `docker` commands go.

The default engine is the one the environment names (DOCKER_HOST or the local socket), run from
labctl's own network namespace: today's single-host behaviour. A multi-host lab has one engine per
host (runtime/multihost.py): its DOCKER_HOST, and, when the "host" is a network namespace of this
machine (the one-machine test set-up of docs/MULTIHOST.md), that namespace, in which containerlab
then runs so that its VXLAN tunnels leave through that host's own interfaces.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import docker
import docker.errors

from labctl.errors import HostNotReady

NETNS_DIR = "/var/run/netns"


@dataclass(frozen=True)
class Engine:
    name: str = "local"
    docker_host: str | None = None  # a DOCKER_HOST URL; None: the environment's
    netns: str | None = None  # a named network namespace of this machine the engine's host lives in

    def env(self) -> dict[str, str]:
        """Environment for containerlab and docker commands against this engine."""
        env = {**os.environ, "CLAB_VERSION_CHECK": "disable"}  # else containerlab asks GitHub each run
        if self.docker_host:
            env["DOCKER_HOST"] = self.docker_host
        return env

    def wrap(self, argv: list[str]) -> list[str]:
        """argv run in the engine host's network namespace (unchanged for the local engine).
        `nsenter --net`, not `ip netns exec`: that remounts /sys, which containerlab and dockerd dislike."""
        if not self.netns:
            return argv
        return ["nsenter", f"--net={NETNS_DIR}/{self.netns}", *argv]

    def docker(self) -> list[str]:
        """The docker CLI's argv prefix for this engine."""
        return ["docker", *(["-H", self.docker_host] if self.docker_host else [])]

    def client(self) -> docker.DockerClient:
        try:
            cli = docker.DockerClient(base_url=self.docker_host, timeout=120) if self.docker_host \
                else docker.from_env(timeout=120)
            cli.ping()
            return cli
        except docker.errors.DockerException as exc:
            where = self.docker_host or "the local Docker engine"
            raise HostNotReady(f"Docker engine {self.name} ({where}) not reachable: {exc}",
                               "start dockerd there, or fix its address in the hosts file") from exc


LOCAL = Engine()
