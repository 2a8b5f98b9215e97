"""The consoles the CLI prints through.

On a terminal, rich fits tables to the window. Anywhere else (CI logs, `| tee`, `| cat`, a
file) there is no window to fit, and rich's default of 80 columns would cut cells to "Establi…";
so a console that is not a terminal gets a width no table reaches: output is complete, never
truncated, and long rows simply stay long.
"""

from __future__ import annotations

import json
from typing import IO, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from labctl.errors import LabctlError

UNBOUNDED_WIDTH = 100_000


def make_console(file: IO[str] | None = None, stderr: bool = False) -> Console:
    console = Console(file=file, stderr=stderr, soft_wrap=True)
    if not console.is_terminal:
        console.width = UNBOUNDED_WIDTH
    return console


def print_json(console: Console, text: str) -> None:
    """A JSON document on the console: indented like rich's `print_json`, highlighted on a terminal
    only. rich's renderer costs ~0.15 ms of CPU per line: 6.7 s for the 44,000 lines of `status
    --json` of a 100-member lab, most of what that command cost."""
    if console.is_terminal and len(text) < 100_000:
        console.print_json(text)
        return
    console.file.write(json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n")
    console.file.flush()


def fail(exc: LabctlError, as_json: bool = False) -> NoReturn:
    """End a command on a LabctlError: the message and its fix on stderr (or, with --json, as JSON on
    stdout), exit status from the error."""
    if as_json:
        print_json(make_console(), json.dumps({"ok": False, "error": exc.message, "hint": exc.hint},
                                              ensure_ascii=False))
    else:
        err = make_console(stderr=True)
        err.print(f"[bold red]error:[/] {escape(str(exc.message))}", highlight=False)
        if exc.hint:
            err.print(f"  [bold]fix:[/] {escape(exc.hint)}", highlight=False)
    raise typer.Exit(exc.exit_code)


class PhaseProgress:
    """Progress of a long command, as a callback `progress("deploy")`.

    On a terminal: a rich spinner showing the current phase. Anywhere else (CI logs): one line per
    message, stamped with the seconds since the command started, so a log shows where time goes.
    Give it the stderr console when stdout carries JSON.
    """

    def __init__(self, console: Console, label: str):
        self.console, self.label = console, label
        self._status = None
        self._started = 0.0

    def __enter__(self) -> "PhaseProgress":
        import time

        self._started = time.monotonic()
        if self.console.is_terminal:
            self._status = self.console.status(self.label)
            self._status.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)

    def __call__(self, message: str) -> None:
        import time

        if self._status is not None:
            self._status.update(f"{self.label}: {message}")
        else:
            elapsed = time.monotonic() - self._started
            self.console.print(f"[{elapsed:7.1f}s] {self.label}: {message}", markup=False, highlight=False)
