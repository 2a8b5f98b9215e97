"""Scenarios are data: a YAML file names a fault, its target and what to expect.

The built-ins ship in `labctl/scenarios/builtin/`; users add their own files with the same
keys and pass them to `labctl test FILE.yml`. Expectations are derived from the IX's timers,
never tuned to what was observed:
- hold-timer: detection in [hold - keepalive, hold] (+ slack)
- bfd: detection within interval x multiplier (+ slack)
- notification: the peer is told at once (graceful stop/restart)
- none: no session may go down (impairments within limits)
- auto: from the sessions the fault breaks: BFD's window if any of them runs BFD (first
  detection), the hold timer's for the last of them
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from labctl import daemons
from labctl.daemons import stacks
from labctl.errors import LabctlError

BUILTIN_DIR = Path(__file__).parent / "builtin"


class Impairment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loss_percent: float = Field(default=0, ge=0, le=100)
    rate_mbit: float | None = Field(default=None, gt=0)
    delay_ms: float = Field(default=0, ge=0)


class Upgrade(BaseModel):
    """For fault `upgrade`: what the node is replaced by. Either key may be left out: the daemon
    then stays the node's own, the stack the node's own (or, both left out, labctl's default
    upgrade path for the node: labctl/daemons/stacks.py `upgrade_path`)."""

    model_config = ConfigDict(extra="forbid")
    daemon: str | None = Field(default=None, description="the daemon after the upgrade, e.g. bird3")
    stack: str | None = Field(default=None, description="the stack after the upgrade, e.g. trixie")

    @model_validator(mode="after")
    def _known(self) -> "Upgrade":
        if self.daemon is not None:
            self.daemon = stacks.ALIASES.get(self.daemon, self.daemon)
            if self.daemon not in daemons.names():
                raise ValueError(f"daemon: unknown routing daemon '{self.daemon}'; "
                                 f"fix: one labctl configures: {', '.join(daemons.names())}")
        if self.stack is not None and self.stack not in stacks.STACKS:
            raise ValueError(f"stack: unknown stack '{self.stack}'; fix: one of {', '.join(stacks.STACKS)}")
        if self.daemon and self.stack:
            missing = stacks.missing_daemon(self.stack, self.daemon)
            if missing:
                raise ValueError(f"daemon: {missing}")
        return self


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    fault: Literal["link-down", "trunk-down", "site-down", "daemon-stop", "daemon-restart", "node-pause", "impair",
                   "upgrade", "policy", "ix-down", "upstream-down", "maintenance"]
    target: str = Field(default="auto", description="node, member, site, or 'siteA-siteB' for a trunk; auto picks one")
    bfd: bool | None = Field(default=None, description="with target auto: pick a member with (true) or without BFD")
    dual_homed: bool | None = Field(default=None, description="with link-down and target auto: a router of a member "
                                    "with several routers (true) or of a single-homed member (false, the default)")
    impair: Impairment | None = None
    upgrade: Upgrade | None = Field(default=None, description="for fault upgrade: the daemon and/or stack after it")
    duration: float | None = Field(default=None, gt=0, description="seconds the fault stays; default from the timers")
    detection: Literal["auto", "hold-timer", "bfd", "notification", "none"] = Field(
        default="auto", description="auto: BFD where a broken session runs it, else the hold timer")
    data_plane: Literal["zero-loss", "measured-loss"] = "zero-loss"
    drain: Literal["graceful-shutdown", "none"] | None = Field(
        default=None, description="for fault maintenance: how the router is drained before its port goes down: "
        "graceful-shutdown (labctl signals RFC 8326 on it, default) or none (its operator did, or nobody)")
    drain_seconds: float | None = Field(default=None, ge=0, le=120, description="for fault maintenance: seconds "
                                        "between the drain and the port going down (default 5)")
    recover: bool = True

    @model_validator(mode="after")
    def _impairment_given(self) -> "Scenario":
        if self.fault == "impair" and (self.impair is None or not (
                self.impair.loss_percent or self.impair.rate_mbit or self.impair.delay_ms)):
            raise ValueError("fault 'impair' needs an 'impair:' block with loss_percent, rate_mbit or delay_ms")
        for key in ("drain", "drain_seconds"):
            if getattr(self, key) is not None and self.fault != "maintenance":
                raise ValueError(f"'{key}' belongs to fault 'maintenance', not '{self.fault}'; fix: remove it or set "
                                 "'fault: maintenance'")
        if self.upgrade is not None and self.fault != "upgrade":
            raise ValueError(f"'upgrade:' belongs to fault 'upgrade', not '{self.fault}'; fix: remove the 'upgrade:' "
                             f"block or set 'fault: upgrade'")
        return self


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text())
        return Scenario.model_validate(data)
    except FileNotFoundError:
        raise LabctlError(f"{path}: no such scenario file", f"built-ins: {', '.join(builtin_names())}") from None
    except yaml.YAMLError as exc:
        raise LabctlError(f"{path}: YAML error: {exc}", "check indentation and quoting; see docs/SCENARIOS.md") from None
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise LabctlError(f"{path}: invalid scenario: {problems}", "see docs/SCENARIOS.md") from None


def _problem(error: dict) -> str:
    """One pydantic error as 'key.path: message' (a validator's message names its key first)."""
    where = ".".join(map(str, error["loc"]))
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "value_error" and ":" in msg.split(" ")[0]:  # "daemon: unknown ...": the key below
        key, _, msg = msg.partition(": ")
        where = f"{where}.{key}" if where else key
    return f"{where or '<top>'}: {msg}"


def builtin_names() -> list[str]:
    order = ["rs-failover", "member-link-down", "member-link-down-bfd", "dual-homed-link-down", "trunk-down",
             "site-down", "rs-restart", "impairment", "impairment-blackout", "rs-upgrade", "upstream-down", "ix-down",
             "policy"]
    found = {p.stem for p in BUILTIN_DIR.glob("*.yml")}
    return [n for n in order if n in found] + sorted(found - set(order))


def resolve(names: list[str]) -> list[Scenario]:
    """Scenario names (built-in) or paths to YAML files; none means every built-in."""
    if not names:
        names = builtin_names()
    out = []
    for name in names:
        path = Path(name)
        if path.suffix in (".yml", ".yaml"):
            out.append(load_scenario(path))
        elif (BUILTIN_DIR / f"{name}.yml").exists():
            out.append(load_scenario(BUILTIN_DIR / f"{name}.yml"))
        else:
            raise LabctlError(f"unknown scenario '{name}'", f"built-ins: {', '.join(builtin_names())}, or a .yml file")
    return out
