"""Commands and files on a lab node, over labctl's SSH connection (automation/ssh.py).

Each command runs in its own exec channel: its exit status comes from the SSH protocol and its
output ends when the command does, so long or prompt-like output cannot cut a read short. Files
go over SFTP on the same connection (SSH's integrity checks cover them).
"""

from __future__ import annotations

from typing import Callable, Sequence

from labctl.automation.control import Control
from labctl.automation.ssh import Node
from labctl.daemons.base import ControlSocket
from labctl.errors import LabctlError

# The command's output goes to a file that is printed when it is done: a daemon the command starts
# inherits that file, not the SSH channel, so the channel ends with the command (frrinit.sh start
# leaves watchfrr holding its stderr). A subshell, so that `exit` in the command still prints it.
# LC_ALL=C: daemons' output in one locale, whatever the node's default.
WRAP = ('export LC_ALL=C; o=/tmp/.labctl-out.$$; ( {command}\n) >"$o" 2>&1 </dev/null; rc=$?; '
        'cat "$o"; rm -f "$o"; exit $rc')


class NodeCommandError(LabctlError):
    def __init__(self, node: str, command: str, rc: int, output: str):
        super().__init__(f"{node}: `{command}` failed (exit {rc}): {output.strip()[-600:]}")
        self.node, self.command, self.rc, self.output = node, command, rc, output


def run(conn: Node, command: str, node: str = "", check: bool = True, timeout: float | None = None) -> tuple[int, str]:
    rc, output = conn.exec(WRAP.format(command=command), timeout=timeout, label=command)
    output = output.rstrip("\n")
    if check and rc != 0:
        raise NodeCommandError(node or conn.name, command, rc, output)
    return rc, output


class NodeShell:
    """One node's command session, in the shape labctl.daemons expect (daemons.base.NodeShell).

    The SSH connection is opened on the first command or file: a poll the daemon's control
    socket answers (`ask`) needs none."""

    def __init__(self, conn: Node | Callable[[], Node], node: str, control: Control | None = None,
                 socket: ControlSocket | None = None):
        self._conn, self.node = conn, node
        self.control, self.socket = control, socket

    @property
    def conn(self) -> Node:
        if callable(self._conn):
            self._conn = self._conn()
        return self._conn

    def run(self, command: str, check: bool = True, timeout: float | None = None) -> tuple[int, str]:
        return run(self.conn, command, self.node, check=check, timeout=timeout)

    def put_file(self, path: str, content: str) -> None:
        self.conn.put(path, content.encode())

    def get_file(self, path: str) -> str | None:
        data = self.conn.get(path)
        return None if data is None else data.decode(errors="replace")

    def capture(self, command: str, timeout: float = 120) -> str:
        """A command's whole output (stdout and stderr), whatever its exit status."""
        return run(self.conn, command, self.node, check=False, timeout=timeout)[1]

    def ask(self, commands: Sequence[str]) -> list[str] | None:
        """The daemon's answers through its control socket (automation/control.py); None: use `run`."""
        if self.control is None:
            return None
        return self.control.ask(self.socket, commands)
