"""What a scenario run produced: checks and the measured timeline. Pure data, read by the report."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Check:
    name: str
    expected: str
    observed: str
    status: str  # "pass", "fail", "unavailable" (the host cannot do it; never counted as a pass)


@dataclass
class ScenarioResult:
    name: str
    description: str
    fault: str
    target: str
    started: float
    seconds: float = 0.0
    t0: float = 0.0
    t_detect: float | None = None  # seconds after T0
    t_cp: float | None = None
    t_restore: float | None = None  # seconds after T0 when the fault was removed
    recovery_detect: float | None = None  # seconds after the restore
    recovery_cp: float | None = None
    checks: list[Check] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # relative to T0
    probes: list[dict] = field(default_factory=list)
    resolution: str = ""
    error: str = ""
    repair: str = ""  # what was done to restore the lab for the next scenario, when recovery failed
    policy: dict = field(default_factory=dict)  # the policy scenario's full result (cases, resources)
    upgrade: dict = field(default_factory=dict)  # fault `upgrade`: releases before/after, node, replacement timings

    @property
    def passed(self) -> bool:
        return not self.error and all(c.status != "fail" for c in self.checks) and any(
            c.status == "pass" for c in self.checks)
