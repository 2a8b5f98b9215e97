"""What a routing daemon is to labctl: the `Daemon` base class every daemon module implements.

A daemon module owns everything that differs between daemons (containerlab's one package per
node kind, netlab's devices/<name>): its templates and capability column, the config check,
apply/reload/rollback, the commands and parsers for sessions, routes and the looking glass, its
log format, its control actions for faults, how the policy scenario injects routes through it,
and its timer quirks. Callers ask `labctl.daemons.get(node.daemon)` and never branch on a name.

A daemon decides *what* to run on a node and how to read the answer; it never opens a
connection itself. Node-side methods take a `NodeShell` (automation's SSH session to that node),
and fault actions return a script that `runtime` runs. So the rule holds that only `automation`
talks to routers and only `runtime` to Docker; the daemon modules themselves are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined

from labctl.daemons.records import NodeBgp, Route, SessionChange
from labctl.errors import LabctlError
from labctl.policy import data as policy_data

if TYPE_CHECKING:
    from labctl.plan import Node, Plan

Support = Literal["yes", "partial", "no"]
# A member prefers what it learns at the IX (route servers, bilateral peers: the default local
# preference, 100) over what its upstreams sell it (transit: this local preference). docs/MODEL.md `upstreams`.
TRANSIT_LOCAL_PREF = 50
Action = Literal["stop", "kill", "start", "restart"]
ACTIONS: tuple[Action, ...] = ("stop", "kill", "start", "restart")


class NodeShell(Protocol):
    """A command session on one lab node (implemented by labctl.automation.shell.NodeShell)."""

    node: str

    def run(self, command: str, check: bool = True, timeout: float | None = None) -> tuple[int, str]: ...

    def put_file(self, path: str, content: str) -> None: ...

    def get_file(self, path: str) -> str | None: ...

    def capture(self, command: str, timeout: float = 120) -> str: ...

    # Optional (see `ask` below): the daemon's answers through its control socket.
    # def ask(self, commands: Sequence[str]) -> list[str] | None: ...


@dataclass(frozen=True)
class ControlSocket:
    """Where the daemon's own CLI (vtysh, birdc) talks to it, and how. Each node's `directory` is
    bound to the lab folder (render), so labctl.automation can put show commands to the daemon from
    the host: no SSH session, no shell and no CLI process on the node."""

    directory: str  # in the node; the daemon creates `socket` in it
    socket: str
    protocol: Literal["vty", "bird"]  # FRR's vtysh framing, BIRD's numbered reply lines


def ask(sh: NodeShell, commands: Sequence[str]) -> list[str] | None:
    """What the daemon's CLI prints for each command (`vtysh -c C`, `birdc C`), asked through the
    node's control socket; None when the shell has no socket to offer (it is not automation's, the
    node's socket is not reachable from here, the daemon is down): the caller then runs its CLI
    through `sh.run` as before."""
    asker = getattr(sh, "ask", None)
    return asker(commands) if asker is not None else None


class ConfigRejected(LabctlError):
    """The node's daemon refused the rendered config; nothing was applied."""


class NodeCommandFailed(LabctlError):
    """A daemon command on a node did not do what it should (its output says why)."""


def bird_name(name: str) -> str:
    """A BIRD identifier for a node name (letters, digits, '_'; must start with a letter)."""
    return "m_" + name.replace("-", "_")


@lru_cache(maxsize=1)
def template_env() -> Environment:
    """Every daemon's templates, under templates/<daemon>/, with the policy constants as globals
    (reason codes and communities come from labctl.policy.data, never written out by hand)."""
    env = Environment(loader=PackageLoader("labctl.daemons", "templates"), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
                      auto_reload=False)  # templates do not change while labctl runs: no stat() per render
    env.filters["bird_name"] = bird_name
    env.globals.update(
        LC_REJECT=policy_data.LC_REJECT, LC_DO_NOT_ANNOUNCE=policy_data.LC_DO_NOT_ANNOUNCE,
        LC_ANNOUNCE=policy_data.LC_ANNOUNCE, LC_PREPEND=policy_data.LC_PREPEND,
        GRACEFUL_SHUTDOWN=policy_data.GRACEFUL_SHUTDOWN, BLACKHOLE=policy_data.BLACKHOLE,
        NO_EXPORT=policy_data.NO_EXPORT, REASON=policy_data.REASON_BY_KEY, TRANSIT_LOCAL_PREF=TRANSIT_LOCAL_PREF)
    return env


class Daemon:
    """Base class of a routing daemon; subclasses fill the class attributes and the methods."""

    name: ClassVar[str]  # the key in ix.yml (`daemon: frr`)
    title: ClassVar[str]  # for people: "FRR", "BIRD 2"
    files: ClassVar[dict[str, str]]  # config file name in a node's folder -> path inside the node
    log_path: ClassVar[str]  # the daemon's log inside the node (observers read it)
    cli: ClassVar[tuple[str, ...]]  # argv of the daemon's interactive CLI (`labctl connect`)
    cli_command: ClassVar[tuple[str, ...]]  # argv that runs one CLI command given as the last argument
    processes: ClassVar[str]  # `pgrep -x` pattern of its processes (resource sampling)
    # The earliest a hold timer may expire, as a fraction of the hold time (BIRD jitters it).
    hold_timer_floor: ClassVar[float] = 1.0
    # Seconds after a config reload before a changed export/import policy reaches the peers (FRR
    # applies route-map changes on its `bgp route-map delay-timer`, 5 s by default).
    policy_delay: ClassVar[float] = 0.0
    # The longest the daemon itself waits before it retries a session that failed (BIRD's error wait
    # time; OpenBGPD's idle-hold timer, 30 s doubling to 60 s on a second error): recovery windows allow it.
    reconnect_backoff: ClassVar[float] = 0.0
    # The policy scenario can make it originate a path whose first ASN is not its own.
    can_spoof_first_as: ClassVar[bool] = False
    # ... and a path with other ASNs after its own (OpenBGPD can only repeat its own ASN).
    can_originate_foreign_asns: ClassVar[bool] = True
    # labctl renders an upstream (transit provider, ix.yml `upstreams`) for it.
    can_be_upstream: ClassVar[bool] = False
    # labctl can signal graceful shutdown (RFC 8326) on it at run time: the `maintenance` fault's drain.
    supports_graceful_shutdown: ClassVar[bool] = False
    # BFD on its sessions (`labctl validate` refuses BFD on a node whose daemon has none).
    supports_bfd: ClassVar[bool] = True
    # Route-server policy features (labctl.daemons.capabilities.FEATURES keys) -> (support, how).
    capabilities: ClassVar[dict[str, tuple[Support, str]]] = {}
    # Its control socket, when labctl can read the daemon's state through it (None: only over SSH).
    control: ClassVar[ControlSocket | None] = None
    # A command whose output names the running release (`version`); "" when labctl has none yet.
    version_command: ClassVar[str] = ""
    # printed instead of the output of `collect`'s commands when the daemon does not run
    NOT_RUNNING: ClassVar[str] = "labctl: daemon not running"

    # ------------------------------------------------------------------ pure: configs and text
    def render(self, plan: Plan, node: Node, ctx: dict) -> dict[str, str]:
        """The daemon's config files for a router node (names as in `files`)."""
        raise NotImplementedError

    def session_key(self, peer: str, peer_address: str, afi: str) -> str:
        """How the daemon's own output names a session to `peer` (a node) at `peer_address`."""
        return peer_address

    def parse_log(self, text: str, known: set[str] | None = None) -> list[SessionChange]:
        """Session state changes in the daemon's log text. `known`: session keys worth keeping."""
        raise NotImplementedError

    def control_script(self, action: Action) -> str:
        """A shell script run in the node that stops (gracefully), kills, starts or restarts it."""
        raise NotImplementedError

    def injection(self, plan: Plan, node: Node, announcements: list, flood: dict[str, list[str]],
                  files: dict[str, str]) -> str:
        """Config text that makes the node originate the policy scenario's announcements."""
        raise NotImplementedError

    def parse_version(self, text: str) -> str | None:
        """The release named in `version_command`'s output, as "<name> <x.y.z>" (e.g. "BIRD 3.1.8",
        "FRR 10.3.1"); None when the output names none (the daemon is not running)."""
        return None

    # ------------------------------------------------------------------ on a node, through a shell
    def running(self, sh: NodeShell) -> bool:
        raise NotImplementedError

    def prepare(self, sh: NodeShell, files: dict[str, str], changed: list[str]) -> None:
        """Helpers the daemon needs before it (re)loads its config; nothing by default."""

    def apply(self, sh: NodeShell, files: dict[str, str], changed: list[str], running: bool) -> None:
        """Check the rendered config with the daemon itself, keep the old one as *.prev, load the
        new one (start the daemon when it is not running). Raise ConfigRejected when it refuses."""
        raise NotImplementedError

    def rollback(self, sh: NodeShell) -> None:
        raise NotImplementedError

    def collect(self, sh: NodeShell, routes: bool = True) -> NodeBgp:
        """Sessions and best-route prefixes (sessions only with `routes=False`: the cheap poll while
        sessions come up); an empty NodeBgp when the daemon is not running."""
        raise NotImplementedError

    def looking_glass(self, sh: NodeShell, prefix: str) -> tuple[dict[str, str], list[Route]]:
        """(raw answers by name, parsed paths) for one prefix, rejected ones included."""
        raise NotImplementedError

    def collect_routes(self, sh: NodeShell, route_server: bool) -> list[Route]:
        """Every path the node holds, with attributes (route servers: the rejected ones too)."""
        raise NotImplementedError

    def inject(self, sh: NodeShell, text: str) -> None:
        """Load `injection()` text into the running daemon, leaving the config on disk alone."""
        raise NotImplementedError

    def restore(self, sh: NodeShell) -> None:
        """Back to the config on disk: whatever `inject` added is gone."""
        raise NotImplementedError

    def version(self, sh: NodeShell) -> str:
        """The release the node's daemon reports about itself (checked on the node, not taken from
        the stack table): what the rolling-upgrade scenario verifies."""
        if not self.version_command:
            raise NodeCommandFailed(f"{sh.node}: labctl cannot ask {self.title} which release it runs",
                                    f"give labctl/daemons/{self.name}.py a version_command and parse_version")
        _, out = sh.run(self.version_command, check=False)
        found = self.parse_version(out)
        if not found:
            raise NodeCommandFailed(f"{sh.node}: `{self.version_command}` named no {self.title} release "
                                    f"(is the daemon running?): {out.strip()[-200:]}")
        return found

    def session_detail(self, sh: NodeShell, key: str, address: str) -> dict:
        """{"state", "reason", "received", "resets"} of one session (key from `session_key`)."""
        raise NotImplementedError

    def reopen_session(self, sh: NodeShell, key: str, address: str) -> None:
        """Bring back a session a max-prefix action shut."""
        raise NotImplementedError

    def graceful_shutdown(self, sh: NodeShell, asn: int, on: bool) -> None:
        """Start (on) or end graceful shutdown (RFC 8326) in the running daemon, config on disk left
        alone: its routes go to its eBGP peers with GRACEFUL_SHUTDOWN (65535:0) and it gives the
        routes it learns from them local preference 0, so traffic leaves it before it goes down."""
        raise NodeCommandFailed(f"{sh.node}: labctl cannot signal graceful shutdown on {self.title}",
                                "drain the router yourself and give the scenario 'drain: none'")

    def wake_sessions(self, sh: NodeShell) -> None:
        """Forget the session errors of earlier faults: sessions waiting out the daemon's own back-off
        (OpenBGPD's idle-hold timer: 30 s, doubling with each error) start now, established ones
        are left as they are. Scenarios call it before each fault (each is measured on its own, not
        with the back-off the previous one left behind), the policy scenario while it waits for
        sessions its injections reset. Nothing by default."""


