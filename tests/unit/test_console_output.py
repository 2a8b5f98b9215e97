"""Output that is not a terminal (CI logs, `| tee`, `| cat`) is complete: no table cell is cut."""

from __future__ import annotations

import io

from labctl.daemons.records import BgpSession, NodeBgp
from labctl.console import make_console
from labctl.lifecycle import Convergence, Status
from labctl.report.tables import status_tables

IMAGE = "labctl/node:6a56cede3e00f00dfeedbeef"
UPTIME = "2026-12-01 10:17:35.123"  # BIRD prints a full timestamp


def _status(members: int = 8) -> Status:
    names = [f"member-with-a-long-name-{i}" for i in range(members)]
    nodes = {n: {"role": "member", "daemon": "bird", "site": "kurashiki-datacenter", "state": "running",
                 "mgmt_ipv4": f"172.20.20.{i + 10}", "image": IMAGE} for i, n in enumerate(names)}
    bgp = {n: NodeBgp(sessions=[BgpSession("2001:db8:ffff:ffff::fe", "ipv6", "Established", 123456, 123456, 7,
                                           UPTIME, "route_server_kurashiki (AS64500)")]) for n in names}
    matrix = {v: {o: {"ipv4": True, "ipv6": True} for o in names if o != v} for v in names}
    return Status("regional-ix-with-a-long-name", nodes, bgp, {}, matrix, Convergence(True, 1.0, bgp=bgp))


def _render(tables) -> str:
    stream = io.StringIO()  # not a terminal
    console = make_console(file=stream)
    for table in tables:
        console.print(table)
    return stream.getvalue()


def test_status_tables_on_a_non_terminal_are_not_truncated():
    text = _render(status_tables(_status()))
    assert "…" not in text
    for whole in (IMAGE, UPTIME, "Established", "route_server_kurashiki",
                  "member-with-a-long-name-7 (8)", "kurashiki-datacenter", "lab regional-ix-with-a-long-name"):
        assert whole in text, whole
    # each session row is one line: nothing folded either
    assert any(IMAGE in line and "kurashiki-datacenter" in line for line in text.splitlines())
    assert max(len(line) for line in text.splitlines()) > 80


def test_a_terminal_console_still_fits_its_window():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    console = make_console(file=Tty())
    assert console.is_terminal and console.width < 1000


def test_the_cli_consoles_are_unbounded_when_not_a_terminal():
    from labctl import cli
    from labctl.importers import command

    for console in (cli.out, cli.err, command.out, command.err):
        if not console.is_terminal:  # pytest captures stdout: not a terminal
            assert console.width >= 10_000
