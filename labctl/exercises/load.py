"""Find, load and check exercise files; build an exercise's IX and its trainee's configs.

Pure: YAML with positions (the model's parser), pydantic types (`schema.py`), then the rules that
need the IX: the overlay builds a valid IX, the trainee's router is a member router, every check
observes from a router the trainee does not control, every edit of the rendered config applies,
and the start state differs from the solution. Every problem comes back at once, with the file,
line, key and a fix (`ExerciseErrors`), like `labctl validate`.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from labctl.errors import LabctlError
from labctl.exercises.schema import (CHECK_KINDS, EXERCISE_NAME_RULE, ConfigChange, Exercise, ReachabilityCheck,
                                     ScenarioCheck)
from labctl.model.checks import format_path
from labctl.model.load import Finding, ModelErrors, load_text, parse_yaml
from labctl.model.schema import NAME_RULE
from labctl.plan import Plan, build_plan
from labctl.render import render_node
from labctl.resources import bundled

BUILTIN_DIR = Path(__file__).parent / "builtin"
Problem = tuple[tuple, str, str]  # (YAML path, message, fix)


class ExerciseErrors(ModelErrors):
    """Every problem of an exercise file, located (file:line:column, key) with a fix."""

    def __init__(self, findings: list[Finding]):
        super().__init__(findings)
        self.message = f"{len(findings)} problem(s) in exercise file {findings[0].file if findings else ''}"
        self.hint = "see docs/EXERCISES.md for the file format"

    def __str__(self) -> str:
        return self.render()


@dataclass
class LoadedExercise:
    exercise: Exercise
    path: Path
    ix_data: dict  # the exercise's IX (overlay applied), as ix.yml data
    plan: Plan  # of ix_data as written (lab name as in the base)

    @property
    def name(self) -> str:
        return self.exercise.name

    @property
    def trainee(self) -> str:
        return self.exercise.trainee.node

    def configs(self, plan: Plan | None = None) -> tuple[dict[str, str], dict[str, str]]:
        """The trainee router's (start, solution) files, from `plan` (the running lab's) or the exercise's own."""
        plan = plan or self.plan
        rendered = render_node(plan, plan.nodes[self.trainee])
        start, _ = apply_change(rendered, self.exercise.trainee.start, self.path.parent)
        solution, _ = apply_change(rendered, self.exercise.trainee.solution, self.path.parent)
        return start, solution


# ------------------------------------------------------------------ finding exercises

def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yml"))


def resolve(ref: str | Path) -> Path:
    """An exercise name (bundled) or the path of an exercise file."""
    path = Path(ref)
    if path.suffix in (".yml", ".yaml"):
        if not path.is_file():
            raise LabctlError(f"{path}: no such exercise file", "give a bundled exercise's name (labctl exercise list) "
                              "or the path of an exercise file")
        return path
    candidate = BUILTIN_DIR / f"{ref}.yml"
    if candidate.is_file():
        return candidate
    close = difflib.get_close_matches(str(ref), builtin_names(), n=1)
    raise LabctlError(f"unknown exercise '{ref}'", f"did you mean '{close[0]}'?" if close else
                      f"exercises: {', '.join(builtin_names())} (labctl exercise list)")


def load_exercise(ref: str | Path) -> LoadedExercise:
    path = resolve(ref)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabctlError(f"{path}: cannot read: {exc}") from None
    return load_exercise_text(text, path)


def load_exercise_text(text: str, path: Path) -> LoadedExercise:
    filename = str(path)
    data, pos, findings = parse_yaml(text, filename)
    if not isinstance(data, dict):
        raise ExerciseErrors(findings or [Finding(filename, 1, 1, "", "the top level must be a mapping with name, title, "
                                                  "goal, ix, trainee, checks, hints", "see docs/EXERCISES.md")])
    try:
        exercise = Exercise.model_validate(data)
    except ValidationError as exc:
        findings += [_translate(e, filename, pos) for e in exc.errors()]
        raise ExerciseErrors(_sorted(findings)) from None
    problems: list[Problem] = []
    if exercise.name != path.stem:
        problems.append((("name",), f"the name '{exercise.name}' differs from the file name '{path.stem}'",
                         f"call the file {exercise.name}.yml or set name: {path.stem}"))
    ix_data, plan, ix_problems = _ix(exercise, path)
    problems += ix_problems
    loaded = LoadedExercise(exercise, path, ix_data, plan) if plan else None
    if loaded is not None:
        problems += _check_exercise(loaded)
    findings += [Finding(filename, *pos.at(p, key=True), format_path(p), m, h) for p, m, h in problems]
    if findings or loaded is None:
        raise ExerciseErrors(_sorted(findings))
    return loaded


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(set(findings), key=lambda f: (f.line or 0, f.column or 0, f.path, f.message))


def _translate(err: dict, filename: str, pos) -> Finding:
    path = tuple(p for p in err["loc"] if not (isinstance(p, str) and (p.startswith(("function-", "lax-"))
                                                                          or p in _KIND_TAGS)))
    kind, message, hint = err["type"], err["msg"].removeprefix("Value error, "), ""
    if kind == "extra_forbidden":
        allowed = _allowed_keys(err["loc"][:-1])
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1, cutoff=0.6)
        message = f"unknown key '{path[-1]}'"
        hint = f"did you mean '{close[0]}'?" if close else (f"allowed keys: {', '.join(allowed)}" if allowed else "")
        return Finding(filename, *pos.at(path, key=True), format_path(path), message, hint)
    if kind == "missing":
        return Finding(filename, *pos.at(path[:-1]), format_path(path), "required key is missing", f"add '{path[-1]}'")
    if kind == "string_pattern_mismatch":
        rule = EXERCISE_NAME_RULE if path == ("name",) else NAME_RULE
        message, hint = f"'{err.get('input')}' is not a valid name", rule
    elif kind == "union_tag_invalid":
        path = (*path, "kind")
        message = f"unknown check kind '{err.get('ctx', {}).get('tag')}'"
        hint = _KINDS_TEXT
    elif kind == "union_tag_not_found":
        message, hint = "a check needs 'kind'", _KINDS_TEXT
    elif kind == "literal_error":
        hint = f"use one of {err['ctx']['expected']}"
    return Finding(filename, *pos.at(path), format_path(path), message, hint)


_KIND_TAGS = set(CHECK_KINDS)
_KINDS_TEXT = "kind: " + ", ".join(CHECK_KINDS)


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys the model at `loc` (a pydantic error location) allows, for 'did you mean'."""
    from labctl.exercises import schema

    current: Any = Exercise
    for part in loc:
        if isinstance(part, int):
            continue
        if part in _KIND_TAGS:
            current = {"session": schema.SessionCheck, "route": schema.RouteCheck, "accepted": schema.AcceptedCheck,
                       "announced": schema.AnnouncedCheck, "reachability": schema.ReachabilityCheck,
                       "scenario": schema.ScenarioCheck, "rib": schema.RibCheck, "rtr": schema.RtrCheck}[part]
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return []
        current = _model_of(current.model_fields[part].annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or k for k, f in current.model_fields.items())
    return []


def _model_of(annotation: Any) -> Any:
    from typing import get_args, get_origin

    while get_origin(annotation) is not None:
        args = [a for a in get_args(annotation) if a is not type(None)]
        annotation = args[0] if args else None
    return annotation


# ------------------------------------------------------------------ the IX: base + overlay

def base_path(base: str, exercise_file: Path) -> Path:
    local = (exercise_file.parent / base)
    if base.endswith((".yml", ".yaml")):
        return local
    return bundled("topologies") / f"{base}.yml"


def overlay(data: dict, members: list[str] | None, changes: dict) -> dict:
    """The IX `data` with only `members` kept (sites and trunks that lose every node dropped,
    bilateral peers that are gone removed, no upstreams), then `changes` deep-merged. A new dict."""
    out = copy.deepcopy(data)
    if members is not None:
        keep = set(members)
        out["members"] = [m for m in out.get("members", []) if m.get("name") in keep]
        for m in out["members"]:
            if "bilateral" in m:
                m["bilateral"] = [b for b in m["bilateral"] if b in keep]
        used = {rs.get("site") for rs in out.get("route_servers", [])}
        for m in out["members"]:
            used |= {m.get("site")} | {r.get("site") for r in m.get("routers", [])}
        out["sites"] = [s for s in out.get("sites", []) if s.get("name") in used]
        out["trunks"] = [t for t in out.get("trunks", []) if set(t.get("between", [])) <= used]
        if not out["trunks"]:
            out.pop("trunks")
        out.pop("upstreams", None)  # a cut-down IX has no transit unless `set` brings upstreams back
    return _merge(out, changes)


def _merge(base: Any, change: Any) -> Any:
    if isinstance(base, dict) and isinstance(change, dict):
        merged = dict(base)
        for key, value in change.items():
            merged[key] = _merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(change)


def _ix(ex: Exercise, path: Path) -> tuple[dict, Plan | None, list[Problem]]:
    source = base_path(ex.ix.base, path)
    try:
        base = yaml.safe_load(source.read_text())
    except FileNotFoundError:
        names = sorted(p.stem for p in bundled("topologies").glob("*.yml"))
        return {}, None, [(("ix", "base"), f"no IX '{ex.ix.base}' ({source})",
                           f"a bundled topology ({', '.join(names)}) or a .yml path relative to the exercise")]
    except (OSError, yaml.YAMLError) as exc:
        return {}, None, [(("ix", "base"), f"cannot read {source}: {exc}", "fix that IX file")]
    known = {m.get("name") for m in base.get("members", [])}
    problems = [(("ix", "members", i), f"'{m}' is not a member of {ex.ix.base}",
                 f"members: {', '.join(sorted(known))}") for i, m in enumerate(ex.ix.members or []) if m not in known]
    if problems:
        return {}, None, problems
    data = overlay(base, ex.ix.members, ex.ix.set)
    # the files an IX names (ROA or AS-SET files) are relative to the base IX file
    try:
        model = load_text(yaml.safe_dump(data, sort_keys=False), str(source))
    except ModelErrors as exc:
        return data, None, [(("ix",), f"the exercise's IX is invalid: {f.path}: {f.message}",
                             f.hint or "fix ix.members or ix.set") for f in exc.findings]
    return data, build_plan(model), []


def ix_text(loaded: LoadedExercise, lab: str, subnet: str | None = None) -> str:
    """The exercise's IX file for a lab called `lab` (on the management subnet given, else derived)."""
    data = copy.deepcopy(loaded.ix_data)
    data["ix"]["name"] = lab
    if subnet:
        data["ix"]["management"] = {**data["ix"].get("management", {}), "ipv4_subnet": subnet}
    head = f"# IX of exercise {loaded.name} ({loaded.path.name}), written by labctl exercise start\n"
    return head + yaml.safe_dump(data, sort_keys=False)


# ------------------------------------------------------------------ trainee configs

def apply_change(rendered: dict[str, str], change: ConfigChange, folder: Path) -> tuple[dict[str, str], list[Problem]]:
    """The rendered files with the replacement files and edits of `change` applied, and the problems
    (paths relative to the change: ('files', name) or ('edits', i, key))."""
    files, problems = dict(rendered), []
    for name, rel in change.files.items():
        if name not in rendered:
            problems.append((("files", name), f"the trainee's router has no config file '{name}'",
                             f"its files: {', '.join(sorted(rendered))}"))
            continue
        try:
            files[name] = (folder / rel).read_text()
        except OSError as exc:
            problems.append((("files", name), f"cannot read {folder / rel}: {exc.strerror or exc}",
                             "give a path relative to the exercise file"))
    for i, edit in enumerate(change.edits):
        if edit.file not in files:
            problems.append((("edits", i, "file"), f"the trainee's router has no config file '{edit.file}'",
                             f"its files: {', '.join(sorted(files))}"))
            continue
        text, hits = _edit(files[edit.file], edit)
        if not hits:
            key = "replace" if edit.replace is not None else "delete" if edit.delete is not None else "after"
            problems.append((("edits", i, key), f"matches nothing in the rendered {edit.file}",
                             "compare with `labctl generate` output for this IX; patterns use Python's re, "
                             "multi-line mode (^ and $ at each line)"))
        files[edit.file] = text
    return files, problems


def _edit(text: str, edit) -> tuple[str, int]:
    if edit.replace is not None:
        return re.subn(edit.replace, edit.with_.replace("\\n", "\n"), text, flags=re.MULTILINE)
    pattern = re.compile(edit.delete if edit.delete is not None else edit.after)
    out, hits = [], 0
    for line in text.splitlines(keepends=True):
        matched = bool(pattern.search(line.rstrip("\n")))
        hits += matched
        if edit.delete is not None and matched:
            continue
        out.append(line)
        if edit.after is not None and matched:
            out.append(edit.insert if edit.insert.endswith("\n") else edit.insert + "\n")
    return "".join(out), hits


def _check_exercise(loaded: LoadedExercise) -> list[Problem]:
    ex, plan = loaded.exercise, loaded.plan
    routers = sorted(n.name for n in plan.nodes.values() if n.role != "switch")
    trainee = plan.nodes.get(ex.trainee.node)
    if trainee is None or trainee.role != "member":
        members = sorted(n.name for n in plan.nodes.values() if n.role == "member")
        return [(("trainee", "node"), f"'{ex.trainee.node}' is not a member router of the exercise's IX",
                 f"member routers: {', '.join(members)}")]
    problems = _check_configs(loaded)
    ids = [c.id for c in ex.checks]
    for i, check in enumerate(ex.checks):
        where = ("checks", i)
        if ids.count(check.id) > 1:
            problems.append(((*where, "id"), f"check id '{check.id}' is used twice", "give every check its own id"))
        problems += _check_nodes(plan, ex.trainee.node, check, where, routers)
    for i, hint in enumerate(ex.hints):
        if hint.check is not None and hint.check not in ids:
            problems.append((("hints", i, "check"), f"no check '{hint.check}'", f"check ids: {', '.join(ids)}"))
    return problems


def _check_configs(loaded: LoadedExercise) -> list[Problem]:
    ex, plan = loaded.exercise, loaded.plan
    rendered = render_node(plan, plan.nodes[ex.trainee.node])
    start, problems = apply_change(rendered, ex.trainee.start, loaded.path.parent)
    problems = [(("trainee", "start", *p), m, h) for p, m, h in problems]
    solution, more = apply_change(rendered, ex.trainee.solution, loaded.path.parent)
    problems += [(("trainee", "solution", *p), m, h) for p, m, h in more]
    if not problems and start == solution:
        problems.append((("trainee", "start"), "the start state is the solution: the trainee would have nothing to do",
                         "give start.edits or start.files that differ from the solution"))
    return problems


def _check_nodes(plan: Plan, trainee: str, check, where: tuple, routers: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    node = plan.nodes.get(check.at)
    if node is None or node.role == "switch":
        problems.append(((*where, "at"), f"no router '{check.at}' in the exercise's IX", f"routers: {', '.join(routers)}"))
    elif check.kind == "rib":
        if check.at != trainee:
            problems.append(((*where, "at"), f"a rib check reads the trainee's own router, not '{check.at}'",
                             f"at: {trainee} (to observe another router, use kind: route)"))
    elif check.at == trainee or (node.member and node.member == plan.nodes[trainee].member):
        problems.append(((*where, "at"), f"'{check.at}' is the trainee's own router: its view proves nothing",
                         "observe from a route server or another member"))
    elif check.kind == "accepted" and node.role != "route_server":
        problems.append(((*where, "at"), f"'{check.at}' is not a route server: only route servers accept or reject",
                         "use a route server, or kind: route at a member"))
    elif check.kind == "rtr" and (node.role != "route_server" or plan.policy is None or not plan.policy.rpki):
        problems.append(((*where, "at"), f"'{check.at}' runs no RPKI cache: only route servers do, when the IX has ROAs",
                         "observe at a route server; give the IX ROAs (ix.policy.rpki)"))
    peer = getattr(check, "peer", None)
    if peer is not None and (peer not in plan.nodes or plan.nodes[peer].role == "switch"):
        problems.append(((*where, "peer"), f"no router '{peer}' in the exercise's IX", f"routers: {', '.join(routers)}"))
    if isinstance(check, ScenarioCheck):
        problems += _check_scenario(check, trainee, where)
    if isinstance(check, ReachabilityCheck) and node is not None and not problems:
        problems += _check_ping(plan, trainee, check, where)
    return problems


def _check_ping(plan: Plan, trainee: str, check: ReachabilityCheck, where: tuple) -> list[Problem]:
    """A ping needs a source address at `at` and, without `to`, an address of the peer's."""
    problems: list[Problem] = []
    if ping_address(plan, check.at, check.afi) is None:
        problems.append(((*where, "at"), f"'{check.at}' announces no {check.afi} prefix, so it has no address to "
                         "ping from", "ping from a member with a prefix of that family"))
    peer = check.peer or trainee
    if check.to is None and ping_address(plan, peer, check.afi) is None:
        problems.append(((*where, "peer" if check.peer else "afi"), f"'{peer}' has no {check.afi} prefix to ping",
                         "give 'to: ADDRESS' or another afi"))
    return problems


def ping_address(plan: Plan, node: str, afi: str) -> str | None:
    """The first address of the node's first prefix of `afi` (labctl puts it on the loopback)."""
    version = 4 if afi == "ipv4" else 6
    prefixes = [p for p in plan.nodes[node].prefixes if p.version == version]
    return str(prefixes[0].network_address + 1) if prefixes else None


def _check_scenario(check: ScenarioCheck, trainee: str, where: tuple) -> list[Problem]:
    from labctl.scenarios.spec import Scenario

    try:
        Scenario.model_validate(scenario_data(check, trainee))
    except ValidationError as exc:
        return [((*where, "scenario", *[p for p in e["loc"] if isinstance(p, (str, int))]),
                 e["msg"].removeprefix("Value error, "), "see docs/SCENARIOS.md, Scenario files") for e in exc.errors()]
    return []


def scenario_data(check: ScenarioCheck, trainee: str) -> dict:
    return {"name": check.id, "target": trainee, **check.scenario}


def exercise_json_schema() -> dict:
    schema = Exercise.model_json_schema(mode="validation", by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "labctl exercise file",
            "description": "A trainee exercise for labctl (docs/EXERCISES.md); `labctl exercise validate FILE` "
                           "checks the rules the schema cannot express.",
            **{k: v for k, v in schema.items() if k not in ("title", "description")}}


def exercise_json_schema_text() -> str:
    return json.dumps(exercise_json_schema(), indent=2) + "\n"
