"""A class: one exercise lab per trainee on one machine, and a scoreboard (docs/EXERCISES.md, "A class").

Pure: `roster` (trainee names, lab names, management subnets, the class record), `scoreboard`
(from each trainee lab's exercise history to rows, a table, JSON and a self-contained HTML page).
`run` brings the labs up, checks them and takes them down through `labctl.exercises.run` and
`lifecycle`; `command` is the CLI (`labctl class ...`).
"""
