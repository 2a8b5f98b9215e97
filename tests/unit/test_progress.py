"""PhaseProgress: one stamped line per message off a terminal (CI logs), a live spinner on one."""

from __future__ import annotations

import io
import re

from labctl.console import PhaseProgress, make_console


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_one_line_per_phase_with_elapsed_time_off_a_terminal():
    stream = io.StringIO()
    with PhaseProgress(make_console(file=stream), "up") as progress:
        for phase in ("generate", "generate done in 0.1 s", "configure: rs1 done", "deploy"):
            progress(phase)
    lines = stream.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [
        "up: generate", "up: generate done in 0.1 s", "up: configure: rs1 done", "up: deploy"]
    assert all(re.match(r"\[\s*\d+\.\d+s\] ", line) for line in lines)


def test_a_terminal_gets_a_live_status_not_log_lines():
    stream = Tty()
    console = make_console(file=stream)
    with PhaseProgress(console, "up") as progress:
        progress("generate")
        assert progress._status is not None
    assert not re.search(r"\[\s*\d+\.\ds\] up", stream.getvalue())  # no log-line stamp on a terminal


def test_markup_in_messages_is_printed_as_is():
    stream = io.StringIO()
    with PhaseProgress(make_console(file=stream), "test") as progress:
        progress("fault — member_list[1] [bold]x[/]")
    assert "member_list[1] [bold]x[/]" in stream.getvalue()
