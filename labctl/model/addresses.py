"""Peering-LAN addresses of route servers and members: explicit ones kept, the rest assigned."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network
from typing import Iterator

from labctl.model.schema import IxModel


# Private links between the routers of one member (its own backbone, not the IX): one /31 and one
# /127 each (plan.build), from ranges the model's checks keep clear of the IX's own addresses.
BACKBONE_IPV4 = ip_network("10.255.0.0/16")
BACKBONE_IPV6 = ip_network("fd00:bb::/48")
# Long-haul links between upstreams and their customers, and between upstreams: the same, from these.
TRANSIT_IPV4 = ip_network("10.254.0.0/16")
TRANSIT_IPV6 = ip_network("fd00:ab::/48")


def assign_addresses(m: IxModel) -> dict[str, tuple[IPv4Address, IPv6Address]]:
    """Explicit addresses win; the rest take the lowest free host, route servers first."""
    things = [*m.route_servers, *m.member_routers()]
    free4 = _free_hosts(m.ix.peering_lan.ipv4, {t.ipv4 for t in things if t.ipv4})
    free6 = _free_hosts(m.ix.peering_lan.ipv6, {t.ipv6 for t in things if t.ipv6})
    return {t.name: (t.ipv4 or next(free4), t.ipv6 or next(free6)) for t in things}


def _free_hosts(lan, taken: set) -> Iterator:
    """The LAN's addresses from the lowest host up, skipping the taken ones (and beyond the LAN,
    which the model's checks report as a LAN too small for its routers)."""
    offset = 1
    while True:
        candidate = lan.network_address + offset
        offset += 1
        if candidate not in taken:
            yield candidate
