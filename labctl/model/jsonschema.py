"""The JSON schema of ix.yml, for editors (yaml-language-server) and other tools (`labctl schema`)."""

from __future__ import annotations

import json

from labctl.model.schema import IxModel

SCHEMA_FILENAME = "ix.schema.json"
MODELINE_PREFIX = "# yaml-language-server: $schema="


# Descriptions for the keys the model leaves undescribed (self-explanatory in Python, not in an
# editor's hover). Keyed by the schema's definition name and property; docs/MODEL.md has more.
DESCRIPTIONS = {
    ("IxModel", "ix"): "the exchange itself: name, ASN, peering LAN, timers, policy",
    ("IxModel", "sites"): "locations (cities, data centres); each gets a switch",
    ("IxModel", "trunks"): "links between the sites' switches",
    ("IxModel", "route_servers"): "the IX's route servers",
    ("IxModel", "members"): "networks connected to the IX",
    ("IxModel", "upstreams"): "transit providers outside the region, on their own links to the members that buy from them",
    ("Upstream", "asn"): "the upstream's AS number",
    ("Upstream", "description"): "free text",
    ("Ix", "peering_lan"): "the shared peering LAN (IPv4 and IPv6)",
    ("Ix", "lab_prefix_space"): "where members' lab prefixes are allocated from",
    ("Ix", "bgp"): "BGP timers of every session",
    ("Ix", "bfd"): "BFD on route-server and bilateral sessions",
    ("Ix", "fabric"): "the switching fabric between the sites",
    ("Ix", "management"): "the lab's management network (containerlab)",
    ("Ix", "description"): "free text",
    ("LabPrefixSpace", "ipv4"): "IPv4 supernet for members' prefixes",
    ("LabPrefixSpace", "ipv6"): "IPv6 supernet for members' prefixes",
    ("MaxPrefix", "ipv4"): "most IPv4 prefixes the route servers accept from the member",
    ("MaxPrefix", "ipv6"): "most IPv6 prefixes the route servers accept from the member",
    ("Member", "name"): "node name (lower case, digits, hyphens)",
    ("Member", "asn"): "the member's AS number",
    ("Member", "site"): "the site (name) where the member connects",
    ("Member", "daemon"): "routing daemon of the member's router",
    ("Member", "description"): "free text",
    ("Policy", "rpki"): "RPKI origin validation on the route servers",
    ("Policy", "blackhole"): "blackholing (RFC 7999) on the route servers",
    ("PrefixLengths", "ipv4"): "accepted IPv4 prefix lengths",
    ("PrefixLengths", "ipv6"): "accepted IPv6 prefix lengths",
    ("Roa", "prefix"): "the ROA's prefix",
    ("RouteServer", "name"): "node name (lower case, digits, hyphens)",
    ("RouteServer", "daemon"): "routing daemon of the route server",
    ("RouteServer", "site"): "the site (name) where the route server runs",
    ("Site", "name"): "site name (lower case, digits, hyphens)",
    ("Site", "description"): "free text",
}


def _describe(definition: str, node: dict) -> None:
    for key, prop in node.get("properties", {}).items():
        if "description" not in prop and (definition, key) in DESCRIPTIONS:
            prop["description"] = DESCRIPTIONS[(definition, key)]


def ix_json_schema() -> dict:
    schema = IxModel.model_json_schema(mode="validation")
    _describe("IxModel", schema)
    for name, definition in schema.get("$defs", {}).items():
        _describe(name, definition)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "labctl IX definition (ix.yml)",
            "description": "A regional Internet exchange for labctl: sites, trunks, route servers and members. "
                           "Reference: docs/MODEL.md; `labctl validate` explains every mistake.",
            **{k: v for k, v in schema.items() if k not in ("title", "description")}}


def ix_json_schema_text() -> str:
    return json.dumps(ix_json_schema(), indent=2, sort_keys=False) + "\n"


def modeline(schema_ref: str = SCHEMA_FILENAME) -> str:
    """The first line of an ix.yml that points editors at the schema (a path relative to the file, or a URL)."""
    return f"{MODELINE_PREFIX}{schema_ref}\n"
