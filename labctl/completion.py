"""Shell-completion callbacks (`labctl --install-completion`): node and scenario names.

They run on every TAB, so they stay cheap (no Docker, no SSH): the IX file comes from the
command line (-f FILE), else from the only lab folder under ./.labctl/, else ./ix.yml; its plan
gives the node names. A completion must never print a traceback into the user's prompt, so
every failure completes nothing.
"""

from __future__ import annotations

from pathlib import Path


def _ix_file(ctx) -> Path | None:
    given = (ctx.params or {}).get("file") if ctx is not None else None
    if given:
        return Path(given)
    states = sorted(Path(".labctl").glob("*/state.json"))
    if len(states) == 1:
        from labctl.runtime.labdir import read_state

        return Path(read_state(states[0].parent).ix_file)
    default = Path("ix.yml")
    return default if default.is_file() else None


def node_names(ctx, roles: tuple[str, ...] = ("route_server", "member")) -> list[str]:
    from labctl.model.load import load
    from labctl.plan import build_plan

    path = _ix_file(ctx)
    if path is None:
        return []
    plan = build_plan(load(path))
    return sorted(name for name, node in plan.nodes.items() if node.role in roles)


def complete_node(ctx, incomplete: str) -> list[str]:
    try:
        return [n for n in node_names(ctx) if n.startswith(incomplete)]
    except Exception:  # noqa: BLE001 - a completion never breaks the prompt
        return []


def complete_scenario(incomplete: str) -> list[str]:
    try:
        from labctl.scenarios.spec import builtin_names

        files = [str(p) for p in sorted(Path(".").glob("*.y*ml")) if p.name != "ix.yml"]
        return [n for n in [*builtin_names(), *files] if n.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []
