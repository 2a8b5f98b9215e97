"""The class scoreboard: from each trainee lab's exercise history (`exercise.json`) to who passed
which check and when, as rows (terminal table), JSON and one self-contained HTML page (inline CSS,
no scripts, fonts or links; the style of report.html). Pure."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from html import escape

from labctl.classroom.roster import ClassRecord
from labctl.exercises.report import latest
from labctl.exercises.state import ExerciseState
from labctl.report.html import STYLE

WORDS = {
    "en": {"trainee": "trainee", "trainees": "trainees", "lab": "lab", "router": "router", "passed": "passed",
           "finished": "all passed at", "done": "trainees with every check passed",
           "hints": "hints", "runs": "check runs", "notes": "notes", "pass": "PASS", "fail": "FAIL",
           "not-run": "not run", "lab_down": "lab not running", "no_state": "no exercise state",
           "solved": "reference solution applied", "failed_up": "lab did not start", "class": "Class",
           "exercise": "exercise", "generated": "generated", "checks": "Checks", "was": "passed before"},
    "ja": {"trainee": "受講者", "trainees": "人", "lab": "ラボ", "router": "ルータ", "passed": "合格",
           "finished": "全合格の時刻", "done": "全チェック合格の受講者",
           "hints": "ヒント", "runs": "チェック回数", "notes": "備考", "pass": "合格", "fail": "不合格",
           "not-run": "未実施", "lab_down": "ラボ停止中", "no_state": "演習の状態なし",
           "solved": "模範解答を適用", "failed_up": "ラボ起動失敗", "class": "クラス",
           "exercise": "演習", "generated": "作成", "checks": "チェック", "was": "以前は合格"},
}


@dataclass
class Cell:
    status: str  # pass | fail | not-run
    first_pass: float | None = None  # epoch of the first passing run
    last: float | None = None  # epoch of the latest run
    runs: int = 0
    observed: dict = field(default_factory=dict)  # {en, ja} of the latest run


@dataclass
class Row:
    trainee: str
    lab: str
    router: str
    running: bool
    started: float | None
    cells: dict[str, Cell]
    passed: int
    total: int
    finished: float | None  # epoch of the first check run in which every check passed
    hints: int
    check_runs: int
    solved_by_reference: bool
    problem: str | None = None  # lab did not start / no exercise state


@dataclass
class Scoreboard:
    class_name: str
    exercise: str
    title: dict
    generated: float
    checks: list[dict]  # [{id, title: {en, ja}}] in the exercise's order
    rows: list[Row]


def _row(trainee, state: ExerciseState | None, checks: list[dict], running: bool, problem: str | None) -> Row:
    if state is None:
        cells = {c["id"]: Cell("not-run") for c in checks}
        return Row(trainee.name, trainee.lab, "", running, None, cells, 0, len(checks), None, 0, 0, False,
                   problem or "no_state")
    rows = latest(state)
    cells = {}
    for c in checks:
        r = rows.get(c["id"])
        cells[c["id"]] = (Cell("not-run") if r is None else
                          Cell("pass" if r["passed"] else "fail", r["first_pass"], r["t"], r["runs"], r["observed"]))
    ids = {c["id"] for c in checks}  # a run counts as "all passed" when every check of the exercise passed in it
    finished = next((h["t"] for h in state.checks if ids <= {x["id"] for x in h["results"] if x["passed"]}), None)
    return Row(trainee.name, trainee.lab, state.trainee, running, state.started, cells,
               sum(c.status == "pass" for c in cells.values()), len(checks), finished, len(state.hints),
               len(state.checks), state.solved_by_reference, problem)


def build(record: ClassRecord, checks: list[dict], title: dict, states: dict[str, ExerciseState | None],
          running: dict[str, bool], now: float | None = None) -> Scoreboard:
    """`checks`: [{id, title: {en, ja}}]; `states`/`running` by trainee name."""
    rows = [_row(t, states.get(t.name), checks, running.get(t.name, False),
                 "failed_up" if t.name in record.failed else None) for t in record.trainees]
    return Scoreboard(record.name, record.exercise, title, now if now is not None else time.time(), checks, rows)


def to_json(board: Scoreboard) -> dict:
    return asdict(board)


def since(t: float | None, start: float | None) -> str:
    """'+m:ss' (or '+h:mm:ss') after the trainee's lab started; '' when not known."""
    if t is None or start is None:
        return ""
    s = max(0, int(round(t - start)))
    h, rest = divmod(s, 3600)
    return f"+{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"+{rest // 60}:{rest % 60:02d}"


def clock(t: float | None) -> str:
    return "" if t is None else time.strftime("%H:%M:%S", time.gmtime(t))


def cell_text(cell: Cell, start: float | None, lang: str = "en") -> str:
    w = WORDS[lang]
    if cell.status == "pass":
        return f"{w['pass']} {since(cell.first_pass, start)}".strip()
    if cell.status == "fail":
        return w["fail"] + (f" ({w['was']} {since(cell.first_pass, start)})" if cell.first_pass else "")
    return "—"


def notes(row: Row, lang: str = "en") -> list[str]:
    w = WORDS[lang]
    out = [w[row.problem]] if row.problem else []
    if not row.running and row.problem != "failed_up":
        out.append(w["lab_down"])
    if row.solved_by_reference:
        out.append(w["solved"])
    return out


def table(board: Scoreboard, lang: str = "en") -> tuple[list[str], list[list[str]]]:
    """Header and rows of the terminal table: one row per trainee, one column per check."""
    w = WORDS[lang]
    head = [w["trainee"], w["lab"]] + [c["id"] for c in board.checks] + [w["passed"], w["finished"], w["hints"],
                                                                          w["notes"]]
    rows = []
    for r in board.rows:
        rows.append([r.trainee, r.lab] + [cell_text(r.cells[c["id"]], r.started, lang) for c in board.checks]
                    + [f"{r.passed}/{r.total}", since(r.finished, r.started), str(r.hints), "; ".join(notes(r, lang))])
    return head, rows


# ------------------------------------------------------------------ HTML

HTML_STYLE = STYLE + """
td.pass { background: #f0fdf4; } td.fail { background: #fef2f2; } td.not-run { color: #6b7280; }
td.c { text-align: center; white-space: nowrap; } .t { display: block; font-size: 11px; color: #374151; }
.badge.not-run { background: #9ca3af; } th.chk { font-family: ui-monospace, monospace; font-size: 12px; }
tr.problem td.name { box-shadow: inset 4px 0 0 #b91c1c; } .score { font-weight: 600; white-space: nowrap; }
dl.checks dt { font-family: ui-monospace, monospace; font-weight: 600; margin-top: 6px; }
dl.checks dd { margin-left: 16px; }
body { max-width: 1500px; } th, td.name, td.lab { white-space: nowrap; } .wide { overflow-x: auto; }
"""


def _cell_html(cell: Cell, start: float | None, lang: str) -> str:
    w = WORDS[lang]
    label = {"pass": w["pass"], "fail": w["fail"], "not-run": w["not-run"]}[cell.status]
    detail = ""
    if cell.status == "pass":
        detail = f"{since(cell.first_pass, start)} ({clock(cell.first_pass)})"
    elif cell.status == "fail" and cell.first_pass:
        detail = f"{w['was']} {since(cell.first_pass, start)}"
    tip = escape(cell.observed.get(lang, ""), quote=True)
    return (f'<td class="c {cell.status}" title="{tip}"><span class="badge {cell.status}">{escape(label)}</span>'
            + (f'<span class="t">{escape(detail)}</span>' if detail else "") + "</td>")


def to_html(board: Scoreboard, lang: str = "en") -> str:
    w = WORDS[lang]
    gen = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(board.generated))
    done = sum(r.passed == r.total and r.total > 0 for r in board.rows)
    head = "".join(f'<th class="chk" title="{escape(c["title"].get(lang, ""), quote=True)}">{escape(c["id"])}</th>'
                   for c in board.checks)
    out = ['<!DOCTYPE html>', f'<html lang="{lang}"><head><meta charset="utf-8">',
           f"<title>{escape(w['class'])} {escape(board.class_name)}: {escape(board.exercise)}</title>",
           f"<style>{HTML_STYLE}</style></head><body>",
           f"<h1>{escape(w['class'])} {escape(board.class_name)}: {escape(board.title.get(lang, board.exercise))}</h1>",
           f'<p class="muted">{escape(w["exercise"])} <code>{escape(board.exercise)}</code> · '
           f'{len(board.rows)} {escape(w["trainees"])} · {escape(w["generated"])} {gen}</p>',
           f'<p class="summary">{escape(w["done"])}: <b>{done}</b> / {len(board.rows)}</p>',
           f"<div class=\"wide\"><table><tr><th>{escape(w['trainee'])}</th><th>{escape(w['lab'])}</th>{head}"
           f"<th>{escape(w['passed'])}</th><th>{escape(w['finished'])}</th><th>{escape(w['hints'])}</th>"
           f"<th>{escape(w['notes'])}</th></tr>"]
    for r in board.rows:
        cells = "".join(_cell_html(r.cells[c["id"]], r.started, lang) for c in board.checks)
        out.append(f'<tr class="{"problem" if r.problem or not r.running else ""}"><td class="name"><b>{escape(r.trainee)}</b></td>'
                   f'<td class="lab"><code>{escape(r.lab)}</code></td>{cells}'
                   f'<td class="score">{r.passed}/{r.total}</td><td class="c">{escape(since(r.finished, r.started))}</td>'
                   f'<td class="c">{r.hints}</td><td>{escape("; ".join(notes(r, lang)))}</td></tr>')
    out.append("</table></div>")
    out.append(f"<h2>{escape(w['checks'])}</h2><dl class=\"checks\">")
    out += [f"<dt>{escape(c['id'])}</dt><dd>{escape(c['title'].get(lang, ''))}</dd>" for c in board.checks]
    out.append("</dl></body></html>")
    return "\n".join(out) + "\n"
