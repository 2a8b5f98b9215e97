"""`labctl class ...`: one exercise lab per trainee, and the scoreboard (thin: parse, call, print)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from labctl.console import PhaseProgress, fail, make_console, print_json
from labctl.errors import EXIT_FAILED, LabctlError

class_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
                        help="A class: one exercise lab per trainee on this machine, and a scoreboard.")
out = make_console()
err = make_console(stderr=True)


def _class_option():
    return typer.Option(None, "--class", help="The class's name.", show_default="the only class in ./.labctl")


def _lang_option():
    return typer.Option(None, "--lang", help="Language of the texts: en or ja.",
                        show_default="ja when LC_ALL, LC_MESSAGES or LANG starts with ja, else en")


def _json_option(what: str):
    return typer.Option(False, "--json", help=f"Print {what} as JSON.")


def _html_option():
    return typer.Option(None, "--html", help="Also write the scoreboard as one self-contained HTML page here.")


@class_app.callback()
def _group() -> None:
    """A class: one exercise lab per trainee on this machine, and a scoreboard.

    Example: labctl class up first-sessions --trainees 4 && labctl class check --html scoreboard.html
    """


def _json(data) -> None:
    print_json(out, json.dumps(data, ensure_ascii=False, default=str))


@class_app.command()
def up(
    exercise: str = typer.Argument(..., help="A bundled exercise (labctl exercise list) or an exercise file."),
    trainees: int = typer.Option(None, "--trainees", "-n", help="Number of trainees (named t1..tN)."),
    roster_file: Path = typer.Option(None, "--roster", help="A file of trainee names, one a line (e.g. alice)."),
    class_name: str = typer.Option("class", "--class", help="The class's name; labs are CLASS-TRAINEE."),
    subnets: str = typer.Option("172.29.0.0/16", "--subnets", help="Pool of management /24s, one per trainee lab "
                                "(those in use by Docker networks are skipped)."),
    as_json: bool = _json_option("the class"),
):
    """Bring up one lab of EXERCISE per trainee, each trainee's router in its start state.

    Labs come up one after the other, each with its own lab name (CLASS-TRAINEE), management
    subnet and SSH keys; the table printed at the end says how each trainee reaches their router.

    Example: labctl class up first-sessions --trainees 4
    Example: labctl class up no-leak --roster trainees.txt --class monday
    """
    from dataclasses import asdict

    from labctl.classroom import roster, run

    try:
        text = roster_file.read_text() if roster_file else None
        names = roster.trainee_names(trainees, text, str(roster_file))
        with PhaseProgress(err if as_json else out, "class up") as progress:
            result = run.up(exercise, names, class_name, subnets, progress=progress)
    except OSError as exc:
        fail(LabctlError(f"cannot read {roster_file}: {exc.strerror or exc}", "give a file of names, one a line"), as_json)
    except LabctlError as exc:
        fail(exc, as_json)
    rec = result.record
    if as_json:
        _json({"ok": not rec.failed, **asdict(rec), "seconds": result.seconds})
    else:
        _print_up(rec, result.seconds)
    raise typer.Exit(EXIT_FAILED if rec.failed else 0)


def _print_up(rec, seconds: dict[str, float]) -> None:
    table = Table(title=f"class {rec.name}: {rec.exercise}, router {rec.router}")
    for h in ("trainee", "lab", "subnet", "started in", "reach your router"):
        table.add_column(h)
    for t in rec.trainees:
        reach = (f"[red]failed: {escape(rec.failed[t.name])}[/]" if t.name in rec.failed else
                 escape(f"labctl connect {rec.router} --lab {t.lab}"))
        table.add_row(t.name, t.lab, t.subnet, f"{seconds.get(t.name, 0):.1f} s", reach)
    out.print(table)
    out.print(f"Each trainee: `labctl connect {rec.router} --lab LAB` opens the router's CLI; "
              "`labctl exercise check --lab LAB` checks their work (hints for them).", highlight=False)
    out.print("Instructor: `labctl class check --html scoreboard.html`; remove every lab: `labctl class down`.",
              highlight=False)


@class_app.command()
def status(class_name: str = _class_option(), as_json: bool = _json_option("each trainee's lab")):
    """Each trainee's lab: running or not, management subnet, how to reach the router, checks passed.

    Example: labctl class status
    """
    from labctl.classroom import roster, run

    try:
        rec = roster.read(Path.cwd(), class_name)
        board = run.scoreboard(rec)
    except LabctlError as exc:
        fail(exc, as_json)
    rows = [{"trainee": t.name, "lab": t.lab, "subnet": t.subnet, "running": r.running,
             "connect": f"labctl connect {rec.router} --lab {t.lab}", "passed": r.passed, "checks": r.total,
             "check_runs": r.check_runs, "failed_to_start": rec.failed.get(t.name)}
            for t, r in zip(rec.trainees, board.rows)]
    if as_json:
        _json({"class": rec.name, "exercise": rec.exercise, "router": rec.router, "trainees": rows})
        return
    table = Table(title=f"class {rec.name}: {rec.exercise}")
    for h in ("trainee", "lab", "subnet", "lab running", "passed", "check runs", "reach the router"):
        table.add_column(h)
    for r in rows:
        table.add_row(r["trainee"], r["lab"], r["subnet"], "yes" if r["running"] else "[red]no[/]",
                      f"{r['passed']}/{r['checks']}", str(r["check_runs"]), escape(r["connect"]))
    out.print(table)


def _show_board(board, lang: str | None, html: Path | None, as_json: bool) -> None:
    from labctl.classroom import scoreboard as sb
    from labctl.exercises.text import language

    lang = language(lang)
    if html:
        html.write_text(sb.to_html(board, lang))
    if as_json:
        _json(sb.to_json(board))
        return
    head, rows = sb.table(board, lang)
    table = Table(title=f"class {board.class_name}: {board.title.get(lang, board.exercise)}")
    for h in head:
        table.add_column(h)
    for r in rows:
        table.add_row(*[_color(escape(c)) for c in r])
    out.print(table)
    for c in board.checks:
        out.print(f"[bold]{escape(c['id'])}[/]: {escape(c['title'].get(lang, ''))}", highlight=False)
    if html:
        out.print(f"HTML scoreboard: {html}", highlight=False)


def _color(cell: str) -> str:
    for word, style in (("PASS", "green"), ("合格", "green"), ("FAIL", "bold red"), ("不合格", "bold red")):
        if cell.startswith(word):
            return f"[{style}]{cell}[/]"
    return cell


@class_app.command()
def scoreboard(class_name: str = _class_option(), html: Path = _html_option(), lang: str = _lang_option(),
               as_json: bool = _json_option("the scoreboard")):
    """Who passed which check, and when: from each trainee lab's check history.

    Times are after the trainee's lab started. No router is asked: `class check` runs the checks.

    Example: labctl class scoreboard --html scoreboard.html
    """
    from labctl.classroom import roster, run

    try:
        board = run.scoreboard(roster.read(Path.cwd(), class_name))
        _show_board(board, lang, html, as_json)
    except LabctlError as exc:
        fail(exc, as_json)


@class_app.command()
def check(class_name: str = _class_option(), wait: float = typer.Option(0, "--wait", help="Per lab: check again "
          "every 3 s until every check passes or this many seconds are over."),
          html: Path = _html_option(), lang: str = _lang_option(), as_json: bool = _json_option("the scoreboard")):
    """Run the checks in every trainee's lab, then show the scoreboard.

    Each run is recorded in the trainee's history (no hint is revealed to them). Exit code 0 when
    every trainee passes every check, 1 otherwise.

    Example: labctl class check --html scoreboard.html
    """
    from labctl.classroom import roster, run

    try:
        rec = roster.read(Path.cwd(), class_name)
        with PhaseProgress(err, "class check") as progress:
            errors = run.check(rec, wait, progress=progress)
        for name, e in errors.items():
            err.print(f"[yellow]{escape(name)}:[/] {escape(e)}", highlight=False)
        board = run.scoreboard(rec)
        _show_board(board, lang, html, as_json)
    except LabctlError as exc:
        fail(exc, as_json)
    raise typer.Exit(0 if all(r.passed == r.total for r in board.rows) else EXIT_FAILED)


@class_app.command()
def down(class_name: str = _class_option(), as_json: bool = _json_option("what was removed")):
    """Remove every trainee's lab (containers, networks, folders) and the class.

    Example: labctl class down
    """
    from labctl.classroom import roster, run

    try:
        rec = roster.read(Path.cwd(), class_name)
        with PhaseProgress(err if as_json else out, "class down") as progress:
            removed = run.down(rec, progress=progress)
    except LabctlError as exc:
        fail(exc, as_json)
    if as_json:
        _json({"ok": True, "class": rec.name, "labs": removed})
        return
    for r in removed:
        out.print(f"{r['lab']}: {r.get('containers_removed') or 0} containers removed", highlight=False)
    out.print(f"class {rec.name} removed", highlight=False)
