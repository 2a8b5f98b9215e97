"""FRR (bgpd + zebra, bfdd where BFD is on): member and route-server configs, frr-reload, vtysh."""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import labctl.daemons.rtr as rtr

from labctl.daemons.base import ConfigRejected, ControlSocket, Daemon, NodeCommandFailed, NodeShell, ask, template_env
from labctl.daemons.records import BgpSession, NodeBgp, Route, SessionChange, afi_of

if TYPE_CHECKING:
    from labctl.plan import Node, Plan

RUN_DIR = "/run/frr"  # vty sockets and pid files; bound to the lab folder (Frr.control)
# The daemons create their sockets after dropping to user frr: the bound folder is the host's (root's) until this chown.
INIT = f"chown frr:frr {RUN_DIR} && /usr/lib/frr/frrinit.sh"
RELOAD = "/usr/lib/frr/frr-reload.py"
CONF = "/etc/frr/frr.conf"
DAEMONS = "/etc/frr/daemons"
INJECT = "/tmp/labctl-scenario-frr.conf"
DELTA = "/tmp/labctl-frr-added.conf"  # the lines a push adds (_add_lines)
AFIS = ("ipv4", "ipv6")
# `vtysh -c 'show version'`: "FRRouting 10.3.1 (rs2) on Linux(6.8.0)."
_VERSION = re.compile(r"^FRRouting (\d+(?:\.\d+)+)", re.M)

# FRR prints well-known communities by name (RFC 1997, 7999, 8326, ...)
WELL_KNOWN = {
    "graceful-shutdown": (65535, 0), "gracefulShutdown": (65535, 0),
    "accept-own": (65535, 1), "llgr-stale": (65535, 6), "no-llgr": (65535, 7),
    "blackhole": (65535, 666), "no-export": (65535, 65281), "noExport": (65535, 65281),
    "no-advertise": (65535, 65282), "noAdvertise": (65535, 65282),
    "local-AS": (65535, 65283), "localAs": (65535, 65283), "no-peer": (65535, 65284), "noPeer": (65535, 65284),
}

# `show rpki prefix-table`: "198.18.1.0      24 -  24        64496" (address, ROA length - max length, origin)
_RPKI_ROW = re.compile(r"^\s*([0-9a-fA-F:.]+)\s+(\d+)\s*-\s*(\d+)\s+(\d+)\s*$", re.M)

# 2026/11/26 01:50:44.677489 BGP: [PXVXG-TFNNT] %ADJCHANGE: neighbor 192.0.2.1(Unknown) in vrf default Down ...
_ADJCHANGE = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+) BGP: (?:\[[^\]]*\] )?%ADJCHANGE: neighbor (\S+?)\(.*?\) "
                        r"in vrf \S+ (Up|Down)(.*)$")


# ---------------------------------------------------------------------------------- parsers (pure)

def parse_summary(text: str) -> list[BgpSession]:
    """`show bgp summary json`: one session per peer, in its own address family."""
    data = json.loads(text or "{}")
    sessions = []
    for family_key, afi in (("ipv4Unicast", "ipv4"), ("ipv6Unicast", "ipv6")):
        for address, peer in (data.get(family_key) or {}).get("peers", {}).items():
            if afi_of(address) != afi:
                continue  # labctl activates each session in its own family only
            sessions.append(BgpSession(
                address, afi, peer.get("state", "Unknown"),
                received=int(peer.get("pfxRcd", 0) or 0), accepted=int(peer.get("pfxRcd", 0) or 0),
                sent=int(peer.get("pfxSnt", 0) or 0), uptime=str(peer.get("peerUptime", "")),
                description=peer.get("desc", ""),
            ))
    return sessions


def parse_route_prefixes(text: str) -> list[str]:
    """`show bgp <afi> unicast json`: the prefixes in the table."""
    data = json.loads(text or "{}")
    return sorted((data.get("routes") or {}).keys())


def _community(text: str) -> tuple[int, int] | None:
    if text in WELL_KNOWN:
        return WELL_KNOWN[text]
    m = re.fullmatch(r"(\d+):(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def parse_table(text: str) -> list[Route]:
    """`show bgp <afi> unicast json detail`: every path with its attributes. FRR 8.4 lists a prefix's
    paths (after a header entry); FRR 10 gives an object with them under "paths"."""
    data = json.loads(text or "{}")
    out = []
    for prefix, entries in (data.get("routes") or {}).items():
        if isinstance(entries, dict):
            entries = entries.get("paths") or []
        for path in entries:
            if "aspath" not in path and "peer" not in path:
                continue  # the per-prefix header
            out.append(_path(prefix, path))
    return out


def parse_prefix(text: str) -> list[Route]:
    """`show bgp <afi> unicast PREFIX json`: the paths of one prefix."""
    data = json.loads(text or "{}")
    prefix = data.get("prefix")
    return [_path(prefix, p) for p in data.get("paths", [])] if prefix else []


def _path(prefix: str, path: dict) -> Route:
    aspath: list[int] = []
    for seg in (path.get("aspath") or {}).get("segments", []):
        aspath += [int(a) for a in seg.get("list", [])]
    if not aspath:
        aspath = [int(a) for a in re.findall(r"\d+", (path.get("aspath") or {}).get("string", "") or "")]
    hops = path.get("nexthops") or []
    nh = next((h.get("ip", "") for h in hops if h.get("scope", "global") == "global"), hops[0].get("ip", "") if hops else "")
    comms = [c for c in (_community(t) for t in ((path.get("community") or {}).get("string", "") or "").split()) if c]
    large = [tuple(int(x) for x in t.split(":")) for t in (path.get("largeCommunity") or {}).get("list", [])]
    best = path.get("bestpath", {}).get("overall", False) if isinstance(path.get("bestpath"), dict) else bool(path.get("bestpath"))
    peer = path.get("peer") or {}
    return Route(prefix, afi_of(prefix), peer.get("peerId", ""), aspath, nh, comms,  # type: ignore[arg-type]
                 large, path.get("locPrf", path.get("localpref")), best, peer_name=peer.get("hostname", ""))


def json_documents(text: str) -> list[dict]:
    """vtysh with several `-c ... json` prints the documents one after another."""
    docs, pos, dec = [], 0, json.JSONDecoder()
    text = text.strip()
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        doc, pos = dec.raw_decode(text, pos)
        docs.append(doc)
    return docs


def parse_rpki_table(text: str) -> set[rtr.Vrp]:
    """`show rpki prefix-table`: the VRPs bgpd holds, as (prefix, max length, origin ASN)."""
    return {(str(ipaddress.ip_network(f"{addr}/{length}")), int(max_len), int(asn))
            for addr, length, max_len, asn in _RPKI_ROW.findall(text)}


def parse_neighbor(text: str, address: str) -> dict:
    """`show bgp neighbors ADDRESS json` -> state, last reset reason, accepted prefixes, resets."""
    try:
        data = json.loads(text or "{}").get(address, {})
    except ValueError:
        data = {}
    afi = "ipv6Unicast" if afi_of(address) == "ipv6" else "ipv4Unicast"
    return {
        "state": data.get("bgpState", "unknown"),
        "reason": " ".join(str(data.get(k, "")) for k in ("lastResetDueTo", "lastNotificationReason") if data.get(k)),
        "received": (data.get("addressFamilyInfo", {}).get(afi, {}) or {}).get("acceptedPrefixCounter", 0),
        "resets": data.get("connectionsDropped", 0),
    }


def parse_log(text: str, known: set[str] | None = None) -> list[SessionChange]:
    out = []
    for line in text.splitlines():
        m = _ADJCHANGE.match(line)
        if m:
            t = datetime.strptime(m.group(1), "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
            out.append(SessionChange(t, m.group(3) == "Up", m.group(2), m.group(4).strip()))
    return out


# ---------------------------------------------------------------------------------- the daemon

class Frr(Daemon):
    name = "frr"
    can_be_upstream = True
    title = "FRR"
    files = {"frr.conf": CONF, "daemons": DAEMONS, **rtr.FILES}
    log_path = "/var/log/frr/frr.log"
    cli = ("vtysh",)
    cli_command = ("vtysh", "-c")
    processes = "bgpd|zebra|staticd|watchfrr|bfdd|mgmtd"  # mgmtd: FRR 10 (not in 8.4)
    version_command = "vtysh -c 'show version'"
    supports_graceful_shutdown = True
    control = ControlSocket(RUN_DIR, "bgpd.vty", "vty")  # every show command labctl asks is bgpd's
    policy_delay = 5.0  # bgp route-map delay-timer (FRR's default): route-map edits act this much later
    can_spoof_first_as = True  # a route-server-client session does not prepend its own ASN
    capabilities = {
        "transparency": ("yes", "`route-server-client`"),
        "first-as": ("yes", "AS-path list in the import route-map (not `enforce-first-as`, which resets the session)"),
        "reserved-asn": ("yes", "AS-path regex generated from the ranges"),
        "as-path-length": ("yes", "AS-path regex `^([0-9]+[^0-9]+){N}[0-9]+`"),
        "transit-free": ("yes", "AS-path regex"),
        "next-hop": ("yes", "`match ip next-hop` / `match ipv6 next-hop` prefix lists (global address)"),
        "bogons": ("yes", "prefix lists"),
        "prefix-length": ("yes", "prefix lists"),
        "irr": ("yes", "prefix lists and AS-path lists"),
        "rpki": ("yes", "RTR from StayRTR on the route server, `match rpki invalid`; after a ROA change labctl "
                 "waits for bgpd's table to match, then `clear bgp * soft in` (FRR 10.3 re-ran the route-maps only "
                 "up to 120 s later)"),
        "max-prefix-shutdown": ("yes", "`maximum-prefix N`"),
        "max-prefix-restart": ("yes", "`maximum-prefix N restart MINUTES`"),
        "max-prefix-warning": ("yes", "`maximum-prefix N warning-only`"),
        "max-prefix-block": ("no", "FRR 8.4 has no such action: `labctl validate` rejects it for FRR route servers"),
        "do-not-announce": ("yes", "export route-map"),
        "announce-to": ("yes", "export route-map"),
        "prepend": ("yes", "`set as-path prepend last-as N`"),
        "graceful-shutdown": ("yes", "import route-map"),
        "blackhole": ("yes", "import and export route-maps"),
        "reject-reason": ("yes", "tagged routes stay in the RIB with weight 0 (never best over an accepted path) and are never exported"),
        "path-hiding": ("no", "FRR exports only the best path (add-path is not used towards members)"),
    }

    # ------------------------------------------------------------------ pure
    def render(self, plan: Plan, node: Node, ctx: dict) -> dict[str, str]:
        env = template_env()
        role = {"route_server": "rs", "upstream": "upstream", "aggregator": "upstream"}.get(node.role, "member")
        rpki = node.role == "route_server" and plan.policy is not None and plan.policy.rpki
        rtr_ctx = {"rtr_address": rtr.ADDRESS, "rtr_port": rtr.PORT, "rtr_file": rtr.ROA_FILE}
        out = {"frr.conf": env.get_template(f"frr/{role}.conf.j2").render(**ctx, **rtr_ctx),
               "daemons": env.get_template("frr/daemons.j2").render(bfd=ctx["bfd"] is not None, rpki=rpki)}
        if rpki:
            out.update(rtr.files(plan.policy))
        return out

    def parse_log(self, text: str, known: set[str] | None = None) -> list[SessionChange]:
        return parse_log(text, known)

    def control_script(self, action: str) -> str:
        scripts = {"stop": f"{INIT} stop >/dev/null", "kill": "pkill -9 -x watchfrr; pkill -9 -x bgpd",
                   "start": f"{INIT} start >/dev/null", "restart": f"{INIT} restart >/dev/null"}
        return scripts[action]

    def injection(self, plan: Plan, node: Node, announcements: list, flood: dict[str, list[str]],
                  files: dict[str, str]) -> str:
        return frr_injection(node, announcements, flood)

    def parse_version(self, text: str) -> str | None:
        m = _VERSION.search(text)  # "FRRouting 10.3.1 (rs2) on Linux(6.8.0)."
        return f"FRR {m.group(1)}" if m else None

    # ------------------------------------------------------------------ on a node
    def running(self, sh: NodeShell) -> bool:
        return sh.run("pgrep -x watchfrr >/dev/null", check=False)[0] == 0

    def prepare(self, sh: NodeShell, files: dict[str, str], changed: list[str]) -> None:
        rtr.ensure(sh, files, changed)  # the RTR cache listens before bgpd connects to it

    def apply(self, sh: NodeShell, files: dict[str, str], changed: list[str], running: bool) -> None:
        if not running or {"frr.conf", "daemons"} & set(changed):
            _load(sh, files, changed, running)
        else:  # a rollback of this push must not bring back the config of an older one
            sh.run(f"rm -f {CONF}.prev {DAEMONS}.prev")
        if "rpki.json" in files and (not running or "rpki.json" in changed):
            _revalidate(sh, files["rpki.json"])

    def rollback(self, sh: NodeShell) -> None:
        roas = rtr.rollback(sh)
        if sh.run(f"test -f {CONF}.prev", check=False)[0] != 0:  # the push changed the ROAs only
            if roas is not None:
                _revalidate(sh, roas)
            return
        sh.run(f"mv {CONF}.prev {CONF} && chown frr:frr {CONF}; "
               f"test -f {DAEMONS}.prev && mv {DAEMONS}.prev {DAEMONS}; {INIT} restart >/dev/null", timeout=120)

    def collect(self, sh: NodeShell, routes: bool = True) -> NodeBgp:
        state = NodeBgp()
        shows = ["show bgp summary json", *([f"show bgp {afi} unicast json" for afi in AFIS] if routes else [])]
        vtysh = "vtysh " + " ".join(f"-c '{c}'" for c in shows)  # one vtysh, one round trip
        answers = ask(sh, shows)  # bgpd's socket answers only while bgpd runs
        if answers is not None:
            out = "".join(answers)  # what vtysh prints for several -c
        else:
            out = sh.run(f"if pgrep -x bgpd >/dev/null; then {vtysh}; else echo '{self.NOT_RUNNING}'; fi")[1]
            if out.strip() == self.NOT_RUNNING:
                return state
        docs = json_documents(out)
        if len(docs) != len(shows):
            raise NodeCommandFailed(f"{sh.node}: `{vtysh}` gave {len(docs)} JSON documents, not {len(shows)}: "
                                    f"{out.strip()[-300:]}")
        state.sessions = parse_summary(json.dumps(docs[0]))
        for afi, doc in zip(AFIS, docs[1:]):
            state.routes[afi] = sorted((doc.get("routes") or {}).keys())
        return state

    def looking_glass(self, sh: NodeShell, prefix: str) -> tuple[dict[str, str], list[Route]]:
        raw = {"paths": sh.run(f"vtysh -c 'show bgp {afi_of(prefix)} unicast {prefix} json'")[1]}
        return raw, parse_prefix(raw["paths"])

    def collect_routes(self, sh: NodeShell, route_server: bool) -> list[Route]:
        out = sh.capture("vtysh -c 'show bgp ipv4 unicast json detail' -c 'show bgp ipv6 unicast json detail'")
        return [r for doc in json_documents(out) for r in parse_table(json.dumps(doc))]

    def inject(self, sh: NodeShell, text: str) -> None:
        sh.put_file(INJECT, text)
        rc, out = sh.run(f"vtysh -f {INJECT} 2>&1", check=False, timeout=120)
        if rc != 0 or "% " in out:
            raise NodeCommandFailed(f"{sh.node}: `vtysh -f {INJECT}` failed (exit {rc}): {out.strip()[-600:]}")

    def restore(self, sh: NodeShell) -> None:
        sh.run(f"{RELOAD} --reload {CONF} >/tmp/frr-reload-scenario.log 2>&1 || "
               f"{{ tail -20 /tmp/frr-reload-scenario.log; false; }}", timeout=180)
        sh.run(f"rm -f {INJECT}", check=False)

    def session_detail(self, sh: NodeShell, key: str, address: str) -> dict:
        return parse_neighbor(sh.capture(f"vtysh -c 'show bgp neighbors {address} json'"), address)

    def reopen_session(self, sh: NodeShell, key: str, address: str) -> None:
        sh.run(f"vtysh -c 'clear bgp {address}'", check=False)

    def graceful_shutdown(self, sh: NodeShell, asn: int, on: bool) -> None:
        command = graceful_shutdown_command(asn, on)
        rc, out = sh.run(f"{command} 2>&1", check=False)
        if rc != 0 or "% " in out:
            raise NodeCommandFailed(f"{sh.node}: `{command}` failed (exit {rc}): {out.strip()[-300:]}")


def graceful_shutdown_command(asn: int, on: bool) -> str:
    """vtysh that turns FRR's `bgp graceful-shutdown` (RFC 8326, for the whole BGP instance) on or off."""
    return (f"vtysh -c 'configure terminal' -c 'router bgp {int(asn)}' "
            f"-c '{'' if on else 'no '}bgp graceful-shutdown'")


def _load(sh: NodeShell, files: dict[str, str], changed: list[str], running: bool) -> None:
    """Check frr.conf with vtysh, keep the old files as *.prev, then reload (frr-reload: no session
    reset where none is needed) or (re)start FRR when it is not running or `daemons` changed."""
    sh.put_file(CONF + ".new", files["frr.conf"])
    # the check, then (only if it passed) the old files kept as *.prev: one round trip
    rc, out = sh.run(f"vtysh --dryrun -f {CONF}.new 2>&1 || exit $?; "
                     f"test -f {CONF} && cp {CONF} {CONF}.prev; test -f {DAEMONS} && cp {DAEMONS} {DAEMONS}.prev; true",
                     check=False)
    if rc != 0:
        sh.run(f"rm -f {CONF}.new")
        raise ConfigRejected(f"{sh.node}: FRR rejected the rendered config: {out.strip()[-500:]}")
    if "daemons" in changed:  # else the node's file is the rendered one already
        sh.put_file(DAEMONS, files["daemons"])
    install = f"mv {CONF}.new {CONF} && chown frr:frr {CONF}"
    if not running or "daemons" in changed:
        sh.run(f"{install} && {INIT} {'restart' if running else 'start'} >/dev/null", timeout=120)
        _complete_boot_load(sh)
        return
    rc = _add_lines(sh, files["frr.conf"], install)
    if rc != 0:
        rc, _ = sh.run(f"{RELOAD} --reload {CONF}.new >/tmp/frr-reload.log 2>&1 || "
                       f"{{ tail -20 /tmp/frr-reload.log; false; }}", check=False, timeout=120)
        sh.run(install)
    if rc != 0:
        # Some changes (graceful-restart mode, for one) cannot be applied to a running bgpd:
        # frr-reload says so and gives up. A restart applies the checked config as a whole.
        sh.run(f"{INIT} restart >/dev/null", timeout=120)


# Kinds of config line a cut-short boot load lacks (it stops part-way through the file; the
# route-maps and lists of a route server's policy come last): counted in the file and in the
# running config, on the node (a large running config is not worth carrying over SSH).
_LOADED_KINDS = ("^route-map ", "^ip prefix-list ", "^ipv6 prefix-list ", "^bgp as-path access-list ",
                 "^bgp community-list ", "^bgp large-community-list ", "^ neighbor .* remote-as ",
                 "^  neighbor .* activate$")
_COUNT_LOADED = ("vtysh -c 'show running-config' > /tmp/labctl-running.conf 2>&1; "
                 + "; ".join(f"echo $(grep -c '{k}' {CONF}) $(grep -c '{k}' /tmp/labctl-running.conf)"
                             for k in _LOADED_KINDS))


def boot_load_complete(counts: str) -> bool:
    """`_COUNT_LOADED`'s output (per kind: lines in the file, lines running): the running config
    has at least as many lines of every kind as the file. Anything else (a kind short, no answer)
    says incomplete, and frr-reload then applies what is missing."""
    rows = [line.split() for line in counts.strip().splitlines()]
    if len(rows) != len(_LOADED_KINDS) or any(len(r) != 2 or not all(x.isdigit() for x in r) for r in rows):
        return False
    return all(int(running) >= int(wanted) for wanted, running in rows)


def _add_lines(sh: NodeShell, new: str, install: str) -> int:
    """A change that only adds lines to the installed frr.conf is loaded with `vtysh -f` of those
    lines (0.05 s instead of frr-reload's 0.5 s of CPU per member), then `install` runs in the same
    command. 0: loaded and installed; else frr-reload must do it (and the caller installs)."""
    old = sh.get_file(CONF)
    delta = added_lines(old, new) if old else None
    if delta is None:
        return 1
    if not delta:
        return sh.run(install, check=False)[0]
    sh.put_file(DELTA, delta)
    return sh.run(f"vtysh -f {DELTA} >/tmp/frr-delta.log 2>&1 && {install}", check=False, timeout=120)[0]


def _entries(text: str) -> list[tuple[tuple[str, ...], str]]:
    """frr.conf as (the block headers a line is in, the line), blocks by indentation; no comments, no exits."""
    out, stack = [], []  # stack: (indent, header)
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("!") or line in ("exit", "exit-address-family", "end"):
            continue
        indent = len(raw) - len(raw.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        out.append((tuple(h for _, h in stack), line))
        stack.append((indent, line))
    return out


def added_lines(old: str, new: str) -> str | None:
    """vtysh input that turns the config `old` into `new` when `new` keeps every line of `old` in
    its block and only adds lines (each preceded by the headers of its block); None when a line
    was removed or changed, which only frr-reload applies correctly."""
    before = set(_entries(old))
    after = _entries(new)
    if not before <= set(after):
        return None
    lines, path, last = [], None, None  # path: the block vtysh is in; last: the block the last line opens
    for entry in after:
        if entry in before:
            continue
        if entry[0] not in (path, last):
            lines += [f"{' ' * depth}{h}" for depth, h in enumerate(entry[0])]
        path, last = entry[0], entry[0] + (entry[1],)
        lines.append(f"{' ' * len(entry[0])}{entry[1]}")
    return "\n".join(lines) + "\n" if lines else ""


# After `frrinit.sh start`: bgpd answers, then watchfrr's boot-time load (vtysh -b) of a large config
# may still be running: let it finish before counting what it loaded; then the sessions. One round trip.
_WAIT_LOADED = ("for i in $(seq 150); do vtysh -c 'show bgp summary' >/dev/null 2>&1 && break; sleep 0.2; done; "
                "for i in $(seq 4500); do pgrep -f '[v]tysh -b' >/dev/null || break; sleep 0.2; done; ")
_SESSIONS_FOLLOW = "labctl: sessions follow"


def _complete_boot_load(sh: NodeShell) -> None:
    """FRR's boot-time load of a large config can stop part-way (vtysh's connection to the
    daemons is reset; seen with a route server's policy): sessions then sit in Idle with no
    address family. frr-reload applies whatever the running config lacks; a no-op otherwise."""
    out = sh.run(f"{_WAIT_LOADED}{_COUNT_LOADED}; echo '{_SESSIONS_FOLLOW}'; vtysh -c 'show bgp summary json'",
                 check=False, timeout=1020)[1]
    counts, follow, summary = out.partition(_SESSIONS_FOLLOW)
    if not follow or not boot_load_complete(counts):  # else frr-reload would add nothing (1-3 s CPU)
        rc, out = sh.run(f"{RELOAD} --reload {CONF} >/tmp/frr-reload.log 2>&1 || "
                         f"{{ tail -20 /tmp/frr-reload.log; false; }}", check=False, timeout=300)
        if rc != 0:
            raise NodeCommandFailed(f"{sh.node}: FRR started but its config could not be completed: {out.strip()[-400:]}")
        summary = None  # the reload changed the sessions: ask again
    _start_idle_peers(sh, summary)


def _start_idle_peers(sh: NodeShell, summary: str | None = None) -> None:
    """The boot load creates each neighbour (`remote-as`) before its address family is activated
    further down the file: bgpd tries to start it at once, fails ("No AFI/SAFI activated for peer")
    and leaves it Idle, refusing connections, until its start timer fires ~4-5 s later. Once the
    config is complete, start those peers now (`clear bgp` of a peer that is not Established:
    nothing to reset). `summary`: `show bgp summary json` read since the config was complete."""
    if summary is None:
        summary = sh.run("vtysh -c 'show bgp summary json'", check=False)[1]
    try:
        sessions = parse_summary(summary)
    except ValueError:
        return  # no answer: the sessions start on their own timers
    idle = [s.peer_address for s in sessions if s.state == "Idle"]
    if idle:
        sh.run("vtysh " + " ".join(f"-c 'clear bgp {a}'" for a in idle), check=False)


def _revalidate(sh: NodeShell, roa_file: str) -> None:
    """A ROA change reaches bgpd over RTR at once (StayRTR's Serial Notify), but FRR 10.3 re-ran the
    import route-maps on the RPKI state change only up to 120 s later. So: wait until bgpd's RPKI
    table holds exactly the VRPs of the rendered file, then re-run the import policy on the
    routes already received (`soft in`: from the soft-reconfiguration copy, no session reset)."""
    rtr.wait_synced(sh, rtr.vrps(roa_file), lambda: parse_rpki_table(sh.run("vtysh -c 'show rpki prefix-table'", check=False)[1]),
                    "bgpd's RPKI table", "vtysh -c 'show rpki cache-connection'")
    sh.run("vtysh -c 'clear bgp * soft in'")


def frr_injection(node: Node, anns: list, flood: dict[str, list[str]] | None = None) -> str:
    """vtysh config for an FRR member: originate the routes and set their attributes on export."""
    own = node.asn
    no_prepend = any(a.as_path[0] != own for a in anns)
    rs_peers = [s for s in node.sessions if s.kind == "route-server"]
    lines = ["! labctl policy scenario: hostile and steered announcements (removed by frr-reload)"]
    by_afi = {afi: [a for a in anns if a.afi == afi] for afi in AFIS}
    flood = flood or {}
    for afi, kw in (("ipv4", "ip"), ("ipv6", "ipv6")):
        lines += [f"{kw} route {p} blackhole" for p in [*(a.prefix for a in by_afi[afi]), *flood.get(afi, [])]]
    lines.append(f"router bgp {own}")
    for afi in AFIS:
        lines.append(f" address-family {afi} unicast")
        lines += [f"  network {p}" for p in [*(a.prefix for a in by_afi[afi]), *flood.get(afi, [])]]
        if no_prepend:  # BGP would put our own ASN first: a route-server client session does not
            lines += [f"  neighbor {s.peer_address} route-server-client" for s in rs_peers if s.afi == afi]
        lines.append(" exit-address-family")
    lines.append("exit")
    for afi in AFIS:
        lines += _export_maps(node, afi, by_afi[afi], flood.get(afi, []), no_prepend)
    return "\n".join(lines) + "\n"


def _export_maps(node: Node, afi: str, items: list, flood: list[str], no_prepend: bool) -> list[str]:
    """Prefix lists and route-maps that give each injected route its path, next hop and communities."""
    kw, AFI, own = ("ip" if afi == "ipv4" else "ipv6"), afi.upper(), node.asn
    prepend_own = [f"route-map EXPORT-{AFI} permit 10", f" set as-path prepend {own}", "exit"] if no_prepend else []
    if not items and not flood:
        return prepend_own
    lines = [f"{kw} prefix-list LABCTL-SCENARIO-{AFI} seq {5 * i} permit {p}"
             for i, p in enumerate([*(a.prefix for a in items), *flood], start=1)]
    for i, a in enumerate(items, start=1):
        lines += [f"{kw} prefix-list LABCTL-SC-{AFI}-{i} seq 5 permit {a.prefix}",
                  f"route-map LABCTL-SCENARIO-{AFI} permit {i * 10}",
                  f" match {kw} address prefix-list LABCTL-SC-{AFI}-{i}"]
        prepend = a.as_path if no_prepend else a.as_path[1:]
        if prepend:
            lines.append(f" set as-path prepend {' '.join(map(str, prepend))}")
        if a.next_hop != str(getattr(node, afi)):
            lines.append(f" set ip next-hop {a.next_hop}" if afi == "ipv4" else f" set ipv6 next-hop global {a.next_hop}")
        if a.communities:
            lines.append(f" set community {' '.join(f'{x}:{y}' for x, y in a.communities)} additive")
        if a.large:
            lines.append(f" set large-community {' '.join(f'{x}:{y}:{z}' for x, y, z in a.large)} additive")
        lines.append("exit")
    lines.append(f"route-map LABCTL-SCENARIO-{AFI} permit 60000")
    if no_prepend:
        lines.append(f" set as-path prepend {own}")
    lines += ["exit", f"route-map EXPORT-{AFI} permit 5", f" match {kw} address prefix-list LABCTL-SCENARIO-{AFI}",
              f" call LABCTL-SCENARIO-{AFI}", "exit"]
    return lines + prepend_own
