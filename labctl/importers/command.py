"""`labctl import ...`: the Typer commands that wrap the importers.

The lead wires this in with `app.add_typer(import_app, name="import")`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from labctl.console import fail, make_console, print_json
from labctl.errors import LabctlError

if TYPE_CHECKING:
    from labctl.importers.ixf import ImportResult

import_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
                         help="Build an ix.yml from data a real exchange publishes.")
out = make_console()
err = make_console(stderr=True)


@import_app.callback()
def _group() -> None:
    """Build an ix.yml from data a real exchange publishes.

    Example: labctl import ixf members.json --sample 20 -o ix.yml
    """


def write_atomically(target: Path, text: str, force: bool) -> None:
    """Write `text` to `target` in one step: a temporary file in the same folder, then rename.

    Without `force` an existing target is never replaced, even if it appears meanwhile (hard link).
    On any error no partial file is left behind.
    """
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise LabctlError(f"{target}: cannot write: {exc.strerror or exc}", "choose another output path with -o") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if target exists: no race with another writer
            except FileExistsError:
                raise LabctlError(f"{target} already exists", "use --force to overwrite it, or choose another -o") from None
            except OSError:  # file systems without hard links
                if target.exists():
                    raise LabctlError(f"{target} already exists", "use --force to overwrite it, or choose another -o") from None
                os.replace(tmp, target)
    except OSError as exc:
        raise LabctlError(f"{target}: cannot write: {exc.strerror or exc}", "choose another output path with -o") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@import_app.command("ixf")
def ixf(
    file: Path = typer.Argument(..., help="IX-F member export (JSON, schema 0.6 to 1.0).", show_default=False),
    output: Path = typer.Option(Path("ix.yml"), "-o", "--output", help="Where to write the IX definition."),
    ixp_id: int = typer.Option(None, "--ixp-id", help="IXP to import (ixp_list[].ixp_id) when the file has several.",
                               show_default=False),
    vlan_id: int = typer.Option(None, "--vlan-id", help="Peering VLAN (vlan[].id) \\[default: the VLAN most members use].",
                                show_default=False),
    sample: int = typer.Option(None, "--sample", min=1, help="Import N members, chosen by a stable hash of ASN and name.",
                               show_default=False),
    members: str = typer.Option(None, "--members", help="Import exactly these ASNs, e.g. 64500,64501.",
                                show_default=False),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
):
    """Turn an IX-F member export into an ix.yml: real members, ASNs and LAN addresses; lab prefixes.

    Every usable connection of a member becomes one of its routers; members, connections and addresses that cannot be used are listed with the reason and JSON location, never dropped silently. The route-server daemons follow the size (BIRD + FRR up to 30 member routers, else BIRD + BIRD 3). The same file and options always give the same ix.yml, and a smaller --sample is a subset of a larger one. Announced prefixes are lab ranges (198.18.0.0/15, 2001:db8::/32), not the members' real routes.

    Example: labctl import ixf members.json --sample 20 -o ix.yml && labctl validate ix.yml
    """
    from labctl.importers.ixf import import_ixf, parse_members_option

    try:
        if sample is not None and members is not None:
            raise LabctlError("--sample and --members cannot be used together", "drop one of them")
        asns = None
        if members is not None:
            try:
                asns = parse_members_option(members)
            except ValueError as exc:
                raise LabctlError(f"--members: {exc}") from None
        if output.exists() and not force:
            raise LabctlError(f"{output} already exists", "use --force to overwrite it, or choose another -o")
        if output.is_dir():
            raise LabctlError(f"{output} is a folder", "give a file name, e.g. -o ix.yml")
        result = import_ixf(file, ixp_id=ixp_id, vlan_id=vlan_id, sample=sample, members=asns)
        write_atomically(output, result.text, force)
    except LabctlError as exc:
        fail(exc, as_json)
    if as_json:
        print_json(out, json.dumps({"ok": True, "output": str(output), **result.summary()}))
    else:
        _print_summary(result, output)


def _print_summary(result: ImportResult, output: Path) -> None:
    summary = result.summary()
    c = summary["counts"]
    rs = ", ".join(f"{r['name']} {r['daemon']}" for r in summary["route_servers"])
    out.print(f"[green]wrote[/] {output}: {c['imported']} member(s) with {c['routers']} router(s) of "
              f"{summary['ixp']['name']} (ixp_id {result.ixp_id}, VLAN {result.vlan_id}), {len(summary['sites'])} site(s), "
              f"route servers {rs} (AS{summary['ix']['route_server_asn']})", highlight=False)
    out.print(f"  source {result.source} (IX-F {result.version}); {c['at_ixp']} members at this IXP, "
              f"{c['usable']} usable, selection: {result.selection}", highlight=False)
    lan = summary["ix"]["peering_lan"]
    out.print(f"  peering LAN {lan['ipv4']} and {lan['ipv6']}", highlight=False)
    sites = Table("site", "members", "routers", "route servers", "from", title="sites")
    for s in summary["sites"]:
        sites.add_row(*(Text(x) for x in (s["name"], str(s["members"]), str(s["routers"]), ", ".join(s["route_servers"]),
                                          s["description"])))
    out.print(sites)
    if result.skipped:
        out.print(f"  skipped: {len(result.skipped)} member(s), not in the lab:", highlight=False)
        for s in result.skipped:
            out.print(Text(f"    {s.render()}"), highlight=False)
    if result.skipped_parts:
        out.print(f"  skipped: {len(result.skipped_parts)} connection(s)/address(es) of imported members, "
                  "not in the lab:", highlight=False)
        for p in result.skipped_parts:
            out.print(Text(f"    {p.render()}"), highlight=False)
    if not result.skipped and not result.skipped_parts:
        out.print("  skipped: none")
    for note in result.notes:
        out.print(Text(f"  note: {note.message}"), highlight=False)
    out.print(f"next: labctl validate {output} && labctl up {output}", highlight=False)
