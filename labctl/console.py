"""The consoles the CLI prints through.

On a terminal, rich fits tables to the window. Anywhere else (CI logs, `| tee`, `| cat`, a
file) there is no window to fit, and rich's default of 80 columns would cut cells to "Establi…";
so a console that is not a terminal gets a width no table reaches: output is complete, never
truncated, and long rows simply stay long.
"""

from __future__ import annotations

from typing import IO

from rich.console import Console

UNBOUNDED_WIDTH = 100_000


def make_console(file: IO[str] | None = None, stderr: bool = False) -> Console:
    console = Console(file=file, stderr=stderr, soft_wrap=True)
    if not console.is_terminal:
        console.width = UNBOUNDED_WIDTH
    return console
