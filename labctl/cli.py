"""labctl command line: a thin Typer layer over model, plan, render, runtime and automation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from labctl import __version__
from labctl.errors import LabctlError

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
                  help="Regional Internet-exchange labs on containerlab with FRR and BIRD.")
host_app = typer.Typer(no_args_is_help=True, help="Prepare this machine to run labs.")
app.add_typer(host_app, name="host")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(exc: LabctlError) -> None:
    err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
    if exc.hint:
        err.print(f"  [bold]fix:[/] {exc.hint}", highlight=False)
    raise typer.Exit(exc.exit_code)


def _version(value: bool) -> None:
    if value:
        out.print(f"labctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")):
    """Regional Internet-exchange labs on containerlab with FRR and BIRD.

    Example: labctl init && labctl up ix.yml && labctl test && labctl down
    """


@host_app.command("setup")
def host_setup(as_json: bool = typer.Option(False, "--json", help="Print step results as JSON.")):
    """Install and start everything a lab needs: Docker engine, containerlab, lab images.

    Idempotent: every step skips itself when its result already exists.

    Example: sudo labctl host setup
    """
    from labctl.runtime import host

    try:
        if as_json:
            results = host.setup()
        else:
            with out.status("host set-up") as status:
                results = host.setup(on_step=lambda name: status.update(f"host set-up: {name}"))
    except LabctlError as exc:
        _fail(exc)
    failed = any(r.status == "failed" for r in results)
    if as_json:
        out.print_json(json.dumps({"ok": not failed, "steps": [r.__dict__ for r in results]}))
    else:
        table = Table("step", "result", "seconds", "detail")
        for r in results:
            colour = {"done": "green", "skipped": "dim", "failed": "red"}[r.status]
            table.add_row(r.name, f"[{colour}]{r.status}[/]", f"{r.seconds:.1f}", r.detail)
        out.print(table)
    raise typer.Exit(1 if failed else 0)


@app.command()
def doctor(as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON.")):
    """Check every prerequisite of a lab and print the exact fix for what is missing.

    Exit 0 only when this host can run a lab.

    Example: labctl doctor --json
    """
    from labctl.runtime import host

    report = host.doctor()
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    else:
        table = Table("check", "status", "detail", "fix")
        for c in report.checks:
            status = "[green]ok[/]" if c.ok else ("[red]missing[/]" if c.required else "[yellow]unavailable[/]")
            table.add_row(c.name, status, c.detail, c.fix)
        out.print(table)
        out.print("[green]host is ready[/]" if report.ready else "[red]host is not ready[/]")
    raise typer.Exit(0 if report.ready else 1)


def _load(path: Path):
    from labctl.model.load import load

    return load(path)


def _report_model_errors(exc, as_json: bool) -> None:
    if as_json:
        out.print_json(exc.as_json())
    else:
        err.print(exc.render(), highlight=False, markup=False)
        err.print(f"[bold red]{len(exc.findings)} problem(s)[/]")
    raise typer.Exit(1)


@app.command()
def init(
    directory: Path = typer.Argument(Path("."), help="Folder to write ix.yml into."),
    minimal: bool = typer.Option(False, "--minimal", help="Write the minimal example (1 site, 1 route server, 2 members)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing ix.yml."),
):
    """Write a starter ix.yml: the bundled regional IX (3 sites, 2 route servers, 8 members).

    Example: labctl init && labctl validate ix.yml
    """
    from labctl.resources import bundled

    source = bundled("topologies") / ("minimal.yml" if minimal else "regional-ix.yml")
    target = directory / "ix.yml"
    if target.exists() and not force:
        _fail(LabctlError(f"{target} already exists", "use --force to overwrite it, or pick another folder"))
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(source.read_text())
    out.print(f"wrote {target} ({'minimal' if minimal else 'regional'} example); next: labctl validate {target}")


@app.command()
def validate(
    files: list[Path] = typer.Argument(..., help="IX definition(s) to check."),
    as_json: bool = typer.Option(False, "--json", help="Print findings as JSON."),
):
    """Check IX definitions and report every problem at once, with file, line and a fix.

    Exit 1 if any file has a problem.

    Example: labctl validate ix.yml --json
    """
    from labctl.model.load import ModelErrors

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
                err.print(f"[bold red]error:[/] {exc}", highlight=False)
    if as_json:
        out.print_json(json.dumps({"valid": not failed, "files": results}))
    raise typer.Exit(1 if failed else 0)


@app.command()
def generate(
    file: Path = typer.Argument(..., help="IX definition."),
    outdir: Path = typer.Option(None, "-o", "--output", help="Output folder [default: ./<ix name>]."),
    image: str = typer.Option(None, "--image", help="Node image for the topology [default: the current labctl/node tag]."),
):
    """Write the containerlab topology and every node's FRR/BIRD config. Deterministic.

    Example: labctl generate ix.yml -o lab/
    """
    from labctl.model.load import ModelErrors
    from labctl.plan import build_plan
    from labctl.render import render_lab, write_lab
    from labctl.runtime.images import node_image_tag

    try:
        model = _load(file)
    except ModelErrors as exc:
        _report_model_errors(exc, False)
    except LabctlError as exc:
        _fail(exc)
    plan = build_plan(model)
    target = outdir or Path(plan.lab)
    files = render_lab(plan, image or node_image_tag())
    write_lab(files, target)
    out.print(f"wrote {len(files)} files for {len(plan.nodes)} nodes to {target}", highlight=False)


if __name__ == "__main__":
    sys.exit(app())
