"""Cross-field rules of ix.policy and the members' policy fields, in the shape of model/checks.py.

Also where a model asks a route-server daemon for a feature it cannot implement: the finding
names the route server, the daemon and the feature (see labctl/daemons/capabilities.py).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from labctl.daemons import all_daemons, capabilities, get, names
from labctl.policy.build import all_roas

if TYPE_CHECKING:
    from labctl.model.schema import IxModel

Problem = tuple[tuple, str, str, bool]


def check_policy(m: "IxModel", routers: set) -> list[Problem]:
    """`routers`: every route server's and member's LAN address (assigned ones included)."""
    out: list[Problem] = []
    pol = m.ix.policy
    bounds = {"ipv4": (pol.prefix_length.ipv4, 32), "ipv6": (pol.prefix_length.ipv6, 128)}
    for afi, (b, top) in bounds.items():
        path = ("ix", "policy", "prefix_length", afi)
        if b.max > top:
            out.append(((*path, "max"), f"{afi} prefixes are at most /{top}, not /{b.max}", f"use a value up to {top}", False))
        if b.min > b.max:
            out.append((path, f"min /{b.min} is longer than max /{b.max}", "min must not exceed max", True))

    for i, roa in enumerate(pol.rpki.roas):
        if roa.max_length is not None and not roa.prefix.prefixlen <= roa.max_length <= roa.prefix.max_prefixlen:
            out.append((("ix", "policy", "rpki", "roas", i, "max_length"),
                        f"max_length {roa.max_length} must lie in {roa.prefix.prefixlen}..{roa.prefix.max_prefixlen} for {roa.prefix}",
                        "omit it to cover exactly the prefix", False))

    lan = {"ipv4": m.ix.peering_lan.ipv4, "ipv6": m.ix.peering_lan.ipv6}
    for afi in ("ipv4", "ipv6"):
        nh = getattr(pol.blackhole, f"next_hop_{afi}")
        path = ("ix", "policy", "blackhole", f"next_hop_{afi}")
        if nh is None:
            continue
        if nh not in lan[afi]:
            out.append((path, f"{nh} is outside the peering LAN {lan[afi]}", "the blackhole next hop is a LAN address nobody uses", False))
        elif nh in routers:
            out.append((path, f"{nh} is a router's LAN address", "pick an address no route server or member uses", False))

    as_sets = pol.as_set_file.data if pol.as_set_file is not None else None
    roas = all_roas(m)
    for i, x in enumerate(m.members):
        if x.as_set is not None:
            path = ("members", i, "as_set")
            if as_sets is None:
                out.append((path, f"AS-SET '{x.as_set}' but no ix.policy.as_set_file", "name the AS-SET expansion file in ix.policy.as_set_file", False))
            elif x.as_set not in as_sets:
                close = difflib.get_close_matches(x.as_set, list(as_sets), n=1, cutoff=0.5)
                hint = f"did you mean '{close[0]}'?" if close else f"known AS-SETs: {', '.join(sorted(as_sets)) or 'none'}"
                out.append((path, f"unknown AS-SET '{x.as_set}' (not in {pol.as_set_file})", hint, False))
        if not x.route_server:
            continue
        for j, p in enumerate(x.prefixes):
            b, top = bounds["ipv4" if p.version == 4 else "ipv6"]
            path = ("members", i, "prefixes", j)
            if b.min <= b.max <= top and not b.min <= p.prefixlen <= b.max:
                out.append((path, f"{p} is outside the route servers' prefix lengths /{b.min}-/{b.max}: they would reject it",
                            "announce a prefix inside the bounds, or change ix.policy.prefix_length", False))
            covering = [r for r in roas if r.prefix.version == p.version and p.subnet_of(r.prefix)]
            if covering and not any(r.asn == x.asn and p.prefixlen <= r.max_length for r in covering):
                names = ", ".join(f"{r.prefix}-{r.max_length} AS{r.asn}" for r in covering)
                out.append((path, f"{p} is RPKI-invalid for AS{x.asn} (ROAs: {names}): the route servers would reject it",
                            "add a ROA for this origin, or fix the existing one", False))

    out += _daemon_gaps(m)
    return out


def _requested_features(m: "IxModel") -> list[tuple[tuple, str]]:
    """(YAML path, feature key) for every policy feature the model asks the route servers for."""
    pol = m.ix.policy
    wanted = []
    feature = {"block": "max-prefix-block", "warning": "max-prefix-warning"}
    if pol.max_prefix_action in feature:
        wanted.append((("ix", "policy", "max_prefix_action"), feature[pol.max_prefix_action]))
    for i, x in enumerate(m.members):
        if x.max_prefix.action in feature and x.route_server:
            wanted.append((("members", i, "max_prefix", "action"), feature[x.max_prefix.action]))
    return wanted


def _daemon_gaps(m: "IxModel") -> list[Problem]:
    """A route-server daemon asked for a feature it cannot implement: named with daemon and feature."""
    out: list[Problem] = []
    for path, feature in _requested_features(m):
        lacking: dict[str, list[str]] = {}
        for r in m.route_servers:
            if r.daemon not in names():
                continue  # a daemon labctl has no module for: refused as such by model/checks.py
            if capabilities.supports(r.daemon, feature) == "no":
                lacking.setdefault(r.daemon, []).append(r.name)
        for daemon, servers in lacking.items():
            able = [d.name for d in all_daemons() if capabilities.supports(d.name, feature) != "no"]
            why = (f"{get(daemon).title} route server(s) {', '.join(servers)} cannot implement "
                   f"{capabilities.BY_KEY[feature].title.lower()} (feature {feature}): {capabilities.how(daemon, feature)}")
            hint = f"choose another setting, or run the route server on {' or '.join(able) or 'another daemon'} (see docs/POLICY.md)"
            out.append((path, why, hint, False))
    return out
