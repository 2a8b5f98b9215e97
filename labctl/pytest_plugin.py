"""labctl's pytest plugin: write your own lab tests in your IX-config repository (docs/PYTEST.md).

Installed with labctl (entry point `pytest11: labctl`), so `pytest` finds it by itself. The
`ix_lab` fixture brings up the lab of an ix.yml (or reuses it when it already runs unchanged) and
hands out helpers that return typed results:

    @pytest.mark.labctl_ix("ix.yml")
    def test_everyone_sees_kibinet(ix_lab):
        assert ix_lab.status().convergence.converged
        assert ix_lab.lg("seto-net", "198.18.1.0/24").accepted
        with ix_lab.fault("link-down", "kibinet"):
            assert not ix_lab.lg("seto-net", "198.18.1.0/24", until=False, wait=30).accepted

Which ix.yml: the `labctl_ix` marker, else `--labctl-ix PATH`, else the `labctl_ix` ini option
(relative to the rootdir); or override the `labctl_ix_file` fixture. A lab this session brought up
is taken down at the end, unless `--labctl-keep`; a lab that was already running stays.

This module imports only pytest and the standard library at load time: pytest loads it in every
session of every project where labctl is installed, so labctl itself is imported on first use.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:
    from labctl.lifecycle import Convergence, Lab, Status, UpReport
    from labctl.scenarios.outcome import ScenarioResult


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labctl", "labctl lab tests")
    group.addoption("--labctl-ix", metavar="PATH", help="ix.yml of the lab the ix_lab fixture brings up")
    group.addoption("--labctl-keep", action="store_true", help="leave labs this session brought up running")
    parser.addini("labctl_ix", "ix.yml of the lab the ix_lab fixture brings up (relative to the rootdir)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "labctl_ix(path): the ix.yml whose lab this test's ix_lab fixture uses")


# ---------------------------------------------------------------------------------- typed results

@dataclass(frozen=True)
class ExecResult:
    node: str
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True)
class LookingGlass:
    node: str
    prefix: str
    accepted: list[dict]  # paths the node uses or could use: next_hop, as_path, communities, peer_name, ...
    rejected: list[dict]  # on route servers: what the import policy filtered, with `reasons`
    raw: dict = field(repr=False, default_factory=dict)

    @property
    def as_paths(self) -> list[list[int]]:
        return [r.get("as_path", []) for r in self.accepted]


@dataclass
class Fault:
    """A fault applied by `ix_lab.fault(...)`: what it was and when it acted (host clock)."""

    label: str
    applied_at: float
    target_nodes: set[str]
    removed_at: float | None = None


# ---------------------------------------------------------------------------------- the lab handle

class IxLab:
    """A running lab and the helpers a test uses on it."""

    def __init__(self, lab: Lab, up_report: UpReport | None):
        self.lab = lab
        self.up_report = up_report

    @property
    def name(self) -> str:
        return self.lab.plan.lab

    @property
    def plan(self):
        return self.lab.plan

    def status(self) -> Status:
        from labctl import lifecycle

        return lifecycle.status(self.lab.ix_file)

    def wait_converged(self, timeout: float | None = None) -> Convergence:
        from labctl import lifecycle

        nr = self.lab.nornir()
        try:
            return lifecycle.wait_converged(self.lab, nr, timeout or lifecycle.convergence_timeout(self.lab.plan))
        finally:
            nr.close_connections()

    def lg(self, node: str, prefix: str, until: bool | None = None, wait: float = 0) -> LookingGlass:
        """The looking glass. With `until` (True: has an accepted path, False: has none) ask again
        every half second, for up to `wait` seconds, until the answer says so; the last answer either way."""
        from labctl import lifecycle

        deadline = time.monotonic() + wait
        while True:
            raw = lifecycle.lg(node, prefix, self.lab.ix_file)
            routes = raw.get("routes") or []
            result = LookingGlass(node, prefix, [r for r in routes if not r.get("rejected")],
                                  [r for r in routes if r.get("rejected")], raw)
            if until is None or bool(result.accepted) == until or time.monotonic() >= deadline:
                return result
            time.sleep(0.5)

    def exec(self, node: str, command: str | list[str], timeout: float = 120) -> ExecResult:
        """Run a command in a node (a string runs through sh -c)."""
        from labctl import lifecycle
        from labctl.runtime import nodes

        target = lifecycle.node_target(node, self.lab.ix_file)
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        proc = nodes.run(target.exec, argv, timeout=timeout)
        return ExecResult(node, argv, proc.returncode, proc.stdout, proc.stderr)

    @contextlib.contextmanager
    def fault(self, kind: str, target: str = "auto", **impair) -> Iterator[Fault]:
        """Apply a fault for the duration of the `with` block, as scenarios do: link-down, trunk-down,
        daemon-stop, daemon-restart, node-pause, or impair (loss_percent=, rate_mbit=, delay_ms=)."""
        from labctl.runtime import host
        from labctl.scenarios.engine import apply_fault, remove_fault
        from labctl.scenarios.fault_plan import plan_fault
        from labctl.scenarios.spec import Impairment, Scenario

        sc = Scenario(name=f"pytest-{kind}", fault=kind, target=target,
                      impair=Impairment(**impair) if impair else None)
        netem = host.kernel_feature(host.KERNEL_FEATURES["netem"][0])[0]
        fp = plan_fault(self.lab.plan, sc, netem)
        handle = Fault(fp.label, apply_fault(self.lab, fp.action), set(fp.target_nodes))
        try:
            yield handle
        finally:
            handle.removed_at = remove_fault(self.lab, fp.action)

    def scenario(self, name_or_file: str) -> ScenarioResult:
        """Run a built-in scenario (or a scenario file) and return its judged result."""
        from labctl.scenarios.engine import run_scenario
        from labctl.scenarios.spec import resolve

        (sc,) = resolve([name_or_file])
        nr = self.lab.nornir()
        try:
            return run_scenario(self.lab, sc, nr)
        finally:
            nr.close_connections()


class _Labs:
    """The labs of one pytest session, by IX file: brought up once, taken down at the end."""

    def __init__(self, keep: bool):
        self.keep = keep
        self.labs: dict[Path, tuple[IxLab, bool]] = {}  # ix file -> (lab, brought up by this session)

    def get(self, ix_file: Path) -> IxLab:
        ix_file = ix_file.resolve()
        if ix_file not in self.labs:
            self.labs[ix_file] = self._up(ix_file)
        return self.labs[ix_file][0]

    def _up(self, ix_file: Path) -> tuple[IxLab, bool]:
        from labctl import lifecycle
        from labctl.errors import LabctlError

        try:
            lab = lifecycle.open_lab(ix_file)
            was_running = bool(lab.runtime.inspect())
            report = lifecycle.up(ix_file)
        except LabctlError as exc:
            pytest.fail(f"labctl could not bring up {ix_file}: {exc.message}"
                        + (f" (fix: {exc.hint})" if exc.hint else ""), pytrace=False)
        handle = IxLab(lifecycle.open_lab(ix_file), report)
        self.labs[ix_file] = (handle, not was_running)
        if not report.ok:
            problems = [str(s) for s in report.convergence.down_sessions[:5]] + [
                f"{n}: {why}" for n, why in report.failed_nodes.items()]
            pytest.fail(f"lab {report.lab} from {ix_file} did not converge: {'; '.join(problems)}", pytrace=False)
        return handle, not was_running

    def close(self) -> None:
        from labctl import lifecycle

        for ix_file, (_, ours) in self.labs.items():
            if ours and not self.keep:
                lifecycle.down(ix_file)


@pytest.fixture(scope="session")
def labctl_labs(request: pytest.FixtureRequest) -> Iterator[_Labs]:
    labs = _Labs(keep=request.config.getoption("labctl_keep"))
    yield labs
    labs.close()


@pytest.fixture
def labctl_ix_file(request: pytest.FixtureRequest) -> Path:
    """The ix.yml of this test's lab: the labctl_ix marker, --labctl-ix, or the labctl_ix ini option."""
    marker = request.node.get_closest_marker("labctl_ix")
    config = request.config
    if marker is not None and marker.args:
        base = Path(str(request.node.path)).parent
        return (base / marker.args[0]).resolve()
    if config.getoption("labctl_ix"):
        return Path(config.getoption("labctl_ix")).resolve()
    if config.getini("labctl_ix"):
        return (config.rootpath / config.getini("labctl_ix")).resolve()
    pytest.fail("ix_lab needs an ix.yml: mark the test with @pytest.mark.labctl_ix('ix.yml'), run pytest with "
                "--labctl-ix ix.yml, or set `labctl_ix = ix.yml` in the pytest ini options", pytrace=False)


@pytest.fixture
def ix_lab(labctl_ix_file: Path, labctl_labs: _Labs) -> IxLab:
    """A running lab of the configured ix.yml (brought up once per session, or reused)."""
    if not Path(labctl_ix_file).is_file():
        pytest.fail(f"ix_lab: {labctl_ix_file} does not exist", pytrace=False)
    return labctl_labs.get(Path(labctl_ix_file))
