"""The generated containerlab topology validates against containerlab's own JSON schema
(tests/fixtures/clab.schema.json, as shipped by containerlab)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from labctl.model.load import load_text
from labctl.plan import build_plan
from labctl.render import render_topology

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "tests" / "fixtures" / "clab.schema.json"
EXAMPLES = {p.stem: p for p in sorted((REPO / "topologies").glob("*.yml"))}

# containerlab's schema is written for Go/JS regex engines. Its address patterns end in
# "(%[\p{N}\p{L}]+)?" (an interface zone such as "%eth0": Unicode numbers and letters), and
# Python's `re` has no \p{...} classes: compiling them raises "bad escape \p", so jsonschema
# fails on the first such pattern it meets. `\w` is the nearest `re` equivalent (Unicode letters
# and digits, plus '_'): slightly looser, which cannot make a topology we generate pass wrongly
# (we never write zone suffixes). The replacement is done on the loaded schema, not the fixture.
UNICODE_CLASSES = re.compile(r"\\p\{N\}\\p\{L\}|\\p\{L\}\\p\{N\}")


def _patch(node):
    if isinstance(node, dict):
        return {k: (UNICODE_CLASSES.sub(r"\\w", v) if k == "pattern" and isinstance(v, str) else _patch(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_patch(v) for v in node]
    return node


def _patterns(node) -> list[str]:
    if isinstance(node, dict):
        own = [v for k, v in node.items() if k == "pattern" and isinstance(v, str)]
        own += [k for k in node.get("patternProperties", {})] if isinstance(node.get("patternProperties"), dict) else []
        return own + [p for v in node.values() for p in _patterns(v)]
    if isinstance(node, list):
        return [p for v in node for p in _patterns(v)]
    return []


@lru_cache(maxsize=1)
def validator() -> jsonschema.Draft7Validator:
    schema = _patch(json.loads(SCHEMA.read_text()))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator().iter_errors(doc)]


def test_schema_needs_the_patch_and_every_pattern_compiles_after_it():
    raw = json.loads(SCHEMA.read_text())
    broken = []
    for pattern in _patterns(raw):
        try:
            re.compile(pattern)
        except re.error:
            broken.append(pattern)
    assert broken, "the fixture no longer has \\p{..} patterns: the patch in this file can go"
    assert all("\\p{" in p for p in broken), "a pattern fails to compile for another reason"
    for pattern in _patterns(_patch(raw)):
        re.compile(pattern)  # raises if anything is still incompatible with Python's re


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_generated_topology_validates(name):
    plan = build_plan(load_text(EXAMPLES[name].read_text(), str(EXAMPLES[name])))
    doc = yaml.safe_load(render_topology(plan, "labctl/node:IMAGE"))
    assert errors(doc) == []
    # and the parts the schema cares about are really there
    assert set(doc["topology"]["nodes"]) == set(plan.nodes)
    assert len(doc["topology"]["links"]) == len(plan.links)


def test_topology_of_an_edge_model_validates():
    text = """\
ix:
  name: 9edge
  route_server_asn: 4200000000
  fabric: {loop_prevention: stp}
  management: {ipv4_subnet: 10.99.0.0/24}
sites: [{name: a}, {name: b}, {name: c}]
trunks: [{between: [a, b]}, {between: [b, c]}, {between: [c, a]}, {between: [a, b]}]
route_servers: [{name: r1, site: a}, {name: r2, daemon: frr, site: c}]
members:
  - {name: 1st, asn: 64496, site: b}
  - {name: m-2, asn: 64497, site: c, daemon: bird, route_server: false, bilateral: [1st]}
"""
    doc = yaml.safe_load(render_topology(build_plan(load_text(text)), "registry.example:5000/lab/node@sha256:" + "a" * 64))
    assert errors(doc) == []
    assert doc["mgmt"]["ipv4-subnet"] == "10.99.0.0/24"


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["topology"]["defaults"].update({"kind": 7}), "topology/defaults/kind"),
        (lambda d: d["topology"]["links"].append({"endpoints": "a:eth1"}), "topology/links/"),
        (lambda d: d["mgmt"].update({"ipv4-subnet": "172.30.1.0"}), "mgmt/ipv4-subnet"),
        # goes through one of the patched (\p{..} -> \w) patterns, which must still reject this
        (lambda d: d["topology"]["nodes"]["rs1"].update({"mgmt-ipv4": "192.0.2.300"}), "topology/nodes/rs1"),
        (lambda d: d.update({"nmae": "x"}), "<root>"),
    ],
    ids=["kind-type", "endpoints-type", "subnet-without-length", "bad-node-mgmt-ip", "unknown-key"],
)
def test_schema_rejects_broken_topologies(mutate, where):
    """The check has teeth: the patched schema still rejects what containerlab would reject."""
    plan = build_plan(load_text(EXAMPLES["minimal"].read_text()))
    doc = yaml.safe_load(render_topology(plan, "labctl/node:IMAGE"))
    mutate(doc)
    found = errors(doc)
    assert found and any(e.startswith(where) for e in found), found
