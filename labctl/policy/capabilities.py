"""What each route-server daemon implements of the policy, and how: the feature-by-daemon table.

docs/POLICY.md shows this table (a unit test keeps the two in step); `labctl validate` reports a
model that asks a daemon for something it cannot do, naming the daemon and the feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Support = Literal["yes", "partial", "no"]


@dataclass(frozen=True)
class Feature:
    key: str
    title: str
    bird: tuple[Support, str]
    frr: tuple[Support, str]


FEATURES: tuple[Feature, ...] = (
    Feature("transparency", "Transparency (no RS ASN in the path, next hop unchanged)",
            ("yes", "`rs client`"), ("yes", "`route-server-client`")),
    Feature("first-as", "First ASN is the member's (6)",
            ("yes", "`bgp_path.first`"), ("yes", "AS-path list in the import route-map (not `enforce-first-as`, which resets the session)")),
    Feature("reserved-asn", "No private or reserved ASN in the path (7)",
            ("yes", "path mask with ASN ranges"), ("yes", "AS-path regex generated from the ranges")),
    Feature("as-path-length", "AS_PATH length limit (1)",
            ("yes", "`bgp_path.len`"), ("yes", "AS-path regex `^([0-9]+[^0-9]+){N}[0-9]+`")),
    Feature("transit-free", "Transit-free ASN in the path: route leak (8)",
            ("yes", "path mask"), ("yes", "AS-path regex")),
    Feature("next-hop", "NEXT_HOP is the member's own address (5)",
            ("yes", "`bgp_next_hop`"), ("yes", "`match ip next-hop` / `match ipv6 next-hop` prefix lists (global address)")),
    Feature("bogons", "Bogon prefixes, with the lab prefix space allowed (2)",
            ("yes", "prefix sets"), ("yes", "prefix lists")),
    Feature("prefix-length", "Prefix length bounds per family (13)",
            ("yes", "`net.len`"), ("yes", "prefix lists")),
    Feature("irr", "Allowed prefixes and origin ASNs per member, from the model or an AS-SET file (12, 9)",
            ("yes", "prefix and ASN sets"), ("yes", "prefix lists and AS-path lists")),
    Feature("rpki", "RPKI origin validation, invalid rejected (14)",
            ("yes", "static `roa4`/`roa6` tables from the ROA set, `roa_check()`"),
            ("yes", "RTR from a cache on the route server itself (labctl's `rpki-rtr.py`), `match rpki invalid`")),
    Feature("max-prefix-shutdown", "Max-prefix: shutdown (session down until cleared)",
            ("yes", "`receive limit N action disable`"), ("yes", "`maximum-prefix N`")),
    Feature("max-prefix-restart", "Max-prefix: restart",
            ("partial", "`action restart`: re-established at once, after the session's error wait time"),
            ("yes", "`maximum-prefix N restart MINUTES`")),
    Feature("max-prefix-warning", "Max-prefix: warning only",
            ("yes", "`action warn`"), ("yes", "`maximum-prefix N warning-only`")),
    Feature("max-prefix-block", "Max-prefix: block (keep the session, ignore routes over the limit)",
            ("yes", "`action block`"), ("no", "FRR 8.4 has no such action: `labctl validate` rejects it for FRR route servers")),
    Feature("do-not-announce", "RS:0:peer do not announce to peer, RS:0:0 to nobody",
            ("yes", "export filter"), ("yes", "export route-map")),
    Feature("announce-to", "RS:1:peer announce to peer (overrides RS:0:0: announce only to)",
            ("yes", "export filter"), ("yes", "export route-map")),
    Feature("prepend", "RS:101/102/103:peer prepend the announcer's ASN 1/2/3 times to peer",
            ("yes", "`bgp_path.prepend(bgp_path.first)`"), ("yes", "`set as-path prepend last-as N`")),
    Feature("graceful-shutdown", "Graceful shutdown 65535:0: LOCAL_PREF 0 on the route server, passed on",
            ("yes", "import filter"), ("yes", "import route-map")),
    Feature("blackhole", "Blackholing 65535:666 (RFC 7999), opt-in per member, next hop rewrite, NO_EXPORT added (16)",
            ("yes", "import and export filters"), ("yes", "import and export route-maps")),
    Feature("reject-reason", "Rejected routes tagged RS:1101:reason and explained by `labctl lg`",
            ("yes", "`import keep filtered`: rejected routes are kept apart from the table"),
            ("yes", "tagged routes stay in the RIB with weight 0 (never best over an accepted path) and are never exported")),
    Feature("path-hiding", "Path-hiding mitigation (next-best path for a member the best path may not go to)",
            ("yes", "sorted table, `secondary` export"), ("no", "FRR exports only the best path (add-path is not used towards members)")),
)

BY_KEY = {f.key: f for f in FEATURES}


def supports(daemon: str, feature: str) -> Support:
    return getattr(BY_KEY[feature], daemon)[0]


def markdown_table() -> str:
    mark = {"yes": "yes", "partial": "partly", "no": "**no**"}
    lines = ["| feature (reason code) | BIRD 2.0 | FRR 8.4 |", "|---|---|---|"]
    for f in FEATURES:
        lines.append(f"| {f.title} | {mark[f.bird[0]]}: {f.bird[1]} | {mark[f.frr[0]]}: {f.frr[1]} |")
    return "\n".join(lines)
