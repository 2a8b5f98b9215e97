"""Lab lifecycle: the steps of up, push, status, lg and down, composed from the packages below.

model -> plan -> render produce the artefacts; runtime deploys them; automation configures
and observes the nodes. This module only sequences those steps, times them, and decides
what a result means (converged, rolled back, ...). The CLI prints what it returns.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from labctl import daemons
from labctl.automation.inventory import build_nornir, retarget
from labctl.daemons.records import NodeBgp
from labctl.automation import fleet
from labctl.automation.tasks import (collect_bgp, configure_node, daemon_version, looking_glass, rollback_node,
                                    trace_pairs)
from labctl.errors import LabctlError
from labctl.model.hosts import load_hosts
from labctl.model.load import load
from labctl.plan import Plan, build_plan
from labctl.plan.endpoints import capture_point
from labctl.policy.explain import explain
from labctl.render import render_clabernetes, render_lab, render_node, topology_filename, write_lab
from labctl.render.artefacts import AUTHORIZED_KEYS, socket_bind
from labctl.render.multihost import LAYOUT, render_host_topologies, render_layout
from labctl.runtime import clab, host, images
from labctl.runtime import nodes
from labctl.runtime.backend import Backend, LocalClab
from labctl.runtime.backends import lab_folder, open_backend
from labctl.runtime.clabernetes import MANIFESTS, Cluster, read_settings, write_settings
from labctl.runtime.multihost import read_layout
from labctl.runtime.engine import LOCAL, Engine
from labctl.runtime.labdir import (LabState, default_workdir, ensure_socket_dirs, ensure_ssh_key, private_key, read_state,
                                   socket_dir, write_state)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Lab:
    """A lab as labctl knows it: its plan, its folder and its running nodes."""

    plan: Plan
    workdir: Path
    ix_file: Path
    runtime: Backend = None  # type: ignore[assignment]  # what runs it; from the lab folder when not given

    def __post_init__(self):
        if self.runtime is None:
            self.runtime = open_backend(self.plan.lab, self.workdir)

    @property
    def topology(self) -> Path:
        return self.workdir / topology_filename(self.plan)

    def node_files(self) -> dict[str, dict[str, str]]:
        return {name: render_node(self.plan, node) for name, node in self.plan.nodes.items()}

    def nornir(self, only: list[str] | None = None, workers: int = 16):
        nodes = self.runtime.inspect()
        return build_nornir(self.plan, nodes, private_key(self.workdir), workers=workers, only=only,
                            sockets=socket_dir(self.workdir))


def open_lab(ix_file: Path, workdir: Path | None = None) -> Lab:
    plan = build_plan(load(ix_file))
    return Lab(plan, (workdir or default_workdir(ix_file, plan.lab)).resolve(), ix_file.resolve())


def _only_running_lab(running: dict) -> str:
    """The name of the one running lab, when no lab was named."""
    if len(running) != 1:
        names = ", ".join(sorted(running)) or "none"
        raise LabctlError(f"{'no lab is' if not running else 'several labs are'} running (running: {names})",
                          "name one with --lab NAME or pass the IX file")
    return next(iter(running))


def find_lab(ix_file: Path | None = None, lab_name: str | None = None) -> Lab:
    """The lab a command should act on: from an IX file, a lab name, or the only running lab."""
    if ix_file is not None:
        return open_lab(ix_file)
    running = clab.running_labs()
    lab_name = lab_name or _only_running_lab(running)
    topo = running.get(lab_name)
    if topo is None:
        raise LabctlError(f"lab '{lab_name}' is not running", "start it with `labctl up FILE`")
    state = read_state(lab_folder(topo))
    return open_lab(Path(state.ix_file), lab_folder(topo))


# ------------------------------------------------------------------ convergence

@dataclass(frozen=True)
class DownSession:
    """A planned session that is not Established, seen from `node`."""

    node: str
    peer: str
    afi: str
    state: str  # the daemon's state name, or "not configured"

    def __str__(self) -> str:
        return f"{self.node} -> {self.peer} ({self.afi}): {self.state}"


@dataclass
class Convergence:
    converged: bool
    seconds: float
    down_sessions: list[DownSession] = field(default_factory=list)
    missing_routes: dict[str, list[str]] = field(default_factory=dict)  # member -> prefixes
    unreachable: dict[str, str] = field(default_factory=dict)  # node -> error
    bgp: dict[str, NodeBgp] = field(default_factory=dict)


def convergence_timeout(plan: Plan) -> float:
    """Derived from the timers: a session may need a hold time to give up on a dead try and a
    connect retry to come back; allow several rounds plus time per node on a 2-core host."""
    hold = plan.model.ix.bgp.hold
    return 30 + 4 * hold + 0.5 * len(plan.nodes)


def collect(nr, routes: bool = True) -> tuple[dict[str, NodeBgp], dict[str, str]]:
    """Every router's sessions and (with `routes`) best routes: ({node: NodeBgp}, {node: error})."""
    return fleet.run(nr, collect_bgp, "routers", routes=routes)


@lru_cache(maxsize=1 << 16)
def _text(prefix) -> str:
    """A prefix as text, once: str() of an ip_network takes ~25 us (IPv6 zero compression), and a
    100-member status compares 40,000 of them."""
    return str(prefix)


def check_convergence(plan: Plan, states: dict[str, NodeBgp], errors: dict[str, str],
                      nodes: list[str] | None = None, routes: bool = True) -> Convergence:
    """What is missing: planned sessions not Established, and (with `routes`: `states` hold the
    routes) expected routes a member lacks. Converged only when checked with routes."""
    result = Convergence(False, 0.0, unreachable=dict(errors), bgp=states)
    for node in plan.nodes.values():
        if node.role == "switch" or (nodes is not None and node.name not in nodes):
            continue
        state = states.get(node.name)
        if state is None:
            continue
        seen = {(s.peer_address, s.afi): s for s in state.sessions}
        for planned in node.sessions:
            got = seen.get((planned.peer_address, planned.afi))
            if got is None or not got.established:
                result.down_sessions.append(
                    DownSession(node.name, planned.peer, planned.afi, got.state if got else "not configured"))
        wanted = plan.expected_routes.get(node.name, plan.upstream_routes.get(node.name))
        if wanted is not None and routes:  # members, and upstreams (their customers' and each other's routes)
            have = set(state.routes["ipv4"]) | set(state.routes["ipv6"])
            missing = [_text(p) for p in wanted if _text(p) not in have]
            if missing:
                result.missing_routes[node.name] = missing
    result.converged = routes and not (result.down_sessions or result.missing_routes or result.unreachable)
    return result


def wait_converged(lab: Lab, nr, timeout: float, nodes: list[str] | None = None, interval: float = 0.5) -> Convergence:
    """Poll until every planned session is Established and every member holds every expected route.

    Polls ask for sessions only (one short command per router) until all are up; then one poll
    fetches sessions and routes together, and only that full poll can say converged. The last
    answer at the timeout is a full one too, so it names the missing routes."""
    started = time.monotonic()
    while True:
        states, errors = collect(nr, routes=False)
        sessions = check_convergence(lab.plan, states, errors, nodes, routes=False)
        last = time.monotonic() - started + interval >= timeout  # no time left for another poll
        if last or not (sessions.down_sessions or sessions.unreachable):
            states, errors = collect(nr)
            result = check_convergence(lab.plan, states, errors, nodes)
            result.seconds = time.monotonic() - started
            if result.converged or last:
                return result
        time.sleep(interval)


# ------------------------------------------------------------------ up

@dataclass
class UpReport:
    lab: str
    workdir: str
    phases: dict[str, float]
    deploy_action: str
    configured: list[str]
    failed_nodes: dict[str, str]
    convergence: Convergence
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed_nodes and self.convergence.converged


def _wait_ssh(lab: Lab, timeout: float | None = None, nodes: list[str] | None = None) -> dict[str, str]:
    """Wait until every node's sshd accepts TCP connections; return the ones that never did.
    The default limit grows with the lab (60 s + 0.5 s per node: boots queue on a small host)."""
    pending = {n: s.ssh_endpoint for n, s in lab.runtime.inspect().items()
               if n in lab.plan.nodes and (nodes is None or n in nodes)}
    deadline = time.monotonic() + (timeout if timeout is not None else 60 + 0.5 * len(pending))
    while pending and time.monotonic() < deadline:
        for name, endpoint in list(pending.items()):
            if not endpoint[0]:  # no address yet ("" would mean this machine)
                continue
            try:
                with socket.create_connection(endpoint, timeout=1):
                    pending.pop(name)
            except OSError:
                pass
        if pending:
            time.sleep(0.1)  # host keys are bound in: sshd listens moments after the container starts
    return {n: f"sshd at {ip}:{port} not reachable" for n, (ip, port) in pending.items()}


def _configure(lab: Lab, nr, node_files: dict[str, dict[str, str]], dry_run: bool = False, force: bool = False,
               nodes: list[str] | None = None, progress: Progress = _quiet):
    """Configure (or diff) the nodes: ({node: Nornir Result with diff and changed}, {node: error})."""
    def configure(task):
        result = configure_node(task, node_files[task.host.name], dry_run=dry_run, force=force)
        progress(f"configure: {task.host.name} done")
        return result

    return fleet.run_full(nr, configure, nodes=nodes)


def _lab_files(lab: Lab, image_tags: str | dict[str, str], hosts_file: Path | None,
               cluster: Cluster | None = None) -> tuple[dict[str, str], str]:
    """Every file of the lab folder and the digest of what containerlab deploys. With `hosts_file`
    (or the hosts file of the folder's earlier multi-host `up`): one topology per host and the layout.
    With `cluster` (or the folder's clabernetes settings): the clabernetes manifests in k8s/."""
    files = render_lab(lab.plan, image_tags)
    cluster = cluster or read_settings(lab.workdir)
    layout = read_layout(lab.workdir) if hosts_file is None and cluster is None else None
    hosts_file = hosts_file or (Path(layout["hosts_file"]) if layout else None)
    deployed = [files[topology_filename(lab.plan)]]
    if cluster is not None:
        if hosts_file is not None:
            raise LabctlError("--hosts and --target clabernetes do not go together: Kubernetes places the nodes",
                              "drop --hosts, or run `labctl down` and bring the lab up without --target clabernetes")
        manifests = render_clabernetes(lab.plan, image_tags, registry=cluster.registry,
                                       authorized_keys=(lab.workdir / AUTHORIZED_KEYS).read_text())
        files.update({f"{MANIFESTS}/{name}": text for name, text in manifests.items()})
        deployed = [manifests[k] for k in sorted(manifests)]
    elif hosts_file is not None:
        hosts = load_hosts(hosts_file, lab.plan.model)
        split = render_host_topologies(lab.plan, image_tags, hosts)
        files.update(split)
        files[LAYOUT] = render_layout(lab.plan, hosts, str(hosts_file.resolve()))
        deployed = [split[k] for k in sorted(split)]
    return files, hashlib.sha256("".join(deployed).encode()).hexdigest()


def _generate(lab: Lab, image_tags: dict[str, str], hosts_file: Path | None, cluster: Cluster | None = None) -> str:
    """Write the lab folder; `lab.runtime` becomes the backend it asks for. Returns the digest of
    what containerlab (or clabernetes) deploys."""
    lab.workdir.mkdir(parents=True, exist_ok=True)
    ensure_ssh_key(lab.workdir)  # first: the clabernetes manifests carry its public key
    cluster = _cluster_settings(read_settings(lab.workdir), cluster)
    if cluster is not None:
        write_settings(lab.workdir, cluster)
        shutil.rmtree(lab.workdir / MANIFESTS, ignore_errors=True)  # `kubectl apply -f` must find no stale file
    files, digest = _lab_files(lab, image_tags, hosts_file, cluster)
    write_lab(files, lab.workdir)
    if cluster is None:  # clabernetes nodes run elsewhere: no socket binds
        ensure_socket_dirs(lab.workdir, [n.name for n in lab.plan.nodes.values() if socket_bind(n)])
    lab.runtime = open_backend(lab.plan.lab, lab.workdir)
    return digest


def _check_target_switch(workdir: Path, containerlab: bool, cluster: Cluster | None) -> None:
    """A lab folder's lab runs in one place: moving it needs a `down` first (else the old one stays up)."""
    on_cluster = read_settings(workdir) is not None
    if containerlab and on_cluster:
        raise LabctlError(f"the lab of {workdir} runs on clabernetes (a Kubernetes cluster)",
                          "take it down first (`labctl down -f FILE`), or drop --target containerlab")
    if cluster is not None and not on_cluster and (workdir / "deployed.sha256").exists():
        raise LabctlError(f"the lab of {workdir} runs on containerlab here",
                          "take it down first (`labctl down -f FILE`), then `labctl up --target clabernetes`")


def _cluster_settings(before: Cluster | None, given: Cluster | None) -> Cluster | None:
    """The folder's clabernetes settings, each overridden by what this `up` gives."""
    if given is None:
        return before
    if before is None:
        return given
    return Cluster(*(new if new is not None else old for new, old in
                     zip((given.context, given.namespace, given.registry),
                         (before.context, before.namespace, before.registry))))


def up(ix_file: Path, workdir: Path | None = None, progress: Progress = _quiet, workers: int = 16,
       timeout: float | None = None, hosts_file: Path | None = None, cluster: Cluster | None = None,
       containerlab: bool = False) -> UpReport:
    """`cluster`: run the lab on clabernetes there (`--target clabernetes`); a folder that ran on
    clabernetes before stays there unless `containerlab` (`--target containerlab`) says otherwise."""
    phases: dict[str, float] = {}

    def timed(name: str):
        progress(name)
        phases[name] = time.monotonic()

    def done(name: str):
        phases[name] = round(time.monotonic() - phases[name], 2)
        progress(f"{name} done in {phases[name]:.1f} s")

    timed("generate")
    lab = open_lab(ix_file, workdir)
    _check_target_switch(lab.workdir, containerlab, cluster)
    image_tags = images.node_image_tags(lab.plan.image_keys)
    image = image_tags.get(lab.plan.default_image) or images.node_image_tag(lab.plan.default_image)
    topo_sha = _generate(lab, {lab.plan.default_image: image, **image_tags}, hosts_file, cluster)
    done("generate")

    timed("images")
    for key in sorted({lab.plan.default_image, *lab.plan.image_keys}):
        images.ensure_node_image(key)  # only the stacks this lab uses
    lab.runtime.ensure_images(sorted({image, *image_tags.values()}))
    done("images")

    timed("deploy")
    running = lab.runtime.inspect()
    previous = _previous_topology(lab)
    healthy = (set(running) == set(lab.plan.nodes) and all(s.state == "running" for s in running.values())
               and previous == topo_sha)
    if healthy:
        action = "reused running lab"
    elif running:
        action = "redeployed (lab differed from the IX file or was incomplete)"
        lab.runtime.deploy(lab.topology, reconfigure=True)
    else:
        action = "deployed"
        lab.runtime.deploy(lab.topology)
    write_state(lab.workdir, LabState(lab.plan.lab, str(lab.ix_file), image, "deployed", image_tags))
    (lab.workdir / "deployed.sha256").write_text(topo_sha + "\n")
    unreachable = _wait_ssh(lab)
    done("deploy")

    timed("configure")
    nr = lab.nornir(workers=workers)
    try:
        configured, failed = _configure(lab, nr, lab.node_files(), force=True, progress=progress)
        failed.update({n: e for n, e in unreachable.items() if n not in configured})
        done("configure")

        notes = apply_trunk_attributes(lab)

        timed("converge")
        convergence = wait_converged(lab, nr, timeout or convergence_timeout(lab.plan))
        done("converge")
    finally:
        nr.close_connections()
    phase = "up" if not failed and convergence.converged else "degraded"
    write_state(lab.workdir, LabState(lab.plan.lab, str(lab.ix_file), image, phase, image_tags))
    return UpReport(lab.plan.lab, str(lab.workdir), phases, action, sorted(configured), failed, convergence, notes)


def apply_trunk_attributes(lab: Lab, only: tuple[str, str] | None = None) -> list[str]:
    """Impose each trunk's latency, loss and bandwidth from the model on its switch port.
    Returns notes on what this host cannot impose (delay without netem)."""
    netem = host.kernel_feature(host.KERNEL_FEATURES["netem"][0])[0]
    notes = []
    fabric = lab.plan.model.ix.design != "aggregator"  # the aggregator design has no switches, no trunks
    for trunk in lab.plan.model.trunks if fabric else []:
        a, b = trunk.between
        if only and set(only) != {a, b}:
            continue
        switch, port = lab.plan.trunk_port(a, b)
        lab.runtime.impair(switch, port, trunk.loss_percent, trunk.bandwidth_mbit, trunk.latency_ms, netem)
        if trunk.latency_ms and not netem:
            notes.append(f"trunk {a}-{b}: latency {trunk.latency_ms} ms not applied (this kernel has no netem)")
    return notes


def _previous_topology(lab: Lab) -> str | None:
    try:
        return (lab.workdir / "deployed.sha256").read_text().strip()
    except FileNotFoundError:
        return None


# ------------------------------------------------------------------ replacing a node (rolling upgrade)

def replace(lab: Lab, nr, node: str, image_key: str, image_tag: str | None = None) -> tuple[float, dict[str, float], str]:
    """Replace the node's container by one from another node image (labctl/daemons/stacks.py key),
    keeping its name, addresses and links, then `reinstall` it for `lab`'s plan (which says what
    the node runs now). Returns (the instant the replacement began, {step: seconds}, the old image
    tag). `image_tag` overrides the key's tag (putting back the exact image a node had)."""
    planned = lab.plan.nodes[node]
    tag = image_tag or images.ensure_node_image(image_key)
    retarget(nr, node, planned.daemon)  # the session to the old container ends with it
    t0, steps, old_tag = lab.runtime.replace_node(node, tag, planned.interfaces, labels={"labctl.daemon": planned.daemon})
    steps["configure"] = reinstall(lab, nr, node)
    return t0, steps, old_tag


def reinstall(lab: Lab, nr, node: str) -> float:
    """A node whose container is new: wait for its sshd, push every file the plan renders for it
    (addresses, the daemon's config) and start its daemon. Seconds it took; LabctlError if it failed."""
    started = time.monotonic()
    unreachable = _wait_ssh(lab, nodes=[node])
    if unreachable:
        raise LabctlError(f"{node}: {unreachable[node]} after its container was replaced")
    _, failed = _configure(lab, nr, {node: render_node(lab.plan, lab.plan.nodes[node])}, force=True, nodes=[node])
    if failed:
        raise LabctlError(f"{node}: configuring it after the replacement failed: {failed[node]}")
    return time.monotonic() - started


def node_version(nr, node: str) -> str:
    """The release the node's daemon reports about itself, asked on the node."""
    found, errors = fleet.run(nr, daemon_version, nodes=[node])
    if node not in found:
        raise LabctlError(f"{node}: asking its daemon for its release failed: {errors.get(node, 'no answer')}")
    return found[node]


# ------------------------------------------------------------------ push

@dataclass
class PushNode:
    node: str
    status: str  # "unchanged", "would-change", "applied", "rolled-back", "failed"
    diff: str = ""
    error: str = ""


@dataclass
class PushReport:
    lab: str
    dry_run: bool
    nodes: list[PushNode]
    convergence: Convergence | None
    seconds: float

    @property
    def ok(self) -> bool:
        return all(n.status in ("unchanged", "would-change", "applied") for n in self.nodes)


def _deployed_images(lab: Lab) -> str | dict[str, str]:
    """The image tags of the last `up` (a state from before stacks holds one image for every node)."""
    state = read_state(lab.workdir)
    if not state.images:
        return state.image
    # an image key the lab did not use before takes today's tag, so the topology shows as changed
    return {**images.node_image_tags(lab.plan.image_keys), lab.plan.default_image: state.image, **state.images}


def push(ix_file: Path | None, lab_name: str | None = None, dry_run: bool = False, only: list[str] | None = None,
         progress: Progress = _quiet, workers: int = 16, timeout: float | None = None) -> PushReport:
    started = time.monotonic()
    lab = find_lab(ix_file, lab_name)
    running = lab.runtime.inspect()
    if not running:
        raise LabctlError(f"lab '{lab.plan.lab}' is not running", "start it with `labctl up FILE`")
    if set(running) != set(lab.plan.nodes) or _previous_topology(lab) != _lab_files(lab, _deployed_images(lab), None)[1]:
        raise LabctlError("the IX file changes the lab's nodes or links, which a push cannot do",
                          "run `labctl up FILE` to redeploy with the new topology")
    unknown = sorted(set(only or []) - set(lab.plan.nodes))
    if unknown:
        raise LabctlError(f"unknown node(s): {', '.join(unknown)}", f"nodes: {', '.join(lab.plan.nodes)}")
    node_files = lab.node_files()
    nr = lab.nornir(only=only, workers=workers)
    try:
        progress("diff")
        diffs, failed = _configure(lab, nr, node_files, dry_run=True)
        report = [PushNode(n, "failed", error=e) for n, e in failed.items()]
        changed = sorted(n for n, r in diffs.items() if r.changed)
        for name in sorted(diffs):
            if name not in changed:
                report.append(PushNode(name, "unchanged"))
        if dry_run or not changed:
            report += [PushNode(n, "would-change" if dry_run else "unchanged", diffs[n].diff) for n in changed]
            return PushReport(lab.plan.lab, dry_run, sorted(report, key=lambda n: n.node), None,
                              round(time.monotonic() - started, 2))
        progress(f"apply ({len(changed)} nodes)")
        applied, apply_failed = _apply_route_servers_first(lab, nr, node_files, changed, progress)
        progress("verify")
        everyone = nr if only is None else lab.nornir(workers=workers)  # the open connections serve again
        try:
            convergence = wait_converged(lab, everyone, timeout or convergence_timeout(lab.plan))
        finally:
            if everyone is not nr:
                everyone.close_connections()
        bad = set(apply_failed) | _nodes_at_fault(lab.plan, convergence, changed)
        if bad:
            progress(f"roll back {', '.join(sorted(bad))}")
            fleet.run(nr, rollback_node, nodes=bad)
        for name in changed:
            if name in bad:
                why = apply_failed.get(name) or "verification failed: " + "; ".join(
                    [str(s) for s in convergence.down_sessions if s.node == name]
                    + [f"missing {len(v)} routes on {m}" for m, v in convergence.missing_routes.items()])
                report.append(PushNode(name, "rolled-back", diffs[name].diff, why))
            else:
                report.append(PushNode(name, "applied", diffs[name].diff))
    finally:
        nr.close_connections()
    return PushReport(lab.plan.lab, False, sorted(report, key=lambda n: n.node), convergence,
                      round(time.monotonic() - started, 2))


def _apply_route_servers_first(lab: Lab, nr, node_files: dict[str, dict[str, str]], changed: list[str],
                               progress: Progress):
    """Apply the changed route servers, then the other nodes: a member's new prefix then meets the
    route servers' new filters. The other way round an FRR route server rejects it first and
    re-runs its filters only after `bgp route-map delay-timer` (5 s)."""
    servers = [n for n in changed if lab.plan.nodes[n].role == "route_server"]
    applied, failed = _configure(lab, nr, node_files, nodes=servers, progress=progress) if servers else ({}, {})
    rest = [n for n in changed if n not in servers]
    if rest:
        more, more_failed = _configure(lab, nr, node_files, nodes=rest, progress=progress)
        applied.update(more)
        failed.update(more_failed)
    return applied, failed


def _nodes_at_fault(plan: Plan, convergence: Convergence, changed: list[str]) -> set[str]:
    """A changed node is at fault when its own sessions are down or its prefixes went missing elsewhere."""
    if convergence.converged:
        return set()
    bad = {x for s in convergence.down_sessions for x in (s.node, s.peer)} & set(changed)
    for member, missing in convergence.missing_routes.items():
        for name in changed:
            own = {str(p) for p in plan.nodes[name].prefixes}
            if member == name or own & set(missing):
                bad.add(name)
    if not bad:
        bad = set(changed)  # the lab did not converge after the change and no one else is to blame
    return bad


# ------------------------------------------------------------------ status and looking glass

@dataclass
class Status:
    lab: str
    nodes: dict
    bgp: dict[str, NodeBgp]
    errors: dict[str, str]
    matrix: dict[str, dict[str, dict[str, bool | None]]]  # viewer -> origin -> afi -> seen (None: nothing to see)
    convergence: Convergence


def status(ix_file: Path | None = None, lab_name: str | None = None) -> Status:
    lab = find_lab(ix_file, lab_name)
    nodes = lab.runtime.inspect()
    nr = build_nornir(lab.plan, nodes, private_key(lab.workdir), sockets=socket_dir(lab.workdir))
    try:
        states, errors = collect(nr)
    finally:
        nr.close_connections()
    members = lab.plan.by_role("member")
    matrix: dict[str, dict[str, dict[str, bool | None]]] = {}
    for viewer in members:
        have = set(states[viewer.name].routes["ipv4"] + states[viewer.name].routes["ipv6"]) if viewer.name in states else set()
        matrix[viewer.name] = {}
        for origin in members:
            if origin.member == viewer.member:  # itself, or another router of its member: its own prefixes
                continue
            cells = {}
            for afi, prefixes in (("ipv4", origin.prefixes4), ("ipv6", origin.prefixes6)):
                cells[afi] = None if not prefixes else all(_text(p) in have for p in prefixes)
            matrix[viewer.name][origin.name] = cells
    return Status(lab.plan.lab, {n: s.__dict__ for n, s in nodes.items()}, states, errors, matrix,
                  check_convergence(lab.plan, states, errors))


def lg(node: str, prefix: str, ix_file: Path | None = None, lab_name: str | None = None) -> dict:
    lab = find_lab(ix_file, lab_name)
    if node not in lab.plan.nodes or lab.plan.nodes[node].role == "switch":
        routers = [n.name for n in lab.plan.nodes.values() if n.role != "switch"]
        raise LabctlError(f"unknown router '{node}'", f"routers: {', '.join(routers)}")
    nr = lab.nornir(only=[node])
    try:
        results, errors = fleet.run(nr, looking_glass, nodes=[node], prefix=prefix)
    finally:
        nr.close_connections()
    if node in errors or node not in results:
        raise LabctlError(f"{node}: looking glass failed: {errors.get(node, 'no answer')}")
    nodes = lab.plan.nodes  # a router of a member with several is named with its member: "kibi-oka (kibi-net)"
    peers = {s.peer_address: s.peer if nodes[s.peer].member in ("", s.peer) else f"{s.peer} ({nodes[s.peer].member})"
             for s in nodes[node].sessions}
    return explain({"node": node, "daemon": lab.plan.nodes[node].daemon, "role": lab.plan.nodes[node].role,
                    "prefix": prefix, "rs_asn": lab.plan.model.ix.route_server_asn, "peers": peers, **results[node]})


# ------------------------------------------------------------------ locality

def design_file(ix_file: Path, design: str, outdir: Path) -> Path:
    """A copy of the IX file with `ix.design` set, its own lab name and a management subnet derived
    from that name (the two labs never collide with each other or with the user's)."""
    import yaml

    data = yaml.safe_load(ix_file.read_text())
    ix = data["ix"]
    ix["design"] = design
    ix["name"] = f"{ix['name'][:19]}-{'ix' if design == 'ix' else 'agg'}"
    (ix.get("management") or {}).pop("ipv4_subnet", None)
    for key in ("as_set_file", "roa_file"):  # policy files named relative to the original
        policy = ix.get("policy") or {}
        target = policy if key == "as_set_file" else (policy.get("rpki") or {})
        if target.get(key):
            target[key] = str((ix_file.parent / target[key]).resolve())
    path = outdir / f"{design}.yml"
    outdir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path



def locality(ix_file: Path | None = None, lab_name: str | None = None, lab: Lab | None = None) -> dict:
    """For every pair of local members: the AS path, the hops (node, site or city), in the region or
    not, the RTT (labctl.plan.locality). `lab`: an open lab (scenarios, compare)."""
    from labctl.plan import locality as loc

    lab = lab or find_lab(ix_file, lab_name)
    pairs = loc.local_pairs(lab.plan)
    wanted: dict[str, list[tuple[str, str, str]]] = {}
    for p in pairs:
        wanted.setdefault(p.source_router, []).append((loc.source_address(lab.plan, p.source_router) or "",
                                                       p.target_address, _first_v4(lab.plan, p.target)))
    nr = lab.nornir(only=list(wanted))
    try:
        results, errors = fleet.run(nr, trace_pairs, nodes=list(wanted), pairs_by_node=wanted)
    finally:
        nr.close_connections()
    for p in pairs:
        got = results.get(p.source_router, {}).get(p.target_address)
        if got is None:
            continue
        walk, rtt = loc.split_trace(got["trace"])
        hops, reached = loc.parse_ttl_walk(walk)
        loc.judge_pair(lab.plan, p, hops, reached, loc.parse_rtt(rtt), got["as_path"])
    netem = host.kernel_feature(host.KERNEL_FEATURES["netem"][0])[0]
    return {"lab": lab.plan.lab, "netem": netem, "summary": loc.summary(pairs),
            "pairs": [p.as_dict() for p in pairs], "errors": errors}


def _first_v4(plan: Plan, member: str) -> str:
    router = next(r for r in plan.model.member_routers() if r.member.name == member)
    return str(next(p for p in router.prefixes if p.version == 4))


# ------------------------------------------------------------------ down

def down(ix_file: Path | None = None, lab_name: str | None = None, keep: bool = False) -> dict:
    """Destroy the lab and everything labctl created for it. Idempotent."""
    workdir: Path | None = None
    if ix_file is not None:
        lab = open_lab(ix_file)
        name, workdir = lab.plan.lab, lab.workdir
    else:
        running = clab.running_labs()
        name = lab_name or _only_running_lab(running)
        topo = running.get(name)
        workdir = lab_folder(topo) if topo else None
    topology = (workdir / f"{name}.clab.yml") if workdir else None
    runtime = open_backend(name, workdir)
    had = runtime.containers()
    runtime.destroy(topology)
    removed_dir = False
    if workdir is not None and workdir.exists() and not keep:
        shutil.rmtree(workdir)
        removed_dir = True
        parent = workdir.parent
        if parent.name == ".labctl" and not any(parent.iterdir()):
            parent.rmdir()
    return {"lab": name, "containers_removed": had, "workdir_removed": removed_dir,
            "workdir": str(workdir) if workdir else None}


# ------------------------------------------------------------------ one node: exec, connect, logs, capture

@dataclass(frozen=True)
class NodeTarget:
    """A running node a person wants to work on, and what its routing daemon is."""

    lab: str
    node: str
    role: str
    daemon: str  # "bridge" on a site switch
    runtime: Backend | None = None  # what runs the node (None: the local engine)

    @property
    def exec(self) -> nodes.NodeExec:
        """How `runtime.nodes`' tools run a command in the node (docker exec, or kubectl exec on clabernetes)."""
        runtime = self.runtime or LocalClab(self.lab)
        return runtime.node_exec(self.node)

    @property
    def routing_cli(self) -> list[str] | None:
        """argv of the node's routing CLI (vtysh, birdc); None on a switch."""
        return None if self.role == "switch" else list(daemons.get(self.daemon).cli)

    def cli_command(self, command: str, shell: bool = False) -> list[str]:
        """argv that runs one command in the routing CLI (or, with `shell` or on a switch, in bash)."""
        if shell or self.role == "switch":
            return ["bash", "-c", command]
        return [*daemons.get(self.daemon).cli_command, command]

    @property
    def daemon_log(self) -> str | None:
        return None if self.role == "switch" else daemons.get(self.daemon).log_path


def _node_target(lab: Lab, node: str) -> NodeTarget:
    planned = lab.plan.nodes.get(node)
    if planned is None:
        raise LabctlError(f"no node '{node}' in lab {lab.plan.lab}", f"nodes: {', '.join(lab.plan.nodes)}")
    lab.runtime.require_running(node)
    return NodeTarget(lab.plan.lab, node, planned.role, planned.daemon, lab.runtime)


def node_target(node: str, ix_file: Path | None = None, lab_name: str | None = None) -> NodeTarget:
    """The node of the lab (from an IX file, a lab name or the only running lab), which must run."""
    return _node_target(find_lab(ix_file, lab_name), node)


def capture_target(spec: str, ix_file: Path | None = None, lab_name: str | None = None) -> tuple[NodeTarget, str]:
    """(node, interface) to capture on, from NODE:IFACE, a link or a trunk (plan.endpoints)."""
    lab = find_lab(ix_file, lab_name)
    node, interface = capture_point(lab.plan, spec)
    return _node_target(lab, node), interface
