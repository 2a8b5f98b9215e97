"""The RPKI-to-Router cache on a route server: StayRTR serving the lab's ROA set.

Every route server with ROAs runs StayRTR (Debian's `stayrtr` package, in the node image) on
port PORT (of every address: the route server's own daemon connects to 127.0.0.1, and a member
may use it as its validator over the peering LAN, as some IXs offer). It reads the lab's ROA set from ROA_FILE, a file in rpki-client's JSON format
that labctl renders, and serves it over RTR (RFC 8210) to the routing daemon on the same node:
FRR's `rpki` module, BIRD's `protocol rpki`. A `labctl push` that changes the ROAs writes the new
file and sends StayRTR a SIGHUP: it re-reads the file at once, bumps its serial and sends every
connected router a Serial Notify, so the daemon fetches the difference without restarting and
without touching a BGP session. (StayRTR also re-reads the file every REFRESH seconds and logs
"File ... is identical to the previous version" when nothing changed: harmless.)

The daemon modules call `files`, `ensure`, `rollback` and `retire` from their own methods, and
read the daemon-side ROA tables with their own commands, comparing them with `vrps`.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Callable

from labctl.daemons.base import NodeCommandFailed, NodeShell

if TYPE_CHECKING:
    from labctl.policy.build import RsPolicy

PROCESS = "stayrtr"  # `pgrep -x` name (resource sampling counts it with the route server's daemon)
PORT = 8282
ADDRESS = "127.0.0.1"
METRICS = "127.0.0.1:9847"  # Prometheus metrics (rpki_vrps) and the served set as JSON (/rpki.json)
ROA_FILE = "/etc/labctl/rpki/rpki.json"
FILES = {"rpki.json": ROA_FILE}  # name in the node's config folder -> path in the node
PIDFILE = "/run/labctl-stayrtr.pid"
LOG = "/var/log/labctl-stayrtr.log"
REFRESH = 30  # StayRTR re-reads the file this often anyway (s)
RTR_REFRESH, RTR_RETRY, RTR_EXPIRE = 60, 10, 7200  # what it tells the routers (End of Data, RFC 8210)
# -checktime=false: the lab's ROA file carries no build time a real validator would sign off
COMMAND = (f"stayrtr -cache {ROA_FILE} -bind :{PORT} -refresh {REFRESH} -checktime=false -protocol 1 "
           f"-rtr.refresh {RTR_REFRESH} -rtr.retry {RTR_RETRY} -rtr.expire {RTR_EXPIRE} -metrics.addr {METRICS}")

SYNC_TIMEOUT = 60  # how long a push waits for a daemon's ROA table to match the rendered file (s)

Vrp = tuple[str, int, int]  # (prefix, max length, origin ASN)


# ---------------------------------------------------------------------------------- pure

def roa_json(policy: RsPolicy) -> str:
    """The lab's ROA set in rpki-client's JSON output format (what StayRTR reads)."""
    roas = [{"asn": f"AS{r.asn}", "prefix": str(r.prefix), "maxLength": r.max_length, "ta": "labctl"}
            for r in policy.roas]
    meta = {"vrps": len(roas), "generator": "labctl: the lab's ROA set (ix.policy.rpki)"}
    lines = ",\n".join(f"  {json.dumps(r)}" for r in roas)  # one ROA a line: diffs of a push stay readable
    return f'{{\n "metadata": {json.dumps(meta)},\n "roas": [\n{lines}\n ]\n}}\n'


def files(policy: RsPolicy | None) -> dict[str, str]:
    """The cache's files for a route server (by name in its config folder); none without ROAs."""
    return {"rpki.json": roa_json(policy)} if policy is not None and policy.rpki else {}


def vrps(roa_file: str) -> set[Vrp]:
    """The VRPs a rendered ROA file holds: what the daemon's ROA table must show once in sync."""
    out = set()
    for roa in json.loads(roa_file).get("roas", []):
        out.add((roa["prefix"], int(roa["maxLength"]), int(str(roa["asn"]).upper().removeprefix("AS"))))
    return out


def parse_metrics(text: str) -> dict[str, int]:
    """StayRTR's Prometheus text: VRPs served per family ({"ipv4": n, "ipv6": n}) and the serial."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("rpki_vrps{") and 'filtered="filtered"' in line:
            afi = "ipv4" if 'ip_version="ipv4"' in line else "ipv6"
            out[afi] = int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith("rtr_serial "):
            out["serial"] = int(float(line.split()[1]))
    return out


# ---------------------------------------------------------------------------------- on a node

def running(sh: NodeShell) -> bool:
    return sh.run(f"test -f {PIDFILE} && kill -0 $(cat {PIDFILE}) 2>/dev/null", check=False)[0] == 0


def ensure(sh: NodeShell, files: dict[str, str], changed: list[str]) -> None:
    """The cache runs and serves the rendered ROA file: start it when it does not run, else make it
    re-read a changed file at once (SIGHUP). The file is replaced atomically (the previous one kept
    as rpki.json.prev for `rollback`), so StayRTR never reads half of it."""
    if "rpki.json" not in files:
        retire(sh)
        return
    if "rpki.json" in changed:
        sh.run(f"mkdir -p $(dirname {ROA_FILE}); test -f {ROA_FILE} && cp {ROA_FILE} {ROA_FILE}.prev; true")
        sh.put_file(ROA_FILE + ".new", files["rpki.json"])
        sh.run(f"mv {ROA_FILE}.new {ROA_FILE}")
    else:  # a rollback of this push must not bring back the ROAs of an older one
        sh.run(f"rm -f {ROA_FILE}.prev")
    if not running(sh):
        _start(sh)
    elif "rpki.json" in changed:
        sh.run(f"kill -HUP $(cat {PIDFILE})")


def _start(sh: NodeShell) -> None:
    sh.run(f"(setsid {COMMAND} >>{LOG} 2>&1 < /dev/null & echo $! > {PIDFILE})")
    probe = (f"bash -c 'for i in $(seq 100); do (echo > /dev/tcp/{ADDRESS}/{PORT}) 2>/dev/null && exit 0; "
             "sleep 0.1; done; exit 1'")
    if sh.run(probe, check=False, timeout=30)[0] != 0:
        log = sh.run(f"tail -5 {LOG}", check=False)[1]
        raise NodeCommandFailed(f"{sh.node}: StayRTR does not listen on {ADDRESS}:{PORT}: {log.strip()}")


def rollback(sh: NodeShell) -> str | None:
    """Back to the ROA file before the last push, served at once; returns that file (None when
    the push did not change the ROAs)."""
    if sh.run(f"test -f {ROA_FILE}.prev && mv {ROA_FILE}.prev {ROA_FILE}", check=False)[0] != 0:
        return None
    if running(sh):
        sh.run(f"kill -HUP $(cat {PIDFILE})")
    return sh.get_file(ROA_FILE)


def retire(sh: NodeShell) -> None:
    """No ROAs any more: stop the cache labctl started (by its pid file)."""
    if running(sh):
        sh.run(f"kill $(cat {PIDFILE}); rm -f {PIDFILE}", check=False)


def wait_synced(sh: NodeShell, want: object, table: Callable[[], object], what: str, check: str,
                nudge: Callable[[], object] | None = None) -> None:
    """Wait until a daemon's view of the ROAs (`table()`, read by the daemon module: its VRPs, or
    what it can tell of them) equals `want` (from the rendered ROA file, see `vrps`). `what` names
    the table and `check` the command to look at, for the error. `nudge` (the daemon module's)
    restarts a stuck RTR session when nothing has synced for NUDGE_AFTER seconds."""
    start = time.monotonic()
    deadline, next_nudge = start + SYNC_TIMEOUT, start + NUDGE_AFTER
    while True:
        have = table()
        if have == want:
            return
        if nudge is not None and time.monotonic() > next_nudge:
            nudge()
            next_nudge = time.monotonic() + NUDGE_AFTER
        if time.monotonic() > deadline:
            def size(x: object) -> str:
                return f"{len(x)} VRPs" if isinstance(x, set) else str(x)
            raise NodeCommandFailed(f"{sh.node}: {what} does not match the ROA file after {SYNC_TIMEOUT} s "
                                    f"({size(have)}, want {size(want)}): check `{check}` and {LOG}")
        time.sleep(0.1)


# Seen on a loaded host, 1 run in 6: BIRD 2.17's RTR session to a StayRTR started moments before
# dropped at once, again and again, and its ROA tables stayed empty for the whole SYNC_TIMEOUT; a
# sync normally takes under 2 s. A daemon module may then restart its RTR session.
NUDGE_AFTER = 8.0


def counts(vrp_set: set[Vrp]) -> dict[str, int]:
    """VRPs per family, {"ipv4": n, "ipv6": n}."""
    return {"ipv4": sum(1 for v in vrp_set if ":" not in v[0]), "ipv6": sum(1 for v in vrp_set if ":" in v[0])}


def parse_clients(text: str) -> list[str]:
    """Remote addresses of `ss -Htn state established sport = :PORT` (the RTR clients), sorted."""
    out = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            address = fields[3].rsplit(":", 1)[0].strip("[]")
            out.add(address.removeprefix("::ffff:"))
    return sorted(out)


def clients(sh: NodeShell) -> list[str]:
    """The addresses connected to the cache over RTR now (the node's own daemon: 127.0.0.1)."""
    return parse_clients(sh.run(f"ss -Htn state established '( sport = :{PORT} )'", check=False)[1])


def metrics(sh: NodeShell) -> dict[str, int]:
    """What the cache serves now (parse_metrics of its metrics endpoint)."""
    cmd = (f"python3 -c \"import urllib.request; print(urllib.request.urlopen('http://{METRICS}/metrics', "
           "timeout=5).read().decode())\"")
    return parse_metrics(sh.run(cmd, check=False)[1])
