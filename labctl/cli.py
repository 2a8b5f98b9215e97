"""labctl command line: a thin Typer layer over model, plan, render, runtime and automation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from labctl import __version__
from labctl.completion import complete_node, complete_scenario
from labctl.console import PhaseProgress, fail, make_console, print_json
from labctl.errors import EXIT_CODES_HELP, EXIT_FAILED, EXIT_NOT_CONVERGED, LabctlError
from labctl.classroom.command import class_app
from labctl.exercises.command import exercise_app
from labctl.importers.command import import_app

# Conventions of every command: the IX file is -f/--file (default ./ix.yml, or the running lab);
# --json is a flag that prints JSON on stdout (progress then goes to stderr); files are written
# with options named after what they hold (--junit, --results, --report, -o). Help texts avoid
# square brackets (rich markup would eat them): defaults are given with show_default.
ROOT_HELP = f"""Regional Internet-exchange labs on containerlab with FRR and BIRD.

Example: labctl init && labctl up -f ix.yml && labctl status && labctl test && labctl down

The IX file is given with -f/--file in every command (default: ./ix.yml, or the running lab); --json prints JSON on stdout.

{EXIT_CODES_HELP}

Shell completion (node and scenario names too): labctl --install-completion
"""

app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")
host_app = typer.Typer(no_args_is_help=True, help="Prepare this machine to run labs.")
app.add_typer(host_app, name="host")
app.add_typer(import_app, name="import", help="Turn a real IXP's published data into an ix.yml.")
report_app = typer.Typer(no_args_is_help=True, help="Turn test results into summaries for CI pages and chats.")
app.add_typer(report_app, name="report")
image_app = typer.Typer(no_args_is_help=True, help="The lab's node images: push them where other machines pull.")
app.add_typer(image_app, name="image")
app.add_typer(exercise_app, name="exercise", help="Guided BGP-peering exercises for trainees, checked on the lab.")
app.add_typer(class_app, name="class", help="A class: one exercise lab per trainee on this machine, and a scoreboard.")
out = make_console()
err = make_console(stderr=True)


def _file_option(default: str = "./ix.yml"):
    return typer.Option(None, "--file", "-f", help="IX definition.", show_default=default)


def _file_argument():
    # the IX file used to be positional in some commands: still accepted there, not advertised
    return typer.Argument(None, hidden=True, metavar="FILE", help="Same as --file.")


def _ix_file(option: Path | None, positional: Path | None, required: bool) -> Path | None:
    """The IX file from -f or the old positional form; for commands that build, ./ix.yml by default."""
    if option is not None and positional is not None and option != positional:
        fail(LabctlError(f"two IX files given ({positional} and -f {option})", "give one, with -f FILE"))
    chosen = option or positional
    if chosen is None and required:
        if not Path("ix.yml").is_file():
            fail(LabctlError("no IX file given and no ix.yml in this folder",
                              "give one with -f FILE, or write a starter with `labctl init`"))
        chosen = Path("ix.yml")
    return chosen


def _version(value: bool) -> None:
    if value:
        out.print(f"labctl {__version__}")
        raise typer.Exit()


@app.callback(help=ROOT_HELP)
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")):
    pass


@host_app.command("setup")
def host_setup(
    as_json: bool = typer.Option(False, "--json", help="Print step results as JSON."),
    stack: list[str] = typer.Option(None, "--stack", help="Build this stack's images too (trixie, bookworm or all; "
                                    "repeatable).", show_default="the default stack, trixie"),
):
    """Install and start everything a lab needs: Docker engine, containerlab, lab images.

    Idempotent: every step skips itself when its result already exists. Only the default stack's
    images are built unless --stack names others (`labctl up` builds what a lab needs anyway).

    Example: sudo labctl host setup --stack bookworm
    """
    from labctl.runtime import host

    def ended(r) -> None:
        progress(f"{r.name} {r.status} in {r.seconds:.1f} s" + (f": {r.detail}" if r.status != "skipped" else ""))

    try:
        with PhaseProgress(err if as_json else out, "host setup") as progress:
            results = host.setup(on_step=lambda name: progress(f"{name} ..."), on_done=ended, stack_names=stack)
    except LabctlError as exc:
        fail(exc)
    failed = any(r.status == "failed" for r in results)
    if as_json:
        print_json(out, json.dumps({"ok": not failed, "steps": [r.__dict__ for r in results]}))
    else:
        table = Table("step", "result", "seconds", "detail")
        for r in results:
            colour = {"done": "green", "skipped": "dim", "failed": "red"}[r.status]
            table.add_row(r.name, f"[{colour}]{r.status}[/]", f"{r.seconds:.1f}", r.detail)
        out.print(table)
    raise typer.Exit(EXIT_FAILED if failed else 0)


@app.command()
def doctor(as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON.")):
    """Check every prerequisite of a lab and print the exact fix for what is missing.

    Exit 0 only when this host can run a lab.

    Example: labctl doctor --json
    """
    from labctl.runtime import host

    report = host.doctor()
    if as_json:
        print_json(out, json.dumps(report.as_dict()))
    else:
        table = Table("check", "status", "detail", "fix")
        for c in report.checks:
            colour = {"ok": "green", "missing": "red", "unavailable": "yellow"}.get(c.status, "dim")
            table.add_row(c.name, f"[{colour}]{c.status}[/]", c.detail, c.fix)
        out.print(table)
        out.print("[green]host is ready[/]" if report.ready else "[red]host is not ready[/]")
    raise typer.Exit(0 if report.ready else 1)


def _load(path: Path):
    from labctl.model.load import load

    return load(path)


def _report_model_errors(exc, as_json: bool) -> None:
    if as_json:
        print_json(out, exc.as_json())
    else:
        err.print(exc.render(), highlight=False, markup=False)
        err.print(f"[bold red]{len(exc.findings)} problem(s)[/]")
    raise typer.Exit(1)


@app.command()
def init(
    directory: Path = typer.Argument(Path("."), help="Folder to write ix.yml into."),
    minimal: bool = typer.Option(False, "--minimal", help="Write the minimal example (1 site, 1 route server, 2 members)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing ix.yml."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
):
    """Write a starter ix.yml (the bundled regional IX: 3 sites, 2 route servers, 8 members).

    Also writes ix.schema.json next to it, named on the first line of ix.yml:
    editors then complete and check the file as you type.

    Example: labctl init && labctl validate -f ix.yml
    """
    from labctl.model.jsonschema import SCHEMA_FILENAME, ix_json_schema_text, modeline
    from labctl.resources import bundled

    example = "minimal" if minimal else "regional"
    source = bundled("topologies") / ("minimal.yml" if minimal else "regional-ix.yml")
    target, schema = directory / "ix.yml", directory / SCHEMA_FILENAME
    if target.exists() and not force:
        fail(LabctlError(f"{target} already exists", "use --force to overwrite it, or pick another folder"))
    directory.mkdir(parents=True, exist_ok=True)
    schema.write_text(ix_json_schema_text())
    target.write_text(modeline(SCHEMA_FILENAME) + source.read_text())
    if as_json:
        _dump({"file": str(target), "schema": str(schema), "example": example})
    else:
        out.print(f"wrote {target} ({example} example) and {schema}; next: labctl validate -f {target}",
                  highlight=False)


@app.command()
def schema(
    output: Path = typer.Option(None, "-o", "--output", help="Write the schema to this file instead of stdout."),
):
    """Print the JSON schema of ix.yml (titles and descriptions for every key), for editors and tools.

    `labctl init` writes it as ix.schema.json next to ix.yml; refresh it after upgrading labctl.

    Example: labctl schema -o ix.schema.json
    """
    from labctl.model.jsonschema import ix_json_schema_text

    text = ix_json_schema_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        err.print(f"wrote {output}", highlight=False)


@app.command()
def validate(
    file_options: list[Path] = typer.Option(None, "--file", "-f", help="IX definition to check (repeatable).",
                                            show_default="./ix.yml"),
    files: list[Path] = typer.Argument(None, hidden=True, metavar="FILE...", help="Same as --file."),
    as_json: bool = typer.Option(False, "--json", help="Print findings as JSON."),
):
    """Check IX definitions and report every problem at once, with file, line and a fix.

    Exit 1 if any file has a problem.

    Example: labctl validate -f ix.yml --json
    """
    from labctl.model.load import ModelErrors

    files = [*(file_options or []), *(files or [])] or [_ix_file(None, None, required=True)]
    results, failed = [], False
    for path in files:
        try:
            model = _load(path)
            results.append({"file": str(path), "valid": True, "members": len(model.members),
                            "route_servers": len(model.route_servers), "sites": len(model.sites)})
            if not as_json:
                out.print(f"[green]ok[/] {path}: {len(model.sites)} sites, {len(model.route_servers)} route servers, "
                          f"{len(model.members)} members", highlight=False)
        except ModelErrors as exc:
            failed = True
            results.append({"file": str(path), "valid": False, "errors": json.loads(exc.as_json())["errors"]})
            if not as_json:
                err.print(exc.render(), highlight=False, markup=False)
                err.print(f"[bold red]{path}: {len(exc.findings)} problem(s)[/]", highlight=False)
        except LabctlError as exc:
            failed = True
            results.append({"file": str(path), "valid": False, "errors": [{"file": str(path), "message": exc.message}]})
            if not as_json:
                err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
    if as_json:
        print_json(out, json.dumps({"valid": not failed, "files": results}))
    raise typer.Exit(1 if failed else 0)


TARGETS = ("containerlab", "clabernetes")


@image_app.command("push")
def image_push(
    registry: str = typer.Argument(..., help="Registry address: host, host:port or host:port/path (e.g. 127.0.0.1:5000)."),
    file: Path = _file_option("./ix.yml if present, else the default stack's image"),
    file_arg: Path = typer.Argument(None, help="The IX file (same as -f): push the images its nodes use.",
                                    show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print what was pushed as JSON."),
):
    """Push the node images (built first if missing) to a registry, named as
    `labctl generate --target clabernetes --registry REGISTRY` names them: REGISTRY/labctl/node-<stack>:<hash>.

    Example: labctl image push 127.0.0.1:5000 -f ix.yml
    """
    from labctl.daemons import stacks
    from labctl.model.load import ModelErrors
    from labctl.plan import build_plan
    from labctl.runtime.images import push_images

    file = file or file_arg or (Path("ix.yml") if Path("ix.yml").exists() else None)
    try:
        keys = {stacks.DEFAULT_STACK}
        if file is not None:
            plan = build_plan(_load(file))
            keys = {plan.default_image, *plan.image_keys}
        pushed = push_images(registry, keys)
    except ModelErrors as exc:
        _report_model_errors(exc, as_json)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        _dump({"registry": registry, "images": pushed})
        return
    for p in pushed:
        out.print(f"pushed {p.remote} {p.digest} ({p.seconds:.1f} s)", highlight=False)


@app.command()
def generate(
    file: Path = _file_option(),
    file_arg: Path = _file_argument(),
    outdir: Path = typer.Option(None, "-o", "--output", help="Output folder.", show_default="./<lab name>"),
    image: str = typer.Option(None, "--image", help="One node image for every node.",
                              show_default="each node's stack image, labctl/node-<stack>:<hash>"),
    target: str = typer.Option("containerlab", "--target",
                               help="containerlab: topology + node configs; clabernetes: a Kubernetes Topology "
                                    "and ConfigMaps (docs/MULTIHOST.md)."),
    registry: str = typer.Option(None, "--registry", help="clabernetes: registry the cluster pulls node images "
                                                         "from, put before each image name (e.g. reg.example:5000).",
                                 show_default="the local image names"),
    ssh_key: Path = typer.Option(None, "--ssh-key", help="clabernetes: public key file put in every node's "
                                                        "authorized_keys.", show_default="none: no SSH login"),
    hosts: Path = typer.Option(None, "--hosts", help="containerlab: also one topology per Docker host of this hosts "
                               "file, in hosts/HOST/ (what `up --hosts` deploys; docs/MULTIHOST.md).",
                               show_default="one host"),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
):
    """Write the containerlab topology and every node's FRR/BIRD config, or (--target clabernetes)
    the clabernetes manifests. Deterministic.

    Example: labctl generate -f ix.yml -o lab/      (or: --target clabernetes --registry reg.example:5000)
    """
    from labctl.model.load import ModelErrors
    from labctl.plan import build_plan
    from labctl.render import write_lab
    from labctl.runtime.images import node_image_tags

    file = _ix_file(file, file_arg, required=True)
    try:
        options = _target_options(target, registry, ssh_key)
        model = _load(file)
    except ModelErrors as exc:
        _report_model_errors(exc, as_json)
    except LabctlError as exc:
        fail(exc)
    plan = build_plan(model)
    dest = outdir or Path(plan.lab)
    images = image or node_image_tags({plan.default_image, *plan.image_keys})
    files = _render_target(plan, images, target, options)
    if hosts is not None:
        try:
            files.update(_split_over_hosts(plan, images, hosts, target))
        except LabctlError as exc:
            fail(exc)
    write_lab(files, dest)
    if as_json:
        _dump({"lab": plan.lab, "target": target, "output": str(dest), "nodes": len(plan.nodes), "files": sorted(files)})
        return
    out.print(f"wrote {len(files)} files for {len(plan.nodes)} nodes to {dest}", highlight=False)
    if target == "clabernetes":
        where = f"from {registry}" if registry else "under their local names (no --registry)"
        out.print(f"node images are named {where}: the cluster must be able to pull them; "
                  f"apply with: kubectl apply --server-side -f {dest}", highlight=False)


def _split_over_hosts(plan, image, hosts_file: Path, target: str) -> dict[str, str]:
    from labctl.model.hosts import load_hosts
    from labctl.render.multihost import LAYOUT, render_host_topologies, render_layout

    if target != "containerlab":
        raise LabctlError("--hosts applies to --target containerlab only", hint="drop --hosts or --target")
    hosts = load_hosts(hosts_file, plan.model)
    return {**render_host_topologies(plan, image, hosts), LAYOUT: render_layout(plan, hosts, str(hosts_file.resolve()))}


def _target_options(target: str, registry: str | None, ssh_key: Path | None) -> dict:
    if target not in TARGETS:
        raise LabctlError(f"unknown --target {target!r}", hint=f"use one of: {', '.join(TARGETS)}")
    if target != "clabernetes":
        if registry or ssh_key:
            raise LabctlError("--registry and --ssh-key apply to --target clabernetes only",
                              hint="add --target clabernetes, or drop them")
        return {}
    options: dict = {"registry": registry}
    if ssh_key is not None:
        try:
            options["authorized_keys"] = ssh_key.read_text()
        except OSError as exc:
            raise LabctlError(f"{ssh_key}: cannot read the SSH public key ({exc.strerror})",
                              hint="give a public key file, e.g. --ssh-key ~/.ssh/id_ed25519.pub") from None
        if "PRIVATE KEY" in options["authorized_keys"]:
            raise LabctlError(f"{ssh_key} is a private key", hint="give the .pub file next to it")
    return options


def _render_target(plan, image, target: str, options: dict) -> dict[str, str]:
    from labctl.render import render_clabernetes, render_lab

    return render_clabernetes(plan, image, **options) if target == "clabernetes" else render_lab(plan, image)


def _json_default(obj):
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    return str(obj)


def _dump(data) -> None:
    print_json(out, json.dumps(data, default=_json_default))


@app.command()
def up(
    file: Path = _file_option(),
    file_arg: Path = _file_argument(),
    workdir: Path = typer.Option(None, "--workdir", help="Lab folder.", show_default=".labctl/<lab> next to the IX file"),
    workers: int = typer.Option(16, "--workers", min=1, help="Nodes configured in parallel."),
    timeout: float = typer.Option(None, "--timeout", help="Seconds to wait for BGP.", show_default="derived from the timers"),
    hosts: Path = typer.Option(None, "--hosts", help="Hosts file: split the lab over Docker hosts, a containerlab "
                               "sub-lab each, links between hosts as VXLAN tunnels (docs/MULTIHOST.md).",
                               show_default="one host; a folder's earlier --hosts is kept"),
    design: str = typer.Option(None, "--design", help="aggregator: the same members and upstreams without the IX "
                               "(lab <name>-agg from a copy of the file in .labctl/designs/); ix: the file's own.",
                               show_default="the file's ix.design"),
    target: str = typer.Option(None, "--target", help="containerlab: this machine (or --hosts); clabernetes: a "
                               "Kubernetes cluster with clabernetes, through kubectl (docs/MULTIHOST.md).",
                               show_default="containerlab, or where the lab folder's lab runs"),
    context: str = typer.Option(None, "--context", help="clabernetes: kubectl context.", show_default="the current one"),
    namespace: str = typer.Option(None, "--namespace", help="clabernetes: namespace of the lab's objects.",
                                  show_default="the context's"),
    registry: str = typer.Option(None, "--registry", help="clabernetes: push the node images to this registry and "
                                 "have the cluster pull them from it (host:port).",
                                 show_default="none: the cluster's nodes have them (kind load docker-image)"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
):
    """Build the IX as a running lab: generate, image, containerlab deploy, Nornir push, wait for BGP.

    On a running lab it reconciles (pushes what changed; redeploys when nodes or links changed).
    Exit 0 only when every planned session is Established and every member holds its routes.

    Example: labctl up -f ix.yml      (or over two Docker hosts: labctl up -f ix.yml --hosts hosts.yml;
    the aggregator-ISP design of it: labctl up -f ix.yml --design aggregator;
    on Kubernetes: labctl up -f ix.yml --target clabernetes --registry reg.example:5000)
    """
    from labctl import lifecycle
    from labctl.model.load import ModelErrors

    file = _ix_file(file, file_arg, required=True)
    if design not in (None, "ix", "aggregator"):
        fail(LabctlError(f"unknown design '{design}'", "use --design ix or --design aggregator"))
    try:
        cluster = _cluster_option(target, context, namespace, registry, hosts)
    except LabctlError as exc:
        fail(exc)
    if design == "aggregator":
        file = lifecycle.design_file(file, design, file.parent / ".labctl" / "designs")
    try:
        with PhaseProgress(err if as_json else out, "up") as progress:
            report = lifecycle.up(file, workdir, progress=progress, workers=workers, timeout=timeout, hosts_file=hosts,
                                  cluster=cluster, containerlab=target == "containerlab")
    except ModelErrors as exc:
        _report_model_errors(exc, as_json)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        _dump({"ok": report.ok, **{k: v for k, v in report.__dict__.items() if k != "convergence"},
               "convergence": _convergence_dict(report.convergence)})
    else:
        _print_convergence(report.convergence)
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in report.phases.items())
        out.print(f"{report.lab}: {report.deploy_action}; {len(report.configured)} nodes configured; {phases}")
        for node, why in sorted(report.failed_nodes.items()):
            err.print(f"[red]node {node} failed:[/] {why}", highlight=False)
        for note in report.notes:
            err.print(f"[yellow]note:[/] {note}", highlight=False)
        out.print(f"[green]lab {report.lab} is up[/] (folder {report.workdir})" if report.ok
                  else f"[red]lab {report.lab} is NOT converged[/]")
    raise typer.Exit(0 if report.ok else EXIT_NOT_CONVERGED)


def _cluster_option(target: str | None, context: str | None, namespace: str | None, registry: str | None,
                    hosts: Path | None):
    """`up`'s clabernetes options as a Cluster (None: not on clabernetes)."""
    from labctl.runtime.clabernetes import Cluster

    if target not in (None, *TARGETS):
        raise LabctlError(f"unknown --target {target!r}", hint=f"use one of: {', '.join(TARGETS)}")
    if target != "clabernetes":
        if context or namespace or registry:
            raise LabctlError("--context, --namespace and --registry apply to --target clabernetes only",
                              hint="add --target clabernetes, or drop them")
        return None
    if hosts is not None:
        raise LabctlError("--hosts and --target clabernetes do not go together: Kubernetes places the nodes",
                          hint="drop --hosts (or --target clabernetes)")
    return Cluster(context, namespace, registry.rstrip("/") if registry else None)


def _convergence_dict(c) -> dict:
    return {"converged": c.converged, "seconds": round(c.seconds, 2), "down_sessions": [str(s) for s in c.down_sessions],
            "down": [s.__dict__ for s in c.down_sessions],
            "missing_routes": c.missing_routes, "unreachable": c.unreachable,
            "sessions": {n: [s.__dict__ for s in b.sessions] for n, b in c.bgp.items()},
            "prefixes": {n: {afi: len(r) for afi, r in b.routes.items()} for n, b in c.bgp.items()}}


def _print_convergence(c) -> None:
    table = Table("node", "sessions up", "IPv4 routes", "IPv6 routes")
    for name, b in sorted(c.bgp.items()):
        up_count = sum(1 for s in b.sessions if s.established)
        table.add_row(name, f"{up_count}/{len(b.sessions)}", str(len(b.routes["ipv4"])), str(len(b.routes["ipv6"])))
    out.print(table)
    for s in c.down_sessions:
        err.print(f"[red]session down:[/] {s}", highlight=False)
    for member, missing in sorted(c.missing_routes.items()):
        err.print(f"[red]{member} lacks {len(missing)} route(s):[/] {', '.join(missing[:6])}", highlight=False)
    for node, why in sorted(c.unreachable.items()):
        err.print(f"[red]{node} unreachable:[/] {why}", highlight=False)


@app.command()
def down(
    file: Path = _file_option("the only running lab"),
    file_arg: Path = _file_argument(),
    lab_name: str = typer.Option(None, "--lab", help="Lab name instead of the IX file."),
    keep: bool = typer.Option(False, "--keep", help="Keep the lab folder (configs, keys)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
):
    """Destroy a lab: containers, links, management network and lab folder. Idempotent.

    Example: labctl down -f ix.yml   (or: labctl down --lab kibi-ix)
    """
    from labctl import lifecycle

    try:
        result = lifecycle.down(_ix_file(file, file_arg, required=False), lab_name, keep)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        _dump(result)
    else:
        out.print(f"lab {result['lab']}: removed {result['containers_removed']} containers"
                  + (f", deleted {result['workdir']}" if result["workdir_removed"] else ""))


@app.command()
def status(
    file: Path = _file_option("the only running lab"),
    file_arg: Path = _file_argument(),
    lab_name: str = typer.Option(None, "--lab", help="Lab name instead of the IX file."),
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
):
    """Nodes, BGP sessions per node and the route-visibility matrix (who sees whose prefixes).

    Exit 0 when the lab is converged, 4 when it is not.

    Example: labctl status --json
    """
    from labctl import lifecycle
    from labctl.report.tables import status_tables

    try:
        st = lifecycle.status(_ix_file(file, file_arg, required=False), lab_name)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        _dump({"lab": st.lab, "converged": st.convergence.converged, "nodes": st.nodes,
               "sessions": {n: [s.__dict__ for s in b.sessions] for n, b in st.bgp.items()},
               "matrix": st.matrix, "errors": st.errors, "convergence": _convergence_dict(st.convergence)})
    else:
        for table in status_tables(st):
            out.print(table)
        out.print("[green]converged[/]" if st.convergence.converged else "[red]not converged[/]")
    raise typer.Exit(0 if st.convergence.converged else EXIT_NOT_CONVERGED)


@app.command()
def lg(
    node: str = typer.Argument(..., help="Router to ask (a route server or member).", autocompletion=complete_node),
    prefix: str = typer.Argument(..., help="Prefix to look up, e.g. 198.18.1.0/24."),
    file: Path = _file_option("the only running lab"),
    lab_name: str = typer.Option(None, "--lab", help="Lab name."),
    as_json: bool = typer.Option(False, "--json", help="Print the raw result as JSON."),
):
    """Looking glass: a prefix as one node sees it (paths, next hop, AS path, communities, filtered or not).

    Example: labctl lg rs1 198.18.1.0/24
    """
    import ipaddress

    from labctl import lifecycle
    from labctl.report.lg import render_lg

    try:
        ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        fail(LabctlError(f"'{prefix}' is not a prefix", "give one like 198.18.1.0/24 or 2001:db8:1::/48"))
    try:
        result = lifecycle.lg(node, prefix, file, lab_name)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        _dump(result)
    else:
        out.print(render_lg(result), highlight=False, markup=False)


@app.command()
def locality(
    file: Path = _file_option("the only running lab"),
    lab_name: str = typer.Option(None, "--lab", help="Lab name."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
):
    """Does local traffic stay local? For every pair of members: AS path, hops (node and site or
    city), in the region or not, RTT (measured; and modelled from the long-haul lines' delays).

    Example: labctl locality -f ix.yml
    """
    from labctl import lifecycle
    from labctl.report.locality import locality_table

    try:
        result = lifecycle.locality(file, lab_name)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        _dump(result)
    else:
        out.print(locality_table(result))
    raise typer.Exit(0 if not result["errors"] else 1)


@app.command()
def compare(
    file: Path = _file_option(),
    file_arg: Path = _file_argument(),
    outdir: Path = typer.Option(Path("compare"), "--out", "-o", help="Folder for the two design files and the report."),
    scenarios: list[str] = typer.Option(None, "--scenario", help="Scenarios to run on both designs.",
                                        show_default="upstream-down, ix-down"),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON instead of the Markdown report."),
):
    """Build the IX design and the aggregator-ISP design of one file, one after the other; measure
    locality and run the same scenarios on both; write compare.md, a self-contained compare.html and compare.json.

    Example: labctl compare -f ix.yml -o compare/
    """
    import json as _json

    from labctl.report.compare import compare_html, compare_markdown
    from labctl.scenarios.compare import compare as run_compare

    file = _ix_file(file, file_arg, required=True)
    say = err if as_json else out
    with PhaseProgress(say, "compare") as progress:
        runs = run_compare(file, outdir, scenarios, progress)
    md = compare_markdown(file.stem, runs)
    (outdir / "compare.md").write_text(md)
    (outdir / "compare.html").write_text(compare_html(file.stem, runs))
    (outdir / "compare.json").write_text(_json.dumps(runs, indent=1, default=str))
    if as_json:
        typer.echo(_json.dumps(runs, default=str))
    else:
        out.print(md, highlight=False, markup=False)
    say.print(f"wrote {outdir / 'compare.md'}, compare.html and compare.json", highlight=False)
    raise typer.Exit(0 if not any(r.get("error") for r in runs) else 1)


@app.command()
def push(
    file: Path = _file_option("the running lab's IX file"),
    file_arg: Path = _file_argument(),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show the per-node diff."),
    node: list[str] = typer.Option(None, "--node", help="Limit to these nodes (repeatable).", autocompletion=complete_node),
    lab_name: str = typer.Option(None, "--lab", help="Lab name."),
    timeout: float = typer.Option(None, "--timeout", help="Seconds to wait for verification.",
                                  show_default="derived from the timers"),
    workers: int = typer.Option(16, "--workers", min=1, help="Nodes diffed, applied and verified in parallel."),
    as_json: bool = typer.Option(False, "--json", help="Print per-node results as JSON."),
):
    """Re-render from the IX file, apply only to changed nodes, verify, roll back what fails.

    Exit 0 when every changed node applied and verified; 4 when any node was rolled back or failed.

    Example: labctl push -f ix.yml --dry-run
    """
    from labctl import lifecycle
    from labctl.model.load import ModelErrors

    try:
        with PhaseProgress(err if as_json else out, "push") as progress:
            report = lifecycle.push(_ix_file(file, file_arg, required=False), lab_name, dry_run=dry_run,
                              only=node or None, timeout=timeout, progress=progress, workers=workers)
    except ModelErrors as exc:
        _report_model_errors(exc, as_json)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        _dump({"ok": report.ok, "lab": report.lab, "dry_run": report.dry_run, "seconds": report.seconds,
               "nodes": [n.__dict__ for n in report.nodes],
               "convergence": _convergence_dict(report.convergence) if report.convergence else None})
    else:
        for n in report.nodes:
            if n.diff and n.status != "unchanged":
                out.print(n.diff, highlight=False, markup=False)
        table = Table("node", "result", "detail")
        for n in report.nodes:
            colour = {"unchanged": "dim", "would-change": "yellow", "applied": "green"}.get(n.status, "red")
            table.add_row(n.node, f"[{colour}]{n.status}[/]", n.error)
        out.print(table)
    raise typer.Exit(0 if report.ok else EXIT_NOT_CONVERGED)


@app.command("test")
def test_cmd(
    scenarios: list[str] = typer.Argument(None, help="Built-in scenario names or scenario .yml files.",
                                          show_default="every built-in", autocompletion=complete_scenario),
    file: Path = _file_option("the only running lab"),
    up_file: Path = typer.Option(None, "--up", help="Bring this IX up first (and keep it running)."),
    lab_name: str = typer.Option(None, "--lab", help="Lab name."),
    junit: Path = typer.Option(None, "--junit", help="Write JUnit XML here."),
    results_out: Path = typer.Option(None, "--results", help="Write results with full timelines as JSON here."),
    report: Path = typer.Option(None, "--report", help="Write report.html (self-contained), report.md and a timeline SVG per scenario into this folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the results with full timelines as JSON."),
    list_only: bool = typer.Option(False, "--list", help="List the built-in scenarios and exit."),
):
    """Run failover, convergence and impairment scenarios on a running lab; measure and judge.

    Each scenario applies a fault, records a timeline (T0, T_detect, T_cp, probe outages),
    restores the lab and checks the numbers against windows derived from the IX's timers.
    Exit 0 only when every scenario passes (1 otherwise).

    Example: labctl test rs-failover member-link-down --junit junit.xml --results results.json --report report/
    """
    from labctl import lifecycle
    from labctl.report.html import write_html
    from labctl.report.results import to_json, write_all
    from labctl.scenarios.spec import resolve

    if list_only:
        scenarios_found = resolve([])
        if as_json:
            _dump([{"name": sc.name, "description": " ".join(sc.description.split())} for sc in scenarios_found])
        else:
            for sc in scenarios_found:
                out.print(f"[bold]{sc.name}[/]: {escape(' '.join(sc.description.split()))}")
        raise typer.Exit(0)
    say = err if as_json else out  # stdout carries only JSON under --json
    for name in scenarios or []:
        if name.endswith(".json"):
            fail(LabctlError(f"'{name}' is not a scenario", f"--json is a flag now; write the results with --results {name}"))
    try:
        chosen = resolve(scenarios or [])
        if up_file is not None:
            with PhaseProgress(say, "up") as progress:
                report_up = lifecycle.up(up_file, progress=progress)
            if not report_up.ok:
                _print_convergence(report_up.convergence)
                fail(LabctlError(f"lab {report_up.lab} did not come up", "see the sessions above; `labctl status`"))
            file = up_file
        target = lifecycle.find_lab(file, lab_name)
    except LabctlError as exc:
        fail(exc)
    results = _run_scenarios(target, chosen, say)
    written = write_all(target.plan.lab, results, junit, results_out, report)
    if report:
        written.append(write_html(report, target.plan.lab, results, target.plan))
    for path in written:
        say.print(f"wrote {path}", highlight=False)
    passed = sum(r.passed for r in results)
    say.print(f"{passed}/{len(results)} scenarios passed")
    if as_json:
        typer.echo(to_json(target.plan.lab, results))
    raise typer.Exit(0 if passed == len(results) else EXIT_FAILED)


def _run_scenarios(target, chosen, say) -> list:
    from labctl.scenarios.engine import run_scenario

    results = []
    nr = target.nornir()
    try:
        for sc in chosen:
            with PhaseProgress(say, sc.name) as progress:
                result = run_scenario(target, sc, nr, progress=progress)
            results.append(result)
            verdict = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
            t_d = f"{result.t_detect:.3f}s" if result.t_detect is not None else "-"
            t_cp = f"{result.t_cp:.3f}s" if result.t_cp is not None else "-"
            say.print(f"{verdict} {sc.name}: {escape(result.target)}; T_detect {t_d}, T_cp {t_cp} ({result.seconds:.0f}s)",
                      highlight=False)
            if result.error:
                err.print(f"  error: {escape(result.error)}", highlight=False)
            if result.repair:
                err.print(f"  [yellow]repair:[/] {escape(result.repair)}", highlight=False)
            for c in result.checks:
                if c.status != "pass":
                    colour = "red" if c.status == "fail" else "yellow"
                    say.print(f"  [{colour}]{c.status}[/] {escape(f'{c.name}: expected {c.expected}; observed {c.observed}')}",
                              highlight=False)
    finally:
        nr.close_connections()
    return results


@report_app.command("summary")
def report_summary(
    junit: Path = typer.Argument(..., help="JUnit XML file (from `labctl test --junit FILE`, or any JUnit file)."),
    title: str = typer.Option("labctl results", "--title", help="Heading of the summary."),
    as_json: bool = typer.Option(False, "--json", help="Print the test cases as JSON instead of Markdown."),
):
    """Print a JUnit file as a Markdown table (result, test, seconds, detail) with totals.

    Exit 0 when the file could be read, whatever the results (the test step carries the verdict).

    Example: labctl report summary junit.xml >> "$GITHUB_STEP_SUMMARY"
    """
    from labctl.report.summary import read_junit, to_markdown

    try:
        cases = read_junit(junit)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        _dump({"file": str(junit), "cases": cases})
    else:
        typer.echo(to_markdown(cases, title), nl=False)


# ------------------------------------------------------------------ one node: exec, connect, logs, capture
_NODE_LAB = typer.Option(None, "--lab", help="Lab name instead of the IX file.")
_NODE_JSON = typer.Option(False, "--json", help="Capture the output and print it with the exit status as JSON.")


def _run_as_json(target, argv: list[str]) -> None:
    """Run in the node with output captured; print {node, argv, returncode, stdout, stderr}; pass the status on."""
    from labctl.runtime import nodes

    proc = nodes.run(target.exec, argv)
    _dump({"node": target.node, "argv": argv, "returncode": proc.returncode, "stdout": proc.stdout,
           "stderr": proc.stderr})
    raise typer.Exit(proc.returncode)
# `labctl exec NODE CMD -x`: everything after NODE belongs to CMD, as with `docker exec`
_PASS_THROUGH = {"allow_interspersed_args": False, "ignore_unknown_options": True}


@app.command("exec", context_settings=_PASS_THROUGH)
def exec_cmd(
    node: str = typer.Argument(..., help="Node to run the command in.", autocompletion=complete_node),
    command: list[str] = typer.Argument(..., help="The command and its arguments (after NODE, or after --)."),
    file: Path = _file_option("the only running lab"),
    lab_name: str = _NODE_LAB,
    as_json: bool = _NODE_JSON,
):
    """Run a command in a node; its output and exit status are passed through.

    Options of labctl go before NODE; everything after NODE is the command.

    Example: labctl exec rs1 -- ip -br addr      (or: labctl exec kibinet vtysh -c 'show bgp summary')
    """
    from labctl import lifecycle
    from labctl.runtime import nodes

    try:
        target = lifecycle.node_target(node, file, lab_name)
    except LabctlError as exc:
        fail(exc)
    if command[:1] == ["--"]:  # `--` after NODE is only a separator
        command = command[1:]
    if not command:
        fail(LabctlError("no command given", f"e.g. labctl exec {node} -- ip -br addr"))
    if as_json:
        _run_as_json(target, command)
    raise typer.Exit(nodes.attach(target.exec, command, replace=False))


@app.command()
def connect(
    node: str = typer.Argument(..., help="Router (or switch) to open.", autocompletion=complete_node),
    shell: bool = typer.Option(False, "--shell", help="Open bash instead of the routing CLI."),
    command: str = typer.Option(None, "-c", "--command", help="Run this one CLI command and exit."),
    file: Path = _file_option("the only running lab"),
    lab_name: str = _NODE_LAB,
    as_json: bool = typer.Option(False, "--json", help="With -c: print the output and exit status as JSON."),
):
    """Open the node's routing CLI (vtysh on FRR, birdc on BIRD) or, with --shell, bash.

    Commands piped into it run without a terminal; a switch has no routing CLI, so it opens bash.

    Example: labctl connect rs1      (or: echo 'show bgp summary' | labctl connect rs2; labctl connect rs1 -c 'show protocols')
    """
    from labctl import lifecycle
    from labctl.runtime import nodes

    try:
        target = lifecycle.node_target(node, file, lab_name)
    except LabctlError as exc:
        fail(exc)
    if as_json and command is None:
        fail(LabctlError("--json needs a command to run", f"e.g. labctl connect {node} -c 'show bgp summary' --json"))
    if as_json:
        _run_as_json(target, target.cli_command(command, shell))
    if command is not None:
        raise typer.Exit(nodes.attach(target.exec, target.cli_command(command, shell), replace=False))
    argv = (None if shell else target.routing_cli) or ["bash"]
    raise typer.Exit(nodes.attach(target.exec, argv))


@app.command()
def logs(
    node: str = typer.Argument(..., help="Router whose daemon log to show.", autocompletion=complete_node),
    follow: bool = typer.Option(False, "--follow", "-F", help="Keep printing new lines until Ctrl-C."),
    lines: int = typer.Option(50, "--lines", "-n", help="How many of the last lines to show."),
    file: Path = _file_option("the only running lab"),
    lab_name: str = _NODE_LAB,
    as_json: bool = typer.Option(False, "--json", help="Print the lines as JSON (not with --follow)."),
):
    """Show a router's daemon log (/var/log/frr/frr.log or /var/log/bird.log in the node).

    Example: labctl logs rs1 --follow
    """
    from labctl import lifecycle
    from labctl.runtime import nodes

    try:
        target = lifecycle.node_target(node, file, lab_name)
        if target.daemon_log is None:
            raise LabctlError(f"{node} is a site switch and runs no routing daemon",
                              f"see its bridge with `labctl exec {node} -- bridge link`")
    except LabctlError as exc:
        fail(exc)
    if as_json and not follow:
        proc = nodes.run(target.exec, ["tail", "-n", str(lines), target.daemon_log])
        _dump({"node": target.node, "path": target.daemon_log, "lines": proc.stdout.splitlines(),
               "error": proc.stderr.strip()})
        raise typer.Exit(proc.returncode)
    raise typer.Exit(nodes.tail_log(target.exec, target.daemon_log, lines, follow))


@app.command()
def capture(
    where: str = typer.Argument(..., help="NODE:IFACE, a router, a link 'a:eth1--b:eth2' or a trunk 'siteA--siteB'."),
    expression: list[str] = typer.Argument(None, help="tcpdump filter, e.g. tcp port 179."),
    write: str = typer.Option(None, "-w", "--write", help="Write a pcap file; '-' streams pcap to stdout."),
    count: int = typer.Option(None, "--count", "-c", help="Stop after this many packets."),
    duration: float = typer.Option(None, "--duration", help="Stop after this many seconds."),
    file: Path = _file_option("the only running lab"),
    lab_name: str = _NODE_LAB,
    as_json: bool = typer.Option(False, "--json", help="With -w FILE: print where and what was captured as JSON."),
):
    """Capture packets with tcpdump inside the node's network namespace.

    Without -w: decoded packets on a terminal, a pcap stream when stdout is a pipe.
    A link or trunk is captured at its first end (a trunk: the first site's switch port).

    Example: labctl capture sw-okayama:eth1 | wireshark -k -i -      (or: labctl capture rs1 -w rs1.pcap -c 50 tcp port 179)
    """
    from labctl import lifecycle
    from labctl.runtime import nodes

    try:
        target, interface = lifecycle.capture_target(where, file, lab_name)
    except LabctlError as exc:
        fail(exc)
    if as_json and write in (None, "-"):
        fail(LabctlError("--json needs -w FILE (stdout carries the pcap otherwise)", f"e.g. labctl capture {where} -w x.pcap --json"))
    err.print(f"capturing on {target.node}:{interface}", highlight=False)
    if write not in (None, "-"):
        with open(write, "wb") as sink:
            rc = nodes.capture(target.exec, interface, sink, count, duration, expression)
        err.print(f"wrote {write}", highlight=False)
        if as_json:
            _dump({"node": target.node, "interface": interface, "file": write, "returncode": rc,
                   "bytes": Path(write).stat().st_size})
    else:
        pcap = write == "-" or not sys.stdout.isatty()
        sys.stdout.flush()
        rc = nodes.capture(target.exec, interface, sys.stdout.buffer if pcap else None,
                           count, duration, expression)
    raise typer.Exit(rc)


@app.command()
def graph(
    file: Path = _file_option("./ix.yml, else the only running lab's"),
    file_arg: Path = _file_argument(),
    fmt: str = typer.Option(None, "--format", help="mermaid, dot or svg (default: from -o's suffix, else mermaid)."),
    output: Path = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
    as_json: bool = typer.Option(False, "--json", help="Print the picture's parts (boxes per site, edges) as JSON."),
):
    """The IX as a picture: sites, switches, trunks (latency, loss, bandwidth), route servers and
    members with their daemon and ASN. SVG needs no Graphviz; Mermaid renders in GitHub Markdown.

    Example: labctl graph -f ix.yml -o ix.svg      (or: labctl graph --format dot | dot -Tpng > ix.png)
    """
    from labctl import lifecycle
    from labctl.model.load import ModelErrors
    from labctl.report.graph import FORMATS, format_for, render_graph

    chosen = format_for(str(output) if output else None, fmt)
    if chosen not in FORMATS:
        fail(LabctlError(f"unknown format '{chosen}'", f"use one of: {', '.join(FORMATS)}"))
    try:
        chosen_file = _ix_file(file, file_arg, required=False) or (Path("ix.yml") if Path("ix.yml").is_file() else None)
        plan = lifecycle.open_lab(chosen_file).plan if chosen_file else lifecycle.find_lab().plan
    except ModelErrors as exc:
        _report_model_errors(exc, False)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        from labctl.report.graph import boxes, edges

        _dump({"lab": plan.lab, "sites": boxes(plan), "edges": edges(plan)})
        return
    text = render_graph(plan, chosen)
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    err.print(f"wrote {output} ({chosen})", highlight=False)


if __name__ == "__main__":
    sys.exit(app())
