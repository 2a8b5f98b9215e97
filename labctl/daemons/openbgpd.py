"""OpenBGPD (8.8): member and route-server configs, `bgpd -n` check, `bgpctl reload`, `bgpctl -j`.

bgpd logs to syslog, and the lab nodes have none: labctl runs it in the foreground (`bgpd -d`)
piped through a small timestamper (openbgpd_log.py, /etc/labctl/bgpd-log.py) into
/var/log/bgpd.log, which the convergence observers read.

Route servers tag every reject reason as RS:1101:<reason> in their import filter and keep the
tagged route with LOCAL_PREF 0 (never preferred over an accepted path); the export filter never
announces it, and `rde evaluate all` announces the best path each member may receive (path
hiding). OpenBGPD has no BFD, no warning-only or block max-prefix action, and no keepalive
setting (keepalives go every holdtime / 3).
"""

from __future__ import annotations

import json
import re
import shlex
from datetime import datetime, timezone
from importlib.resources import files as package_files
from typing import TYPE_CHECKING

import labctl.daemons.rtr as rtr
from labctl.daemons.base import ConfigRejected, Daemon, NodeCommandFailed, NodeShell, template_env
from labctl.daemons.records import BgpSession, NodeBgp, Route, SessionChange, afi_of
from labctl.errors import LabctlError

if TYPE_CHECKING:
    from labctl.plan import Node, Plan

CONF = "/etc/bgpd.conf"
INJECT = "/etc/labctl/bgpd-scenario.conf"
LOG = "/var/log/bgpd.log"
LOGGER = "/etc/labctl/bgpd-log.py"

# bgpctl prints well-known communities by name
WELL_KNOWN = {
    "GRACEFUL_SHUTDOWN": (65535, 0), "ACCEPT_OWN": (65535, 1), "BLACKHOLE": (65535, 666),
    "NO_EXPORT": (65535, 65281), "NO_ADVERTISE": (65535, 65282), "NO_EXPORT_SUBCONFED": (65535, 65283),
    "NO_PEER": (65535, 65284), "LLGR_STALE": (65535, 6), "NO_LLGR": (65535, 7),
}

# 2026-12-01 23:41:07.532114 neighbor 192.0.2.3 (alpha): state change OpenConfirm -> Established, reason: ...
_STATE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) neighbor (\S+)(?: \(.*\))?: "
                    r"state change (\w+) -> (\w+)(?:, reason: (.*))?$")

# start in the foreground, log timestamped (no syslog in the node); the user and run directory
# come with the Debian package's sysusers/systemd files, which no init applies in a container
_START = (f"id _openbgpd >/dev/null 2>&1 || useradd -r -M -d /run/openbgpd -s /usr/sbin/nologin _openbgpd; "
          f"mkdir -p /run/openbgpd; "
          f"(setsid sh -c 'bgpd -d -f {CONF} 2>&1 | python3 {LOGGER} {LOG}' "
          f"</dev/null >/dev/null 2>&1 &); "
          "for i in $(seq 100); do bgpctl show summary >/dev/null 2>&1 && break; sleep 0.1; done")
_VERSION = re.compile(r"OpenBGPD (\d+(?:\.\d+)+)")
_STOP = "pkill -TERM -x bgpd; for i in $(seq 100); do pgrep -x bgpd >/dev/null || break; sleep 0.1; done"


# ---------------------------------------------------------------------------------- parsers (pure)

def _doc(text: str) -> dict:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}


def parse_neighbors(text: str) -> list[BgpSession]:
    """`bgpctl -j show neighbor`: one session per neighbor, with received/sent prefix counts."""
    out = []
    for n in _doc(text).get("neighbors", []):
        address = n.get("remote_addr", "")
        prefixes = (n.get("stats") or {}).get("prefixes") or {}
        received = int(prefixes.get("received", 0) or 0)
        out.append(BgpSession(address, afi_of(address), n.get("state", "Unknown"), received=received,
                              accepted=received, sent=int(prefixes.get("sent", 0) or 0),
                              uptime=str(n.get("last_updown", "")), description=n.get("description", "")))
    return out


def parse_rib_prefixes(text: str) -> dict[str, list[str]]:
    """`bgpctl -j show rib`: the prefixes with a best (usable) path, per family."""
    routes: dict[str, set[str]] = {"ipv4": set(), "ipv6": set()}
    for r in _doc(text).get("rib", []):
        if r.get("best"):
            routes[afi_of(r["prefix"])].add(r["prefix"])
    return {afi: sorted(p) for afi, p in routes.items()}


def _community(text: str) -> tuple[int, int] | None:
    if text in WELL_KNOWN:
        return WELL_KNOWN[text]
    m = re.fullmatch(r"(\d+):(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def parse_rib(text: str) -> list[Route]:
    """`bgpctl -j show rib [PREFIX] detail`: every path with its attributes. A route server's
    rejected routes are in it, tagged RS:1101:<reason> (Route.rejected reads the tag)."""
    out = []
    for r in _doc(text).get("rib", []):
        neighbor = r.get("neighbor") or {}
        descr = neighbor.get("description", "")
        out.append(Route(
            r["prefix"], afi_of(r["prefix"]), neighbor.get("remote_addr", ""),
            [int(a) for a in re.findall(r"\d+", r.get("aspath", "") or "")], r.get("exit_nexthop", ""),
            [c for c in (_community(t) for t in r.get("communities", [])) if c],
            [tuple(int(x) for x in t.split(":")) for t in r.get("large_communities", [])],  # type: ignore[misc]
            r.get("localpref"), bool(r.get("best")), peer_name=descr.split(" (")[0] if descr != "LOCAL" else ""))
    return out


def parse_neighbor_detail(text: str) -> dict:
    """`bgpctl -j show neighbor ADDRESS` -> state, last error, received prefixes, resets (the
    NOTIFICATIONs sent and received: every reset of an established session has one)."""
    neighbors = _doc(text).get("neighbors") or [{}]
    n = neighbors[0]
    stats = n.get("stats") or {}
    messages = stats.get("message") or {}
    notifications = sum(int((messages.get(way) or {}).get("notifications", 0) or 0) for way in ("sent", "received"))
    reasons = [str(n[k]) for k in ("last_error", "last_error_received", "last_error_sent",
                                   "last_shutdown_communication") if n.get(k)]
    return {
        "state": n.get("state", "unknown"),
        "reason": "; ".join(reasons),
        "received": int((stats.get("prefixes") or {}).get("received", 0) or 0),
        "resets": notifications,
    }


def parse_roa_counts(text: str) -> dict[str, int]:
    """`bgpctl -j show sets`: how many ROAs bgpd holds per family ({"ipv4": n, "ipv6": n})."""
    for s in _doc(text).get("sets", []):
        if s.get("type") == "ROA":
            return {"ipv4": int(s.get("num_IPv4", 0)), "ipv6": int(s.get("num_IPv6", 0))}
    return {"ipv4": 0, "ipv6": 0}


def rtr_serials(text: str) -> list[int | None]:
    """`bgpctl -j show rtr`: the serial of each established RTR session (None for one that is not)."""
    return [r.get("serial") if r.get("state") == "established" else None for r in _doc(text).get("rtrs", [])]


def parse_log(text: str, known: set[str] | None = None) -> list[SessionChange]:
    """Session changes in /var/log/bgpd.log: into Established is up, out of it is down."""
    out = []
    for line in text.splitlines():
        m = _STATE.match(line)
        if not m or "Established" not in (m.group(3), m.group(4)) or m.group(3) == m.group(4):
            continue
        if known and m.group(2) not in known:
            continue
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
        out.append(SessionChange(t, m.group(4) == "Established", m.group(2), (m.group(5) or "").strip()))
    return out


# ---------------------------------------------------------------------------------- the daemon

class OpenBgpd(Daemon):
    name = "openbgpd"
    title = "OpenBGPD"
    files = {"bgpd.conf": CONF, "bgpd-log.py": LOGGER, **rtr.FILES}
    log_path = LOG
    cli = ("bash",)  # bgpctl has no interactive mode: `labctl connect` opens a shell with bgpctl on the PATH
    cli_command = ("sh", "-c", "exec bgpctl $1", "bgpctl")  # one command string: "show rib detail"
    processes = "bgpd"  # parent, session engine, route decision engine, RTR engine
    supports_bfd = False
    # idle-hold after a failed session: 30 s, doubled (to 60 s) when it fails again soon after; no setting
    reconnect_backoff = 60.0
    # bgpctl does not say which release runs: the binary's, once the daemon answers (bgpd -V prints to stderr)
    version_command = "bgpctl show summary >/dev/null 2>&1 && bgpd -V 2>&1"
    can_originate_foreign_asns = False  # `network ... set prepend-self N` repeats its own ASN only
    capabilities = {
        "transparency": ("yes", "`transparent-as yes`, `set nexthop no-modify`"),
        "first-as": ("yes", "`peer-as != ASN` per member (not `enforce neighbor-as`, which would treat the route as withdrawn)"),
        "reserved-asn": ("yes", "`AS lo - hi` per range"),
        "as-path-length": ("yes", "`max-as-len`"),
        "transit-free": ("yes", "`AS { ... }`"),
        "next-hop": ("yes", "`nexthop` per member"),
        "bogons": ("yes", "prefix sets"),
        "prefix-length": ("yes", "`prefixlen`"),
        "irr": ("yes", "prefix sets and `source-as as-set`"),
        "rpki": ("yes", "`rtr` session to StayRTR on the route server, `ovs invalid`; bgpd re-evaluates "
                 "the routes itself when the ROAs change"),
        "max-prefix-shutdown": ("yes", "`max-prefix N` (re-opened with `bgpctl neighbor ADDRESS up`)"),
        "max-prefix-restart": ("yes", "`max-prefix N restart MINUTES`"),
        "max-prefix-warning": ("no", "OpenBGPD always closes the session: `labctl validate` rejects it"),
        "max-prefix-block": ("no", "OpenBGPD has no such action: `labctl validate` rejects it"),
        "do-not-announce": ("yes", "export filter rules"),
        "announce-to": ("yes", "export filter rules"),
        "prepend": ("yes", "`prepend-neighbor N` in the export filter (the announcing member's ASN)"),
        "graceful-shutdown": ("yes", "import filter"),
        "blackhole": ("yes", "import and export filter rules"),
        "reject-reason": ("yes", "tagged routes stay in the RIB with LOCAL_PREF 0 (never best over an accepted path) and are never exported"),
        "path-hiding": ("yes", "`rde evaluate all`"),
    }

    # ------------------------------------------------------------------ pure
    def render(self, plan: Plan, node: Node, ctx: dict) -> dict[str, str]:
        role = "rs" if node.role == "route_server" else "member"
        text = template_env().get_template(f"openbgpd/{role}.conf.j2").render(
            **ctx, extra_networks=[], rtr_address=rtr.ADDRESS, rtr_port=rtr.PORT, rtr_file=rtr.ROA_FILE)
        out = {"bgpd.conf": text, "bgpd-log.py": logger_script()}
        if node.role == "route_server":
            out.update(rtr.files(plan.policy))
        return out

    def parse_log(self, text: str, known: set[str] | None = None) -> list[SessionChange]:
        return parse_log(text, known)

    def control_script(self, action: str) -> str:
        scripts = {"stop": _STOP, "kill": "pkill -9 -x bgpd", "start": _START, "restart": f"{_STOP}; {_START}"}
        return scripts[action]

    def injection(self, plan: Plan, node: Node, announcements: list, flood: dict[str, list[str]],
                  files: dict[str, str]) -> str:
        return openbgpd_injection(plan, node, announcements, flood)

    def parse_version(self, text: str) -> str | None:
        m = _VERSION.search(text)  # "OpenBGPD 8.8"
        return f"OpenBGPD {m.group(1)}" if m else None

    # ------------------------------------------------------------------ on a node
    def running(self, sh: NodeShell) -> bool:
        return sh.run("bgpctl show summary >/dev/null 2>&1", check=False)[0] == 0

    def prepare(self, sh: NodeShell, files: dict[str, str], changed: list[str]) -> None:
        rtr.ensure(sh, files, changed)  # the RTR cache listens before bgpd connects to it

    def apply(self, sh: NodeShell, files: dict[str, str], changed: list[str], running: bool) -> None:
        if "bgpd-log.py" in changed or not running:
            sh.put_file(LOGGER, files["bgpd-log.py"])
        if running and "bgpd.conf" not in changed:
            sh.run(f"rm -f {CONF}.prev")  # a rollback of this push must not bring back an older config
        else:
            _load(sh, files, running)
        if "rpki.json" in files and (not running or "rpki.json" in changed):
            _rtr_sync(sh, files["rpki.json"])

    def rollback(self, sh: NodeShell) -> None:
        roas = rtr.rollback(sh)
        if sh.run(f"test -f {CONF}.prev && mv {CONF}.prev {CONF}", check=False)[0] == 0:
            _reload(sh)
        if roas is not None:
            _rtr_sync(sh, roas)

    def collect(self, sh: NodeShell, routes: bool = True) -> NodeBgp:
        state = NodeBgp()
        if not self.running(sh):
            return state
        state.sessions = parse_neighbors(sh.run("bgpctl -j show neighbor")[1])
        if routes:
            state.routes = parse_rib_prefixes(sh.capture("bgpctl -j show rib"))
        return state

    def looking_glass(self, sh: NodeShell, prefix: str) -> tuple[dict[str, str], list[Route]]:
        raw = {"paths": sh.run(f"bgpctl -j show rib {shlex.quote(prefix)} detail", check=False)[1]}
        return raw, parse_rib(raw["paths"])

    def collect_routes(self, sh: NodeShell, route_server: bool) -> list[Route]:
        return parse_rib(sh.capture("bgpctl -j show rib detail"))

    def inject(self, sh: NodeShell, text: str) -> None:
        """bgpd reloads only the file it was started with: the injected config takes its place for
        the reload, and the rendered one is back on disk right after (`restore` reloads it)."""
        sh.put_file(INJECT, text)
        rc, out = sh.run(f"bgpd -n -f {INJECT} 2>&1", check=False)
        if rc != 0:
            raise NodeCommandFailed(f"{sh.node}: OpenBGPD rejected the scenario config: {out.strip()[-600:]}")
        rc, out = sh.run(f"cp {CONF} {CONF}.labctl-keep && cp {INJECT} {CONF} && bgpctl reload 2>&1; rc=$?; "
                         f"mv {CONF}.labctl-keep {CONF}; test $rc -eq 0", check=False, timeout=60)
        if rc != 0 or "request processed" not in out:
            raise NodeCommandFailed(f"{sh.node}: bgpctl reload of the scenario config failed: {out.strip()[-300:]}")

    def restore(self, sh: NodeShell) -> None:
        """Reload the config on disk; sessions the injection cost are started: OpenBGPD would
        otherwise wait out its idle-hold timer (30 s, doubling) first."""
        sh.run(f"test -f {CONF}.labctl-keep && mv {CONF}.labctl-keep {CONF}; true")
        _reload(sh)
        sh.run(f"rm -f {INJECT}", check=False)
        _wake_idle(sh)

    def session_detail(self, sh: NodeShell, key: str, address: str) -> dict:
        return parse_neighbor_detail(sh.capture(f"bgpctl -j show neighbor {shlex.quote(address)}"))

    def wake_sessions(self, sh: NodeShell) -> None:
        _wake_idle(sh)

    def reopen_session(self, sh: NodeShell, key: str, address: str) -> None:
        """After a max-prefix shutdown the session stays Idle (no idle-hold timer, incoming
        connections refused) until `up` starts it."""
        sh.run(f"bgpctl neighbor {shlex.quote(address)} up", check=False)


def logger_script() -> str:
    return package_files("labctl.daemons").joinpath("openbgpd_log.py").read_text()


def _load(sh: NodeShell, files: dict[str, str], running: bool) -> None:
    """Check bgpd.conf with `bgpd -n`, keep the old one as *.prev, then reload or start bgpd."""
    sh.put_file(CONF + ".new", files["bgpd.conf"])
    rc, out = sh.run(f"bgpd -n -f {CONF}.new 2>&1", check=False)
    if rc != 0:
        sh.run(f"rm -f {CONF}.new")
        raise ConfigRejected(f"{sh.node}: OpenBGPD rejected the rendered config: {out.strip()[-500:]}")
    sh.run(f"test -f {CONF} && cp {CONF} {CONF}.prev; mv {CONF}.new {CONF}")
    if running:
        _reload(sh)
    else:
        _start(sh)


def _rtr_sync(sh: NodeShell, roa_file: str) -> None:
    """Wait until bgpd holds the rendered ROA set: bgpctl tells only how many ROAs it has per family,
    so also until its RTR session is at StayRTR's serial. bgpd re-evaluates its routes by itself
    then ("RPKI softreload"). OpenBGPD 8.8 asked for the new serial about 2 s after the Serial Notify."""
    def state() -> tuple[dict[str, int], bool]:
        sets = sh.run("bgpctl -j show sets", check=False)[1]
        sessions = sh.run("bgpctl -j show rtr", check=False)[1]
        return parse_roa_counts(sets), rtr_serials(sessions) == [rtr.metrics(sh).get("serial")]
    rtr.wait_synced(sh, (rtr.counts(rtr.vrps(roa_file)), True), state, "bgpd's RPKI ROA set", "bgpctl show rtr")


def _start(sh: NodeShell) -> None:
    sh.run(_START, timeout=60)
    if sh.run("bgpctl show summary >/dev/null 2>&1", check=False)[0] != 0:
        log = sh.run(f"tail -5 {LOG}", check=False)[1]
        raise NodeCommandFailed(f"{sh.node}: bgpd did not start: {log.strip()[-400:]}")


def _wake_idle(sh: NodeShell) -> None:
    """`bgpctl neighbor X up` of every session: an Idle one starts at once, and each forgets its
    errors (bgpd resets the idle-hold time and error count; an established session stays up)."""
    for session in parse_neighbors(sh.run("bgpctl -j show neighbor", check=False)[1]):
        sh.run(f"bgpctl neighbor {shlex.quote(session.peer_address)} up", check=False)


def _reload(sh: NodeShell) -> None:
    _, out = sh.run("bgpctl reload 2>&1", check=False, timeout=60)
    if "request processed" not in out:
        raise NodeCommandFailed(f"{sh.node}: bgpctl reload did not confirm: {out.strip()[-300:]}")


def openbgpd_injection(plan: Plan, node: Node, anns: list, flood: dict[str, list[str]] | None = None) -> str:
    """The member's own bgpd.conf with the routes added as `network` statements (and to its export
    filter). OpenBGPD can repeat its own ASN (`prepend-self`) but not originate another's."""
    networks = []
    own = {"ipv4": str(node.ipv4), "ipv6": str(node.ipv6)}
    for a in anns:
        if any(asn != node.asn for asn in a.as_path):
            raise LabctlError(f"an OpenBGPD member cannot announce the path {' '.join(map(str, a.as_path))}",
                              "give cases with other ASNs in the path to a member on FRR or BIRD")
        sets = [f"prepend-self {len(a.as_path) - 1}"] if len(a.as_path) > 1 else []
        if a.next_hop != own[a.afi]:
            sets.append(f"nexthop {a.next_hop}")
        sets += [f"community {x}:{y}" for x, y in a.communities]
        sets += [f"large-community {x}:{y}:{z}" for x, y, z in a.large]
        networks.append({"prefix": a.prefix, "set": " ".join(sets)})
    for afi in ("ipv4", "ipv6"):
        networks += [{"prefix": p, "set": ""} for p in (flood or {}).get(afi, [])]
    ctx = {"node": node, "timers": plan.model.ix.bgp, "connect_retry": plan.model.ix.bgp.connect_retry,
           "extra_networks": networks}
    text = template_env().get_template("openbgpd/member.conf.j2").render(**ctx)
    return "# labctl policy scenario: hostile and steered announcements (bgpctl reload of bgpd.conf removes them)\n" + text
