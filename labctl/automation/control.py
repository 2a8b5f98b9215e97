"""labctl's control-socket transport: show commands put to a node's routing daemon from the host.

Each node's daemon socket folder is bound to the lab folder (render: `control_binds`), so the
daemon's unix socket is a file on this machine; a unix socket works across mount and network
namespaces. Asking through it costs one connect and a few reads (about a millisecond) instead of an
SSH session, an exec channel, a shell and a vtysh or birdc process on the node, so polls of 100
nodes are cheap. Two protocols, the ones the daemons' own CLIs speak:

- FRR (`vty`, lib/vty.c and vtysh/vtysh.c): the client writes the command NUL-terminated; the
  daemon answers with the output and then `\\0\\0\\0<status>` (0 success, 1 warning: vtysh -c takes
  both as success). vtysh first sends `enable`; so does this client.
- BIRD (`bird`, client/client.c): a greeting `0001 BIRD x ready.`; the client writes one command
  per line; each reply line is `NNNN-text` (more follows), ` text` (continuation of the last
  code) or `NNNN text` (the last line); codes >= 8000 are errors. The text is rendered the way
  birdc prints it (code 0 lines left out), greeting included, so parsers see birdc's output.

OpenBGPD's bgpctl socket speaks imsg (binary, version-bound structs): not done here, it stays on SSH.

Where the socket is not there or does not answer (the daemon is down, the node runs on a remote
engine, an old lab without the binds, a non-root labctl), `ask` returns None and the daemon module
runs its CLI over SSH as before: that path decides what a down daemon looks like.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path
from typing import Any, Sequence

from nornir.core.configuration import Config

from labctl.automation.ssh import NodeTimeout, trace
from labctl.daemons.base import ControlSocket
from labctl.errors import LabctlError

CONNECTION = "labctl-control"
SWITCH = "LABCTL_CONTROL"  # "ssh": never use the sockets (a comparison, a suspected socket problem)
READ = 65536
TIMEOUT = 60.0  # s for one command's whole answer (a route server's full table is the largest)
VTY_OK = (0, 1)  # CMD_SUCCESS, CMD_WARNING: what `vtysh -c` accepts
_TERMINATOR = b"\0\0\0"


class ControlError(LabctlError):
    """The daemon answered through its socket, but refused the command or broke the protocol."""


def enabled() -> bool:
    return os.environ.get(SWITCH, "").lower() != "ssh"


def _connect(path: Path, timeout: float) -> socket.socket:
    """A connected unix socket. The path goes through an O_PATH handle of its folder: a lab folder
    deep in the tree would exceed sun_path's 108 bytes."""
    folder = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + timeout
    try:
        sock.settimeout(timeout)
        while True:
            try:
                sock.connect(f"/proc/self/fd/{folder}/{path.name}")
                return sock
            except BlockingIOError:  # EAGAIN: the daemon's accept backlog is full (it is busy)
                if time.monotonic() >= deadline:
                    raise NodeTimeout(f"{path.name}: the daemon accepted no connection in {timeout:g} s") from None
                time.sleep(0.05)
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(folder)


def _recv(sock: socket.socket, deadline: float, label: str) -> bytes:
    left = deadline - time.monotonic()
    if left <= 0:
        raise NodeTimeout(f"{label} timed out")
    sock.settimeout(left)
    try:
        data = sock.recv(READ)
    except socket.timeout:
        raise NodeTimeout(f"{label} timed out") from None
    if not data:
        raise ControlError(f"{label}: the daemon closed its control socket mid-answer")
    return data


def vty_exchange(sock: socket.socket, command: str, deadline: float, label: str) -> tuple[int, str]:
    """One command on an FRR vty socket: (status, output)."""
    sock.sendall(command.encode() + b"\0")
    buf = bytearray()
    while not (len(buf) >= 4 and buf[-4:-1] == _TERMINATOR):
        buf += _recv(sock, deadline, label)
    return buf[-1], buf[:-4].decode(errors="replace")


class BirdReader:
    """BIRD's reply lines from a socket, rendered the way birdc prints them."""

    def __init__(self, sock: socket.socket, label: str):
        self.sock, self.label, self.pending = sock, label, bytearray()

    def reply(self, deadline: float) -> tuple[int, str]:
        """Up to and including the reply's last line: (its code, the printed text)."""
        out: list[str] = []
        while True:
            end = self.pending.find(b"\n")
            while end < 0:
                self.pending += _recv(self.sock, deadline, self.label)
                end = self.pending.find(b"\n")
            line = self.pending[:end].decode(errors="replace")
            del self.pending[:end + 1]
            if line.startswith("+"):  # asynchronous message
                out.append(">>> " + line[1:])
            elif line.startswith(" "):  # continuation of the previous code
                out.append(line[1:])
            elif len(line) > 4 and line[:4].isdigit() and line[4] in " -":
                code = int(line[:4])
                if code:
                    out.append(line[5:])
                if line[4] == " ":
                    return code, "".join(f"{x}\n" for x in out)
            else:
                out.append(f"??? <{line}>")


class Control:
    """One node's daemon sockets, as the lab folder holds them: `ask` opens the socket of the
    node's current daemon for each call (a daemon restart or a replaced container needs nothing)."""

    def __init__(self, directory: str, name: str, timeout: float = TIMEOUT):
        self.directory, self.name, self.timeout = Path(directory), name, timeout

    def ask(self, control: ControlSocket | None, commands: Sequence[str]) -> list[str] | None:
        """Each command's answer as the daemon's CLI prints it; None when the socket is absent or
        refuses the connection (the caller uses SSH). Raises ControlError when the daemon refuses
        a command, NodeTimeout when it does not finish in time."""
        if control is None or not enabled():
            return None
        path = self.directory / control.socket
        started = time.monotonic()
        label = f"{self.name}: `{'; '.join(commands)}` on {control.socket}"[:240]
        try:
            sock = _connect(path, self.timeout)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.EACCES, errno.ENOTDIR, errno.ENOTSOCK):
                return None  # no daemon listening here (down, remote engine, no bind): SSH knows
            raise
        deadline = started + self.timeout
        try:
            answers = (self._vty if control.protocol == "vty" else self._bird)(sock, commands, deadline, label)
        except OSError as exc:
            raise ControlError(f"{label}: {exc}") from exc
        finally:
            sock.close()
        trace(self.name, f"socket {control.socket}: {'; '.join(commands)}", started, 0)
        return answers

    def _vty(self, sock: socket.socket, commands: Sequence[str], deadline: float, label: str) -> list[str]:
        out = []
        for command in ["enable", *commands]:  # as vtysh does before -c commands
            status, text = vty_exchange(sock, command, deadline, label)
            if status not in VTY_OK:
                raise ControlError(f"{self.name}: `{command}` failed (vty status {status}): {text.strip()[-600:]}")
            out.append(text)
        return out[1:]

    def _bird(self, sock: socket.socket, commands: Sequence[str], deadline: float, label: str) -> list[str]:
        reader = BirdReader(sock, label)
        _, greeting = reader.reply(deadline)  # "BIRD 2.17.6 ready.": birdc prints it before each answer
        out = []
        for command in commands:
            sock.sendall(command.encode() + b"\n")
            code, text = reader.reply(deadline)
            if code >= 8000:
                raise ControlError(f"{self.name}: `birdc {command}` failed ({code}): {text.strip()[-600:]}")
            out.append(greeting + text)
        return out


class ControlConnection:
    """Nornir connection plugin: `task.host.get_connection(CONNECTION, config)` gives the node's
    `Control` (nothing is held open between calls)."""

    def open(self, hostname: str | None, username: str | None, password: str | None, port: int | None,
             platform: str | None, extras: dict[str, Any] | None = None, configuration: Config | None = None) -> None:
        extras = extras or {}
        self.connection = Control(extras["directory"], extras.get("name", hostname or ""))

    def close(self) -> None:
        pass
