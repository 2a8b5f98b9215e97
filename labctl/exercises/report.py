"""An exercise's record as Markdown (for the trainee or instructor) and JUnit XML (for CI and class
tools), from the state kept in the lab folder. Pure."""

from __future__ import annotations

import socket
import time
from xml.sax.saxutils import escape, quoteattr

from labctl.exercises.load import LoadedExercise
from labctl.exercises.state import ExerciseState
from labctl.exercises.text import ui


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def latest(state: ExerciseState) -> dict[str, dict]:
    """Each check's last result, with when it first passed and how many runs it took."""
    out: dict[str, dict] = {}
    for n, run in enumerate(state.checks, 1):
        for r in run["results"]:
            row = out.setdefault(r["id"], {"first_pass": None, "runs": 0})
            row.update(r)
            row["runs"] += 1
            row["t"] = run["t"]
            if r["passed"] and row["first_pass"] is None:
                row["first_pass"] = run["t"]
    return out


def to_markdown(loaded: LoadedExercise, state: ExerciseState, lang: str = "en") -> str:
    ex, t = loaded.exercise, ui(lang)
    rows = latest(state)
    lines = [f"# {t['exercise']}: {ex.title.get(lang)} (`{ex.name}`)", "",
             f"- {t['lab']}: `{state.lab}`, {t['router']}: `{state.trainee}`",
             f"- {t['started']}: {_when(state.started)}",
             f"- {t['checks_run']}: {len(state.checks)}, {t['hints_shown']}: {len(state.hints)}/{len(ex.hints)}"]
    if state.solved_by_reference:
        lines.append(f"- {t['solved_by_reference']}")
    lines += ["", f"| {t['check']} | {t['result']} | {t['observed']} | {t['first_pass']} |", "|---|---|---|---|"]
    for c in ex.checks:
        row = rows.get(c.id)
        if row is None:
            lines.append(f"| {c.title.get(lang)} | {t['not_run']} | | |")
            continue
        status = t["pass"] if row["passed"] else t["fail"]
        observed = row["observed"][lang].replace("|", "\\|")
        first = _when(row["first_pass"]) if row["first_pass"] else ""
        lines.append(f"| {c.title.get(lang)} | {status} | {observed} | {first} |")
    lines += ["", f"## {t['history']}", ""]
    for h in state.history:
        extra = ""
        if h["action"] == "check":
            extra = f": {sum(r['passed'] for r in h['results'])}/{len(h['results'])} {t['passed_word']}"
        if h.get("hint") is not None:
            extra += f" ({t['hint']} {h['hint'] + 1})"
        lines.append(f"- {_when(h['t'])} {h['action']}{extra}")
    return "\n".join(lines) + "\n"


def to_junit(loaded: LoadedExercise, state: ExerciseState) -> str:
    """One test case per check, judged by its latest run (none run: an error, never a pass)."""
    rows = latest(state)
    cases, failures, errors = [], 0, 0
    for c in loaded.exercise.checks:
        row = rows.get(c.id)
        head = f'    <testcase classname={quoteattr("exercise." + state.exercise)} name={quoteattr(c.id)} time="0">'
        if row is None:
            errors += 1
            cases.append(f'{head}\n      <error message="never checked"/>\n    </testcase>')
            continue
        out = (f"{c.title.en.strip()}\nexpected: {row['expected']['en']}\nobserved: {row['observed']['en']}\n"
               f"checked {row['runs']} time(s), last {_when(row['t'])}")
        body = f"      <system-out>{escape(out)}</system-out>"
        if not row["passed"]:
            failures += 1
            body = f"      <failure message={quoteattr(row['observed']['en'][:300])}>{escape(out)}</failure>\n" + body
        cases.append(f"{head}\n{body}\n    </testcase>")
    suite = (f'  <testsuite name={quoteattr("labctl.exercise." + state.exercise)} tests="{len(cases)}" '
             f'failures="{failures}" errors="{errors}" hostname={quoteattr(socket.gethostname())} '
             f'timestamp="{time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(state.started))}">')
    props = (f'    <properties><property name="lab" value={quoteattr(state.lab)}/>'
             f'<property name="trainee" value={quoteattr(state.trainee)}/>'
             f'<property name="hints_shown" value="{len(state.hints)}"/>'
             f'<property name="solved_by_reference" value="{str(state.solved_by_reference).lower()}"/></properties>')
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>", suite, props, *cases,
                      "  </testsuite>", "</testsuites>"]) + "\n"
