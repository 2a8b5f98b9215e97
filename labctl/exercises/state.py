"""The running exercise's state, kept in the lab's folder (`exercise.json` next to state.json):
which exercise, the trainee's router, the hints revealed, and every action with its time (checks
with each result). `labctl down` removes it with the lab."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from labctl.errors import LabctlError

STATE_FILE = "exercise.json"


@dataclass
class ExerciseState:
    exercise: str
    file: str  # the exercise file the lab was started from
    lab: str
    trainee: str
    started: float
    hints: list[int] = field(default_factory=list)  # indices of the hints revealed, in the order shown
    history: list[dict] = field(default_factory=list)  # {"t", "action", ...}: start, check, hint, reset, solve

    def record(self, action: str, **data) -> dict:
        entry = {"t": round(time.time(), 3), "action": action, **data}
        self.history.append(entry)
        return entry

    @property
    def checks(self) -> list[dict]:
        return [h for h in self.history if h["action"] == "check"]

    @property
    def solved_by_reference(self) -> bool:
        return any(h["action"] == "solve" for h in self.history)


def write(workdir: Path, state: ExerciseState) -> None:
    tmp = workdir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, workdir / STATE_FILE)


def read(workdir: Path, lab: str) -> ExerciseState:
    try:
        return ExerciseState(**json.loads((workdir / STATE_FILE).read_text()))
    except FileNotFoundError:
        raise LabctlError(f"lab '{lab}' runs no exercise (no {STATE_FILE} in {workdir})",
                          "start one with `labctl exercise start NAME` (labctl exercise list)") from None
    except (ValueError, TypeError) as exc:
        raise LabctlError(f"{workdir / STATE_FILE} is damaged: {exc}",
                          "`labctl exercise start` again after `labctl down`") from None
