"""Trainee exercises (docs/EXERCISES.md): bundled YAML files (`builtin/`) that give a task on an IX
lab, a start state for the trainee's router, checks observed from routers the trainee does not
control, ordered hints and a reference solution.

Pure: `schema` (the file's types), `load` (finding, checking, the IX overlay, the trainee's
configs), `evaluate` (verdicts from observations), `report`, `text`, `state`. `run` sequences
lifecycle, automation and the scenario engine on a lab; `command` is the CLI.
"""
