"""`labctl exercise ...`: the Typer commands over labctl.exercises (thin: parse, call, print)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from labctl.console import PhaseProgress, fail, make_console, print_json
from labctl.errors import EXIT_FAILED, LabctlError
from labctl.exercises.text import language, ui

exercise_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
                           help="Guided BGP-peering exercises for trainees, checked on the lab.")
out = make_console()
err = make_console(stderr=True)

LAB_HELP = "The exercise's lab (default: the only lab running an exercise)."
LANG_HELP = "Language of the texts: en or ja."
LANG_DEFAULT = "ja when LC_ALL, LC_MESSAGES or LANG starts with ja, else en"


def _lab_option():
    return typer.Option(None, "--lab", help=LAB_HELP, show_default="the only lab running an exercise")


def _lang_option():
    return typer.Option(None, "--lang", help=LANG_HELP, show_default=LANG_DEFAULT)


def _json_option(what: str = "the result"):
    return typer.Option(False, "--json", help=f"Print {what} as JSON.")


@exercise_app.callback()
def _group() -> None:
    """Guided BGP-peering exercises for trainees, checked on the lab.

    Example: labctl exercise start first-sessions && labctl connect kibinet && labctl exercise check
    """


def _complete_name(incomplete: str) -> list[str]:
    """Shell completion of `exercise start NAME`: the bundled exercises (reads files only)."""
    try:
        from labctl.exercises.load import builtin_names

        return [n for n in builtin_names() if n.startswith(incomplete)]
    except Exception:  # noqa: BLE001 - completion must never fail the shell
        return []


def _json(data) -> None:
    print_json(out, json.dumps(data, ensure_ascii=False, default=str))


@exercise_app.command("list")
def list_cmd(lang: str = _lang_option(), as_json: bool = _json_option("the exercises")):
    """The bundled exercises: name, level, title, the trainee's router and its start state.

    Example: labctl exercise list --lang ja
    """
    from labctl.exercises.load import builtin_names, load_exercise

    try:
        lang = language(lang)
    except LabctlError as exc:
        fail(exc, as_json)
    rows, broken = [], False
    for name in builtin_names():
        try:  # one bad file must not hide the others
            x = load_exercise(name)
        except LabctlError as exc:
            broken = True
            rows.append({"name": name, "error": exc.message, "hint": "labctl exercise validate " + name})
            continue
        rows.append({"name": x.name, "level": x.exercise.level, "title": x.exercise.title.get(lang),
                     "router": x.trainee, "start": x.exercise.trainee.start.state, "checks": len(x.exercise.checks),
                     "hints": len(x.exercise.hints)})
    if as_json:
        _json(rows)
    else:
        _print_list(rows, lang)
    raise typer.Exit(EXIT_FAILED if broken else 0)


def _print_list(rows: list[dict], lang: str) -> None:
    t = ui(lang)
    for r in rows:
        if "error" in r:
            out.print(f"[bold]{r['name']:<22}[/] [red]{escape(r['error'])}[/] ({r['hint']})", highlight=False)
            continue
        out.print(f"[bold]{r['name']:<22}[/] {t['level']} {r['level']}  {escape(r['title'])}  "
                  f"[dim]({r['router']}, {t[r['start']]}, {r['checks']} {t['check' if r['checks'] == 1 else 'checks']})[/]", highlight=False)


@exercise_app.command()
def start(
    name: str = typer.Argument(..., help="A bundled exercise (labctl exercise list) or an exercise file.",
                               autocompletion=_complete_name),
    lab: str = typer.Option(None, "--lab", help="Name of the lab to create.", show_default="ex-NAME"),
    subnet: str = typer.Option(None, "--subnet", help="Management IPv4 subnet of the lab, e.g. 172.30.250.0/24.",
                               show_default="derived from the lab name"),
    lang: str = _lang_option(),
    as_json: bool = _json_option(),
):
    """Bring up the exercise's lab with your router in its start state, and print the task.

    The lab lives in ./.labctl/LAB; remove it with labctl down --lab LAB.

    Example: labctl exercise start first-sessions --lang ja
    """
    from labctl.exercises import run

    try:
        lang = language(lang)
        with PhaseProgress(err if as_json else out, "exercise start") as progress:
            loaded, state, report = run.start(name, lab, subnet, progress=progress)
    except LabctlError as exc:
        fail(exc, as_json)
    ex, t = loaded.exercise, ui(lang)
    if as_json:
        _json({"ok": True, "exercise": ex.name, "lab": state.lab, "router": state.trainee, "workdir": report.workdir,
               "title": ex.title.get(lang), "goal": ex.goal.get(lang), "start": ex.trainee.start.state,
               "phases": report.phases})
        return
    out.print(f"\n[bold]{t['exercise']}: {escape(ex.title.get(lang))}[/] ({ex.name}; {t['lab']} {state.lab})\n")
    out.print(f"[bold]{t['goal']}[/]\n{escape(ex.goal.get(lang))}\n", highlight=False)
    out.print(f"[bold]{t['start_state']}[/] ({state.trainee}, {t[ex.trainee.start.state]})\n"
              f"{escape(ex.trainee.start.description.get(lang))}\n", highlight=False)
    out.print(f"{t['connect']}:     labctl connect {state.trainee} --lab {state.lab}", highlight=False)
    out.print(f"{t['check_with']}: labctl exercise check --lab {state.lab}", highlight=False)
    out.print(f"{t['stop_with']}:  labctl down --lab {state.lab}", highlight=False)


@exercise_app.command()
def check(
    lab: str = _lab_option(),
    wait: float = typer.Option(0, "--wait", help="Check again every 3 s until every check passes or this many "
                               "seconds are over."),
    lang: str = _lang_option(),
    as_json: bool = _json_option(),
):
    """Check your work: each check passes or fails with what was observed; a failure shows the next hint.

    Exit code 0 when every check passes, 1 otherwise.

    Example: labctl exercise check --lang ja
    """
    from labctl.exercises import run

    try:
        lang = language(lang)
        with PhaseProgress(err, "exercise check") as progress:
            result = run.check(lab, wait, progress=progress)
    except LabctlError as exc:
        fail(exc, as_json)
    if as_json:
        _json({"exercise": result.exercise, "lab": result.lab, "t": result.t, "passed": result.passed,
               "seconds": result.seconds, "checks": [r.as_dict() for r in result.results],
               "hint": None if result.hint is None else {"number": result.hint[0] + 1, "en": result.hint[1].en.strip(),
                                                         "ja": result.hint[1].ja.strip()}})
    else:
        print_check(result, lang)
    raise typer.Exit(0 if result.passed else EXIT_FAILED)


def print_check(result, lang: str) -> None:
    t = ui(lang)
    for r in result.results:
        mark = f"[green]{t['pass']}[/]" if r.passed else f"[bold red]{t['fail']}[/]"
        out.print(f"{mark}  {r.id}: {escape(r.title[lang])}", highlight=False)
        if not r.passed:
            out.print(f"      {t['expected']}: {escape(r.expected[lang])}", highlight=False)
        out.print(f"      {t['observed']}: {escape(r.observed[lang])}", highlight=False)
    n, f = len(result.results), sum(not r.passed for r in result.results)
    out.print("\n" + (t["all_passed"].format(n=n) if not f else t["some_failed"].format(n=n, f=f)))
    if result.hint is not None:
        out.print(f"\n[bold]{t['hint']} {result.hint[0] + 1}/{result.hints_total}:[/] {escape(result.hint[1].get(lang))}",
                  highlight=False)


@exercise_app.command()
def hint(lab: str = _lab_option(), lang: str = _lang_option(), as_json: bool = _json_option("the hint")):
    """Show the next hint (hints are revealed in order and counted in the report).

    Example: labctl exercise hint
    """
    from labctl.exercises import run

    try:
        lang = language(lang)
        running, shown = run.hint(lab)
    except LabctlError as exc:
        fail(exc, as_json)
    total, t = len(running.loaded.exercise.hints), ui(lang)
    if as_json:
        _json({"lab": running.state.lab, "total": total, "shown": len(running.state.hints),
               "hint": None if shown is None else {"number": shown[0] + 1, "en": shown[1].en.strip(),
                                                   "ja": shown[1].ja.strip(), "check": shown[1].check}})
        return
    if shown is None:
        out.print(t["no_hint"])
        return
    out.print(f"[bold]{t['hint']} {shown[0] + 1}/{total}:[/] {escape(shown[1].get(lang))}", highlight=False)


@exercise_app.command()
def reset(lab: str = _lab_option(), lang: str = _lang_option(), as_json: bool = _json_option()):
    """Put your router back in the exercise's start state (everything changed by hand is undone).

    Example: labctl exercise reset
    """
    _put_config("reset", lab, lang, as_json)


@exercise_app.command()
def solve(lab: str = _lab_option(), lang: str = _lang_option(), as_json: bool = _json_option()):
    """Apply the reference solution to the trainee's router (for instructors; recorded in the report).

    Example: labctl exercise solve && labctl exercise check --wait 60
    """
    _put_config("solve", lab, lang, as_json)


def _put_config(action: str, lab: str | None, lang: str | None, as_json: bool) -> None:
    from labctl.exercises import run

    try:
        lang = language(lang)
        with PhaseProgress(err if as_json else out, f"exercise {action}") as progress:
            running = (run.solve if action == "solve" else run.reset)(lab, progress=progress)
    except LabctlError as exc:
        fail(exc, as_json)
    if as_json:
        _json({"ok": True, "lab": running.state.lab, "router": running.state.trainee, "action": action})
        return
    out.print(ui(lang)["solved" if action == "solve" else "reset_done"].format(node=running.state.trainee))


@exercise_app.command()
def report(
    lab: str = _lab_option(),
    markdown: Path = typer.Option(None, "--markdown", "-o", help="Write the Markdown report here.",
                                  show_default="print it"),
    junit: Path = typer.Option(None, "--junit", help="Write a JUnit XML file: one test case per check."),
    lang: str = _lang_option(),
    as_json: bool = _json_option("the exercise's state and history"),
):
    """The exercise's record: each check's latest result, hints shown, every check run with its time.

    Example: labctl exercise report -o report.md --junit exercise.xml
    """
    from dataclasses import asdict

    from labctl.exercises import report as rep
    from labctl.exercises import run

    try:
        lang = language(lang)
        running = run.running(lab)
    except LabctlError as exc:
        fail(exc, as_json)
    text = rep.to_markdown(running.loaded, running.state, lang)
    if junit:
        junit.write_text(rep.to_junit(running.loaded, running.state))
    if markdown:
        markdown.write_text(text)
    if as_json:
        _json({**asdict(running.state), "latest": rep.latest(running.state)})
    elif not markdown:
        out.print(text, highlight=False, markup=False)


@exercise_app.command()
def validate(
    files: list[Path] = typer.Argument(..., help="Exercise files to check."),
    as_json: bool = _json_option("the findings"),
):
    """Check exercise files: types, the IX they build, the checks' routers, the config edits.

    Example: labctl exercise validate my-exercise.yml
    """
    from labctl.exercises.load import ExerciseErrors, load_exercise

    results, bad = [], False
    for f in files:
        try:
            loaded = load_exercise(f)
            results.append({"file": str(f), "valid": True, "errors": [], "name": loaded.name})
        except ExerciseErrors as exc:
            bad = True
            results.append({"file": str(f), "valid": False, "errors": [x.__dict__ for x in exc.findings]})
            if not as_json:
                err.print(escape(exc.render()), highlight=False)
        except LabctlError as exc:
            bad = True
            results.append({"file": str(f), "valid": False, "errors": [{"message": exc.message, "hint": exc.hint}]})
            if not as_json:
                err.print(f"{escape(exc.message)}" + (f"\n  fix: {escape(exc.hint)}" if exc.hint else ""))
    if as_json:
        _json({"valid": not bad, "files": results})
    else:
        for r in results:
            if r["valid"]:
                out.print(f"{r['file']}: ok (exercise {r['name']})", highlight=False)
    raise typer.Exit(EXIT_FAILED if bad else 0)


@exercise_app.command()
def schema(as_json: bool = typer.Option(False, "--json", help="Print as JSON (the only format; accepted for symmetry).")):
    """The JSON schema of exercise files (for editors; `exercise validate` checks more).

    Example: labctl exercise schema > exercise.schema.json
    """
    from labctl.exercises.load import exercise_json_schema_text

    typer.echo(exercise_json_schema_text(), nl=False)
