"""Software stacks: which Debian release a lab node image is built on and which daemon releases it holds.

Pure data (no Docker): the model checks (`labctl validate`) and the plan read it, and
labctl/runtime/images.py turns a node image below into build arguments of images/node/Dockerfile.
"""

from __future__ import annotations

from dataclasses import dataclass

from labctl import daemons

DEFAULT_STACK = "trixie"


@dataclass(frozen=True)
class NodeImage:
    key: str  # what the plan carries per node, e.g. "trixie-bird3"
    stack: str
    base: str  # the FROM image: bootstrapped with debootstrap where no registry is reachable
    bird_package: str  # bird2 and bird3 both ship /usr/sbin/bird: one image holds one of them
    extra_packages: str = ""

    @property
    def repo(self) -> str:
        return f"labctl/node-{self.key}"

    @property
    def suite(self) -> str:
        return self.base.split(":")[1].removesuffix("-slim")


@dataclass(frozen=True)
class Stack:
    name: str
    description: str
    # model daemon -> (release shipped, image key holding it)
    daemons: dict[str, tuple[str, str]]

    @property
    def default_image(self) -> str:
        return self.name


STACKS: dict[str, Stack] = {
    "trixie": Stack("trixie", "Debian 13: FRR 10.3, BIRD 2.17 or 3.1, OpenBGPD 8.8, StayRTR 0.6", {
        "frr": ("FRR 10.3", "trixie"),
        "bird": ("BIRD 2.17", "trixie"),
        "bird3": ("BIRD 3.1", "trixie-bird3"),
        "openbgpd": ("OpenBGPD 8.8", "trixie"),
    }),
    "bookworm": Stack("bookworm", "Debian 12 (legacy): FRR 8.4, BIRD 2.0.12, StayRTR 0.5", {
        "frr": ("FRR 8.4", "bookworm"),
        "bird": ("BIRD 2.0.12", "bookworm"),
    }),
}

NODE_IMAGES: dict[str, NodeImage] = {
    "trixie": NodeImage("trixie", "trixie", "debian:trixie-slim", "bird2", "openbgpd stayrtr rpki-client"),
    "trixie-bird3": NodeImage("trixie-bird3", "trixie", "debian:trixie-slim", "bird3", "openbgpd stayrtr rpki-client"),
    "bookworm": NodeImage("bookworm", "bookworm", "debian:bookworm-slim", "bird2", "stayrtr"),
}

# Daemons an image ships that labctl has no module for yet: `validate` names them as not implemented.
NOT_IMPLEMENTED: dict[str, tuple[str, str]] = {}
# What ix.yml may say in `daemon:`; `bird2` is accepted for `bird` (BIRD 2).
DAEMONS = (*daemons.names(), *NOT_IMPLEMENTED)
ALIASES = {"bird2": "bird"}


def title(daemon: str) -> str:
    return NOT_IMPLEMENTED[daemon][0] if daemon in NOT_IMPLEMENTED else daemons.get(daemon).title


def image_for(stack: str, daemon: str | None) -> str:
    """The node image key of a daemon on a stack (switches, daemon None, use the stack's default)."""
    st = STACKS[stack]
    if daemon is None:
        return st.default_image
    return st.daemons[daemon][1]


def release(image: str, daemon: str) -> tuple[int, ...]:
    """The (major, minor) of `daemon` in a node image, for the few template lines that differ
    between releases (e.g. FRR 9 added the transport to `rpki cache`)."""
    label = STACKS[NODE_IMAGES[image].stack].daemons[daemon][0]
    return tuple(int(part) for part in label.rsplit(" ", 1)[1].split("."))


def missing_daemon(stack: str, daemon: str) -> str | None:
    """Why `daemon` cannot run on `stack`, naming the alternatives; None when it can."""
    st = STACKS[stack]
    if daemon in st.daemons:
        return None
    elsewhere = [s for s, other in STACKS.items() if daemon in other.daemons]
    # the same daemon family first (bird3 -> bird), else every daemon the stack has
    family = [d for d in st.daemons if d.rstrip("0123456789") == daemon.rstrip("0123456789")] or list(st.daemons)
    fixes = [f"stack: {s}" for s in elsewhere] + [f"daemon: {d}" for d in family]
    return f"{stack} has no {title(daemon)}; use " + " or ".join(fixes)


# The rolling-upgrade scenario's default step for a node: (daemon, stack) -> the newer (daemon, stack)
# the IX would move it to. BIRD 2 -> BIRD 3 on today's stack; the legacy stack's releases -> today's.
UPGRADES: dict[tuple[str, str], tuple[str, str]] = {
    ("bird", "trixie"): ("bird3", "trixie"),
    ("bird", "bookworm"): ("bird", "trixie"),
    ("frr", "bookworm"): ("frr", "trixie"),
}


def upgrade_path(daemon: str, stack: str) -> tuple[str, str] | None:
    """The (daemon, stack) a node running `daemon` on `stack` is upgraded to by default; None when
    labctl's stacks hold nothing newer for it."""
    return UPGRADES.get((daemon, stack))


def release_label(stack: str, daemon: str) -> str:
    """What people call the release of `daemon` on `stack`: "BIRD 2.17", "FRR 10.3"."""
    return STACKS[stack].daemons[daemon][0]


def release_matches(label: str, running: str) -> bool:
    """Whether the release a node reports (`Daemon.version`, e.g. "BIRD 3.1.8") is the stack's
    `label` ("BIRD 3.1"): the same name and the label's version numbers as its leading ones."""
    name, _, want = label.rpartition(" ")
    got_name, _, got = running.rpartition(" ")
    if not got_name or name.split()[0].lower() != got_name.split()[0].lower():
        return False
    want_parts, got_parts = want.split("."), got.split(".")
    return got_parts[:len(want_parts)] == want_parts
