"""Running a class: one exercise lab per trainee (`exercises.run.start` each, one after the other:
two cores), the checks of every lab, the scoreboard's inputs, and taking every lab down."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from labctl import lifecycle
from labctl.classroom import roster
from labctl.classroom.scoreboard import Scoreboard, build
from labctl.errors import LabctlError
from labctl.exercises import run as ex_run
from labctl.exercises import state as st
from labctl.exercises.load import load_exercise
from labctl.runtime import clab

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class UpResult:
    record: roster.ClassRecord
    seconds: dict[str, float] = field(default_factory=dict)  # trainee -> seconds its lab took to start


def _root(root: Path | None) -> Path:
    return (root or Path.cwd()).resolve()


def up(ref: str, names: list[str], class_name: str = roster.DEFAULT_CLASS, pool: str = roster.DEFAULT_POOL,
       root: Path | None = None, progress: Progress = _quiet) -> UpResult:
    """Start `ref` once per trainee: lab CLASS-TRAINEE, its own management /24 from `pool` and its own
    SSH keys (each lab folder makes its own). A lab that fails is noted and the others go on."""
    root = _root(root)
    loaded = load_exercise(ref)
    if roster.record_path(root, class_name).exists():
        raise LabctlError(f"class '{class_name}' exists already ({roster.record_path(root, class_name)})",
                          f"see it with `labctl class status --class {class_name}`, remove it with "
                          f"`labctl class down --class {class_name}`, or choose another --class")
    labs = roster.check_lab_names(class_name, names)
    running = clab.running_labs()
    taken = [lab for lab in labs if lab in running]
    if taken:
        raise LabctlError(f"labs running already: {', '.join(taken)}", "remove them (labctl down --lab LAB) or choose another --class")
    subnets = roster.allocate_subnets(len(names), clab.used_subnets(), pool)
    record = roster.new_record(class_name, loaded.name, str(loaded.path.resolve()), loaded.trainee, names, subnets)
    roster.write(root, record)  # first: `class down` can clean up whatever a failed `up` leaves
    result = UpResult(record)
    for t in record.trainees:
        started = time.monotonic()
        progress(f"{t.name}: lab {t.lab} on {t.subnet}")
        try:
            ex_run.start(record.exercise_file, t.lab, t.subnet, root, progress=lambda m, n=t.name: progress(f"{n}: {m}"))
        except LabctlError as exc:
            record.failed[t.name] = exc.message
            roster.write(root, record)
        except Exception as exc:  # noqa: BLE001 - one trainee's broken lab must not stop the class
            record.failed[t.name] = f"{type(exc).__name__}: {exc}"
            roster.write(root, record)
        result.seconds[t.name] = round(time.monotonic() - started, 1)
    return result


def check(record: roster.ClassRecord, wait: float = 0.0, parallel: int = 2,
          progress: Progress = _quiet) -> dict[str, str]:
    """Run the exercise's checks in every trainee's lab (recorded in each lab's history, as the
    trainee's own `exercise check` is; no hint is revealed for them). Returns {trainee: error}."""
    errors: dict[str, str] = {}

    def one(t: roster.Trainee) -> None:
        try:
            res = ex_run.check(t.lab, wait, reveal_hint=False)
            progress(f"{t.name}: {sum(r.passed for r in res.results)}/{len(res.results)} passed")
        except LabctlError as exc:
            errors[t.name] = exc.message
        except Exception as exc:  # noqa: BLE001 - reported per trainee; the other labs are still checked
            errors[t.name] = f"{type(exc).__name__}: {exc}"

    running = clab.running_labs()
    todo = [t for t in record.trainees if t.lab in running]
    errors.update({t.name: "lab not running" for t in record.trainees if t.lab not in running})
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        list(pool.map(one, todo))
    return errors


def lab_dir(root: Path, t: roster.Trainee) -> Path:
    return root / ".labctl" / t.lab


def scoreboard(record: roster.ClassRecord, root: Path | None = None) -> Scoreboard:
    """The scoreboard from every trainee lab's exercise.json (no router is asked)."""
    root = _root(root)
    ex = load_exercise(record.exercise_file).exercise
    checks = [{"id": c.id, "title": {"en": c.title.en.strip(), "ja": c.title.ja.strip()}} for c in ex.checks]
    running = clab.running_labs()
    states: dict[str, st.ExerciseState | None] = {}
    for t in record.trainees:
        try:
            states[t.name] = st.read(lab_dir(root, t), t.lab)
        except LabctlError:
            states[t.name] = None
    return build(record, checks, {"en": ex.title.en.strip(), "ja": ex.title.ja.strip()}, states,
                 {t.name: t.lab in running for t in record.trainees})


def down(record: roster.ClassRecord, root: Path | None = None, progress: Progress = _quiet) -> list[dict]:
    """Remove every trainee's lab and folder, then the class record. Idempotent."""
    root = _root(root)
    running, out = clab.running_labs(), []
    for t in record.trainees:
        progress(f"{t.name}: {t.lab}")
        if t.lab in running:
            out.append(lifecycle.down(lab_name=t.lab))
        else:
            out.append({"lab": t.lab, "containers_removed": 0, "workdir": str(lab_dir(root, t)),
                        "workdir_removed": lab_dir(root, t).exists()})
            shutil.rmtree(lab_dir(root, t), ignore_errors=True)
    roster.record_path(root, record.name).unlink(missing_ok=True)
    folder = root / ".labctl"
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    return out
