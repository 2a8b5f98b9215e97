"""The hosts file of a multi-host lab (`labctl up ix.yml --hosts hosts.yml`): which sites run on
which Docker host, and how labctl reaches each host. Pure: load and check, no Docker.

    hosts:
      - name: a                       # a short name: sub-lab folder, engine name in messages
        sites: [okayama]              # the sites whose nodes run here (every site on exactly one host)
        address: 10.253.77.1          # where the other hosts send this host's VXLAN tunnels
      - name: b
        sites: [kurashiki, tsuyama]
        address: 10.253.77.2
        docker: unix:///run/labctl-hb/docker.sock   # DOCKER_HOST of its engine (default: the local one)
        netns: labctl-hb              # the host is this network namespace of this machine
        mgmt_ipv4: 172.30.200.128/25  # its management subnet (default: a slice of the lab's)
    mtu: 1500                         # MTU of the path between the hosts (default 1500)
    vxlan: {vni: 4100, port: 4789}    # first VNI (one per link that crosses hosts) and UDP port

Every host's containerlab runs on this machine (containerlab moves interfaces between network
namespaces, which it can only do where it runs): a host is the local engine, or another engine on
this machine in its own network namespace. Two real machines: docs/MULTIHOST.md.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Network
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labctl.errors import LabctlError

if TYPE_CHECKING:
    from labctl.model.schema import IxModel

VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HostSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,15}$")
    sites: list[str] = Field(min_length=1)
    address: IPv4Address
    docker: str | None = Field(default=None, pattern=r"^unix:///\S+$")
    netns: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    mgmt_ipv4: IPv4Network | None = None


class Vxlan(_Strict):
    vni: int = Field(default=4100, ge=1, le=16_000_000)
    port: int = Field(default=4789, ge=1, le=65535)


class HostsFile(_Strict):
    hosts: list[HostSpec] = Field(min_length=1)
    mtu: int = Field(default=1500, ge=1280, le=65000)
    vxlan: Vxlan = Vxlan()

    @property
    def link_mtu(self) -> int:
        """The MTU of every lab link: what fits into a tunnel over the path between the hosts."""
        return self.mtu - VXLAN_OVERHEAD

    def host_of_site(self) -> dict[str, str]:
        return {site: h.name for h in self.hosts for site in h.sites}


def _where(loc: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))


def load_hosts(path: Path, model: IxModel) -> HostsFile:
    """Read and check a hosts file against the IX; LabctlError naming the file, the key and the fix."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise LabctlError(f"{path}: cannot read the hosts file ({exc.strerror})",
                          "give the hosts file with --hosts FILE (docs/MULTIHOST.md)") from None
    except yaml.YAMLError as exc:
        raise LabctlError(f"{path}: not valid YAML: {exc}", "fix the YAML syntax") from None
    try:
        hosts = HostsFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise LabctlError(f"{path}: {_where(first['loc'])}: {first['msg']}",
                          "see the hosts file format in docs/MULTIHOST.md") from None
    _check(path, hosts, model)
    return hosts


def _check(path: Path, hosts: HostsFile, model: IxModel) -> None:
    sites = [s.name for s in model.sites]
    seen: dict[str, str] = {}
    for i, host in enumerate(hosts.hosts):
        for j, site in enumerate(host.sites):
            if site not in sites:
                raise LabctlError(f"{path}: hosts[{i}].sites[{j}]: unknown site '{site}'",
                                  f"sites of {model.ix.name}: {', '.join(sites)}")
            if site in seen:
                raise LabctlError(f"{path}: hosts[{i}].sites[{j}]: site '{site}' is on host '{seen[site]}' already",
                                  "put every site on exactly one host")
            seen[site] = host.name
    missing = [s for s in sites if s not in seen]
    if missing:
        raise LabctlError(f"{path}: no host runs site(s) {', '.join(missing)}", "add them to a host's sites")
    for key, what in ((lambda h: h.name, "name"), (lambda h: h.address, "address"),
                      (lambda h: (h.docker, h.netns), "engine (docker and netns)")):
        values = [key(h) for h in hosts.hosts]
        dup = next((v for v in values if values.count(v) > 1), None)
        if dup is not None:
            raise LabctlError(f"{path}: two hosts have the same {what} ({dup})", "give each host its own")
    for i, host in enumerate(hosts.hosts):
        if host.netns and not host.docker:
            raise LabctlError(f"{path}: hosts[{i}]: netns without docker",
                              "an engine in another namespace has its own socket: set docker: unix:///...")


def mgmt_subnets(hosts: HostsFile, lab_v4: IPv4Network, lab_v6: IPv6Network
                 ) -> dict[str, tuple[IPv4Network, IPv6Network]]:
    """Each host's management subnets: its own mgmt_ipv4, else an equal slice of the lab's (in order)."""
    bits = max(1, (len(hosts.hosts) - 1).bit_length())
    v4_slices = list(lab_v4.subnets(prefixlen_diff=bits)) if lab_v4.prefixlen + bits <= 29 else []
    v6_slices = list(lab_v6.subnets(prefixlen_diff=bits))
    result = {}
    for i, host in enumerate(hosts.hosts):
        v4 = host.mgmt_ipv4 or (v4_slices[i] if v4_slices else None)
        if v4 is None:
            raise LabctlError(f"the lab's management subnet {lab_v4} is too small to split over "
                              f"{len(hosts.hosts)} hosts", "give each host mgmt_ipv4 in the hosts file")
        result[host.name] = (v4, v6_slices[i])
    nets = [v4 for v4, _ in result.values()]
    for a in nets:
        for b in nets:
            if a is not b and a.overlaps(b):
                raise LabctlError(f"hosts' management subnets {a} and {b} overlap", "give each host its own mgmt_ipv4")
    return result
