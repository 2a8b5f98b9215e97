"""Running a task on many lab nodes at once: the one place that filters a Nornir inventory and
turns its MultiResults into plain data (results by node, errors by node)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Literal

from nornir.core import Nornir

Scope = Literal["all", "routers", "route_servers", "members"]

_SCOPES: dict[str, Callable] = {
    "all": lambda h: True,
    "routers": lambda h: h.data["role"] != "switch",
    "route_servers": lambda h: h.data["role"] == "route_server",
    "members": lambda h: h.data["role"] == "member",
}


def select(nr: Nornir, scope: Scope = "all", nodes: Iterable[str] | None = None) -> Nornir:
    wanted = set(nodes) if nodes is not None else None
    keep = _SCOPES[scope]
    return nr.filter(filter_func=lambda h: keep(h) and (wanted is None or h.name in wanted))


def run_full(nr: Nornir, task: Callable, scope: Scope = "all", nodes: Iterable[str] | None = None,
             **kwargs: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Run `task` on the selected nodes in parallel: ({node: its Nornir Result}, {node: error text})."""
    results = select(nr, scope, nodes).run(task=task, on_failed=True, **kwargs)
    done, errors = {}, {}
    for name, multi in results.items():
        if multi.failed:
            exc = multi[0].exception  # labctl's own errors are short and say where; keep them whole
            errors[name] = str(exc) if exc else str(multi[0].result)[-400:]
        else:
            done[name] = multi[0]
    return done, errors


def run(nr: Nornir, task: Callable, scope: Scope = "all", nodes: Iterable[str] | None = None,
        **kwargs: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Like `run_full`, with each node's task return value: ({node: result}, {node: error text})."""
    done, errors = run_full(nr, task, scope, nodes, **kwargs)
    return {name: r.result for name, r in done.items()}, errors
