"""BIRD 2: member and route-server configs (`rs client`, `import keep filtered`), birdc."""

from __future__ import annotations

import ipaddress
import re
import shlex
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import labctl.daemons.rtr as rtr
from labctl.daemons.base import (ConfigRejected, ControlSocket, Daemon, NodeCommandFailed, NodeShell, ask, bird_name,
                                 template_env)
from labctl.daemons.records import BgpSession, NodeBgp, Route, SessionChange, afi_of
from labctl.errors import LabctlError

if TYPE_CHECKING:
    from labctl.plan import Node, Plan

CONF = "/etc/bird/bird.conf"
INJECT = "/etc/bird/labctl-scenario.conf"
AFIS = ("ipv4", "ipv6")
# `show route table rpki4`: "198.18.1.0/24-24 AS64496  [rtr_cache 23:01:02.123] * (100)"
_ROA_ROW = re.compile(r"^([0-9a-fA-F:.]+/\d+)-(\d+) AS(\d+)\b", re.M)
RPKI_RELOAD = (2, 13)  # BIRD re-runs ROA-dependent import filters by itself from 2.13 on (`rpki reload`)
# From 2.16 BIRD opens RTR at version 2 (ASPA). StayRTR 0.6.2 (`-protocol 1`) then closes the
# connection without the error PDU that makes BIRD fall back, and BIRD retries v2 forever: its ROA
# tables stayed empty in 7 of 12 cold starts of BIRD 2.17 next to StayRTR. `max version 1` fixes it.
RTR_MAX_VERSION = (2, 16)

_PROTO = re.compile(r"^(?P<name>\S+)\s+BGP\s+\S+\s+(?P<state>\S+)\s+(?P<since>\S+(?: \S+)?)\s*(?P<info>.*)$")
_ROUTE_PREFIX = re.compile(r"^(?P<prefix>[0-9a-fA-F:.]+/\d+)\s")
_ROUTE_HEAD = re.compile(r"^(?P<prefix>[0-9a-fA-F:.]+/\d+)?\s+\S+\s+\[(?P<proto>\S+)[^\]]*\]\s*(?P<best>\*)?")
# 2026-11-26 01:50:44.676882 <TRACE> m_kibinet_ipv4: State changed to stop
# BIRD 3 adds the thread: 2026-12-01 10:24:20.869584 [0002] <TRACE> m_kibinet_ipv4: State changed to up
_STATE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) (?:\[\w+\] )?<\w+> (\S+): State changed to (\w+)")
# BIRD 3 names the BGP attributes as its filter language does (bgp_path); BIRD 2 as BGP.as_path
# `birdc show status`: "BIRD 2.17.1 ready." then "BIRD 2.17.1" (BIRD 3 the same)
_VERSION = re.compile(r"^BIRD v?(\d+(?:\.\d+)+)", re.M)
_BIRD3_ATTRIBUTES = {"bgp_path": "BGP.as_path", "bgp_next_hop": "BGP.next_hop", "bgp_local_pref": "BGP.local_pref",
                     "bgp_community": "BGP.community", "bgp_large_community": "BGP.large_community"}


_SPLIT = "labctl: routes follow"  # between the two outputs of `collect`

# ---------------------------------------------------------------------------------- parsers (pure)

def parse_protocols(text: str) -> list[BgpSession]:
    """`birdc show protocols all`: one block per protocol; keep the BGP ones."""
    sessions: list[BgpSession] = []
    current: BgpSession | None = None
    for line in text.splitlines():
        head = _PROTO.match(line)
        if head:
            info = head.group("info").strip()
            state = info.split()[0] if info else head.group("state")
            current = BgpSession("", "", "Established" if state == "Established" else state, uptime=head.group("since"))
            sessions.append(current)
            continue
        if current is None:
            continue
        stripped = line.strip()
        if stripped.startswith("Description:"):
            current.description = stripped.split(":", 1)[1].strip()
        elif stripped.startswith("Neighbor address:"):
            current.peer_address = stripped.split(":", 1)[1].strip()
            current.afi = afi_of(current.peer_address)
        elif stripped.startswith("Routes:"):
            counts = dict((k, int(v)) for v, k in re.findall(r"(\d+) (\w+)", stripped))
            current.accepted = counts.get("imported", 0)
            current.received = counts.get("imported", 0) + counts.get("filtered", 0)
            current.sent = counts.get("exported", 0)
        elif line and not line[0].isspace() and not head:
            current = None  # a non-BGP protocol block starts
    return [s for s in sessions if s.peer_address]


def parse_route_prefixes(text: str) -> dict[str, list[str]]:
    """`birdc show route`: the prefixes in the tables, per family."""
    routes: dict[str, set[str]] = {"ipv4": set(), "ipv6": set()}
    for line in text.splitlines():
        m = _ROUTE_PREFIX.match(line)
        if m:
            routes[afi_of(m.group("prefix"))].add(m.group("prefix"))
    return {afi: sorted(p) for afi, p in routes.items()}


def parse_routes(text: str, filtered: bool = False) -> list[Route]:
    """`show route [table T] all [filtered]`: every route with its BGP attributes."""
    out: list[Route] = []
    prefix = ""
    current: Route | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith(("BIRD ", "Table ")):
            continue
        if not line.startswith("\t"):
            head = _ROUTE_HEAD.match(line)
            if not head:
                current = None
                continue
            prefix = head.group("prefix") or prefix
            if not prefix or "-" in line.split("[")[0].split()[0]:
                current = None  # a ROA table entry (198.18.1.0/24-24 AS64496)
                continue
            proto = head.group("proto")
            name = re.fullmatch(r"m_(.+)_ipv[46]", proto)
            current = Route(prefix, afi_of(prefix), proto, best=bool(head.group("best")), filtered=filtered,
                            peer_name=name.group(1).replace("_", "-") if name else "")
            out.append(current)
            continue
        if current is not None:
            _attribute(current, *line.strip().partition(": ")[::2])
    return out


def _attribute(route: Route, key: str, value: str) -> None:
    key = _BIRD3_ATTRIBUTES.get(key, key)
    if key == "BGP.as_path":
        route.as_path = [int(a) for a in re.findall(r"\d+", value)]
    elif key == "BGP.next_hop":
        route.next_hop = value.split()[0] if value.split() else ""
    elif key == "BGP.local_pref":
        route.local_pref = int(value)
    elif key == "BGP.community":
        route.communities = [(int(a), int(b)) for a, b in re.findall(r"\((\d+),\s*(\d+)\)", value)]
    elif key == "BGP.large_community":
        route.large = [(int(a), int(b), int(c)) for a, b, c in re.findall(r"\((\d+),\s*(\d+),\s*(\d+)\)", value)]


def parse_roa_table(text: str) -> set[rtr.Vrp]:
    """`show route table rpki4` (or rpki6): the VRPs BIRD holds, as (prefix, max length, origin)."""
    return {(str(ipaddress.ip_network(p)), int(m), int(a)) for p, m, a in _ROA_ROW.findall(text)}


def parse_protocol_detail(text: str, proto: str) -> dict:
    """`birdc show protocols all PROTO` -> state, reason, received (imported + filtered), resets."""
    state = re.search(r"BGP state:\s+(\S+)", text)
    head = re.search(rf"^{re.escape(proto)}\s+BGP\s+\S+\s+(\S+)\s+\S+\s+\S+\s*(.*)$", text, re.M)
    routes = re.search(r"Routes:\s+(\d+) imported(?:, (\d+) filtered)?", text)
    error = re.search(r"Last error:\s+(.*)", text)
    info = " ".join((head.group(2) if head else "").split())
    err = " ".join((error.group(1) if error else "").split())
    return {
        "state": state.group(1) if state else (head.group(1) if head else "unknown"),
        "reason": info if err in info else f"{info}; {err}".strip("; "),
        "received": (int(routes.group(1)) + int(routes.group(2) or 0)) if routes else 0,
        "resets": 0,
    }


def parse_log(text: str, known: set[str] | None = None) -> list[SessionChange]:
    """BIRD leaves Established to "stop" (shut down) or straight to "start" (hold timer, errors);
    a drop logs stop then start, a daemon start logs start: only up <-> down counts."""
    out = []
    state: dict[str, bool] = {}
    for line in text.splitlines():
        m = _STATE.match(line)
        if not m or m.group(3) not in ("up", "stop", "start"):
            continue
        if known and m.group(2) not in known:
            continue  # device, kernel, static: not BGP sessions
        up = m.group(3) == "up"
        if state.get(m.group(2)) == up:
            continue
        state[m.group(2)] = up
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
        out.append(SessionChange(t, up, m.group(2)))
    return out


# ---------------------------------------------------------------------------------- the daemon

class Bird(Daemon):
    name = "bird"
    title = "BIRD 2"
    files = {"bird.conf": CONF, **rtr.FILES}
    log_path = "/var/log/bird.log"
    cli = ("birdc",)
    cli_command = ("birdc",)
    processes = "bird"
    version_command = "birdc show status"
    control = ControlSocket("/run/bird", "bird.ctl", "bird")  # BIRD's default control socket (Debian's build)
    # route servers export the next-best path to a member the best one may not go to (path hiding)
    secondary_export = True
    hold_timer_floor = 0.75  # BIRD randomises its hold timer to 75-100 % of H (RFC 4271 jitter)
    reconnect_backoff = 10.0  # `error wait time 1, 10` in the templates
    capabilities = {
        "transparency": ("yes", "`rs client`"),
        "first-as": ("yes", "`bgp_path.first`"),
        "reserved-asn": ("yes", "path mask with ASN ranges"),
        "as-path-length": ("yes", "`bgp_path.len`"),
        "transit-free": ("yes", "path mask"),
        "next-hop": ("yes", "`bgp_next_hop`"),
        "bogons": ("yes", "prefix sets"),
        "prefix-length": ("yes", "`net.len`"),
        "irr": ("yes", "prefix and ASN sets"),
        "rpki": ("yes", "`protocol rpki` from StayRTR on the route server, `roa_check()`; a ROA change re-runs "
                 "the import filters (`import table`, `rpki reload`; before BIRD 2.13 labctl runs `reload in`)"),
        "max-prefix-shutdown": ("yes", "`receive limit N action disable`"),
        "max-prefix-restart": ("partial", "`action restart`: re-established at once, after the session's error wait time"),
        "max-prefix-warning": ("yes", "`action warn`"),
        "max-prefix-block": ("yes", "`action block`"),
        "do-not-announce": ("yes", "export filter"),
        "announce-to": ("yes", "export filter"),
        "prepend": ("yes", "`bgp_path.prepend(bgp_path.first)`"),
        "graceful-shutdown": ("yes", "import filter"),
        "blackhole": ("yes", "import and export filters"),
        "reject-reason": ("yes", "`import keep filtered`: rejected routes are kept apart from the table"),
        "path-hiding": ("yes", "sorted table, `secondary` export"),
    }

    # ------------------------------------------------------------------ pure
    def render(self, plan: Plan, node: Node, ctx: dict) -> dict[str, str]:
        role = "rs" if node.role == "route_server" else "member"
        ctx = {**ctx, "secondary_export": self.secondary_export, "rpki_reload": ctx["release"] >= RPKI_RELOAD,
               "rtr_max_version": ctx["release"] >= RTR_MAX_VERSION,
               "rtr_address": rtr.ADDRESS, "rtr_port": rtr.PORT, "rtr_file": rtr.ROA_FILE}
        out = {"bird.conf": template_env().get_template(f"bird/{role}.conf.j2").render(**ctx)}
        if node.role == "route_server":
            out.update(rtr.files(plan.policy))
        return out

    def session_key(self, peer: str, peer_address: str, afi: str) -> str:
        return f"{bird_name(peer)}_{afi}"  # the protocol name the templates give the session

    def parse_log(self, text: str, known: set[str] | None = None) -> list[SessionChange]:
        return parse_log(text, known)

    def control_script(self, action: str) -> str:
        scripts = {"stop": "birdc down >/dev/null", "kill": "pkill -9 -x bird", "start": f"bird -c {CONF}",
                   "restart": f"birdc down >/dev/null; while pgrep -x bird >/dev/null; do sleep 0.05; done; bird -c {CONF}"}
        return scripts[action]

    def injection(self, plan: Plan, node: Node, announcements: list, flood: dict[str, list[str]],
                  files: dict[str, str]) -> str:
        return bird_injection(files["bird.conf"], node.asn, announcements, flood,
                              own_address={"ipv4": str(node.ipv4), "ipv6": str(node.ipv6)})

    def parse_version(self, text: str) -> str | None:
        m = _VERSION.search(text)
        return f"BIRD {m.group(1)}" if m else None

    # ------------------------------------------------------------------ on a node
    def running(self, sh: NodeShell) -> bool:
        return sh.run("birdc show status >/dev/null 2>&1", check=False)[0] == 0

    def prepare(self, sh: NodeShell, files: dict[str, str], changed: list[str]) -> None:
        rtr.ensure(sh, files, changed)  # the RTR cache listens before BIRD connects to it

    def apply(self, sh: NodeShell, files: dict[str, str], changed: list[str], running: bool) -> None:
        if not running or "bird.conf" in changed:
            _load(sh, files, running)
        else:  # a rollback of this push must not bring back the config of an older one
            sh.run(f"rm -f {CONF}.prev")
        if "rpki.json" in files and (not running or "rpki.json" in changed):
            _roa_sync(sh, files["rpki.json"], reload="rpki reload on;" not in files["bird.conf"])

    def rollback(self, sh: NodeShell) -> None:
        roas = rtr.rollback(sh)
        if sh.run(f"test -f {CONF}.prev && mv {CONF}.prev {CONF}", check=False)[0] == 0:
            _configure(sh, CONF)
        if roas is not None:
            _roa_sync(sh, roas, reload="rpki reload on;" not in (sh.get_file(CONF) or ""))

    def collect(self, sh: NodeShell, routes: bool = True) -> NodeBgp:
        state = NodeBgp()
        show = "birdc show protocols all" + (f"; echo '{_SPLIT}'; birdc show route" if routes else "")
        answers = ask(sh, ["show protocols all", *(["show route"] if routes else [])])
        if answers is not None:  # BIRD's socket answers only while BIRD runs
            out = f"{_SPLIT}\n".join(answers)  # what the shell command prints
        else:
            out = sh.run(f"if birdc show status >/dev/null 2>&1; then {show}; else echo '{self.NOT_RUNNING}'; fi")[1]
            if out.strip() == self.NOT_RUNNING:
                return state
        protocols, split, table = out.partition(_SPLIT)
        if routes and not split:
            raise NodeCommandFailed(f"{sh.node}: `{show}` did not finish: {out.strip()[-300:]}")
        state.sessions = parse_protocols(protocols)
        if routes:
            state.routes = parse_route_prefixes(table)
        return state

    def looking_glass(self, sh: NodeShell, prefix: str) -> tuple[dict[str, str], list[Route]]:
        q = shlex.quote(prefix)
        raw = {"paths": sh.run(f"birdc show route {q} all", check=False)[1],
               "filtered": sh.run(f"birdc show route {q} all filtered", check=False)[1]}
        return raw, parse_routes(raw["paths"]) + parse_routes(raw["filtered"], filtered=True)

    def collect_routes(self, sh: NodeShell, route_server: bool) -> list[Route]:
        routes = []
        for table in ("master4", "master6"):
            routes += parse_routes(sh.capture(f"birdc show route table {table} all"))
            if route_server:
                routes += parse_routes(sh.capture(f"birdc show route table {table} all filtered"), filtered=True)
        return routes

    def inject(self, sh: NodeShell, text: str) -> None:
        """A whole alternative config, loaded with `birdc configure "file"`; the one on disk stays."""
        sh.put_file(INJECT, text)
        sh.run(f"bird -p -c {INJECT} 2>&1")
        _configure(sh, INJECT)

    def restore(self, sh: NodeShell) -> None:
        _configure(sh, CONF)
        sh.run(f"rm -f {INJECT}", check=False)

    def session_detail(self, sh: NodeShell, key: str, address: str) -> dict:
        return parse_protocol_detail(sh.capture(f"birdc show protocols all {shlex.quote(key)}"), key)

    def reopen_session(self, sh: NodeShell, key: str, address: str) -> None:
        sh.run(f"birdc enable {shlex.quote(key)}", check=False)


def _load(sh: NodeShell, files: dict[str, str], running: bool) -> None:
    """Parse-check bird.conf with BIRD itself, keep the old one as *.prev, then start BIRD or
    `birdc configure` it (sessions whose settings did not change stay up)."""
    sh.put_file(CONF + ".new", files["bird.conf"])
    rc, out = sh.run(f"bird -p -c {CONF}.new 2>&1", check=False)
    if rc != 0:
        sh.run(f"rm -f {CONF}.new")
        raise ConfigRejected(f"{sh.node}: BIRD rejected the rendered config: {out.strip()[-500:]}")
    sh.run(f"test -f {CONF} && cp {CONF} {CONF}.prev; mv {CONF}.new {CONF}")
    if not running:
        sh.run(f"bird -c {CONF}", timeout=60)
    else:
        _configure(sh, CONF)


def _configure(sh: NodeShell, conf: str) -> None:
    _, out = sh.run(f"birdc configure '\"{conf}\"'", timeout=60)
    if "Reconfigur" not in out:
        raise NodeCommandFailed(f"{sh.node}: birdc configure did not confirm: {out.strip()[-300:]}")


def _roa_sync(sh: NodeShell, roa_file: str, reload: bool) -> None:
    """Wait until BIRD's ROA tables hold exactly the VRPs of the rendered ROA file (StayRTR's Serial
    Notify makes `protocol rpki` fetch them at once). From 2.13 on `rpki reload` then re-runs the
    import filters that call roa_check(); before, labctl does (`reload in`: from the import
    table, no session reset)."""
    rtr.wait_synced(sh, rtr.vrps(roa_file), lambda: parse_roa_table(sh.run("birdc show route table rpki4; birdc show route table rpki6",
                                                                 check=False)[1]),
                    "BIRD's ROA tables", "birdc show protocols all rtr_cache",
                    nudge=lambda: sh.run("birdc restart rtr_cache", check=False))
    if reload:
        sh.run("birdc reload in all")


def bird_injection(config: str, member_asn: int, anns: list, flood: dict[str, list[str]] | None = None,
                   own_address: dict[str, str] | None = None) -> str:
    """The member's own bird.conf with the routes added to its `own_<afi>` static protocols."""
    flood = flood or {}
    for afi in AFIS:
        routes = []
        for a in (x for x in anns if x.afi == afi):
            if a.as_path[0] != member_asn:
                raise LabctlError(f"a BIRD member cannot announce a path starting with AS{a.as_path[0]}",
                                  "give the first-as case to a member whose daemon can (FRR)")
            stmts = [f"bgp_path.prepend({asn});" for asn in reversed(a.as_path[1:])]
            stmts += [f"bgp_community.add(({x}, {y}));" for x, y in a.communities]
            stmts += [f"bgp_large_community.add(({x}, {y}, {z}));" for x, y, z in a.large]
            third_party = own_address and a.next_hop != own_address[afi]
            how = f"via {a.next_hop}" if third_party else "blackhole"
            routes.append(f"  route {a.prefix} {how}" + (f" {{ {' '.join(stmts)} }};" if stmts else ";"))
        routes += [f"  route {p} blackhole;" for p in flood.get(afi, [])]
        pattern = re.compile(rf"(protocol static own_{afi} \{{\n\s*{afi}[^\n]*\n)")
        if not pattern.search(config):
            raise LabctlError(f"cannot inject into this BIRD member: no 'protocol static own_{afi}' in its config")
        config = pattern.sub(lambda m: m.group(1) + "".join(r + "\n" for r in routes), config, count=1)
    return "# labctl policy scenario: hostile and steered announcements (birdc configure of bird.conf removes them)\n" + config


class Bird3(Bird):
    """BIRD 3 (multi-threaded): BIRD 2's configuration language, so the same templates, parsers
    (which read both releases' output) and control; its own image, as bird2 and bird3 both
    install /usr/sbin/bird (labctl/daemons/stacks.py)."""

    name = "bird3"
    title = "BIRD 3"
    # BIRD 3.1.8 with `secondary on` withdrew a member's route from another member although its
    # export filter still accepted it (seen in the policy scenario, when the first member's filtered
    # routes arrived); without it every case passes. So no path-hiding mitigation on BIRD 3.
    secondary_export = False
    capabilities = {**Bird.capabilities, "path-hiding": (
        "no", "BIRD 3.1.8 withdrew routes its export filter accepts with `secondary on`: not used")}
