"""Property tests: whatever the input, the loader either raises a clean ModelErrors or returns a
model that plans and renders. No other exception, ever.

Inputs start from the bundled examples and are mutated (values replaced by garbage or by other
values of the document, keys dropped, renamed or added, list items duplicated, text corrupted).
A second strategy builds random *valid* models, which must load without a single finding and
give a consistent plan: that catches false positives of the cross-field checks.

Budget: under ~10 s in total. For a deeper run: LABCTL_FUZZ_SCALE=50 pytest tests/unit/test_properties.py
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from labctl.model.load import ModelErrors, load_text
from labctl.plan import build_plan
from labctl.render import render_lab, topology_filename

REPO = Path(__file__).resolve().parents[2]
SEEDS = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((REPO / "topologies").glob("*.yml"))}
FILE = "fuzz.yml"
IMAGE = "labctl/node:IMAGE"


def budget(n: int) -> settings:
    """`n` examples, no per-example deadline (the whole file stays well under 20 s)."""
    return settings(max_examples=int(n * float(os.environ.get("LABCTL_FUZZ_SCALE", "1"))), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# ---------------------------------------------------------------- oracle


def check(text: str) -> str:
    """Run the loader and, if valid, plan and render. Returns 'errors' or 'valid'."""
    try:
        model = load_text(text, FILE)
    except ModelErrors as exc:
        assert exc.findings, "ModelErrors without findings"
        n_lines = text.count("\n") + 1
        for f in exc.findings:
            assert isinstance(f.message, str) and f.message.strip(), f
            assert isinstance(f.path, str), f
            assert isinstance(f.hint, str), f
            assert f.file == FILE
            assert f.line is None or (isinstance(f.line, int) and 1 <= f.line <= n_lines + 1), f
            assert f.column is None or (isinstance(f.column, int) and f.column >= 1), f
        assert isinstance(exc.render(), str)
        assert json.loads(exc.as_json())["valid"] is False
        return "errors"
    check_plan_and_render(model)
    return "valid"


def check_plan_and_render(model) -> None:
    plan = build_plan(model)
    lan4, lan6 = model.ix.peering_lan.ipv4, model.ix.peering_lan.ipv6
    routers = [n for n in plan.nodes.values() if n.role in ("route_server", "member")]  # upstreams: not on the LAN
    # addresses: on the LAN, host addresses, unique
    for n in routers:
        assert n.ipv4 in lan4 and n.ipv4 not in (lan4.network_address, lan4.broadcast_address), (n.name, n.ipv4)
        assert n.ipv6 in lan6 and n.ipv6 != lan6.network_address, (n.name, n.ipv6)
    assert len({n.ipv4 for n in routers}) == len(routers)
    assert len({n.ipv6 for n in routers}) == len(routers)
    # sessions come in mirrored pairs
    sessions = {(s.node, s.peer, s.afi) for s in plan.sessions()}
    assert all((peer, node, afi) in sessions for node, peer, afi in sessions)
    # every link endpoint is a node interface
    for link in plan.links:
        assert link.a_if in plan.nodes[link.a].interfaces and link.b_if in plan.nodes[link.b].interfaces

    files = render_lab(plan, IMAGE)
    topo = yaml.safe_load(files[topology_filename(plan)])
    assert set(topo["topology"]["nodes"]) == set(plan.nodes)
    for n in plan.nodes.values():
        assert f"configs/{n.name}/network.sh" in files
        if n.role != "switch":
            assert f"configs/{n.name}/{'frr.conf' if n.daemon == 'frr' else 'bird.conf'}" in files
    for rel, text in files.items():
        assert isinstance(text, str) and text.endswith("\n"), rel
        for line in text.splitlines():
            if not line.lstrip().startswith(("#", "!")):  # comments carry free-text descriptions
                assert "None" not in line, (rel, line)


# ---------------------------------------------------------------- mutation of the examples

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 3, 9, 64511, 65535, 65536, 4294967294, 4294967295, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from([
        "", " ", "-", "a", "sw-lab", "rs1", "alpha", "okayama", "kibinet", "frr", "bird", "bridge", "stp", "none",
        "192.0.2.1", "192.0.2.0", "192.0.2.255", "192.0.2.0/24", "192.0.2.0/31", "192.0.2.0/32", "10.0.0.1",
        "198.18.1.0/24", "198.18.1.1/24", "198.18.0.0/15", "0.0.0.0/0", "255.255.255.255/32", "203.0.113.0/24",
        "fd00:ffff::1", "fd00:ffff::", "fd00:ffff::/64", "fd00:ffff::/127", "::/0", "::/128", "2001:db8::/32",
        "2001:db8:1::/48", "2001:db8:1::1/48", "1.2.3.4/33", "not-an-ip", "x" * 30, "A-B", "a\nb", "yes", "~",
    ]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
KEYS = st.one_of(
    st.sampled_from([
        "ix", "sites", "trunks", "route_servers", "members", "name", "asn", "site", "daemon", "ipv4", "ipv6",
        "prefixes", "route_server", "bilateral", "max_prefix", "bfd", "between", "latency_ms", "loss_percent",
        "bandwidth_mbit", "peering_lan", "lab_prefix_space", "bgp", "hold", "keepalive", "fabric",
        "loop_prevention", "management", "ipv4_subnet", "route_server_asn", "description", "enabled",
        "interval_ms", "multiplier",
    ]),
    st.text(max_size=10),
    st.integers(-5, 5),
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def get(doc: Any, path: tuple) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def typo(key: str, data) -> str:
    if not key:
        return "x"
    i = data.draw(st.integers(0, len(key) - 1))
    how = data.draw(st.sampled_from(["drop", "double", "swap", "upper"]))
    if how == "drop":
        return key[:i] + key[i + 1:]
    if how == "double":
        return key[:i] + key[i] + key[i:]
    if how == "swap" and i + 1 < len(key):
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    return key.upper()


def mutate(doc: Any, data) -> Any:
    all_paths = paths(doc)
    path = data.draw(st.sampled_from(all_paths), label="path")
    op = data.draw(st.sampled_from(["replace", "steal", "delete", "insert", "rename", "append", "duplicate",
                                    "wrap", "stringify", "nudge"]), label="op")
    if not path:  # the root itself
        if op in ("replace", "stringify"):
            return data.draw(VALUES)
        path = ("ix",) if isinstance(doc, dict) and "ix" in doc else path
        if not path:
            return doc
    parent, last = get(doc, path[:-1]), path[-1]
    node = parent[last]
    if op == "replace":
        parent[last] = data.draw(VALUES, label="garbage")
    elif op == "steal":  # a value from elsewhere in the document: realistic but misplaced
        parent[last] = copy.deepcopy(get(doc, data.draw(st.sampled_from(all_paths))))  # copy: it may be an ancestor
    elif op == "delete":
        del parent[last]
    elif op == "insert" and isinstance(node, dict):
        node[data.draw(KEYS, label="key")] = data.draw(VALUES)
    elif op == "rename" and isinstance(parent, dict) and isinstance(last, str):
        parent[typo(last, data)] = parent.pop(last)
    elif op == "append" and isinstance(node, list):
        node.append(data.draw(st.one_of(VALUES, st.sampled_from(node) if node else VALUES)))
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(last, node)  # the same object twice: safe_dump writes an anchor and an alias
    elif op == "wrap":
        parent[last] = data.draw(st.sampled_from([[node], {"value": node}]))
    elif op == "stringify":
        parent[last] = str(node)
    elif op == "nudge" and isinstance(node, int) and not isinstance(node, bool):
        parent[last] = node + data.draw(st.sampled_from([-1, 1, -(10**6), 10**6, -node, 2**32]))
    elif op == "nudge" and isinstance(node, str) and node[-1:].isdigit():
        parent[last] = node[:-1] + data.draw(st.sampled_from("0123456789"))
    return doc


def to_text(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


@budget(250)
@given(seed=st.sampled_from(sorted(SEEDS)), n=st.integers(1, 5), data=st.data())
def test_mutated_examples_never_crash(seed, n, data):
    doc = json.loads(json.dumps(SEEDS[seed]))  # deep copy
    for _ in range(n):
        doc = mutate(doc, data)
    event(check(to_text(doc)))  # `--hypothesis-show-statistics` shows the errors/valid split


@budget(150)
@given(seed=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_corrupted_text_never_crashes(seed, data):
    """Text-level damage: characters inserted or removed, lines duplicated, dropped or re-indented."""
    text = (REPO / "topologies" / f"{seed}.yml").read_text()
    lines = text.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["insert", "cut", "dup-line", "drop-line", "indent", "dedent"]))
        if op == "insert":
            at = data.draw(st.integers(0, len(text)))
            junk = data.draw(st.one_of(st.text(max_size=6), st.sampled_from([":", "- ", "[", "{", "}", "'", '"', "&a ", "*a",
                                                                            "!!str ", "<<: ", "\t", "#", "%", "---\n"])))
            text = text[:at] + junk + text[at:]
        elif op == "cut":
            at = data.draw(st.integers(0, len(text)))
            text = text[:at] + text[at + data.draw(st.integers(1, 20)):]
        else:
            lines = text.splitlines(keepends=True) or [""]
            i = data.draw(st.integers(0, len(lines) - 1))
            if op == "dup-line":
                lines.insert(i, lines[i])
            elif op == "drop-line":
                del lines[i]
            elif op == "indent":
                lines[i] = "  " + lines[i]
            else:
                lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
            text = "".join(lines)
    event(check(text))


@budget(100)
@given(text=st.text(max_size=200))
def test_arbitrary_text_never_crashes(text):
    assert check(text) == "errors"  # nothing random is a complete IX


# ---------------------------------------------------------------- random valid models


@st.composite
def valid_models(draw) -> dict:
    n_sites = draw(st.integers(1, 4))
    sites = [f"s{i}" for i in range(n_sites)]
    # a random spanning tree joins all sites; extra trunks make loops, which need STP
    trunks = [[sites[i], sites[draw(st.integers(0, i - 1))]] for i in range(1, n_sites)]
    loops = draw(st.lists(st.tuples(st.sampled_from(sites), st.sampled_from(sites)).filter(lambda t: t[0] != t[1]),
                          max_size=2)) if n_sites > 1 else []
    trunks += [list(t) for t in loops]
    keepalive = draw(st.integers(1, 60))
    ix = {
        "name": draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)),
        "route_server_asn": draw(st.integers(1, 4294967294)),
        "bgp": {"keepalive": keepalive, "hold": draw(st.integers(max(3 * keepalive, 3), 65535))},
        "bfd": {"enabled": draw(st.booleans()), "interval_ms": draw(st.integers(10, 60000)),
                "multiplier": draw(st.integers(2, 255))},
        "fabric": {"loop_prevention": "stp" if loops or draw(st.booleans()) else "none"},
    }
    lan_len = draw(st.sampled_from([24, 26, 28]))
    ix["peering_lan"] = {"ipv4": f"192.0.2.0/{lan_len}", "ipv6": "fd00:ffff::/64"}
    n_rs = draw(st.integers(1, 2))
    n_members = draw(st.integers(1, min(8, 2 ** (32 - lan_len) - 2 - n_rs)))
    route_servers = [{"name": f"rs{i}", "site": draw(st.sampled_from(sites)), "daemon": draw(st.sampled_from(["frr", "bird"]))}
                     for i in range(n_rs)]
    names = [f"m{i}" for i in range(n_members)]
    hosts = list(ipaddress.ip_network(ix["peering_lan"]["ipv4"]).hosts())
    fixed4 = draw(st.lists(st.sampled_from(hosts), unique=True, max_size=n_members))
    # one ASN is one member, and never the route servers' (checks._check_member_asns)
    asns = draw(st.lists(st.integers(1, 4294967294).filter(lambda a: a != ix["route_server_asn"]),
                         unique=True, min_size=n_members, max_size=n_members))
    members = []
    for i, name in enumerate(names):
        k = 10 + i
        prefixes = draw(st.lists(st.sampled_from([f"198.18.{k}.0/24", f"198.19.{k}.0/24", f"2001:db8:{k:x}::/48"]),
                                 unique=True, max_size=3))
        m = {"name": name, "asn": asns[i], "site": draw(st.sampled_from(sites)),
             "daemon": draw(st.sampled_from(["frr", "bird"])), "prefixes": prefixes,
             "route_server": draw(st.booleans()),
             "bilateral": draw(st.lists(st.sampled_from([x for x in names if x != name] or ["-"]), unique=True, max_size=2))
             if len(names) > 1 else []}
        if i < len(fixed4):
            m["ipv4"] = str(fixed4[i])
        if draw(st.booleans()):
            m["bfd"] = draw(st.booleans())
        if draw(st.booleans()):
            m["max_prefix"] = {"ipv4": draw(st.integers(1, 1000)), "ipv6": draw(st.integers(1, 1000))}
        members.append(m)
    named = {p for m in members for p in m["bilateral"]}
    for m in members:
        if not m["route_server"] and not m["bilateral"] and m["name"] not in named:
            m["route_server"] = True
    # route servers must not take a member's fixed address: give them the highest hosts
    for j, rs in enumerate(route_servers):
        addr = hosts[-1 - j]
        assume(addr not in fixed4)
        rs["ipv4"] = str(addr)
    return {"ix": ix, "sites": [{"name": s} for s in sites], "trunks": [{"between": t} for t in trunks],
            "route_servers": route_servers, "members": members}


@budget(120)
@given(doc=valid_models())
def test_valid_models_load_without_findings_and_plan_consistently(doc):
    text = to_text(doc)
    try:
        model = load_text(text, FILE)
    except ModelErrors as exc:  # a false positive of the checks
        raise AssertionError(f"valid model rejected:\n{exc.render()}\n---\n{text}") from None
    check_plan_and_render(model)
    plan = build_plan(model)
    members = {m["name"]: m for m in doc["members"]}
    for name, m in members.items():
        node = plan.nodes[name]
        if "ipv4" in m:
            assert str(node.ipv4) == m["ipv4"]
        peers = {p for p in m["bilateral"]} | {x for x, y in members.items() if name in y["bilateral"]}
        rs = {s.peer for s in node.sessions if s.kind == "route-server"}
        assert rs == ({r["name"] for r in doc["route_servers"]} if m["route_server"] else set())
        assert {s.peer for s in node.sessions if s.kind == "bilateral"} == peers
        # expected routes: everything announced by route-server peers (if on the RS) and bilateral peers
        sources = peers | ({x for x, y in members.items() if y["route_server"] and x != name} if m["route_server"] else set())
        want = {ipaddress.ip_network(p) for s in sources for p in members[s]["prefixes"]}
        assert set(plan.expected_routes[name]) == want
