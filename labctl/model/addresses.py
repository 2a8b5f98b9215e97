"""Peering-LAN addresses of route servers and members: explicit ones kept, the rest assigned."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from labctl.model.schema import IxModel


def assign_addresses(m: IxModel) -> dict[str, tuple[IPv4Address, IPv6Address]]:
    """Explicit addresses win; the rest take the lowest free host, route servers first."""
    lan4, lan6 = m.ix.peering_lan.ipv4, m.ix.peering_lan.ipv6
    things = [*m.route_servers, *m.members]
    taken4 = {t.ipv4 for t in things if t.ipv4}
    taken6 = {t.ipv6 for t in things if t.ipv6}
    out = {}
    next4, next6 = 1, 1
    for t in things:
        a4, a6 = t.ipv4, t.ipv6
        while a4 is None:
            cand = lan4.network_address + next4
            next4 += 1
            if cand not in taken4:
                a4 = cand
                taken4.add(cand)
        while a6 is None:
            cand6 = lan6.network_address + next6
            next6 += 1
            if cand6 not in taken6:
                a6 = cand6
                taken6.add(cand6)
        out[t.name] = (a4, a6)
    return out
