"""Running an exercise on a lab: start, check, hint, reset, solve.

The lab comes up with `lifecycle.up` (every router as labctl renders it, so a broken lab is never
mistaken for a broken exercise), then the trainee's router is put in its start state. Checks
are observed through automation's collectors and, for measured checks, the scenario engine; the
verdicts are `evaluate`'s. Containers are only touched through `lifecycle` and `runtime`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from labctl import daemons, lifecycle
from labctl.automation import fleet
from labctl.automation.policy_tasks import collect_routes, rtr_clients, session_detail
from labctl.automation.tasks import collect_bgp, install_node, ping
from labctl.errors import EXIT_NOT_CONVERGED, LabctlError
from labctl.exercises import state as st
from labctl.exercises.evaluate import CheckResult, Observations, judge, ping_target, session_addresses
from labctl.exercises.load import LoadedExercise, ix_text, load_exercise, scenario_data
from labctl.exercises.schema import Hint, ReachabilityCheck, ScenarioCheck
from labctl.runtime import clab

Progress = Callable[[str], None]
SETTLE_TIMEOUT = 20.0  # seconds the lab may take to settle after the trainee's router changed


def _quiet(_: str) -> None:
    pass


class LabNotReady(LabctlError):
    exit_code = EXIT_NOT_CONVERGED


def default_lab_name(exercise: str) -> str:
    return f"ex-{exercise}"


# ------------------------------------------------------------------ start

def start(ref: str | Path, lab_name: str | None = None, subnet: str | None = None, root: Path | None = None,
          progress: Progress = _quiet) -> tuple[LoadedExercise, st.ExerciseState, lifecycle.UpReport]:
    """Bring the exercise's lab up (under `root`/.labctl/<lab>) and put the trainee's router in its start state."""
    loaded = load_exercise(ref)
    lab = lab_name or default_lab_name(loaded.name)
    if lab in clab.running_labs():
        raise LabctlError(f"a lab called '{lab}' is running already",
                          f"go on with it (labctl exercise check --lab {lab}), remove it (labctl down --lab {lab}) "
                          "or start this exercise under another name with --lab")
    workdir = ((root or Path.cwd()) / ".labctl" / lab).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    ix_file = workdir / "ix.yml"
    ix_file.write_text(ix_text(loaded, lab, subnet))
    report = lifecycle.up(ix_file, workdir, progress=progress)
    if not report.ok:
        raise LabNotReady(f"the exercise's lab did not come up healthy: {_up_problems(report)}",
                          f"see `labctl status --lab {lab}`; remove it with `labctl down --lab {lab}`")
    state = st.ExerciseState(loaded.name, str(loaded.path.resolve()), lab, loaded.trainee, time.time())
    target = lifecycle.open_lab(ix_file, workdir)
    start_files, _ = loaded.configs(target.plan)
    progress(f"start state: {loaded.trainee} ({loaded.exercise.trainee.start.state})")
    _install(target, loaded.trainee, start_files, progress)
    state.record("start", up_seconds=round(sum(v for v in report.phases.values()), 1))
    st.write(workdir, state)
    return loaded, state, report


def _up_problems(report: lifecycle.UpReport) -> str:
    c = report.convergence
    parts = [f"{n}: {e}" for n, e in report.failed_nodes.items()] + [str(s) for s in c.down_sessions[:5]]
    parts += [f"{m} misses {len(p)} routes" for m, p in list(c.missing_routes.items())[:5]]
    return "; ".join(parts) or "not converged"


def _install(lab: lifecycle.Lab, node: str, files: dict[str, str], progress: Progress) -> None:
    nr = lab.nornir()
    try:
        _, errors = fleet.run(nr, install_node, nodes=[node], files=files)
        if errors:
            raise LabctlError(f"{node}: configuring it failed: {errors[node]}",
                              "see `labctl logs " + node + "`; the exercise's config may not suit this daemon release")
        progress("settle")
        settle(nr, minimum=3.0 + daemons.get(lab.plan.nodes[node].daemon).policy_delay)
    finally:
        nr.close_connections()


def settle(nr, minimum: float = 3.0, timeout: float = SETTLE_TIMEOUT, interval: float = 1.0) -> float:
    """Wait until the routers' sessions and routes stop changing (the same twice in a row, at least
    `minimum` seconds after the change: the changed router's daemon may act on a policy change only
    after its `policy_delay`): what a trainee's router just did has reached everyone. Seconds taken."""
    started, last = time.monotonic(), None
    while True:
        states, errors = lifecycle.collect(nr)
        now = {n: (sorted((s.peer_address, s.established) for s in b.sessions),
                   sorted(b.routes["ipv4"] + b.routes["ipv6"])) for n, b in states.items()}
        elapsed = time.monotonic() - started
        if (now == last and elapsed >= minimum) or elapsed >= timeout:
            return elapsed
        last = now
        time.sleep(interval)


# ------------------------------------------------------------------ the running exercise

@dataclass
class Running:
    lab: lifecycle.Lab
    state: st.ExerciseState
    loaded: LoadedExercise


def running(lab_name: str | None = None) -> Running:
    """The exercise of lab `lab_name`, or of the only lab that runs one."""
    labs = clab.running_labs()
    if lab_name is None:
        with_exercise = sorted(n for n, topo in labs.items() if topo and (topo.parent / st.STATE_FILE).exists())
        if len(with_exercise) != 1:
            raise LabctlError("no lab runs an exercise" if not with_exercise else
                              f"several labs run exercises: {', '.join(with_exercise)}",
                              "start one with `labctl exercise start NAME`" if not with_exercise else
                              "name one with --lab NAME")
        lab_name = with_exercise[0]
    lab = lifecycle.find_lab(None, lab_name)
    state = st.read(lab.workdir, lab_name)
    return Running(lab, state, load_exercise(Path(state.file)))


@dataclass
class CheckRun:
    exercise: str
    lab: str
    t: float
    results: list[CheckResult]
    hint: tuple[int, Hint] | None  # the hint revealed by this failure
    seconds: float
    hints_total: int = 0

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def observe(run: Running, progress: Progress = _quiet) -> Observations:
    """Everything the checks need, asked of the routers that observe (never of the trainee's, but
    for a `rib` check: what the trainee's router accepted is seen nowhere else)."""
    checks = run.loaded.exercise.checks
    obs = Observations()
    nr = run.lab.nornir()
    try:
        session_nodes = sorted({c.at for c in checks if c.kind == "session"})
        route_nodes = sorted({c.at for c in checks if c.kind in ("route", "accepted", "announced", "rib")})
        rtr_nodes = sorted({c.at for c in checks if c.kind == "rtr"})
        if session_nodes:
            obs.bgp, errors = fleet.run(nr, collect_bgp, nodes=session_nodes)
            obs.errors.update(errors)
        if route_nodes:
            obs.routes, errors = fleet.run(nr, collect_routes, nodes=route_nodes)
            obs.errors.update(errors)
        for c in checks:  # why a session went down: its last error, as `at` tells it
            if c.kind == "session" and c.reason:
                peers = session_addresses(run.lab.plan, run.state.trainee, c)
                found, errors = fleet.run(nr, session_detail, nodes=[c.at], peers=peers)
                obs.details.setdefault(c.at, {}).update(found.get(c.at, {}))
                obs.errors.update(errors)
        if rtr_nodes:
            obs.rtr, errors = fleet.run(nr, rtr_clients, nodes=rtr_nodes)
            obs.errors.update(errors)
        for c in checks:
            if isinstance(c, ReachabilityCheck):
                source, target = ping_target(run.lab.plan, run.state.trainee, c)
                found, errors = fleet.run(nr, ping, nodes=[c.at], target=target, source=source)
                obs.pings[c.id] = found.get(c.at, errors.get(c.at, ""))
        measured = [c for c in checks if isinstance(c, ScenarioCheck)]
        if measured:
            _measure(run, measured, obs, nr, progress)
    finally:
        nr.close_connections()
    return obs


def _measure(run: Running, measured: list[ScenarioCheck], obs: Observations, nr, progress: Progress) -> None:
    """Measured checks run only when every observed check passes: a scenario needs a converged lab."""
    from labctl.scenarios.engine import run_scenario
    from labctl.scenarios.spec import Scenario

    others = [c for c in run.loaded.exercise.checks if not isinstance(c, ScenarioCheck)]
    if not all(r.passed for r in judge(run.lab.plan, run.state.trainee, others, obs)):
        for c in measured:
            obs.errors[c.id] = "the other checks must pass first (a measurement needs the sessions up)"
        return
    for c in measured:
        progress(f"measuring: {c.id}")
        obs.scenarios[c.id] = run_scenario(run.lab, Scenario.model_validate(scenario_data(c, run.state.trainee)), nr,
                                           progress)


def check(lab_name: str | None = None, wait: float = 0.0, progress: Progress = _quiet,
          reveal_hint: bool = True) -> CheckRun:
    """Judge every check (again every few seconds until they pass or `wait` seconds are over);
    on failure reveal the next hint (not for `reveal_hint=False`: an instructor's `class check`).
    The run is recorded in the exercise's history."""
    run = running(lab_name)
    started = time.monotonic()
    while True:
        results = judge(run.lab.plan, run.state.trainee, run.loaded.exercise.checks, observe(run, progress))
        if all(r.passed for r in results) or time.monotonic() - started >= wait:
            break
        progress(f"{sum(not r.passed for r in results)} check(s) failing; again in 3 s")
        time.sleep(3)
    failed = {r.id for r in results if not r.passed}
    shown = next_hint(run.loaded.exercise.hints, run.state.hints, failed) if failed and reveal_hint else None
    if shown is not None:
        run.state.hints.append(shown[0])
    entry = run.state.record("check", passed=not failed, results=[r.as_dict() for r in results],
                             hint=shown[0] if shown else None)
    st.write(run.lab.workdir, run.state)
    return CheckRun(run.state.exercise, run.state.lab, entry["t"], results, shown, round(time.monotonic() - started, 1),
                    len(run.loaded.exercise.hints))


def next_hint(hints: list[Hint], revealed: list[int], failed: set[str] | None = None) -> tuple[int, Hint] | None:
    """The first hint not shown yet: for a failed check (or a general one) when `failed` is given."""
    for i, h in enumerate(hints):
        if i not in revealed and (failed is None or h.check is None or h.check in failed):
            return i, h
    return None


def hint(lab_name: str | None = None) -> tuple[Running, tuple[int, Hint] | None]:
    run = running(lab_name)
    shown = next_hint(run.loaded.exercise.hints, run.state.hints)
    if shown is not None:
        run.state.hints.append(shown[0])
        run.state.record("hint", hint=shown[0])
        st.write(run.lab.workdir, run.state)
    return run, shown


def reset(lab_name: str | None = None, progress: Progress = _quiet) -> Running:
    """The trainee's router back to its start state (whatever was changed by hand is gone)."""
    return _put(lab_name, "reset", progress)


def solve(lab_name: str | None = None, progress: Progress = _quiet) -> Running:
    """Apply the reference solution to the trainee's router (for instructors and tests)."""
    return _put(lab_name, "solve", progress)


def _put(lab_name: str | None, action: str, progress: Progress) -> Running:
    run = running(lab_name)
    start_files, solution = run.loaded.configs(run.lab.plan)
    _install(run.lab, run.state.trainee, solution if action == "solve" else start_files, progress)
    run.state.record(action)
    st.write(run.lab.workdir, run.state)
    return run
