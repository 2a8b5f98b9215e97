"""Commands and file transfer over a scrapli shell session on a lab node.

Nodes are Linux hosts reached with scrapli's generic driver; every command reports its exit
status through a marker, and files travel base64-encoded in short lines (a terminal line
holds at most 4095 characters), checked by SHA-256 on arrival.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex

from labctl.errors import LabctlError

_RC = re.compile(r"__rc=(\d+)")
CHUNK = 2000


class NodeCommandError(LabctlError):
    def __init__(self, node: str, command: str, rc: int, output: str):
        super().__init__(f"{node}: `{command}` failed (exit {rc}): {output.strip()[-600:]}")
        self.node, self.command, self.rc, self.output = node, command, rc, output


def prepare_session(conn) -> None:
    """Run once per connection: plain line input (no readline redraws that break echo matching)."""
    conn.send_command("set +o emacs +o vi; stty cols 4096 -echoctl 2>/dev/null; export LC_ALL=C", timeout_ops=15)


def run(conn, command: str, node: str = "", check: bool = True, timeout: float | None = None) -> tuple[int, str]:
    response = conn.send_command(f"{command}; echo __rc=$?", timeout_ops=timeout)
    text = response.result
    match = None
    for match in _RC.finditer(text):
        pass
    if match is None:
        raise NodeCommandError(node, command, -1, f"no exit status in output: {text[-300:]}")
    rc = int(match.group(1))
    output = text[: match.start()].rstrip("\n")
    if check and rc != 0:
        raise NodeCommandError(node, command, rc, output)
    return rc, output


def put_file(conn, path: str, content: str, node: str = "") -> None:
    data = content.encode()
    encoded = base64.b64encode(data).decode()
    staging = f"/tmp/labctl-upload-{hashlib.sha256(path.encode()).hexdigest()[:8]}.b64"
    run(conn, f": > {staging}", node)
    for i in range(0, len(encoded), CHUNK):
        run(conn, f"printf %s {encoded[i:i + CHUNK]} >> {staging}", node)
    digest = hashlib.sha256(data).hexdigest()
    q = shlex.quote(path)
    run(conn, f"mkdir -p $(dirname {q}) && base64 -d {staging} > {q} && rm -f {staging} "
              f"&& echo '{digest}  '{q} | sha256sum -c --status", node)


def get_file(conn, path: str, node: str = "") -> str | None:
    """A file's text, or None when it does not exist."""
    q = shlex.quote(path)
    rc, out = run(conn, f"test -f {q} && base64 -w0 {q}", node, check=False)
    if rc != 0:
        return None
    encoded = "".join(out.split())
    return base64.b64decode(encoded).decode(errors="replace")


def file_digest(conn, path: str, node: str = "") -> str | None:
    q = shlex.quote(path)
    rc, out = run(conn, f"sha256sum {q} 2>/dev/null | cut -d' ' -f1", node, check=False)
    digest = out.strip().splitlines()[-1] if out.strip() else ""
    return digest if rc == 0 and len(digest) == 64 else None


class NodeShell:
    """One node's command session, in the shape labctl.daemons expect (daemons.base.NodeShell)."""

    def __init__(self, conn, node: str):
        self.conn, self.node = conn, node

    def run(self, command: str, check: bool = True, timeout: float | None = None) -> tuple[int, str]:
        return run(self.conn, command, self.node, check=check, timeout=timeout)

    def put_file(self, path: str, content: str) -> None:
        put_file(self.conn, path, content, self.node)

    def get_file(self, path: str) -> str | None:
        return get_file(self.conn, path, self.node)

    def capture(self, command: str, timeout: float = 120) -> str:
        """A command's output through a file: long JSON or table output on the terminal can
        contain lines that look like a shell prompt and cut the read short."""
        out = "/tmp/labctl-capture.out"
        run(self.conn, f"{command} > {out} 2>&1", self.node, check=False, timeout=timeout)
        return get_file(self.conn, out, self.node) or ""
