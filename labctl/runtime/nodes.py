"""A person's tools on one lab node: run a command, open its CLI, read its log, capture packets.

All of them run a command in the node: `docker exec` into its container on a Docker engine (the
image has bash, vtysh/birdc, tail and tcpdump), or whatever argv the lab's backend gives for it
(`Backend.exec_argv`: `kubectl exec ... docker exec` on clabernetes). Exit statuses pass through.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from typing import BinaryIO, Callable

from labctl.errors import LabctlError
from labctl.runtime.clab import container_name, lab_containers
from labctl.runtime.engine import LOCAL, Engine


# argv that runs (argv, keep stdin open, give a terminal) in one node
NodeExec = Callable[[list[str], bool, bool], list[str]]


def exec_argv(lab: str, node: str, argv: list[str], stdin: bool = False, tty: bool = False,
              engine: Engine = LOCAL) -> list[str]:
    """`docker exec` argv that runs `argv` in the node (-i keeps stdin open, -t gives a terminal)."""
    flags = (["-i"] if stdin or tty else []) + (["-t"] if tty else [])
    return [*engine.docker(), "exec", *flags, container_name(lab, node), *argv]


def require_running(lab: str, node: str, engine: Engine = LOCAL) -> None:
    running = {c.name: c.status for c in lab_containers(lab, engine)}
    state = running.get(container_name(lab, node))
    if state != "running":
        raise LabctlError(f"node '{node}' of lab '{lab}' is {state or 'not deployed'}",
                          "bring the lab up with `labctl up FILE` (see `labctl status`)")


def _terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def run(node_exec: NodeExec, argv: list[str], input: str | None = None, timeout: float | None = None
        ) -> subprocess.CompletedProcess:
    """Run a command in the node and capture its output (text)."""
    return subprocess.run(node_exec(argv, input is not None, False), input=input,
                          capture_output=True, text=True, timeout=timeout)


def attach(node_exec: NodeExec, argv: list[str], replace: bool = True) -> int:
    """Run `argv` in the node on this process's stdin/stdout/stderr; its exit status.

    On a terminal it gets a terminal of its own (`docker exec -it`), and with `replace` labctl
    hands the process over to docker (os.execvp) so job control and window size just work.
    Otherwise (pipes, CI) stdin is passed through and output streams as it comes."""
    tty = _terminal()
    argv = node_exec(argv, not sys.stdin.isatty() or tty, tty)
    if tty and replace:
        sys.stdout.flush()
        os.execvp(argv[0], argv)
    try:
        return subprocess.run(argv).returncode
    except KeyboardInterrupt:
        return 130


def tail_log(node_exec: NodeExec, path: str, lines: int, follow: bool) -> int:
    """The last `lines` lines of a log file in the node; with `follow`, then every new line until ^C."""
    argv = ["tail", "-n", str(lines), *(["-F"] if follow else []), path]
    if not follow:
        argv = ["sh", "-c", f"test -e {shlex.quote(path)} || {{ echo 'no {path} yet' >&2; exit 1; }}; "
                + shlex.join(argv)]
    try:
        return subprocess.run(node_exec(argv, False, False)).returncode
    except KeyboardInterrupt:  # following ends with ^C: that is the normal way out
        return 0


def capture(node_exec: NodeExec, interface: str, sink: BinaryIO | None, count: int | None = None,
            duration: float | None = None, expression: list[str] | None = None) -> int:
    """tcpdump on `interface` inside the node. `sink`: where the pcap stream goes (a file or
    stdout's buffer), packet-buffered so a reader such as `wireshark -k -i -` sees packets at
    once; None prints decoded packets as text instead. Ends after `count` packets, `duration`
    seconds or ^C; the node's tcpdump is stopped in every case (docker exec would leave it running)."""
    pidfile = f"/tmp/labctl-capture-{uuid.uuid4().hex[:12]}.pid"
    dump = ["tcpdump", "-i", interface, "-n", *(["-U", "-w", "-"] if sink is not None else ["-l"]),
            *(["-c", str(count)] if count else []), *(expression or [])]
    if duration:
        dump = ["timeout", "-s", "INT", f"{duration:g}", *dump]
    script = f"echo $$ > {pidfile}; exec {shlex.join(dump)}"
    argv = node_exec(["sh", "-c", script], False, False)
    proc = None
    try:
        proc = subprocess.Popen(argv, stdout=sink if sink is not None else None)
        rc = proc.wait()
    except KeyboardInterrupt:
        rc = 0
    finally:
        subprocess.run(node_exec(["sh", "-c", f"kill -INT $(cat {pidfile} 2>/dev/null) 2>/dev/null; "
                                             f"rm -f {pidfile}"], False, False), capture_output=True)
        if proc is not None and proc.poll() is None:
            proc.wait(timeout=10)
    return 0 if (duration and rc == 124) else rc
