"""The route-server policy features and the feature-by-daemon table built from each daemon's column.

docs/POLICY.md shows this table (a unit test keeps the two in step); `labctl validate` reports a
model that asks a daemon for something it cannot do, naming the daemon and the feature.
"""

from __future__ import annotations

from dataclasses import dataclass

from labctl.daemons import all_daemons, get
from labctl.daemons.base import Support


@dataclass(frozen=True)
class Feature:
    key: str
    title: str


FEATURES: tuple[Feature, ...] = (
    Feature("transparency", "Transparency (no RS ASN in the path, next hop unchanged)"),
    Feature("first-as", "First ASN is the member's (6)"),
    Feature("reserved-asn", "No private or reserved ASN in the path (7)"),
    Feature("as-path-length", "AS_PATH length limit (1)"),
    Feature("transit-free", "Transit-free ASN in the path: route leak (8)"),
    Feature("next-hop", "NEXT_HOP is the member's own address (5)"),
    Feature("bogons", "Bogon prefixes, with the lab prefix space allowed (2)"),
    Feature("prefix-length", "Prefix length bounds per family (13)"),
    Feature("irr", "Allowed prefixes and origin ASNs per member, from the model or an AS-SET file (12, 9)"),
    Feature("rpki", "RPKI origin validation, invalid rejected (14)"),
    Feature("max-prefix-shutdown", "Max-prefix: shutdown (session down until cleared)"),
    Feature("max-prefix-restart", "Max-prefix: restart"),
    Feature("max-prefix-warning", "Max-prefix: warning only"),
    Feature("max-prefix-block", "Max-prefix: block (keep the session, ignore routes over the limit)"),
    Feature("do-not-announce", "RS:0:peer do not announce to peer, RS:0:0 to nobody"),
    Feature("announce-to", "RS:1:peer announce to peer (overrides RS:0:0: announce only to)"),
    Feature("prepend", "RS:101/102/103:peer prepend the announcer's ASN 1/2/3 times to peer"),
    Feature("graceful-shutdown", "Graceful shutdown 65535:0: LOCAL_PREF 0 on the route server, passed on"),
    Feature("blackhole", "Blackholing 65535:666 (RFC 7999), opt-in per member, next hop rewrite, NO_EXPORT added (16)"),
    Feature("reject-reason", "Rejected routes tagged RS:1101:reason and explained by `labctl lg`"),
    Feature("path-hiding", "Path-hiding mitigation (next-best path for a member the best path may not go to)"),
)

BY_KEY = {f.key: f for f in FEATURES}


def supports(daemon: str, feature: str) -> Support:
    return get(daemon).capabilities.get(feature, ("no", ""))[0]


def how(daemon: str, feature: str) -> str:
    return get(daemon).capabilities.get(feature, ("no", "not implemented"))[1]


def markdown_table() -> str:
    mark = {"yes": "yes", "partial": "partly", "no": "**no**"}
    ds = all_daemons()
    lines = ["| feature (reason code) | " + " | ".join(d.title for d in ds) + " |", "|---" * (len(ds) + 1) + "|"]
    for f in FEATURES:
        cells = [f"{mark[d.capabilities[f.key][0]]}: {d.capabilities[f.key][1]}" for d in ds]
        lines.append(f"| {f.title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
