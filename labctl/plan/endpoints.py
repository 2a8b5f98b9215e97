"""Where to capture: a user's `NODE:IFACE`, link or trunk name as one (node, interface) of the plan.

Accepted forms (`labctl capture`):
- `NODE:IFACE`                      that interface (eth0 is the management network)
- `NODE`                            a router's one data link (its port to the site switch)
- `nodeA:ifA--nodeB:ifB`            a link as containerlab writes it: the first end
- `siteA--siteB`, `siteA-siteB`,
  `sw-siteA--sw-siteB`              a trunk: siteA's switch port
"""

from __future__ import annotations

from labctl.errors import LabctlError
from labctl.model.checks import switch_name
from labctl.plan.build import Link, Plan


def describe_links(plan: Plan) -> list[str]:
    return [f"{l.a}:{l.a_if}--{l.b}:{l.b_if}" for l in plan.links]


def _check_interface(plan: Plan, node: str, interface: str, spec: str) -> tuple[str, str]:
    if node not in plan.nodes:
        raise LabctlError(f"'{spec}': no node '{node}' in lab {plan.lab}", f"nodes: {', '.join(plan.nodes)}")
    known = ["eth0", *plan.nodes[node].interfaces]
    if interface not in known:
        raise LabctlError(f"'{spec}': {node} has no interface '{interface}'",
                          f"{node}'s interfaces: {', '.join(known)} (eth0 is management)")
    return node, interface


def _trunk(plan: Plan, a: str, b: str) -> Link | None:
    sites = {s.name for s in plan.model.sites}
    ends = [x if x in sites else x.removeprefix("sw-") for x in (a, b)]
    if not all(e in sites for e in ends):
        return None
    wanted = {switch_name(ends[0]), switch_name(ends[1])}
    return next((l for l in plan.links if l.trunk and {l.a, l.b} == wanted), None)


def capture_point(plan: Plan, spec: str) -> tuple[str, str]:
    """(node, interface) for a capture spec (forms in the module doc); a located error otherwise."""
    spec = spec.strip()
    hint = f"give NODE:IFACE or a link: {', '.join(describe_links(plan)[:6])}"
    if "--" in spec:
        a, b = spec.split("--", 1)
        if ":" in a:
            return _check_interface(plan, *a.split(":", 1), spec=spec)
        trunk = _trunk(plan, a, b)
        if trunk is None:
            raise LabctlError(f"'{spec}' is neither a link nor a trunk of lab {plan.lab}", hint)
        first = switch_name(a.removeprefix("sw-"))
        return (trunk.a, trunk.a_if) if trunk.a == first else (trunk.b, trunk.b_if)
    if ":" in spec:
        return _check_interface(plan, *spec.split(":", 1), spec=spec)
    node = plan.nodes.get(spec)
    if node is not None and node.role != "switch" and len(node.interfaces) == 1:
        return node.name, node.interfaces[0]
    if "-" in spec and node is None:  # a trunk written siteA-siteB, as scenario targets are
        for i in range(spec.count("-")):
            parts = spec.split("-")
            a, b = "-".join(parts[:i + 1]), "-".join(parts[i + 1:])
            trunk = _trunk(plan, a, b)
            if trunk is not None:
                return capture_point(plan, f"{a}--{b}")
    if node is not None:
        raise LabctlError(f"'{spec}' has {len(node.interfaces)} data ports; name one",
                          f"one of: {', '.join(f'{spec}:{i}' for i in node.interfaces)}")
    raise LabctlError(f"'{spec}' is not a node, link or trunk of lab {plan.lab}", hint)
