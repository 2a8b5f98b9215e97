"""Built-in route-server policy data: bogons, reserved ASNs, transit-free ASNs, reason codes, communities.

Pure data. The model (`ix.policy`) can extend or override what an IX configures; what is here is
what every Internet route server rejects anyway. The lab's own prefix space and the documentation
ASNs the examples use as member ASNs are exempted where the data is used (see `labctl.policy.build`).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network

# IPv4 martians and bogons (RFC 6890 special-purpose registry, multicast and class E).
BOGONS_IPV4: tuple[IPv4Network, ...] = tuple(ip_network(p) for p in (  # type: ignore[misc]
    "0.0.0.0/8",         # "this network"
    "10.0.0.0/8",        # private (RFC 1918)
    "100.64.0.0/10",     # shared address space (CGN, RFC 6598)
    "127.0.0.0/8",       # loopback
    "169.254.0.0/16",    # link local
    "172.16.0.0/12",     # private (RFC 1918)
    "192.0.0.0/24",      # IETF protocol assignments
    "192.0.2.0/24",      # documentation (TEST-NET-1)
    "192.88.99.0/24",    # 6to4 relay anycast (deprecated)
    "192.168.0.0/16",    # private (RFC 1918)
    "198.18.0.0/15",     # benchmarking (RFC 2544)
    "198.51.100.0/24",   # documentation (TEST-NET-2)
    "203.0.113.0/24",    # documentation (TEST-NET-3)
    "224.0.0.0/4",       # multicast
    "240.0.0.0/4",       # reserved, limited broadcast
))

# IPv6: everything outside global unicast 2000::/3 is a bogon; inside it, these are.
IPV6_GLOBAL_UNICAST = ip_network("2000::/3")
BOGONS_IPV6: tuple[IPv6Network, ...] = tuple(ip_network(p) for p in (  # type: ignore[misc]
    "2001:2::/48",       # benchmarking
    "2001:10::/28",      # ORCHID
    "2001:db8::/32",     # documentation
    "2002::/16",         # 6to4
    "3ffe::/16",         # old 6bone
    "3fff::/20",         # documentation (RFC 9637)
))
BOGONS_IPV6_OUTSIDE = ip_network("::/0")  # plus: anything not in IPV6_GLOBAL_UNICAST

# Reserved and private ASNs (RFC 6996, 7300, 5398, 6793), as inclusive ranges. The documentation
# ranges (RFC 5398) are reserved too, but labctl's examples use them as member ASNs, so they are
# listed apart and exempted.
RESERVED_ASNS: tuple[tuple[int, int], ...] = (
    (0, 0),                          # reserved (RFC 7607)
    (23456, 23456),                  # AS_TRANS (RFC 6793)
    (64496, 64511),                  # documentation (RFC 5398): exempted, see DOCUMENTATION_ASNS
    (64512, 65534),                  # private use (RFC 6996)
    (65535, 65535),                  # reserved (RFC 7300)
    (65536, 65551),                  # documentation (RFC 5398): exempted
    (65552, 131071),                 # reserved
    (4200000000, 4294967294),        # private use (RFC 6996)
    (4294967295, 4294967295),        # reserved (RFC 7300)
)
DOCUMENTATION_ASNS: tuple[tuple[int, int], ...] = ((64496, 64511), (65536, 65551))

# Networks that buy no transit: their ASN in a path announced by someone else is a route leak.
# arouteserver's default list.
TRANSIT_FREE_ASNS: tuple[int, ...] = (174, 209, 286, 701, 1239, 1299, 2828, 2914, 3257, 3320, 3356, 3491,
                                      5511, 6453, 6461, 6762, 6830, 7018, 12956)

# ---------------------------------------------------------------- communities
# Large communities whose global administrator is the route-server ASN (RS:function:parameter).
LC_REJECT = 1101             # RS:1101:reason   set by the route server on routes it rejects
LC_DO_NOT_ANNOUNCE = 0       # RS:0:peer-as     do not announce to peer-as  (RS:0:0 = to nobody)
LC_ANNOUNCE = 1              # RS:1:peer-as     announce to peer-as even with RS:0:0
LC_PREPEND = (101, 102, 103)  # RS:10x:peer-as  prepend the announcer's ASN x times towards peer-as
CONTROL_FUNCTIONS = (LC_DO_NOT_ANNOUNCE, LC_ANNOUNCE, *LC_PREPEND)
GRACEFUL_SHUTDOWN = (65535, 0)   # RFC 8326
BLACKHOLE = (65535, 666)         # RFC 7999
NO_EXPORT = (65535, 65281)       # RFC 1997


@dataclass(frozen=True)
class Reason:
    code: int
    key: str
    text: str


# Codes follow arouteserver's reject reasons where one exists, so an operator who knows those
# recognises them; 16 is labctl's own.
REASONS: tuple[Reason, ...] = (
    Reason(1, "as-path-too-long", "AS_PATH longer than the IX allows"),
    Reason(2, "bogon", "bogon prefix (martian, private, reserved or documentation space)"),
    Reason(5, "next-hop", "NEXT_HOP is not the announcing member's own address"),
    Reason(6, "first-as", "first ASN in the AS_PATH is not the member's"),
    Reason(7, "reserved-asn", "private or reserved ASN in the AS_PATH"),
    Reason(8, "transit-free-asn", "transit-free ASN in the AS_PATH (route leak)"),
    Reason(9, "origin-not-allowed", "origin ASN not registered for the member (IRR / AS-SET)"),
    Reason(12, "prefix-not-allowed", "prefix not registered for the member (IRR / AS-SET)"),
    Reason(13, "prefix-length", "prefix length outside the IX's bounds"),
    Reason(14, "rpki-invalid", "RPKI origin validation: INVALID"),
    Reason(16, "blackhole-not-enabled", "blackhole request (65535:666) from a member without blackholing"),
)
REASON_BY_CODE = {r.code: r for r in REASONS}
REASON_BY_KEY = {r.key: r for r in REASONS}


def reason_text(code: int) -> str:
    r = REASON_BY_CODE.get(code)
    return f"{r.key}: {r.text}" if r else f"unknown reason {code}"
