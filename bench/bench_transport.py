#!/usr/bin/env python3
"""File transfer and command transports to one lab node, measured side by side.

Usage: .venv/bin/python bench/bench_transport.py [--size-kb 300] [--commands 30] [--runs 3]

Starts one labctl node container on Docker's default bridge (no lab), reachable over SSH with a
throw-away key, and times on it, per candidate: upload + read back of a file of --size-kb
(an FRR route-server config is 50-560 KB), and --commands small commands with their exit status.
Candidates, all on one SSH connection opened beforehand (its set-up timed apart):
- scrapli-shell: scrapli's system transport, interactive shell, files as base64 in 2,000-character
  printf lines (labctl before this benchmark: automation/shell.py at fa25463);
- paramiko-exec: paramiko, one exec channel per command (exit status from the protocol), a file
  as the stdin of `cat > tmp && mv` (one channel per file) and read back with `cat`;
- paramiko-sftp: paramiko's SFTP client on the same transport for the files, exec for commands;
- openssh-mux: the `ssh` client per command over an OpenSSH ControlMaster connection, file as stdin.
Wall and process CPU (user+sys of this Python process, and of its children for openssh-mux).
Writes bench/results/transport.json.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import now, table, write_result

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHUNK = 2000


def cpu() -> float:
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


class ScrapliShell:
    name = "scrapli-shell"

    def __init__(self, host: str, key: str):
        from scrapli.driver.generic import GenericDriver
        self.conn = GenericDriver(host=host, auth_username="root", auth_private_key=key, auth_strict_key=False,
                                  transport="system", ssh_config_file=False, comms_prompt_pattern=r"^labctl:[\w.-]+# ?$",
                                  timeout_ops=60)
        self.conn.open()
        self.conn.send_command("set +o emacs +o vi; stty cols 4096 -echoctl 2>/dev/null; export LC_ALL=C")

    def run(self, cmd: str) -> tuple[int, str]:
        text = self.conn.send_command(f"{cmd}; echo __rc=$?").result
        i = text.rfind("__rc=")
        return int(text[i + 5:].split()[0]), text[:i]

    def put(self, path: str, data: bytes) -> None:
        enc = base64.b64encode(data).decode()
        self.run(": > /tmp/up.b64")
        for i in range(0, len(enc), CHUNK):
            self.run(f"printf %s {enc[i:i + CHUNK]} >> /tmp/up.b64")
        self.run(f"base64 -d /tmp/up.b64 > {path}")

    def get(self, path: str) -> bytes:
        return base64.b64decode("".join(self.run(f"base64 -w0 {path}")[1].split()))

    def close(self):
        self.conn.close()


class ParamikoExec:
    name = "paramiko-exec"

    def __init__(self, host: str, key: str):
        import paramiko
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        import socket
        sock = socket.create_connection((host, 22), timeout=15)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # else ~40 ms per exchange (Nagle + delayed ACK)
        self.client.connect(host, username="root", key_filename=key, look_for_keys=False, allow_agent=False, sock=sock)
        self.transport = self.client.get_transport()

    def _exec(self, cmd: str, stdin: bytes = b"") -> tuple[int, bytes]:
        ch = self.transport.open_session()
        ch.set_combine_stderr(True)
        ch.exec_command(cmd)
        if stdin:
            ch.sendall(stdin)
        ch.shutdown_write()
        out = bytearray()
        while True:
            data = ch.recv(65536)
            if not data:
                break
            out += data
        rc = ch.recv_exit_status()
        ch.close()
        return rc, bytes(out)

    def run(self, cmd: str) -> tuple[int, str]:
        rc, out = self._exec(cmd)
        return rc, out.decode()

    def put(self, path: str, data: bytes) -> None:
        q = shlex.quote(path)
        rc, out = self._exec(f"cat > {q}.tmp && mv {q}.tmp {q}", data)
        assert rc == 0, out

    def get(self, path: str) -> bytes:
        return self._exec(f"cat {shlex.quote(path)}")[1]

    def close(self):
        self.client.close()


class ParamikoSftp(ParamikoExec):
    name = "paramiko-sftp"

    def __init__(self, host: str, key: str):
        super().__init__(host, key)
        self.sftp = self.client.open_sftp()

    def put(self, path: str, data: bytes) -> None:
        with self.sftp.open(path + ".tmp", "wb") as f:
            f.set_pipelined(True)
            f.write(data)
        self.sftp.posix_rename(path + ".tmp", path)

    def get(self, path: str) -> bytes:
        with self.sftp.open(path, "rb") as f:
            f.prefetch()
            return f.read()


class OpensshMux:
    name = "openssh-mux"

    def __init__(self, host: str, key: str):
        self.dir = tempfile.mkdtemp(prefix="mux-")
        self.base = ["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                     "-o", "LogLevel=ERROR", "-o", f"ControlPath={self.dir}/c", "-o", "ControlMaster=auto",
                     "-o", "ControlPersist=60", "-F", "/dev/null", f"root@{host}"]
        subprocess.run(self.base + ["true"], check=True)

    def _exec(self, cmd: str, stdin: bytes = b"") -> tuple[int, bytes]:
        p = subprocess.run(self.base + [cmd], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return p.returncode, p.stdout

    run = ParamikoExec.run
    put = ParamikoExec.put
    get = ParamikoExec.get

    def close(self):
        subprocess.run(self.base[:-1] + ["-O", "exit", self.base[-1]], capture_output=True)


CANDIDATES = [ScrapliShell, ParamikoExec, ParamikoSftp, OpensshMux]


def measure(cls, host: str, key: str, data: bytes, commands: int) -> dict:
    t0, c0 = time.monotonic(), cpu()
    conn = cls(host, key)
    t1, c1 = time.monotonic(), cpu()
    conn.put("/tmp/bench-file", data)
    t2, c2 = time.monotonic(), cpu()
    back = conn.get("/tmp/bench-file")
    t3, c3 = time.monotonic(), cpu()
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest(), f"{cls.name}: file differs"
    for i in range(commands):
        rc, out = conn.run(f"echo {i}; test {i % 2} = 0")
        assert rc == i % 2 and out.strip() == str(i), (cls.name, rc, out)
    t4, c4 = time.monotonic(), cpu()
    conn.close()
    return {"connect": (t1 - t0, c1 - c0), "put": (t2 - t1, c2 - c1), "get": (t3 - t2, c3 - c2),
            "commands": (t4 - t3, c4 - c3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-kb", type=int, default=300)
    ap.add_argument("--commands", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--image", default=None, help="node image (default: labctl's trixie node image)")
    args = ap.parse_args(argv)
    from labctl.runtime.images import ensure_node_image
    image = args.image or ensure_node_image()
    data = (os.urandom(args.size_kb * 512).hex()).encode()[: args.size_kb * 1024]
    with tempfile.TemporaryDirectory() as tmp:
        key = f"{tmp}/key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        name = f"labctl-bench-transport-{os.getpid()}"
        subprocess.run(["docker", "run", "-d", "--name", name, "-v", f"{key}.pub:/root/.ssh/authorized_keys:ro", image],
                       check=True, capture_output=True)
        try:
            host = subprocess.run(["docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name],
                                  check=True, capture_output=True, text=True).stdout.strip()
            subprocess.run(["docker", "exec", name, "sh", "-c", "for i in $(seq 300); do pgrep -x sshd >/dev/null "
                            "&& exit 0; sleep 0.1; done; exit 1"], check=True)
            time.sleep(1)
            samples: dict[str, list[dict]] = {c.name: [] for c in CANDIDATES}
            for _ in range(args.runs):
                for cls in CANDIDATES:
                    samples[cls.name].append(measure(cls, host, key, data, args.commands))
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    med = {name: {step: [round(statistics.median(s[step][k] for s in runs), 3) for k in (0, 1)]
                  for step in runs[0]} for name, runs in samples.items()}
    rows = [[name, *(f"{m[s][0]:.3f} ({m[s][1]:.3f})" for s in ("connect", "put", "get", "commands")),
             f"{m['commands'][0] / args.commands * 1000:.1f}"] for name, m in med.items()]
    print(table(["transport", "connect s (CPU)", f"put {args.size_kb} KB s (CPU)", "read back s (CPU)",
                 f"{args.commands} commands s (CPU)", "ms/command"], rows))
    write_result("transport", {"date": now(), "size_kb": args.size_kb, "commands": args.commands, "runs": args.runs,
                               "median_wall_cpu": med, "samples": samples})
    return 0


if __name__ == "__main__":
    sys.exit(main())
