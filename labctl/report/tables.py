"""Rich tables for `labctl status` (pure: built from a lab.Status, printed by the CLI)."""

from __future__ import annotations

from rich.table import Table


def _cell(cells: dict | None) -> str:
    if cells is None:
        return "·"
    return "".join(("4" if afi == "ipv4" else "6") if ok else ("-" if ok is False else " ")
                   for afi, ok in cells.items())


def status_tables(st) -> list[Table]:
    """Nodes, BGP sessions, and the route-visibility matrix of a lab.Status."""
    hosts = any(n.get("host") for n in st.nodes.values())  # a multi-host lab: where each node runs
    nodes = Table("node", "role", "daemon", "site", *(["host"] if hosts else []), "state", "mgmt", "image",
                  title=f"lab {st.lab}")
    for name, n in sorted(st.nodes.items()):
        nodes.add_row(name, n["role"], n["daemon"], n["site"], *([n.get("host", "")] if hosts else []), n["state"],
                      n["mgmt_ipv4"] or _ssh_address(n), n["image"])
    sessions = Table("node", "peer", "afi", "state", "uptime", "received", "accepted", "sent", title="BGP sessions")
    for name, b in sorted(st.bgp.items()):
        for s in b.sessions:
            colour = "green" if s.established else "red"
            peer = (s.description or s.peer_address).split(" (")[0]
            sessions.add_row(name, peer, s.afi, f"[{colour}]{s.state}[/]",
                             s.uptime, str(s.received), str(s.accepted), str(s.sent))
    names = sorted(st.matrix)
    # numbered columns keep the matrix narrow on a terminal; the row label names each number
    matrix = Table("member (#) sees →", *[str(i + 1) for i in range(len(names))],
                   title="route visibility (4 = IPv4, 6 = IPv6, - = missing, · = itself)")
    for number, viewer in enumerate(names, 1):
        matrix.add_row(f"{viewer} ({number})", *[_cell(st.matrix[viewer].get(origin)) for origin in names])
    return [nodes, sessions, matrix]


def _ssh_address(node: dict) -> str:
    """Where labctl reaches a node without a management address here (clabernetes: its service)."""
    return f"{node['ssh_host']}:{node.get('ssh_port', 22)}" if node.get("ssh_host") else ""
