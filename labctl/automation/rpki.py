"""The lab's RPKI cache on FRR route servers: labctl's RTR server (labctl/policy/rpki_rtr.py).

It serves /etc/labctl/roas.json on 127.0.0.1:3323 and re-reads the file when it changes (a push
of new ROAs needs no restart); it is restarted only when the script itself changes.
"""

from __future__ import annotations

from labctl.automation import shell
from labctl.render import NODE_PATHS

PORT = 3323
PIDFILE = "/run/labctl-rpki-rtr.pid"
LOG = "/var/log/labctl-rpki-rtr.log"


def _running(conn, node: str) -> bool:
    rc, _ = shell.run(conn, f"test -f {PIDFILE} && kill -0 $(cat {PIDFILE}) 2>/dev/null", node, check=False)
    return rc == 0


def ensure_cache(conn, node: str, files: dict[str, str], changed: list[str]) -> None:
    """Install the cache and its ROAs, and make sure it listens before bgpd connects to it."""
    for name in ("roas.json", "rpki-rtr.py"):
        if name in changed:
            shell.put_file(conn, NODE_PATHS[name], files[name], node)
    running = _running(conn, node)
    if running and "rpki-rtr.py" in changed:
        shell.run(conn, f"kill $(cat {PIDFILE}) 2>/dev/null; rm -f {PIDFILE}; sleep 0.3", node, check=False)
        running = False
    if not running:  # the cache writes its pid file itself once it listens
        shell.run(conn, f"(setsid python3 {NODE_PATHS['rpki-rtr.py']} {NODE_PATHS['roas.json']} --port {PORT} "
                        f"--pidfile {PIDFILE} >>{LOG} 2>&1 < /dev/null &)", node)
    probe = (f"bash -c 'for i in $(seq 50); do test -s {PIDFILE} && (echo > /dev/tcp/127.0.0.1/{PORT}) 2>/dev/null && exit 0; "
             "sleep 0.1; done; exit 1'")
    rc, _ = shell.run(conn, probe, node, check=False, timeout=30)
    if rc != 0:
        _, log = shell.run(conn, f"tail -5 {LOG}", node, check=False)
        raise shell.NodeCommandError(node, "rpki-rtr.py", rc, f"the RPKI cache does not listen on port {PORT}: {log}")
