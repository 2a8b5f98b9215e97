"""labctl command line: a thin Typer layer over model, plan, render, runtime and automation."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from labctl import __version__
from labctl.errors import LabctlError

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
                  help="Regional Internet-exchange labs on containerlab with FRR and BIRD.")
host_app = typer.Typer(no_args_is_help=True, help="Prepare this machine to run labs.")
app.add_typer(host_app, name="host")
out = Console()
err = Console(stderr=True)


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


if __name__ == "__main__":
    sys.exit(app())
