"""Who is in a class, which lab each trainee gets, and the class record kept next to the labs
(`./.labctl/class-<name>.json`). Pure: no Docker, no routers."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Network, ip_network
from pathlib import Path

from labctl.errors import LabctlError
from labctl.model.schema import NAME_PATTERN

DEFAULT_CLASS = "class"
DEFAULT_POOL = "172.29.0.0/16"  # management /24s for trainee labs (derived single labs use 172.30.x)
TRAINEE_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"


@dataclass
class Trainee:
    name: str
    lab: str
    subnet: str


@dataclass
class ClassRecord:
    name: str
    exercise: str
    exercise_file: str
    router: str
    created: float
    trainees: list[Trainee] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # trainee -> why `class up` could not start their lab

    def trainee(self, name: str) -> Trainee:
        for t in self.trainees:
            if t.name == name:
                return t
        raise LabctlError(f"no trainee '{name}' in class '{self.name}'",
                          f"trainees: {', '.join(t.name for t in self.trainees)}")


def lab_name(class_name: str, trainee: str) -> str:
    return f"{class_name}-{trainee}"


def trainee_names(count: int | None = None, roster: str | None = None, roster_file: str = "roster") -> list[str]:
    """`count` names t1..tN, or the names of a roster (one a line; `#` starts a comment)."""
    if (count is None) == (roster is None):
        raise LabctlError("give either --trainees N or --roster FILE", "e.g. labctl class up first-sessions --trainees 4")
    if count is not None:
        if not 1 <= count <= 64:
            raise LabctlError(f"--trainees {count}: expected 1 to 64", "one lab per trainee: keep a class small")
        return [f"t{i}" for i in range(1, count + 1)]
    names, problems = [], []
    for n, line in enumerate(roster.splitlines(), 1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not re.match(TRAINEE_PATTERN, name):
            problems.append(f"{roster_file}:{n}: '{name}' is not a trainee name")
        elif name in names:
            problems.append(f"{roster_file}:{n}: '{name}' is listed twice")
        names.append(name)
    if problems:
        raise LabctlError("; ".join(problems), "one name a line: lower-case letters, digits and '-', e.g. alice")
    if not names:
        raise LabctlError(f"{roster_file}: no trainee names", "one name a line, e.g. alice")
    return names


def check_lab_names(class_name: str, names: list[str]) -> list[str]:
    """The trainees' lab names; an error naming every one that is not a valid lab name."""
    if not re.match(NAME_PATTERN, class_name):
        raise LabctlError(f"class name '{class_name}' is not a valid name",
                          "lower-case letters, digits and '-', at most 24 characters, e.g. class")
    labs = [lab_name(class_name, n) for n in names]
    bad = [lab for lab in labs if not re.match(NAME_PATTERN, lab)]
    if bad:
        raise LabctlError(f"lab names too long or invalid: {', '.join(bad)}",
                          "a lab name (CLASS-TRAINEE) has at most 24 characters: shorten the class or trainee names")
    return labs


def allocate_subnets(count: int, used: list[str], pool: str = DEFAULT_POOL) -> list[str]:
    """`count` /24 management subnets from `pool` that overlap none of `used` (other labs, Docker networks)."""
    try:
        net = ip_network(pool)
    except ValueError as exc:
        raise LabctlError(f"--subnets {pool}: {exc}", "give an IPv4 network such as 172.29.0.0/16") from None
    if not isinstance(net, IPv4Network) or net.prefixlen > 24:
        raise LabctlError(f"--subnets {pool}: expected an IPv4 network of /24 or larger", "e.g. 172.29.0.0/16")
    taken = [ip_network(u, strict=False) for u in used if ":" not in u]
    free = [s for s in net.subnets(new_prefix=24) if not any(s.overlaps(t) for t in taken)]
    if len(free) < count:
        raise LabctlError(f"only {len(free)} free /24 in {pool} for {count} trainee labs",
                          "give a larger or another pool with --subnets")
    return [str(s) for s in free[:count]]


# ------------------------------------------------------------------ the record

def record_path(root: Path, class_name: str) -> Path:
    return root / ".labctl" / f"class-{class_name}.json"


def write(root: Path, record: ClassRecord) -> Path:
    path = record_path(root, record.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record), indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def read(root: Path, class_name: str | None = None) -> ClassRecord:
    """The class `class_name`, or the only class recorded under `root`/.labctl."""
    if class_name is None:
        found = sorted(p.name[len("class-"):-len(".json")] for p in (root / ".labctl").glob("class-*.json"))
        if len(found) != 1:
            raise LabctlError(f"no class in {root / '.labctl'}" if not found else f"several classes: {', '.join(found)}",
                              "start one with `labctl class up EXERCISE --trainees N` (in this folder)" if not found
                              else "name one with --class NAME")
        class_name = found[0]
    path = record_path(root, class_name)
    try:
        data = json.loads(path.read_text())
        data["trainees"] = [Trainee(**t) for t in data["trainees"]]
        return ClassRecord(**data)
    except FileNotFoundError:
        raise LabctlError(f"no class '{class_name}' in {root / '.labctl'}",
                          "run labctl class commands in the folder where `labctl class up` ran") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise LabctlError(f"{path} is damaged: {exc}", "remove the labs with `labctl down --lab LAB`, then the file") from None


def new_record(class_name: str, exercise: str, exercise_file: str, router: str, names: list[str],
               subnets: list[str]) -> ClassRecord:
    labs = check_lab_names(class_name, names)
    return ClassRecord(class_name, exercise, exercise_file, router, round(time.time(), 3),
                       [Trainee(n, lab, s) for n, lab, s in zip(names, labs, subnets)])
